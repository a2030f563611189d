"""Callback reminders (T6–T8: prevent, not only count): a short e-mail about a duty still
pending shortly before it falls due, to the unit's staff with e-mail or to its supervisors.

One :class:`~.message.Outgoing` per duty and recipient, ``period`` the duty's id, so the
sender's outbox sends each once, however often this runs. The message says when it is due
and where the worklist is — never the caller's number (that is on the worklist, behind the
login).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ...callbacks.opening import calendar_for
from ...config import Settings, Staff
from ...storage.reminder_queries import OpenCallback, open_callbacks
from ...telephony.numbers import Directory
from ..formats import Formats
from .message import Batch, Kind, Outgoing, Recipient, Skipped
from .render import Address, plural, render_parts
from .weekly import NO_EMAIL
from .words import CALLBACK_REASONS, day_and_time

REMIND = ("staff", "supervisors")


def reminder_messages(session: Session, settings: Settings, *, now: datetime,
                      before_minutes: float | None = None, remind: str | None = None) -> Batch:
    """A reminder for every duty still pending whose ``due_at`` is at most ``before_minutes``
    business minutes after ``now``, to the unit's staff with an e-mail (``remind="staff"``)
    or only to its supervisors (``"supervisors"``); those without an e-mail are skipped.

    ``before_minutes`` and ``remind`` default to ``[callbacks] remind_before_business_minutes``
    and ``remind``; no minutes there either: no reminders.
    """
    policy = settings.callbacks
    if before_minutes is None:
        before_minutes = policy.remind_before_business_minutes
    if remind is None:
        remind = policy.remind.value
    if remind not in REMIND:
        raise ValueError(f"remind must be one of {', '.join(REMIND)}, got {remind!r}")
    if before_minutes is None:
        return Batch(())
    calendar = calendar_for(settings.business_hours)
    directory = Directory(settings)
    fmt = Formats(ZoneInfo(settings.business_hours.timezone))
    messages: list[Outgoing] = []
    skipped: list[Skipped] = []
    for duty in open_callbacks(session, as_of=now):
        left = calendar.business_seconds_between(now, duty.due_at) / 60
        if left > before_minutes:
            continue
        for person in _recipients(settings, directory, duty.unit, remind):
            period = str(duty.id)
            if not person.email:
                skipped.append(Skipped(Kind.CALLBACK_REMINDER, period, person.extension,
                                       person.full_name, NO_EMAIL))
                continue
            messages.append(_message(settings, fmt, duty, person, round(left)))
    return Batch(tuple(messages), tuple(skipped))


def _recipients(settings: Settings, directory: Directory, unit: str, remind: str
                ) -> list[Staff]:
    if remind == "staff":
        return [p for p in settings.staff if p.unit == unit]
    found = next((u for u in settings.units if u.name == unit), None)
    people = [directory.staff_at(e) for e in (found.supervisors if found else ())]
    return [p for p in people if p is not None]


def _message(settings: Settings, fmt: Formats, duty: OpenCallback, person: Staff,
             minutes: int) -> Outgoing:
    base = settings.web.public_url
    context = {
        "fmt": fmt, "address": Address(person.salutation), "duty": duty, "minutes": minutes,
        "minutes_word": plural(minutes, "minuta", "minuty", "minut"),
        "reason": CALLBACK_REASONS.get(duty.reason, duty.reason),
        "called_at": day_and_time(duty.call_started_at, fmt.zone),
        "due": day_and_time(duty.due_at, fmt.zone),
        "worklist": f"{base}/callbacks" if base else None,
        "organisation": settings.organisation.name,
    }
    text, html = render_parts("callback_reminder", **context)
    subject = f"Etykieta: oddzwonienie do {fmt.moment(duty.due_at)} – {duty.unit}"
    assert person.email is not None
    return Outgoing(Kind.CALLBACK_REMINDER, str(duty.id),
                    Recipient(person.extension, person.full_name, person.email),
                    subject, text, html)
