"""``etykieta serve``: the supervisors' and employees' web application, under uvicorn.

Listens on ``[web] host``/``port`` (``--host``/``--port`` override them). The key that signs
session cookies is read from ``[web] secret_file`` (made there, mode 0600, on the first start);
it is never in the config itself. ``--next-free-port`` takes the next free port when the one
asked for is taken (``make demo`` uses it); otherwise a taken port is an error.
"""

from __future__ import annotations

import sys

import click

from ..clock import utc_now
from ..reports.web import create_app
from ..reports.web.secret import SecretFileError, load_or_create_secret, readable_by_others
from ..reports.web.server import ListenError, listen
from ..reports.web.server import serve as serve_app
from .context import SETUP_ERROR, CliContext


@click.command()
@click.option("--host", help="Address to listen on. Default: [web] host (127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535),
              help="Port to listen on. Default: [web] port (8080).")
@click.option("--next-free-port", is_flag=True,
              help="If the port is taken, listen on the next free one (and say which).")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request (uvicorn's access log) on stderr.")
@click.pass_obj
def serve(state: CliContext, host: str | None, port: int | None, next_free_port: bool,
          access_log: bool) -> None:
    """Serve the dashboard: units, calls, callbacks to make, the JSON API (login required)."""
    settings = state.settings
    host = host or settings.web.host
    port = port or settings.web.port
    try:
        secret, created = load_or_create_secret(settings.web.secret_file)
    except SecretFileError as exc:
        click.echo(f"etykieta serve: {exc}", err=True)
        raise click.exceptions.Exit(SETUP_ERROR) from exc
    if created:
        click.echo(f"made a new session key in {settings.web.secret_file} (mode 0600)", err=True)
    elif readable_by_others(settings.web.secret_file):
        click.echo(f"warning: {settings.web.secret_file} can be read by other users; "
                   f"chmod 600 it", err=True)
    sessions = state.sessions()
    try:
        listener = listen(host, port, search=next_free_port)
    except ListenError as exc:
        hint = "" if next_free_port else " (another --port, or --next-free-port)"
        click.echo(f"etykieta serve: {exc}{hint}", err=True)
        raise click.exceptions.Exit(SETUP_ERROR) from exc
    port = listener.getsockname()[1]
    app = create_app(settings, sessions, secret=secret, clock=utc_now)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Etykieta serves {settings.organisation.name} at http://{shown}:{port}/ "
               f"(Ctrl-C stops it)")
    if settings.web.public_url:
        click.echo(f"users open it at {settings.web.public_url}/")
    sys.stdout.flush()
    serve_app(app, listener, proxy_headers=bool(settings.web.trust_proxy_user_header),
              access_log=access_log)
