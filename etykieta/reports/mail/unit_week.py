"""What a supervisor's weekly e-mail says of their unit: the unit report's figures beside the
week before, the employees' table, the overdue and late callbacks (no numbers: those are on
the worklist, behind the login), and the week's biggest changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ...config import Settings
from ...storage.queries import CallDrill, list_calls
from ...telephony.numbers import Directory
from ..formats import Formats
from ..units import Period, StaffReport, UnitReport
from .staff_week import most_missing, share
from .words import CALLBACK_REASONS, CALLBACK_STATUSES, day_and_time, pp

BIGGEST_CHANGES = 4
MIN_CHANGE_PP = 5.0
"""A share that moved less than this is no news."""


@dataclass(frozen=True, slots=True)
class UnitRow:
    label: str
    now: str
    detail: str
    before: str
    change: str


@dataclass(frozen=True, slots=True)
class PersonRow:
    name: str
    calls: str
    within: str
    within_detail: str
    complete: str
    complete_detail: str
    overdue: str


@dataclass(frozen=True, slots=True)
class CallbackLine:
    when: str
    reason: str
    due: str
    status: str
    attempts: int


def _count_change(now: int, then: int, fmt: Formats) -> str:
    if now == then:
        return "bez zmian"
    return f"{'+' if now > then else '−'}{fmt.number(abs(now - then))}"


def _pct_change(now: float | None, then: float | None, fmt: Formats) -> str:
    return "—" if now is None or then is None else pp(now - then, fmt)


def unit_context(session: Session, report: UnitReport, before: UnitReport, settings: Settings,
                 directory: Directory, period: Period, fmt: Formats, as_of: datetime
                 ) -> dict[str, object]:
    target = settings.rings.target
    c, b, g, bg = report.calls, before.calls, report.greetings, before.greetings
    cb, bcb = report.callbacks, before.callbacks
    n = fmt.number
    rows = [
        UnitRow("Połączenia przychodzące", n(c.inbound_calls), "", n(b.inbound_calls),
                _count_change(c.inbound_calls, b.inbound_calls, fmt)),
        UnitRow("Odebrane", n(c.answered), "", n(b.answered),
                _count_change(c.answered, b.answered, fmt)),
        UnitRow(f"Odebrane do {target}. sygnału (T3)", fmt.pct(c.within_target_pct),
                share(c.answered_within_target, c.answered, fmt), fmt.pct(b.within_target_pct),
                _pct_change(c.within_target_pct, b.within_target_pct, fmt)),
        UnitRow("Z punktu widzenia dzwoniących (poziom obsługi)",
                fmt.pct(c.callers_within_target_pct),
                share(c.answered_within_target, c.callers_counted, fmt),
                fmt.pct(b.callers_within_target_pct),
                _pct_change(c.callers_within_target_pct, b.callers_within_target_pct, fmt)),
        UnitRow("Mediana czasu do odebrania", fmt.seconds(c.ring_seconds_median),
                f"90. percentyl: {fmt.seconds(c.ring_seconds_p90)}",
                fmt.seconds(b.ring_seconds_median), ""),
        UnitRow("Rozłączone przez dzwoniącego przed odebraniem", n(c.abandoned), "",
                n(b.abandoned), _count_change(c.abandoned, b.abandoned, fmt)),
        UnitRow("Nieudane przełączenia (T5)", n(c.failed_transfers),
                f"z {n(c.transfers)} przełączeń", n(b.failed_transfers),
                _count_change(c.failed_transfers, b.failed_transfers, fmt)),
        UnitRow("Powitanie pełne (T1)", fmt.pct(g.complete_pct),
                share(g.complete, g.judged, fmt, "ocenionych"), fmt.pct(bg.complete_pct),
                _pct_change(g.complete_pct, bg.complete_pct, fmt)),
        UnitRow("Oddzwonienia: wymagane", n(cb.required), "", n(bcb.required),
                _count_change(cb.required, bcb.required, fmt)),
        UnitRow("– wykonane", n(cb.done), "", n(bcb.done), _count_change(cb.done, bcb.done, fmt)),
        UnitRow("– wykonane po terminie", n(cb.late), "", n(bcb.late),
                _count_change(cb.late, bcb.late, fmt)),
        UnitRow("– zaległe (nieoddzwonione)", n(cb.missed), "", n(bcb.missed),
                _count_change(cb.missed, bcb.missed, fmt)),
        UnitRow("– do wykonania", n(cb.pending), "", n(bcb.pending),
                _count_change(cb.pending, bcb.pending, fmt)),
    ]
    people = [_person_row(p, fmt) for p in report.staff]
    return {"report": report, "before_report": before, "unit_rows": rows, "people": people,
            "missing": most_missing(g),
            "late_callbacks": late_callbacks(session, report.unit, period, fmt, as_of),
            "biggest": biggest_changes(report, before, fmt, target)}


def _person_row(p: StaffReport, fmt: Formats) -> PersonRow:
    c, g = p.calls, p.greetings
    return PersonRow(f"{p.first_name} {p.last_name}", fmt.number(c.inbound_calls),
                     fmt.pct(c.within_target_pct), share(c.answered_within_target, c.answered, fmt),
                     fmt.pct(g.complete_pct), share(g.complete, g.judged, fmt),
                     fmt.number(p.callbacks.missed))


def late_callbacks(session: Session, unit: str, period: Period, fmt: Formats,
                   as_of: datetime) -> list[CallbackLine]:
    """The unit's callbacks of the week's calls that are overdue or were made late."""
    found = []
    for status in ("missed", "late"):
        for call in list_calls(session, as_of=as_of, since=period.since, until=period.until,
                               drill=CallDrill(callback=status)):
            duty = call.callback
            if duty is None or duty.unit != unit:
                continue
            found.append((call.started_at, CallbackLine(
                day_and_time(call.started_at, fmt.zone),
                CALLBACK_REASONS.get(duty.reason, duty.reason), fmt.moment(duty.due_at),
                CALLBACK_STATUSES.get(duty.status, duty.status), duty.attempts)))
    return [line for _, line in sorted(found, key=lambda item: item[0])]


def biggest_changes(report: UnitReport, before: UnitReport, fmt: Formats, target: int
                    ) -> list[str]:
    """The shares that moved most since the week before (the unit's and each employee's),
    each with the counts it rests on; at most :data:`BIGGEST_CHANGES`."""
    found: list[tuple[float, str]] = []

    def add(who: str, label: str, now: float | None, then: float | None, detail: str,
            detail_before: str) -> None:
        if now is None or then is None or abs(now - then) < MIN_CHANGE_PP:
            return
        found.append((abs(now - then),
                      f"{who}: {label} {fmt.pct(now)} ({detail}) wobec {fmt.pct(then)} "
                      f"({detail_before}) – {pp(now - then, fmt)}."))

    previous = {p.extension: p for p in before.staff}
    pairs = [("Wydział", report.calls, before.calls, report.greetings, before.greetings)]
    pairs += [(f"{p.first_name} {p.last_name}", p.calls, previous[p.extension].calls,
               p.greetings, previous[p.extension].greetings)
              for p in report.staff if p.extension in previous]
    for who, c, b, g, bg in pairs:
        add(who, f"odebrane do {target}. sygnału", c.within_target_pct, b.within_target_pct,
            share(c.answered_within_target, c.answered, fmt),
            share(b.answered_within_target, b.answered, fmt))
        add(who, "powitanie pełne", g.complete_pct, bg.complete_pct,
            share(g.complete, g.judged, fmt), share(bg.complete, bg.judged, fmt))
    found.sort(key=lambda item: -item[0])
    return [sentence for _, sentence in found[:BIGGEST_CHANGES]]
