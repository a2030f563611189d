"""The weekly e-mails (issue 11): each employee's own week, and the unit's week for its
supervisors — the figures of the dashboard (:mod:`etykieta.reports.units`), never others.

- ``staff_weekly``: to every ``[[staff]]`` with an ``email`` whose extension a call of the week
  rang at or was answered at (the calls their :class:`~..units.StaffReport` counts): their
  figures against the target and their unit's, what went well, a few calls to look at
  (:mod:`etykieta.reports.examples`, the talk sheet's fair choice), the callbacks their unit
  still owes, and a chart of the rings they answered on. No caller's number nor name.
- ``unit_weekly``: to every supervisor of a unit (``[[units]] supervisors``): the unit's
  figures beside the week before, the employees' table, the overdue and late callbacks, the
  week's biggest changes, and the unit's calls of the week as XLSX, numbers masked as the
  dashboard masks them for a supervisor (and without callers' display names: an e-mail
  leaves the login behind). Its ``period`` is ``"<week>:<unit>"``, so a supervisor of two
  units gets two messages with two keys.

Why the Polish text is written in the templates: see :mod:`.render`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ...config import Settings, Staff
from ...storage.queries import callback_worklist, list_calls
from ...storage.report_queries import report_counts
from ...telephony.numbers import Directory
from ..calls_export import render_xlsx
from ..examples import Example, examples
from ..formats import Formats
from ..privacy import NumberPolicy, masked
from ..units import (
    GreetingFigures,
    Period,
    StaffReport,
    UnitReport,
    build_unit_reports,
    report_scope,
)
from ..views import CallbackFigures, CallFigures, CallView
from .chart import ring_chart_png
from .message import Attachment, Batch, Kind, Outgoing, Recipient, Skipped
from .render import Address, render_parts
from .staff_week import staff_context
from .unit_week import unit_context
from .words import MISSING, call_notes, day_and_time

WEEK = re.compile(r"(\d{4})-W(\d{2})")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHART_CID = "rings@etykieta"
NO_EMAIL = "no e-mail address in [[staff]]"
NO_CALLS = "no calls that week"
EXAMPLE_POOL = 1000


def week_period(week: str, zone: tzinfo) -> Period:
    """ISO week ``"2026-W48"``: Monday 00:00 to the next Monday 00:00 in ``zone``."""
    found = WEEK.fullmatch(week)
    if found is None:
        raise ValueError(f"not an ISO week such as 2026-W48: {week!r}")
    try:
        monday = date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"no such ISO week: {week!r}") from exc
    start = datetime.combine(monday, time(), tzinfo=zone)
    return Period(start, datetime.combine(monday + timedelta(days=7), time(), tzinfo=zone))


def week_words(period: Period, fmt: Formats) -> str:
    """``tydzień 48 (23–29 listopada 2026)``."""
    first = period.since.astimezone(fmt.zone).date()
    return f"tydzień {first.isocalendar().week} ({fmt.range(first, first + timedelta(days=6))})"


@dataclass(frozen=True, slots=True)
class Week:
    """What every message of one week shares."""

    settings: Settings
    directory: Directory
    fmt: Formats
    name: str  # "2026-W48"
    period: Period
    reports: dict[str, UnitReport]
    before: dict[str, UnitReport]

    @property
    def words(self) -> str:
        """``tydzień 48 (23–29 listopada 2026)``."""
        return week_words(self.period, self.fmt)

    @property
    def dates(self) -> str:
        """``23–29 listopada 2026``."""
        first = self.period.since.astimezone(self.fmt.zone).date()
        return self.fmt.range(first, first + timedelta(days=6))

    @property
    def number(self) -> int:
        return self.period.since.astimezone(self.fmt.zone).isocalendar().week

    def link(self, path: str) -> str | None:
        base = self.settings.web.public_url
        return f"{base}{path}" if base else None

    def common(self) -> dict[str, object]:
        settings = self.settings
        return {"fmt": self.fmt, "week": self, "target": settings.rings.target,
                "green": settings.reports.green_pct, "missing_names": MISSING,
                "organisation": settings.organisation.name,
                "dashboard": self.link("/"), "worklist": self.link("/callbacks")}


def weekly_messages(session: Session, settings: Settings, week: str, *, as_of: datetime
                    ) -> Batch:
    """Every weekly message of ``week`` (``"2026-W48"``, office time), callbacks judged at
    ``as_of``; and whom it leaves out, with why."""
    zone = ZoneInfo(settings.business_hours.timezone)
    period = week_period(week, zone)
    directory = Directory(settings)
    units = [u.name for u in settings.units]
    this = _reports(session, settings, directory, period, as_of, units)
    before = _reports(session, settings, directory, period.previous(), as_of, units)
    ctx = Week(settings, directory, Formats(zone), week, period, this, before)
    messages: list[Outgoing] = []
    skipped: list[Skipped] = []
    for person in settings.staff:
        report = this.get(person.unit)
        if report is None:
            continue
        why = _why_not(person, _has_calls(staff_of(report, person.extension)))
        if why is not None:
            skipped.append(Skipped(Kind.STAFF_WEEKLY, week, person.extension,
                                   person.full_name, why))
            continue
        messages.append(_staff_message(session, ctx, person, as_of))
    for unit in settings.units:
        report = this[unit.name]
        busy = report.calls.inbound_calls or report.greetings.answered or report.callbacks.required
        attachment: Attachment | None = None
        for extension in unit.supervisors:
            boss = directory.staff_at(extension)
            if boss is None:
                continue  # config check reports a supervisor missing from [[staff]]
            key = f"{week}:{unit.name}"
            why = _why_not(boss, bool(busy))
            if why is not None:
                skipped.append(Skipped(Kind.UNIT_WEEKLY, key, extension, boss.full_name, why))
                continue
            if attachment is None:
                attachment = _calls_xlsx(session, ctx, unit.name, as_of)
            messages.append(_unit_message(session, ctx, report, boss, key, attachment, as_of))
    return Batch(tuple(messages), tuple(skipped))


def _why_not(person: Staff, has_calls: bool) -> str | None:
    if not person.email:
        return NO_EMAIL
    return None if has_calls else NO_CALLS


def _reports(session: Session, settings: Settings, directory: Directory, period: Period,
             as_of: datetime, units: list[str]) -> dict[str, UnitReport]:
    scope = report_scope(settings, period, as_of=as_of)
    return {r.unit: r for r in build_unit_reports(report_counts(session, scope), directory,
                                                  scope, units)}


def staff_of(report: UnitReport, extension: str) -> StaffReport:
    """The employee's row of their unit's report (a row of zeros when there is none)."""
    return next((p for p in report.staff if p.extension == extension),
                StaffReport(extension, "", "", CallFigures(), CallbackFigures(),
                            GreetingFigures()))


def _has_calls(me: StaffReport) -> bool:
    """Calls their report counts: inbound calls that rang or were answered at the extension,
    answered calls whose greeting counts for them, transfers."""
    return bool(me.calls.inbound_calls or me.greetings.answered or me.calls.transfers)


@dataclass(frozen=True, slots=True)
class ExampleLine:
    """An example call as the e-mail shows it: when, what happened — no number, no name."""

    good: bool
    when: str
    notes: tuple[str, ...]
    heard: str | None
    link: str | None


@dataclass(frozen=True, slots=True)
class Owed:
    """The callbacks a unit still has to make (pending and overdue), soonest first."""

    count: int
    overdue: int
    earliest: datetime | None
    """The earliest due time of them all (an overdue one's, when there is one)."""
    next_due: datetime | None
    """The earliest due time still ahead."""


def owed_by(session: Session, unit: str, as_of: datetime) -> Owed:
    work = callback_worklist(session, as_of=as_of, units=(unit,))
    dues = [c.callback for c in work if c.callback is not None]
    return Owed(len(dues), sum(1 for c in dues if c.status == "missed"),
                min((c.due_at for c in dues), default=None),
                min((c.due_at for c in dues if c.status == "pending"), default=None))


def _staff_message(session: Session, ctx: Week, person: Staff, as_of: datetime) -> Outgoing:
    report = ctx.reports[person.unit]
    me = staff_of(report, person.extension)
    before = staff_of(ctx.before[person.unit], person.extension)
    calls = list_calls(session, as_of=as_of, since=ctx.period.since, until=ctx.period.until,
                       extension=person.extension, limit=EXAMPLE_POOL)
    address = Address(person.salutation)
    target = ctx.settings.rings.target
    lines = [_example_line(e, ctx, target) for e in examples(calls, person.extension)]
    chart = ring_chart_png(me.calls.rings, target,
                           title="Sygnał, przy którym odebrano połączenia",
                           target_label=f"cel: do {target}. sygnału",
                           empty_label="brak odebranych połączeń przychodzących")
    context = {**ctx.common(), **staff_context(me, before, report, ctx.fmt, ctx.settings),
               "person": person, "address": address, "examples": lines,
               "owed": owed_by(session, person.unit, as_of), "chart_cid": CHART_CID}
    text, html = render_parts("staff_weekly", **context)
    whose = f"{address.whose} tydzień" if address.whose else "podsumowanie tygodnia"
    subject = f"Etykieta: {whose} {ctx.number} ({ctx.dates})"
    return Outgoing(Kind.STAFF_WEEKLY, ctx.name, _recipient(person), subject, text, html,
                    (Attachment("sygnaly.png", "image/png", chart, CHART_CID),))


def _example_line(example: Example, ctx: Week, target: int) -> ExampleLine:
    call = example.call
    heard = call.greeting.transcript if call.greeting and call.greeting.transcript else None
    return ExampleLine(example.good, day_and_time(call.started_at, ctx.fmt.zone),
                       tuple(call_notes(call, ctx.fmt, target)), heard,
                       ctx.link(f"/calls/{call.id}"))


def _recipient(person: Staff) -> Recipient:
    assert person.email is not None
    return Recipient(person.extension, person.full_name, person.email)


def supervisor_numbers(ctx: Week) -> NumberPolicy:
    """Numbers as the dashboard shows them to a supervisor outside the worklist: masked."""
    return NumberPolicy(ctx.directory, ctx.settings.organisation.country_code, full=False)


def attachment_calls(calls: list[CallView], numbers: NumberPolicy) -> list[CallView]:
    """The calls as the attachment lists them: masked, and without the caller's display name
    (personal data that an e-mail should not carry out of the login)."""
    return [replace(masked(call, numbers), caller_name=None) for call in calls]


def _calls_xlsx(session: Session, ctx: Week, unit: str, as_of: datetime) -> Attachment:
    calls = list_calls(session, as_of=as_of, since=ctx.period.since, until=ctx.period.until,
                       unit=unit)
    data = render_xlsx(attachment_calls(calls, supervisor_numbers(ctx)), zone=ctx.fmt.zone,
                       directory=ctx.directory)
    slug = re.sub(r"[^a-z0-9]+", "-", unit.casefold().translate(_ASCII)).strip("-")
    return Attachment(f"polaczenia-{slug}-{ctx.name}.xlsx", XLSX, data)


_ASCII = str.maketrans("ąćęłńóśźż", "acelnoszz")


def _unit_message(session: Session, ctx: Week, report: UnitReport, person: Staff, key: str,
                  attachment: Attachment, as_of: datetime) -> Outgoing:
    target = ctx.settings.rings.target
    chart = ring_chart_png(report.calls.rings, target,
                           title="Sygnał, przy którym odebrano połączenia wydziału",
                           target_label=f"cel: do {target}. sygnału",
                           empty_label="brak odebranych połączeń przychodzących")
    context = {**ctx.common(),
               **unit_context(session, report, ctx.before[report.unit], ctx.settings,
                              ctx.directory, ctx.period, ctx.fmt, as_of),
               "person": person, "address": Address(person.salutation),
               "owed": owed_by(session, report.unit, as_of), "chart_cid": CHART_CID,
               "attachment": attachment.filename}
    text, html = render_parts("unit_weekly", **context)
    subject = f"Etykieta: {report.unit} – tydzień {ctx.number} ({ctx.dates})"
    return Outgoing(Kind.UNIT_WEEKLY, key, _recipient(person), subject, text, html,
                    (Attachment("sygnaly.png", "image/png", chart, CHART_CID), attachment))
