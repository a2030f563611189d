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

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    RowMapping,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session

from ..reports.views import (
    CallbackFigures,
    CallFigures,
    FirstCall,
    ReportCounts,
    ReportScope,
    UnitCalls,
)
from .models import Call, CallbackObligation, Leg, Transfer
from .queries import OUTCOMES, callback_status_counts, greeting_counts, unit_callback_counts
from .repository import in_period

Key = str | None
Selected = Select[*tuple[Any, ...]]


def report_counts(session: Session, scope: ReportScope) -> ReportCounts:
    """Every aggregate a per-unit report of ``scope`` adds up: three statements for the units,
    one for the greetings, three more when ``scope.staff`` names employees."""
    units = _call_figures(session, scope, Call.unit.expression, None)
    callbacks = unit_callback_counts(session, as_of=scope.as_of, since=scope.since,
                                     until=scope.until)
    greetings = greeting_counts(session, since=scope.since, until=scope.until)
    staff_calls: dict[str, CallFigures] = {}
    staff_callbacks: dict[str, CallbackFigures] = {}
    if scope.staff:
        members = _members(scope)
        staff_calls = {str(key): figures for key, (_, figures) in _call_figures(
            session, scope, members.c.extension, members).items()}
        staff_callbacks = _staff_callbacks(session, scope, members)
    return ReportCounts(
        unit_calls=tuple(UnitCalls(unit, first, figures)
                         for unit, (first, figures) in units.items()),
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


def _last_transfers(scope: ReportScope, unit: str | None) -> FromClause:
    """The last transfer attempt of each call of the period (of ``unit``) that has one."""
    ranked = in_period(
        select(Transfer.call_pk.label("call_pk"), Transfer.outcome.label("outcome"),
               func.row_number().over(partition_by=Transfer.call_pk,
                                      order_by=(Transfer.seq.desc(), Transfer.id.desc()))
               .label("rank"))
        .join(Call, Call.id == Transfer.call_pk),
        since=scope.since, until=scope.until, unit=unit).subquery("ranked_transfers")
    return (select(ranked.c.call_pk, ranked.c.outcome).where(ranked.c.rank == 1)
            .subquery("last_transfers"))


def _figure_columns(scope: ReportScope, last: FromClause) -> dict[str, ColumnElement[int]]:
    inbound = Call.direction == "inbound"
    return {
        "inbound_calls": func.count().filter(inbound),
        "answered_within_target": func.count().filter(inbound, Call.within_target.is_(True)),
        **{outcome: func.count().filter(inbound, Call.outcome == outcome)
           for outcome in OUTCOMES},
        "given_up_before_target": func.count().filter(
            inbound, Call.outcome == "abandoned", Call.wait_seconds < scope.target_end_s),
        "transfers": func.count(last.c.call_pk),
        "failed_transfers": func.count().filter(last.c.outcome == "failed"),
    }


def _answered_inbound() -> tuple[ColumnElement[bool], ...]:
    return (Call.direction == "inbound", Call.outcome == "answered")


def _scoped(stmt: Selected, scope: ReportScope, members: FromClause | None) -> Selected:
    """``stmt`` over the period's calls: the unit's (all units' without one), or, with
    ``members``, the employees' (a call once per extension it rang at or was answered at)."""
    if members is None:
        return in_period(stmt.select_from(Call), since=scope.since, until=scope.until,
                         unit=scope.unit)
    return in_period(stmt.select_from(members).join(Call, Call.id == members.c.call_pk),
                     since=scope.since, until=scope.until)


def _call_figures(session: Session, scope: ReportScope, key: ColumnElement[Any],
                  members: FromClause | None) -> dict[Key, tuple[FirstCall, CallFigures]]:
    """Statements 1 and 2 (or 5 and 6): by ``key``, the call figures and the first call (its
    start and id; the units' only, for the order of the rows no config lists)."""
    last = _last_transfers(scope, scope.unit if members is None else None)
    ring = case((and_(*_answered_inbound()), Call.rings))
    counted = _figure_columns(scope, last)
    grouped = (_scoped(select(key.label("key"), ring.label("ring"),
                              func.min(Call.started_at).label("first_at"),
                              *(column.label(name) for name, column in counted.items())),
                       scope, members)
               .outerjoin(last, last.c.call_pk == Call.id).group_by(key, ring).subquery())
    first_id: ColumnElement[Any] = (
        select(func.min(Call.id)).where(Call.unit.is_not_distinct_from(grouped.c.key),
                                        Call.started_at == grouped.c.first_at)
        .scalar_subquery() if members is None else literal(0))
    rows: dict[Key, list[RowMapping]] = {}
    for r in session.execute(select(grouped, first_id.label("first_id"))).mappings():
        rows.setdefault(r["key"], []).append(r)
    ranks = _ring_ranks(session, scope, key, members)
    return {k: (min((r["first_at"], r["first_id"]) for r in group),
                _figures(group, counted, *ranks.get(k, (0, {}))))
            for k, group in rows.items()}


def _figures(rows: list[RowMapping], counted: Iterable[str], timed: int,
             ranked: Mapping[int, float]) -> CallFigures:
    """One group's figures from its rows by ring number, and the order statistics of its
    ``timed`` answered calls' ring times (``ranked``: rank → seconds)."""
    totals = {name: sum(r[name] for r in rows) for name in counted}
    on_ring = {r["ring"]: r["answered"] for r in rows if r["ring"] is not None}
    rings = tuple((n, on_ring.get(n, 0)) for n in range(1, max(on_ring, default=0) + 1))
    median = p90 = None
    if timed:
        median = (ranked[(timed + 1) // 2] + ranked[(timed + 2) // 2]) / 2
        p90 = ranked[(9 * timed + 9) // 10]
    return CallFigures(**totals, rings=rings, ring_seconds_median=median, ring_seconds_p90=p90)


def _ring_ranks(session: Session, scope: ReportScope, key: ColumnElement[Any],
                members: FromClause | None) -> dict[Key, tuple[int, dict[int, float]]]:
    """Statement 2 (or 6): by ``key``, how many answered inbound calls have a ring time and
    the ring times at the ranks of the median and the 90th percentile (nearest rank)."""
    seconds = Call.ring_seconds
    ranked = _scoped(select(
        key.label("key"), seconds.label("seconds"),
        func.row_number().over(partition_by=key, order_by=seconds).label("rank"),
        func.count().over(partition_by=key).label("n")), scope, members).where(
        *_answered_inbound(), seconds.is_not(None)).subquery("ranked")
    n, rank = ranked.c.n, ranked.c.rank
    wanted = select(ranked.c.key, n, rank, ranked.c.seconds).where(
        or_(rank == (n + 1) // 2, rank == (n + 2) // 2, rank == (9 * n + 9) // 10))
    found: dict[Key, tuple[int, dict[int, float]]] = {}
    for r in session.execute(wanted).mappings():
        found.setdefault(r["key"], (r["n"], {}))[1][r["rank"]] = r["seconds"]
    return found


def _staff_callbacks(session: Session, scope: ReportScope, members: FromClause
                     ) -> dict[str, CallbackFigures]:
    """Statement 7: by extension, the duties the employee's calls opened, as of ``as_of``."""
    counted = callback_status_counts(scope.as_of)
    stmt = (select(members.c.extension, *(c.label(name) for name, c in counted.items()))
            .select_from(members).join(Call, Call.id == members.c.call_pk)
            .join(CallbackObligation, CallbackObligation.call_pk == Call.id)
            .group_by(members.c.extension))
    return {r["extension"]: CallbackFigures(**{name: r[name] for name in counted})
            for r in session.execute(stmt).mappings()}
