"""Logging in and out, and who a request is from.

A browser logs in through the form at ``/login`` (username, password and the CSRF token) and
gets a signed session cookie holding the user's id and session epoch; a changed password or
a removed user bumps the epoch, which ends every older session. The JSON API also takes HTTP
Basic credentials (for Power Query, Grafana), checked and slowed down like the form. A
reverse proxy's user header is trusted only when ``[web] trust_proxy_user_header`` names it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
from collections.abc import Callable
from urllib.parse import quote

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ...storage.audit import AuditAction, record
from ...storage.users import LoginAttempt, UserView, authenticate, find_user, user_by_id
from .access import Viewer
from .context import WebContext, client_address, is_api, web_context
from .render import render
from .security import check_csrf, csrf_token

SESSION_USER = "uid"
SESSION_EPOCH = "epoch"
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Etykieta", charset="UTF-8"'}

Handler = Callable[[Request, Viewer], Response]


def protected(handler: Handler) -> Callable[[Request], Response]:
    """An endpoint only a logged-in user reaches: others are sent to ``/login`` (pages) or
    answered 401 (``/api/*``). Runs in the thread pool: it reads the database."""

    @functools.wraps(handler)
    def endpoint(request: Request) -> Response:
        viewer = viewer_of(request)
        if viewer is None:
            if is_api(request):
                raise HTTPException(401, headers=BASIC_CHALLENGE)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return handler(request, viewer)

    return endpoint


def viewer_of(request: Request) -> Viewer | None:
    """The user this request is from: the proxy's header (if trusted), the session, or (API
    only) Basic credentials; None for an anonymous one."""
    web = web_context(request)
    with web.sessions.begin() as session:
        user = _user_of(request, web, session)
    return None if user is None else Viewer(user, web.settings, web.directory)


def _user_of(request: Request, web: WebContext, session: Session) -> UserView | None:
    header = web.settings.web.trust_proxy_user_header
    if header and (name := request.headers.get(header, "").strip()):
        user = find_user(session, name)
        if user is not None:  # a name the proxy knows and we do not: the login form still works
            if request.session.get(SESSION_USER) != user.id:
                _start_session(request, user)
                record(session, user.username, AuditAction.LOGIN, at=web.clock(),
                       address=client_address(request), via="proxy header")
            return user
    uid = request.session.get(SESSION_USER)
    if isinstance(uid, int):
        user = user_by_id(session, uid)
        if user is not None and user.session_epoch == request.session.get(SESSION_EPOCH):
            return user
        request.session.pop(SESSION_USER, None)
    if is_api(request) and (credentials := _basic(request)) is not None:
        attempt = _attempt(request, web, session, *credentials, via="basic")
        if attempt.wait:
            raise HTTPException(429, headers=_retry_after(attempt))
        return attempt.user
    return None


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


def _attempt(request: Request, web: WebContext, session: Session, username: str,
             password: str, *, via: str) -> LoginAttempt:
    """A login checked and written to the audit log (a Basic success is not: it is every
    request an integration makes)."""
    now, address = web.clock(), client_address(request)
    attempt = authenticate(session, username, password, address=address, now=now)
    who = username.strip().lower()[:64] or "-"
    if attempt.wait:
        record(session, who, AuditAction.LOGIN_THROTTLED, at=now, address=address, via=via,
               wait_s=math.ceil(attempt.wait.total_seconds()))
    elif attempt.user is None:
        record(session, who, AuditAction.LOGIN_FAILED, at=now, address=address, via=via)
    elif via != "basic":
        record(session, attempt.user.username, AuditAction.LOGIN, at=now, address=address,
               via=via)
    return attempt


def _retry_after(attempt: LoginAttempt) -> dict[str, str]:
    return {"Retry-After": str(math.ceil(attempt.wait.total_seconds()))}


def _start_session(request: Request, user: UserView) -> None:
    """A fresh session for ``user``: a new CSRF token too, so none from before carries over."""
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[SESSION_EPOCH] = user.session_epoch
    csrf_token(request)


def safe_next(value: object) -> str:
    """Where to go after logging in: a path on this site only, else the start page."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value:
        return value
    return "/"


def login_page(request: Request) -> Response:
    if viewer_of(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_form(request, next_page=safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    form = await request.form()
    next_page = safe_next(form.get("next"))
    try:
        check_csrf(request, form)
    except HTTPException:
        return _login_form(request, next_page=next_page, status=403, error="expired")
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip():
        return _login_form(request, next_page=next_page, status=400, error="missing")
    web = web_context(request)

    def check() -> LoginAttempt:
        with web.sessions.begin() as session:
            return _attempt(request, web, session, username, password, via="form")

    attempt = await run_in_threadpool(check)
    if attempt.wait:
        return _login_form(request, next_page=next_page, status=429, error="throttled",
                           username=username, headers=_retry_after(attempt),
                           wait_s=math.ceil(attempt.wait.total_seconds()))
    if attempt.user is None:
        return _login_form(request, next_page=next_page, status=401, error="wrong",
                           username=username)
    _start_session(request, attempt.user)
    return RedirectResponse(next_page, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    web = web_context(request)
    viewer = await run_in_threadpool(viewer_of, request)
    if viewer is not None:
        def write() -> None:
            with web.sessions.begin() as session:
                record(session, viewer.user.username, AuditAction.LOGOUT, at=web.clock(),
                       address=client_address(request))
        await run_in_threadpool(write)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _login_form(request: Request, *, next_page: str, status: int = 200,
                error: str | None = None, username: str = "",
                headers: dict[str, str] | None = None, wait_s: int = 0) -> Response:
    return render(request, None, "login.html", status=status, headers=headers,
                  next_page=next_page, error=error, username=username, wait_s=wait_s)
