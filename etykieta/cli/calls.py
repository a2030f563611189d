"""``etykieta calls``: the calls of a period, as JSON, CSV, XLSX or a table."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..clock import utc_now
from ..reports.calls_export import (
    CSV_DIALECTS,
    DEFAULT_CSV_DIALECT,
    render_csv,
    render_json,
    render_table,
    render_xlsx,
)
from ..storage.queries import list_calls
from ..telephony.numbers import Directory
from .context import CliContext, parse_time, unit_name
from .options import AS_OF_HELP, SINCE_HELP, UNIT_HELP, UNTIL_HELP


@click.command()
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx", "table"]),
              default="table", show_default=True)
@click.option("--csv-dialect", type=click.Choice(list(CSV_DIALECTS)),
              default=DEFAULT_CSV_DIALECT, show_default=True,
              help="With --format csv: standard (comma, decimal point) or excel-pl (semicolon, "
                   "decimal comma, for a Polish Excel). Both start with a UTF-8 BOM.")
@click.option("--since", help=SINCE_HELP)
@click.option("--until", help=UNTIL_HELP)
@click.option("--unit", help=UNIT_HELP)
@click.option("--as-of", help=AS_OF_HELP)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the list to this file instead of standard output (xlsx: required "
                   "unless standard output is redirected).")
@click.pass_obj
def calls(state: CliContext, fmt: str, csv_dialect: str, since: str | None, until: str | None,
          unit: str | None, as_of: str | None, out: Path | None) -> None:
    """List calls: caller and their display name, who answered (extension and name), outcome,
    ring time, how long an unanswered caller waited, transfer, callback and greeting."""
    if fmt == "xlsx" and out is None and sys.stdout.isatty():
        raise click.UsageError("xlsx is a binary file: give --out FILE (or redirect the "
                               "output to a file)")
    zone = state.zone
    now = parse_time(as_of, "--as-of", zone) or utc_now()
    start, end = parse_time(since, "--since", zone), parse_time(until, "--until", zone)
    name = unit_name(state.settings, unit)
    directory = Directory(state.settings)
    with state.sessions().begin() as session:
        rows = list_calls(session, as_of=now, since=start, until=end, unit=name)
    data: str | bytes
    if fmt == "xlsx":
        data = render_xlsx(rows, zone=zone, directory=directory)
    elif fmt == "csv":
        data = render_csv(rows, zone=zone, directory=directory, dialect=csv_dialect)
    else:
        render = render_json if fmt == "json" else render_table
        data = render(rows, zone=zone, directory=directory) + "\n"
    if out is None:
        click.echo(data, nl=False)
    elif isinstance(data, bytes):
        out.write_bytes(data)
    else:
        out.write_text(data, encoding="utf-8")
