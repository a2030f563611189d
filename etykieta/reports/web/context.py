"""What every request of the application shares: settings, database, clock, templates."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from ...clock import Clock
from ...config import Settings
from ...telephony.numbers import Directory
from .i18n import Formats


@dataclass(frozen=True, slots=True)
class WebContext:
    settings: Settings
    sessions: sessionmaker[Session]
    clock: Clock
    directory: Directory
    formats: Formats
    templates: Jinja2Templates


def web_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def client_address(request: Request) -> str:
    """The client's address (the proxy's forwarded one when uvicorn trusts the proxy)."""
    return request.client.host if request.client is not None else "unknown"


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")
