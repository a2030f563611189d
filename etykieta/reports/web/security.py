"""What protects every response and every form: security headers, CSRF tokens, origins.

Every response — pages, the API, static files, errors — carries a Content-Security-Policy
that allows scripts and styles from this server only (no inline script, no ``eval``), and
headers that keep pages out of frames and caches. Every form that changes something carries
the session's CSRF token; a POST is also refused when its ``Origin`` is another site's.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
PRIVATE = "no-store"
"""Pages and API answers hold personal data: no cache keeps them."""
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SecurityHeaders:
    """ASGI middleware: :data:`HEADERS` on every response, ``no-store`` on all but static
    files, and a POST from another origin refused before it reaches a route."""

    def __init__(self, app: ASGIApp, *, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(self.static_prefix)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if not static:
                    headers["Cache-Control"] = PRIVATE
            await send(message)

        if scope["method"] in UNSAFE_METHODS and not same_origin(HTTPConnection(scope)):
            await _refuse(scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)


def same_origin(connection: HTTPConnection) -> bool:
    """No ``Origin`` (an old browser, a script), or this server's own."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    host = connection.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("cross-origin request refused", status_code=403)(scope, receive, send)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made when the session has none."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, form: Mapping[str, object]) -> None:
    """403 unless ``form`` carries the session's CSRF token."""
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and isinstance(expected, str)
            and hmac.compare_digest(sent, expected)):
        raise HTTPException(403, "csrf")
