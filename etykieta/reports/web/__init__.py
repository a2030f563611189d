"""The web face: the supervisors' and employees' pages and the JSON API (``etykieta serve``).

Server-rendered pages (Starlette + Jinja2, autoescaped) in Polish from a gettext catalogue,
behind a login: :mod:`.app` builds the application from the settings, a sessionmaker and a
clock; :mod:`.auth` logs users in and out; :mod:`.access` says what each role may see;
:mod:`.security` adds the CSRF token and the headers every response carries; :mod:`.pages`
and :mod:`.api` serve what the read seam (``storage.queries``) gives them.
"""

from .app import create_app

__all__ = ["create_app"]
