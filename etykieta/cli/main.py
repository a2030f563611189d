"""The ``etykieta`` command group: the options every command shares, and its commands.

Each command group lives in a module of its own in this package; every command can be driven
in-process by tests through click's ``CliRunner``.
"""

from __future__ import annotations

import logging

import click

from .. import __version__
from .calls import calls
from .config import config
from .context import CliContext
from .db import db
from .greeting import greeting
from .ingest import ingest
from .monitor import monitor
from .report import report, summary
from .serve import serve
from .speech import audio, speech
from .users import users


@click.group()
@click.version_option(__version__)
@click.option("--config", "config_path", envvar="ETYKIETA_CONFIG", type=click.Path(),
              help="Config file (TOML). Default: $ETYKIETA_CONFIG, ./etykieta.toml, the example.")
@click.option("--db", "db_url",
              help="Database URL (sqlite:///PATH, postgresql+psycopg://USER@HOST/NAME); "
                   "overrides [database] url. Only ingest, monitor and db upgrade create one.")
@click.option("-v", "--verbose", count=True, help="Log more (-v: info, -vv: debug).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, db_url: str | None, verbose: int) -> None:
    """Etykieta: telephone etiquette monitor for a city hall PBX."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    state = CliContext(config_path, db_url)
    ctx.obj = state
    ctx.call_on_close(state.close)



for command in (audio, calls, config, db, greeting, ingest, monitor, report, serve, speech,
                summary, users):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
