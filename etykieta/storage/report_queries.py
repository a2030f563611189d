"""The read seam of the per-unit report: what :mod:`etykieta.reports.units` adds up, as SQL.

:func:`report_counts` runs the statements one report of a period needs, each a GROUP BY over
the period's calls (``calls.started_at``, indexed) whose result has a row per unit or employee
and ring number, or a few rows per unit or employee, however many calls the period holds:

1. the call figures by unit called (``calls.unit``) and ring number at answer;
2. the median and 90th percentile ring time by unit: the answered calls ranked by ring time
   in a window, and only the ranks that are the order statistics read back;
3. the callback duties by the unit that owes them (:func:`~.queries.unit_callback_counts`);
4. the greetings by answering extension and unit called (:func:`~.queries.greeting_counts`);
5.–7. the same as 1–3 by employee, for the calls that rang at or were answered at their
   extension (:func:`~.queries.rang_at`: a leg to it, or its answer), only when the scope
   names employees.

A call's transfer is its last one, as in the listing. Nothing here loads a call into Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    RowMapping,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session, aliased

from ..callbacks import CallbackStatus
from ..reports.views import (
    CallbackFigures,
    CallFigures,
    FirstCall,
    ReportCounts,
    ReportScope,
    UnitCalls,
)
from .models import Call, CallbackObligation, Leg, Transfer
from .queries import OUTCOMES, callback_status_as_of, greeting_counts, unit_callback_counts
from .repository import in_period

Key = str | None
Selected = Select[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class _Figures:
    """What statement 1 (or 4) gives one unit (or employee)."""

    first_call: FirstCall
    calls: CallFigures
    callbacks: CallbackFigures


def report_counts(session: Session, scope: ReportScope) -> ReportCounts:
    """Every aggregate a per-unit report of ``scope`` adds up: two statements for the units,
    one for the greetings, one more when ``scope.staff`` names employees."""
    units = _call_figures(session, scope, Call.unit.expression, None)
    callbacks = unit_callback_counts(session, as_of=scope.as_of, since=scope.since,
                                     until=scope.until)
    greetings = greeting_counts(session, since=scope.since, until=scope.until)
    staff: dict[Key, _Figures] = {}
    if scope.staff:
        members = _members(scope)
        staff = _call_figures(session, scope, members.c.extension, members)
    staff_calls = {str(key): figures.calls for key, figures in staff.items()}
    staff_callbacks = {str(key): figures.callbacks for key, figures in staff.items()
                       if figures.callbacks.required}
    return ReportCounts(
        unit_calls=tuple(UnitCalls(unit, figures.first_call, figures.calls)
                         for unit, figures in units.items()),
        unit_callbacks=tuple(c for c in callbacks if scope.unit in (None, c.unit)),
        greetings=tuple(greetings), staff_calls=staff_calls, staff_callbacks=staff_callbacks)


def _members(scope: ReportScope) -> FromClause:
    """(call, extension) for each call of the period that rang at or was answered at one of
    the scope's extensions: a leg to it, or its answer (``rang_at``), each pair once."""
    wanted = list(scope.staff)
    rang = in_period(select(Leg.call_pk.label("call_pk"), Leg.extension.label("extension"))
                     .join(Call, Call.id == Leg.call_pk).where(Leg.extension.in_(wanted)),
                     since=scope.since, until=scope.until)
    answered = in_period(select(Call.id.label("call_pk"), Call.answered_by.label("extension"))
                         .where(Call.answered_by.in_(wanted)),
                         since=scope.since, until=scope.until)
    return union(rang, answered).subquery("members")


def _last_transfer() -> tuple[Any, ColumnElement[bool]]:
    """The last transfer attempt of a call, and the condition a call is outer-joined to it
    on: a transfer of the call with no later one (by ``seq``, then ``id``).

    A join on ``transfers.call_pk`` (indexed), looked up once per call: a window over the
    period's transfers, materialised, was scanned once per call by SQLite when the calls were
    one unit's (0.6 s for a month of the biggest unit of a year of 1,000,000 calls).
    """
    last = aliased(Transfer, name="last_transfer")
    later = aliased(Transfer, name="later_transfer")
    newer = exists().where(later.call_pk == last.call_pk,
                           or_(later.seq > last.seq,
                               and_(later.seq == last.seq, later.id > last.id)))
    return last, and_(last.call_pk == Call.id, ~newer)


def _figure_columns(scope: ReportScope, c: Any) -> dict[str, ColumnElement[int]]:
    """The counts of a group of the rows of :func:`_call_rows` (``c``: their columns)."""
    inbound = c.direction == "inbound"
    return {
        "inbound_calls": func.count().filter(inbound),
        "answered_within_target": func.count().filter(inbound, c.within_target.is_(True)),
        **{outcome: func.count().filter(inbound, c.outcome == outcome) for outcome in OUTCOMES},
        "given_up_before_target": func.count().filter(
            inbound, c.outcome == "abandoned", c.wait_seconds < scope.target_end_s),
        "transfers": func.count(c.transfer_call),
        "failed_transfers": func.count().filter(c.transfer_outcome == "failed"),
    }


def _order_statistics(c: Any) -> dict[str, ColumnElement[Any]]:
    """Of the timed rows (answered inbound calls with a ring time) of a group of the rows of
    :func:`_call_rows`: how many the key has, and the ring times at the ranks of the median
    (the two middle ones) and of the 90th percentile (nearest rank, the ``ceil(0.9·n)``-th)."""
    timed, n, rank, seconds = c.timed == 1, c.n, c.rank, c.ring_seconds
    return {"timed": func.max(n).filter(timed),
            "median_low": func.min(seconds).filter(timed, rank == (n + 1) // 2),
            "median_high": func.min(seconds).filter(timed, rank == (n + 2) // 2),
            "p90": func.min(seconds).filter(timed, rank == (9 * n + 9) // 10)}


def _scoped(stmt: Selected, scope: ReportScope, members: FromClause | None) -> Selected:
    """``stmt`` over the period's calls: the unit's (all units' without one), or, with
    ``members``, the employees' (a call once per extension it rang at or was answered at)."""
    if members is None:
        return in_period(stmt.select_from(Call), since=scope.since, until=scope.until,
                         unit=scope.unit)
    return in_period(stmt.select_from(members).join(Call, Call.id == members.c.call_pk),
                     since=scope.since, until=scope.until)


def _call_rows(scope: ReportScope, key: ColumnElement[Any], members: FromClause | None
               ) -> FromClause:
    """One row per call of the scope (per employee and call, with ``members``): its key, its
    ring number at answer (answered inbound calls), what the figures count, its last
    transfer, the status of its callback duty as of ``as_of`` (an employee's), and its rank
    among the key's timed calls by ring time."""
    answered = and_(Call.direction == "inbound", Call.outcome == "answered")
    timed = case((and_(answered, Call.ring_seconds.is_not(None)), 1), else_=0)
    last, last_of_call = _last_transfer()
    # ``timed`` first: partitioned by unit first, SQLite (no ANALYZE statistics) reads every
    # call in the order of the unit index rather than the period's by started_at (1.1 s,
    # not 0.03 s, for a week of a year of 1,000,000 calls).
    partition = (timed, key)
    columns = [key.label("key"), case((answered, Call.rings)).label("ring"),
               timed.label("timed"), Call.started_at, Call.direction, Call.outcome,
               Call.within_target, Call.wait_seconds, Call.ring_seconds,
               last.call_pk.label("transfer_call"), last.outcome.label("transfer_outcome"),
               func.row_number().over(partition_by=partition, order_by=Call.ring_seconds)
               .label("rank"),
               func.count().over(partition_by=partition).label("n")]
    if members is not None:
        columns.append(callback_status_as_of(scope.as_of).label("callback_status"))
    stmt = _scoped(select(*columns), scope, members).outerjoin(last, last_of_call)
    if members is not None:
        stmt = stmt.outerjoin(CallbackObligation, CallbackObligation.call_pk == Call.id)
    return stmt.subquery("call_rows")


def _call_figures(session: Session, scope: ReportScope, key: ColumnElement[Any],
                  members: FromClause | None) -> dict[Key, _Figures]:
    """Statement 1 (or 4): by ``key``, the call figures, the first call (its start and id;
    the units' only, for the order of the rows no config lists) and, with ``members``, the
    callback duties their calls opened."""
    c = _call_rows(scope, key, members).c
    counted = _figure_columns(scope, c)
    owed = ({status.value: func.count().filter(c.callback_status == status.value)
             for status in CallbackStatus} if members is not None else {})
    grouped = select(c.key, c.ring, func.min(c.started_at).label("first_at"),
                     *(column.label(name) for name, column in
                       (counted | _order_statistics(c) | owed).items())
                     ).group_by(c.ring, c.key).subquery("grouped")
    first_id: ColumnElement[Any] = (
        select(func.min(Call.id)).where(Call.unit.is_not_distinct_from(grouped.c.key),
                                        Call.started_at == grouped.c.first_at)
        .scalar_subquery() if members is None else literal(0))
    rows: dict[Key, list[RowMapping]] = {}
    for r in session.execute(select(grouped, first_id.label("first_id"))).mappings():
        rows.setdefault(r["key"], []).append(r)
    return {k: _Figures(first_call=min((r["first_at"], r["first_id"]) for r in group),
                        calls=_figures(group, counted),
                        callbacks=CallbackFigures(**{name: sum(r[name] for r in group)
                                                     for name in owed}))
            for k, group in rows.items()}


def _figures(rows: list[RowMapping], counted: Iterable[str]) -> CallFigures:
    """One key's figures from its rows by ring number (the order statistics are in the row
    that holds that rank)."""
    totals = {name: sum(r[name] for r in rows) for name in counted}
    on_ring = {r["ring"]: r["answered"] for r in rows if r["ring"] is not None}
    rings = tuple((n, on_ring.get(n, 0)) for n in range(1, max(on_ring, default=0) + 1))

    def found(name: str) -> Any:
        return next((r[name] for r in rows if r[name] is not None), None)

    median = p90 = None
    if found("timed"):
        median = (found("median_low") + found("median_high")) / 2
        p90 = found("p90")
    return CallFigures(**totals, rings=rings, ring_seconds_median=median, ring_seconds_p90=p90)
