"""``etykieta summary``: the per-unit tables of a period."""

from __future__ import annotations

import click

from ..clock import utc_now
from ..reports.greetings import build_greeting_summary, render_greeting_summary
from ..reports.summary import build_unit_summary, render_unit_summary
from ..storage.queries import greeting_counts, unit_call_counts, unit_callback_counts
from ..telephony.numbers import Directory
from .context import CliContext, parse_time, unit_name
from .options import AS_OF_HELP, SINCE_HELP, UNIT_HELP, UNTIL_HELP


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
    start, end = parse_time(since, "--since", zone), parse_time(until, "--until", zone)
    settings = state.settings
    wanted = unit_name(settings, unit)
    units = [u.name for u in settings.units]
    with state.sessions().begin() as session:
        calls = unit_call_counts(session, since=start, until=end)
        callbacks = unit_callback_counts(session, as_of=now, since=start, until=end)
        greeted = greeting_counts(session, since=start, until=end)
    table = build_unit_summary(calls, callbacks, units)
    greetings = build_greeting_summary(greeted, Directory(settings), units)
    if wanted is not None:  # the whole period is counted: a unit's rows need others' calls
        table = [row for row in table if row.unit == wanted]
        greetings = [row for row in greetings if row.unit == wanted]
    click.echo(render_unit_summary(table, settings.rings.target))
    click.echo()
    click.echo(render_greeting_summary(greetings))
