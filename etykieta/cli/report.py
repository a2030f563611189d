"""``etykieta report units`` and ``etykieta summary``: the per-unit report of a period."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from ..clock import utc_now
from ..reports.calls_export import CSV_DIALECTS, DEFAULT_CSV_DIALECT
from ..reports.greetings import greeting_table_units, render_greeting_summary
from ..reports.summary import call_table_units, render_unit_summary
from ..reports.units import Period, build_unit_reports, report_scope
from ..reports.units_export import render_csv, render_json, render_table, render_xlsx
from ..storage.report_queries import report_counts
from ..telephony.numbers import Directory
from .context import CliContext, parse_time, unit_name
from .options import AS_OF_HELP, SINCE_HELP, UNIT_HELP, UNTIL_HELP
from .weekly import reminders, weekly

FORMATS = ("json", "csv", "xlsx", "table")
WEEK_HELP = " Default: the ISO week (Monday to Monday, office time) of --as-of."


@click.group()
def report() -> None:
    """Reports of a period (default: this ISO week in office time)."""


@report.command()
@click.option("--since", help=SINCE_HELP + WEEK_HELP)
@click.option("--until", help=UNTIL_HELP + WEEK_HELP)
@click.option("--unit", help=UNIT_HELP)
@click.option("--as-of", help=AS_OF_HELP)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)
@click.option("--csv-dialect", type=click.Choice(list(CSV_DIALECTS)),
              default=DEFAULT_CSV_DIALECT, show_default=True,
              help="With --format csv: standard (comma, decimal point) or excel-pl (semicolon, "
                   "decimal comma, for a Polish Excel). Both start with a UTF-8 BOM.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output (xlsx: required "
                   "unless standard output is redirected).")
@click.pass_obj
def units(state: CliContext, since: str | None, until: str | None, unit: str | None,
          as_of: str | None, fmt: str, csv_dialect: str, out: Path | None) -> None:
    """Per unit, in config order: inbound calls, % answered by the target ring (T3) of those
    answered and in the callers' view, ring-number distribution, median and 90th percentile
    ring time, outcomes, transfers and failed ones (T5), callbacks (T6-T8), greetings (T1, T2,
    T9, T10); and the same for each employee, over the calls that rang at or were answered at
    their extension."""
    if fmt == "xlsx" and out is None and sys.stdout.isatty():
        raise click.UsageError("xlsx is a binary file: give --out FILE (or redirect the "
                               "output to a file)")
    settings = state.settings
    now = parse_time(as_of, "--as-of", state.zone) or utc_now()
    name = unit_name(settings, unit)
    scope = report_scope(settings, _period(state, since, until, now), as_of=now, unit=name)
    with state.sessions().begin() as session:
        counts = report_counts(session, scope)
    reports = build_unit_reports(counts, Directory(settings), scope)
    target = settings.rings.target
    data: str | bytes
    if fmt == "xlsx":
        data = render_xlsx(reports, zone=state.zone, target=target)
    elif fmt == "csv":
        data = render_csv(reports, zone=state.zone, target=target, dialect=csv_dialect)
    elif fmt == "json":
        data = render_json(reports, zone=state.zone) + "\n"
    else:
        data = render_table(reports, target=target) + "\n"
    if out is None:
        click.echo(data, nl=False)
        return
    if isinstance(data, bytes):
        out.write_bytes(data)
    else:
        out.write_text(data, encoding="utf-8", newline="")
    click.echo(f"report units: {len(reports)} units written to {out}", err=True)


def _period(state: CliContext, since: str | None, until: str | None, now: datetime) -> Period:
    """``--since``/``--until``, each missing end that of the ISO week of ``now``."""
    week = Period.iso_week(now, state.zone)
    period = Period(parse_time(since, "--since", state.zone) or week.since,
                    parse_time(until, "--until", state.zone) or week.until)
    if period.since >= period.until:
        raise click.BadParameter(
            f"the period is empty: {period.since.isoformat()} is not before "
            f"{period.until.isoformat()} (a missing end is that of the week of --as-of)",
            param_hint="--since/--until")
    return period


@click.command()
@click.option("--since", help=SINCE_HELP)
@click.option("--until", help=UNTIL_HELP)
@click.option("--unit", help=UNIT_HELP)
@click.option("--as-of", help=AS_OF_HELP)
@click.pass_obj
def summary(state: CliContext, since: str | None, until: str | None, unit: str | None,
            as_of: str | None) -> None:
    """Two per-unit tables, each under a line saying what it counts.

    First the inbound calls from outside, by the unit called: answered, % by the target ring
    (T3), abandoned, voicemail, busy/no answer; failed transfers (T5); callbacks (T6-T8).
    Then the greetings of answered inbound and internal calls, by the unit of the person who
    answered: judged, % complete (T1), too fast (T2), casual words (T9), thanked (T10).
    """
    zone = state.zone
    now = parse_time(as_of, "--as-of", zone) or utc_now()
    settings = state.settings
    wanted = unit_name(settings, unit)
    every = Period.all_time()
    period = Period(parse_time(since, "--since", zone) or every.since,
                    parse_time(until, "--until", zone) or every.until)
    scope = report_scope(settings, period, as_of=now, unit=wanted, staff=False)
    with state.sessions().begin() as session:
        counts = report_counts(session, scope)
    directory = Directory(settings)
    units = [u.name for u in settings.units]
    calls = [wanted] if wanted else call_table_units(counts, units)
    greeted = [wanted] if wanted else greeting_table_units(counts, directory, units)
    click.echo(render_unit_summary(build_unit_reports(counts, directory, scope, calls),
                                   settings.rings.target))
    click.echo()
    click.echo(render_greeting_summary(build_unit_reports(counts, directory, scope, greeted)))


report.add_command(weekly)
report.add_command(reminders)
