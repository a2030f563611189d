"""``etykieta db upgrade``."""

from __future__ import annotations

import click

from ..storage.db import upgrade
from .context import CliContext


@click.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(state: CliContext) -> None:
    """Create or migrate the database schema to the newest version."""
    engine = state.engine(create=True)
    upgrade(engine)
    click.echo(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
