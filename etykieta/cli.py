"""The ``etykieta`` command: ingest captures, list calls, summarise units, manage config and DB.

Every command can be driven in-process by tests through click's ``CliRunner``.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import click

from . import __version__
from .cli_context import SETUP_ERROR, CliContext, parse_time, unit_name, until_signalled
from .config import Directory, check_config, config_in_use, example_config
from .errors import CaptureFormatError, CaptureUnavailableError
from .ingest.command import ingest
from .monitor.service import Monitor, PacketSource
from .reports.calls_export import (
    CSV_DIALECTS,
    DEFAULT_CSV_DIALECT,
    render_csv,
    render_json,
    render_table,
)
from .reports.greetings import build_greeting_summary, render_greeting_summary
from .reports.summary import build_unit_summary, render_unit_summary
from .speech.commands import audio, speech
from .speech.greeting_cli import greeting
from .storage.db import upgrade
from .storage.repository import query_calls
from .telephony.capture.journal import Journal
from .telephony.capture.live import LiveCapture, StreamCapture


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


@main.command()
@click.option("--interface", "-i", help="Interface to capture on (default: [capture] interface).")
@click.option("--filter", "capture_filter",
              help="BPF capture filter, tcpdump syntax (default: [capture] filter).")
@click.option("--read", "read", type=click.Path(allow_dash=True),
              help="Read a pcap/pcapng stream instead (a file, or - for stdin, e.g. from "
                   "`ssh pbx tcpdump -U -w -`).")
@click.option("--no-speech", is_flag=True, help="Signalling only: queue greetings, judge none.")
@click.option("--journal", "journal_dir",
              help="Journal directory (default: [capture] journal_dir; none with --read).")
@click.option("--no-journal", is_flag=True, help="Keep no journal: a crash loses open calls.")
@click.pass_obj
def monitor(state: CliContext, interface: str | None, capture_filter: str | None,
            read: str | None, no_speech: bool, journal_dir: str | None,
            no_journal: bool) -> None:
    """Monitor the PBX live: store calls as they end, judge greetings as they are said.

    Runs until SIGTERM or Ctrl-C (or the end of a --read stream); the calls still going on
    are then stored as they stand.
    """
    settings = state.settings
    source: PacketSource
    if read is not None:
        stream = sys.stdin.buffer if read == "-" else open(read, "rb")  # noqa: SIM115
        source = StreamCapture(stream, name="stream:stdin" if read == "-" else f"stream:{read}")
    else:
        source = LiveCapture(interface or settings.capture.interface,
                             capture_filter=(settings.capture.filter if capture_filter is None
                                             else capture_filter))
    if journal_dir is None and read is None:
        journal_dir = settings.capture.journal_dir
    journal = Journal(journal_dir) if journal_dir and not no_journal else None
    service = Monitor(settings, state.sessions(create=True), source, speech=not no_speech,
                      drain=read is not None, journal=journal,
                      on_started=lambda name: click.echo(f"monitor: capturing from {name}",
                                                         err=True))
    if service.runner is None and not no_speech:
        click.echo(f"speech: greetings are not judged: {service.writer.model_problem}", err=True)
    with until_signalled() as stop:
        try:
            stats = service.run(stop)
        except CaptureUnavailableError as exc:
            click.echo(f"monitor: cannot capture: {exc}", err=True)
            sys.exit(2)
        except CaptureFormatError as exc:
            click.echo(f"monitor: {source.name}: not a capture: {exc}", err=True)
            sys.exit(2)
    click.echo(stats.line())


SINCE_HELP = ("Only calls started at or after this ISO 8601 time; without an offset it is "
              "office time ([business_hours] timezone), e.g. 2026-11-23 or 2026-11-23T07:30.")
UNTIL_HELP = "Only calls started before this ISO 8601 time (office time without an offset)."
AS_OF_HELP = ("Judge callback deadlines at this ISO 8601 time (office time without an offset; "
              "default: now).")
UNIT_HELP = "Only this unit: its name or any of its aliases in the config."


@main.command()
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
    now = parse_time(as_of, "--as-of", zone) or datetime.now(UTC)
    start, end = parse_time(since, "--since", zone), parse_time(until, "--until", zone)
    name = unit_name(state.settings, unit)
    directory = Directory(state.settings)
    with state.sessions().begin() as session:
        rows = query_calls(session, since=start, until=end, unit=name)
        if fmt == "csv":
            click.echo(render_csv(rows, now=now, zone=zone, directory=directory,
                                  dialect=csv_dialect), nl=False)
        else:
            render = render_json if fmt == "json" else render_table
            click.echo(render(rows, now=now, zone=zone, directory=directory))


@main.command()
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
    now = parse_time(as_of, "--as-of", zone) or datetime.now(UTC)
    start, end = parse_time(since, "--since", zone), parse_time(until, "--until", zone)
    settings = state.settings
    wanted = unit_name(settings, unit)
    units = [u.name for u in settings.units]
    with state.sessions().begin() as session:
        rows = query_calls(session, since=start, until=end)
        table = build_unit_summary(rows, now, units)
        greetings = build_greeting_summary(rows, Directory(settings), units)
    if wanted is not None:  # the whole period is counted: a unit's rows need others' calls
        table = [row for row in table if row.unit == wanted]
        greetings = [row for row in greetings if row.unit == wanted]
    click.echo(render_unit_summary(table, settings.rings.target))
    click.echo()
    click.echo(render_greeting_summary(greetings))


@main.group()
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


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(state: CliContext) -> None:
    """Create or migrate the database schema to the newest version."""
    engine = state.engine(create=True)
    upgrade(engine)
    click.echo(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")


main.add_command(audio)
main.add_command(greeting)
main.add_command(ingest)
main.add_command(speech)


if __name__ == "__main__":  # pragma: no cover
    main()
