"""Pages rendered from the templates, with what every page shows: who is logged in, the
navigation their role has, the CSRF token of the logout form, Polish formats and labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from .context import web_context
from .labels import LABELS
from .security import CSRF_FIELD, csrf_token

if TYPE_CHECKING:
    from .access import Viewer


def render(request: Request, viewer: Viewer | None, template: str, *, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> Response:
    web = web_context(request)
    context.update(
        viewer=viewer, fmt=web.formats, labels=LABELS, csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request), organisation=web.settings.organisation.name,
        root=request.scope.get("root_path", ""), path=request.url.path,
        generated_at=web.clock(), target=web.settings.rings.target)
    return web.templates.TemplateResponse(request, template, context, status_code=status,
                                          headers=headers)
