"""The per-unit report of a period: answer time (T3), transfers (T5), callbacks (T6–T8) and
greetings (T1, T2, T9, T10) of each unit and of each of its employees.

Built once, here, for every face: ``etykieta report units`` and ``summary``, the web pages and
the API, the weekly e-mails. A face asks for it in three steps::

    scope = report_scope(settings, period, as_of=now, unit=name)     # what to read
    counts = report_counts(session, scope)                           # storage.report_queries
    reports = build_unit_reports(counts, Directory(settings), scope)  # one UnitReport per unit

What is counted where (the calls JSON says the same of each call):

- the call figures of a unit are its inbound calls, ``unit`` being the unit called, and the
  transfers of its calls of any direction; an employee's are the calls that rang at or were
  answered at their extension (a leg to it, or its answer);
- a unit's callbacks are the duties it owes for the period's calls, an employee's those that
  their calls opened, each by status as of the report's instant;
- greetings are those of the answered inbound and internal calls, a unit's by the unit of the
  extension that answered (the unit called when that extension belongs to none), an employee's
  those they answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, time, timedelta, tzinfo

from ..config import Settings
from ..telephony.numbers import Directory
from ..telephony.rings import target_end_s
from .views import (
    CallbackFigures,
    CallFigures,
    GreetingCounts,
    MissingElements,
    ReportCounts,
    ReportScope,
    UnitCallbackCounts,
)

NO_UNIT = "(no unit)"
"""The name a table gives the calls of no unit (``unit`` null)."""


@dataclass(frozen=True, slots=True)
class Period:
    """``[since, until)``, by a call's ``started_at``; aware datetimes."""

    since: datetime
    until: datetime

    @classmethod
    def iso_week(cls, instant: datetime, zone: tzinfo) -> Period:
        """The ISO week (Monday 00:00 to the next Monday 00:00, in ``zone``) of ``instant``."""
        day = instant.astimezone(zone).date()
        monday = datetime.combine(day - timedelta(days=day.weekday()), time(), tzinfo=zone)
        return cls(monday, monday + timedelta(days=7))

    @classmethod
    def all_time(cls) -> Period:
        """Every call stored: the ``summary``'s period without ``--since`` or ``--until``."""
        return cls(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))

    def previous(self) -> Period:
        """The period of the same length just before this one (the week before a week),
        counted in wall-clock time, so a week across a DST change is still Monday to Monday."""
        return Period(self.since - (self.until - self.since), self.since)


@dataclass(frozen=True, slots=True)
class GreetingFigures:
    """The greetings of answered inbound and internal calls (T1, T2, T9, T10).

    ``answered`` is every such call; ``judged`` those whose audio or transcript decided the
    verdict (complete, partial, no greeting, silent): shares are taken of these only.
    ``unclear``, ``no_audio``, ``unsupported_codec`` and ``not_checked`` are calls nobody
    could judge. ``thanked`` is of the ``closings_heard`` (T10).
    """

    answered: int = 0
    complete: int = 0
    partial: int = 0
    no_greeting: int = 0
    silent: int = 0
    unclear: int = 0
    no_audio: int = 0
    unsupported_codec: int = 0
    not_checked: int = 0
    too_fast: int = 0
    casual_words: int = 0
    thanked: int = 0
    closings_heard: int = 0
    missing: MissingElements = MissingElements()
    overridden: int = 0
    """Verdicts a supervisor overrode after a dispute: counted above as the supervisor set them."""

    @property
    def judged(self) -> int:
        return self.complete + self.partial + self.no_greeting + self.silent

    @property
    def complete_pct(self) -> float | None:
        """Of the judged greetings, the share that were complete (T1), in percent."""
        return 100.0 * self.complete / self.judged if self.judged else None

    @classmethod
    def total(cls, groups: Iterable[GreetingCounts]) -> GreetingFigures:
        """The figures of the calls of ``groups`` together."""
        counts = list(groups)
        plain = [f.name for f in fields(cls) if f.name not in ("casual_words", "missing")]
        return cls(**{name: sum(getattr(g, name) for g in counts) for name in plain},
                   casual_words=sum(g.casual for g in counts),
                   missing=MissingElements(**{
                       f.name: sum(getattr(g.missing, f.name) for g in counts)
                       for f in fields(MissingElements)}))


@dataclass(frozen=True, slots=True)
class StaffReport:
    """One employee's figures: the calls that rang at or were answered at their extension."""

    extension: str
    first_name: str
    last_name: str
    calls: CallFigures
    callbacks: CallbackFigures
    greetings: GreetingFigures


@dataclass(frozen=True, slots=True)
class UnitReport:
    """One unit's figures of ``period``, and its employees' (in config order)."""

    unit: str
    period: Period
    calls: CallFigures
    callbacks: CallbackFigures
    greetings: GreetingFigures
    staff: tuple[StaffReport, ...]


def report_scope(settings: Settings, period: Period, *, as_of: datetime,
                 unit: str | None = None, staff: bool = True) -> ReportScope:
    """What a report of ``period`` (of ``unit``, else of every unit) reads; callbacks judged
    at ``as_of``; with ``staff``, the rows of the unit's (every) employees too."""
    people = [p.extension for p in settings.staff if unit is None or p.unit == unit]
    return ReportScope(since=period.since, until=period.until, as_of=as_of,
                       target_end_s=target_end_s(settings.rings), unit=unit,
                       staff=tuple(people) if staff else ())


def build_unit_reports(counts: ReportCounts, directory: Directory, scope: ReportScope,
                       units: Sequence[str] | None = None) -> list[UnitReport]:
    """One report per unit of ``units`` (default: the scope's unit, else every configured one,
    in config order). A name no config lists counts the calls that name it (:data:`NO_UNIT`:
    those of no unit); only configured units have employees."""
    if units is None:
        units = [scope.unit] if scope.unit is not None else [u.name for u in directory.units]
    period = Period(scope.since, scope.until)
    calls = {_name(c.unit): c.figures for c in counts.unit_calls}
    callbacks = {c.unit: _callback_figures(c) for c in counts.unit_callbacks}
    greeted: dict[str, list[GreetingCounts]] = {}
    for group in counts.greetings:
        greeted.setdefault(greeting_unit(group, directory), []).append(group)
    read = set(scope.staff)
    return [UnitReport(
        unit=name, period=period, calls=calls.get(name, CallFigures()),
        callbacks=callbacks.get(name, CallbackFigures()),
        greetings=GreetingFigures.total(greeted.get(name, ())),
        staff=tuple(_staff_report(person.extension, person.first_name, person.last_name, counts)
                    for person in directory.staff_in(name) if person.extension in read))
        for name in units]


def greeting_unit(group: GreetingCounts, directory: Directory) -> str:
    """The unit a group of greetings counts for: the answering extension's, else the unit
    called, else :data:`NO_UNIT`."""
    spoke = directory.unit_of(group.answered_by) if group.answered_by else None
    return spoke.name if spoke is not None else _name(group.unit)


def _name(unit: str | None) -> str:
    return NO_UNIT if unit is None else unit


def _callback_figures(counts: UnitCallbackCounts) -> CallbackFigures:
    return CallbackFigures(**{f.name: getattr(counts, f.name) for f in fields(CallbackFigures)})


def _staff_report(extension: str, first_name: str, last_name: str, counts: ReportCounts
                  ) -> StaffReport:
    return StaffReport(
        extension=extension, first_name=first_name, last_name=last_name,
        calls=counts.staff_calls.get(extension, CallFigures()),
        callbacks=counts.staff_callbacks.get(extension, CallbackFigures()),
        greetings=GreetingFigures.total(g for g in counts.greetings
                                        if g.answered_by == extension))
