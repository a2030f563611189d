"""``etykieta config check``."""

from __future__ import annotations

import sys

import click

from ..config import check_config, config_in_use, example_config
from .context import SETUP_ERROR, CliContext


@click.group()
def config() -> None:
    """Configuration commands."""


@config.command("check")
@click.argument("path", required=False, type=click.Path())
@click.pass_obj
def config_check(state: CliContext, path: str | None) -> None:
    """Validate a config file; print each problem with its line and key.

    Without PATH: the file the other commands would use (--config, $ETYKIETA_CONFIG,
    ./etykieta.toml, else the packaged example, which it says).
    """
    target = config_in_use(path or state.config_path)
    if target is None:
        target = example_config()
        click.echo("no --config, $ETYKIETA_CONFIG or ./etykieta.toml: the commands use the "
                   "packaged example", err=True)
    problems = check_config(target)
    for problem in problems:
        click.echo(f"{target}: {problem}", err=True)
    if problems:
        sys.exit(SETUP_ERROR)
    click.echo(f"{target}: OK")
