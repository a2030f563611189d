"""``etykieta calls``: the calls of a period, as JSON, CSV or a table."""

from __future__ import annotations

import click

from ..clock import utc_now
from ..reports.calls_export import (
    CSV_DIALECTS,
    DEFAULT_CSV_DIALECT,
    render_csv,
    render_json,
    render_table,
)
from ..storage.queries import list_calls
from ..telephony.numbers import Directory
from .context import CliContext, parse_time, unit_name
from .options import AS_OF_HELP, SINCE_HELP, UNIT_HELP, UNTIL_HELP


@click.command()
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table",
              show_default=True)
@click.option("--csv-dialect", type=click.Choice(list(CSV_DIALECTS)),
              default=DEFAULT_CSV_DIALECT, show_default=True,
              help="With --format csv: standard (comma, decimal point) or excel-pl (semicolon, "
                   "decimal comma, for a Polish Excel). Both start with a UTF-8 BOM.")
@click.option("--since", help=SINCE_HELP)
@click.option("--until", help=UNTIL_HELP)
@click.option("--unit", help=UNIT_HELP)
@click.option("--as-of", help=AS_OF_HELP)
@click.pass_obj
def calls(state: CliContext, fmt: str, csv_dialect: str, since: str | None, until: str | None,
          unit: str | None, as_of: str | None) -> None:
    """List calls: caller and their display name, who answered (extension and name), outcome,
    ring time, how long an unanswered caller waited, transfer, callback and greeting."""
    zone = state.zone
    now = parse_time(as_of, "--as-of", zone) or utc_now()
    start, end = parse_time(since, "--since", zone), parse_time(until, "--until", zone)
    name = unit_name(state.settings, unit)
    directory = Directory(state.settings)
    with state.sessions().begin() as session:
        rows = list_calls(session, as_of=now, since=start, until=end, unit=name)
    if fmt == "csv":
        click.echo(render_csv(rows, zone=zone, directory=directory, dialect=csv_dialect),
                   nl=False)
    else:
        render = render_json if fmt == "json" else render_table
        click.echo(render(rows, zone=zone, directory=directory))
