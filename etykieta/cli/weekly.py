"""``etykieta report weekly`` and ``report reminders``: the e-mails, written out or sent.

``--out DIR`` writes each message as an ``.eml`` file (nothing is recorded, nobody is mailed);
``--send`` hands them to ``[smtp]`` through the outbox, so a message is sent once however
often the command runs; ``--status`` shows what the outbox holds for a week.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import click

from ..clock import utc_now
from ..config import Settings
from ..reports.mail.message import Batch, Kind
from ..reports.mail.mime import to_email
from ..reports.mail.reminders import reminder_messages
from ..reports.mail.schedule import last_complete_week, week_end, week_monday
from ..reports.mail.send import Delivery, Sender
from ..reports.mail.weekly import weekly_messages
from ..storage.outbox import Entry, State, listing
from .context import SETUP_ERROR, CliContext

FAILED = 1  # exit status: some message was not accepted
WEEKLY_KINDS = (Kind.STAFF_WEEKLY.value, Kind.UNIT_WEEKLY.value)


@click.command()
@click.option("--week", help="ISO week, e.g. 2026-W48. Default: the last complete ISO week "
                             "in office time.")
@click.option("--send", is_flag=True, help="Send over [smtp]; what was sent before is not.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write each message as DIR/<kind>_<week>_<extension>.eml instead; "
                   "nobody is mailed.")
@click.option("--to", "extension", help="Only the messages to this [[staff]] extension.")
@click.option("--status", is_flag=True,
              help="List every recipient of the week: sent (Message-ID, time), failed "
                   "(error, attempts), skipped (why), not sent yet.")
@click.pass_obj
def weekly(state: CliContext, week: str | None, send: bool, out: Path | None,
           extension: str | None, status: bool) -> None:
    """The weekly e-mails: each employee's own week, each unit's week to its supervisors."""
    if send + (out is not None) + status != 1:
        raise click.UsageError("give one of --send, --out DIR or --status")
    settings, now = state.settings, utc_now()
    week = week or last_complete_week(now, state.zone)
    try:
        week_monday(week)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from exc
    _check_extension(settings, extension)
    if send and now < week_end(week, state.zone):
        raise click.UsageError(
            f"week {week} is not over until {week_end(week, state.zone):%Y-%m-%d %H:%M} "
            "(office time): its e-mails go once, with the whole week (--out DIR shows them "
            "as they stand)")
    with state.sessions().begin() as session:
        batch = _only(weekly_messages(session, settings, week, as_of=now), extension)
    if status:
        _status(state, week, batch, extension)
    elif out is not None:
        _write(batch, out, settings, f"report weekly {week}", now)
    else:
        _send(state, batch, f"report weekly {week}")


@click.command()
@click.option("--send", is_flag=True, help="Send over [smtp]; a reminder goes once.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write each reminder as an .eml file instead; nobody is mailed.")
@click.pass_obj
def reminders(state: CliContext, send: bool, out: Path | None) -> None:
    """Callback reminders due now ([callbacks] remind_before_business_minutes): for a timer
    every few minutes when `etykieta monitor` (which sends them itself) does not run."""
    if send == (out is not None):
        raise click.UsageError("give one of --send or --out DIR")
    settings, now = state.settings, utc_now()
    if settings.callbacks.remind_before_business_minutes is None:
        click.echo("report reminders: off ([callbacks] remind_before_business_minutes is "
                   "not set)")
        return
    with state.sessions().begin() as session:
        batch = reminder_messages(session, settings, now=now)
    if out is not None:
        _write(batch, out, settings, "report reminders", now)
    else:
        _send(state, batch, "report reminders")


def _check_extension(settings: Settings, extension: str | None) -> None:
    if extension is not None and extension not in {p.extension for p in settings.staff}:
        raise click.BadParameter(f"{extension!r} is not a [[staff]] extension",
                                 param_hint="--to")


def _only(batch: Batch, extension: str | None) -> Batch:
    if extension is None:
        return batch
    return Batch(tuple(m for m in batch.messages if m.recipient.extension == extension),
                 tuple(s for s in batch.skipped if s.extension == extension))


def _write(batch: Batch, out: Path, settings: Settings, what: str, now: datetime) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sender = settings.smtp.sender or "Etykieta <etykieta@localhost>"
    for number, message in enumerate(batch.messages, 1):
        email = to_email(message, sender=sender, message_id=f"<preview.{number}@localhost>",
                         date=now)
        (out / (re.sub(r"[/: ]", "_", message.key) + ".eml")).write_bytes(
            email.as_bytes())
    kinds = Counter(m.kind.value for m in batch.messages)
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    click.echo(f"{what}: {len(batch.messages)} messages written to {out}"
               + (f" ({counted})" if counted else "")
               + (f"; {len(batch.skipped)} skipped:" if batch.skipped else ""))
    for person in batch.skipped:
        click.echo(f"  {person.kind.value} {person.extension} {person.name}: {person.why}")


def _send(state: CliContext, batch: Batch, what: str) -> None:
    settings = state.settings
    if not settings.smtp.configured:
        click.echo(f"{what}: no [smtp] table in {settings.source or 'the config'}: nothing "
                   "can be sent (--out DIR writes the messages to look at)", err=True)
        sys.exit(SETUP_ERROR)
    delivery: Delivery = Sender(settings.smtp, state.sessions()).deliver(batch)
    click.echo(f"{what}: {delivery.line()}")
    for failed in delivery.failed:
        click.echo(f"  failed ({failed.failure.value}, {_attempts(failed.attempts)}): "
                   f"{failed.key} {failed.name} <{failed.address}>: {failed.error}", err=True)
    if not delivery.ok:
        sys.exit(FAILED)


def _status(state: CliContext, week: str, batch: Batch, extension: str | None) -> None:
    with state.sessions().begin() as session:
        rows = [e for e in listing(session, week, WEEKLY_KINDS)
                if extension is None or e.extension == extension]
    recorded = {e.key for e in rows}
    waiting = [m for m in batch.messages if m.key not in recorded]
    left_out = [s for s in batch.skipped
                if f"{s.kind.value}/{s.period}/{s.extension}" not in recorded]
    states = Counter(e.state.value for e in rows)
    states[State.SKIPPED.value] += len(left_out)
    states["not sent yet"] += len(waiting)
    order = ("sent", "failed", "sending", "not sent yet", "skipped")
    counted = ", ".join(f"{states[name]} {name}" for name in order if states[name])
    click.echo(f"report weekly {week}: {counted or 'no recipients'}")
    for entry in rows:
        click.echo(_line(entry, state))
    for message in waiting:
        click.echo(f"{message.kind.value:<13} {message.recipient.extension:<6} "
                   f"{message.recipient.name:<24} not sent yet")
    for person in left_out:
        click.echo(f"{person.kind.value:<13} {person.extension:<6} {person.name:<24} "
                   f"{State.SKIPPED.value:<8} {person.why}")


def _line(entry: Entry, state: CliContext) -> str:
    head = f"{entry.kind:<13} {entry.extension:<6} {entry.name:<24} {entry.state.value:<8}"
    if entry.state is State.SENT and entry.sent_at is not None:
        when = entry.sent_at.astimezone(state.zone)
        return f"{head} {when:%Y-%m-%d %H:%M:%S} {entry.message_id} ({entry.reply})"
    if entry.state is State.FAILED:
        failure = entry.failure.value if entry.failure else "?"
        return f"{head} {failure}, {_attempts(entry.attempts)}: {entry.error}"
    if entry.state is State.SENDING:
        return (f"{head} interrupted: the next run sends it again with the same Message-ID "
                f"{entry.message_id}")
    return f"{head} {entry.error}"


def _attempts(count: int) -> str:
    return f"{count} attempt" + ("" if count == 1 else "s")
