"""The application: routes, middleware and error pages, built from what is passed in.

:func:`create_app` takes the settings, a sessionmaker and the key that signs session cookies
(``[web] secret_file``, read by the caller), and a clock; nothing is read or connected at
import time. Tests drive it in-process through httpx's ASGI transport; ``etykieta serve``
runs it under uvicorn (:mod:`.server`).
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ...clock import Clock, utc_now
from ...config import Settings
from ...storage.users import Role
from ...telephony.numbers import Directory
from .access import Viewer
from .auth import login, login_page, logout, protected, viewer_of
from .call import call_page, decision, dispute
from .calls import (
    api_callbacks,
    api_calls,
    callbacks_page,
    calls_csv,
    calls_page,
    calls_xlsx,
)
from .context import WebContext, is_api
from .employee import employee_page, talk_sheet
from .i18n import Formats, translations
from .organisation import api_units, organisation, report_export
from .render import render
from .security import SecurityHeaders
from .unit import unit_page

SESSION_COOKIE = "etykieta_session"
SESSION_MAX_AGE_S = 10 * 3600
"""A working day: a supervisor who comes back the next morning logs in again."""
API_ERRORS = {400: "bad request", 401: "login required", 403: "forbidden", 404: "not found",
              429: "too many failed logins", 500: "internal error"}


def create_app(settings: Settings, sessions: sessionmaker[Session], *, secret: str,
               clock: Clock = utc_now) -> Starlette:
    """The web application over ``sessions``' database."""
    templates = Jinja2Templates(env=_environment())
    web = WebContext(settings=settings, sessions=sessions, clock=clock,
                     directory=Directory(settings),
                     formats=Formats(settings.business_hours.zone), templates=templates)
    static = StaticFiles(directory=str(resources.files(__package__).joinpath("static")))
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login_page, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/calls", calls_page),
            Route("/calls.csv", calls_csv),
            Route("/calls.xlsx", calls_xlsx),
            Route("/calls/{call:int}", call_page),
            Route("/calls/{call:int}/dispute", dispute, methods=["POST"]),
            Route("/calls/{call:int}/decision", decision, methods=["POST"]),
            Route("/callbacks", callbacks_page),
            Route("/report/units.{form:str}", report_export),
            Route("/api/calls", api_calls),
            Route("/api/callbacks", api_callbacks),
            Route("/api/units", api_units),
            Route("/units/{name}", unit_page),
            Route("/staff/{extension}", employee_page),
            Route("/staff/{extension}/talk", talk_sheet),
            Mount("/static", static, name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE_S, same_site="lax",
                       https_only=settings.web.https),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.web = web
    return app


def _environment() -> Environment:
    env = Environment(loader=PackageLoader(__package__, "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]
    return env


@protected
def home(request: Request, viewer: Viewer) -> Response:
    """The start page of each role: the units for admins and supervisors, one's own page
    (figures and calls) for staff."""
    if viewer.role is Role.STAFF:
        return RedirectResponse(f"/staff/{quote(viewer.extension or '')}", status_code=303)
    return organisation(request, viewer)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if is_api(request):
        message = exc.detail if exc.status_code in (400, 404) else API_ERRORS.get(
            exc.status_code, "error")
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=headers)
    viewer = None
    if exc.status_code != 401:
        viewer = await run_in_threadpool(viewer_of, request)
    return render(request, viewer, "error.html", status=exc.status_code, headers=headers,
                  status_code=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"error": API_ERRORS[500]}, status_code=500)
    return render(request, None, "error.html", status=500, status_code=500)
