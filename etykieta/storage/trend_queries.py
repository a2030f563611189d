"""The read seam of the trend, the heatmap and the reasons of failed transfers (SQL).

Each function is one GROUP BY over the calls of a period (``calls.started_at``, indexed), of a
unit (``calls.unit``, indexed), of several, or of one employee (the calls that rang at or
were answered at their extension, as :mod:`.report_queries` counts them), whose result has a
row per week, per UTC hour or per reason however many calls the period holds:

- :func:`weekly_calls` and :func:`weekly_greetings`: the weeks of the trend, bucketed by a
  ``CASE`` over the Monday midnights the caller passes (office time, so daylight saving moves
  nothing);
- :func:`hourly_calls`: by UTC hour (hours since the epoch); :mod:`etykieta.reports.trends`
  maps each to its office-time weekday and hour, which SQL cannot do portably across DST;
- :func:`failed_transfer_reasons`: the calls whose last transfer failed, by reason (T5).

Both SQLite and PostgreSQL: the only dialect-specific expression is the epoch hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, case, cast, func, or_, select, union
from sqlalchemy.orm import Session

from ..reports.trends import ReasonCount, SlotCounts, WeekGreetings
from ..speech.greeting.gate import GREETED_DIRECTIONS
from .models import Call, Greeting, Leg, Transfer
from .repository import in_period

JUDGED_VERDICTS = ("complete", "partial", "no_greeting", "silent")
"""The verdicts a share of complete greetings is taken of (``GreetingFigures.judged``)."""
Selected = Select[*tuple[Any, ...]]


def weekly_calls(session: Session, boundaries: Sequence[datetime], *, target_end_s: float,
                 unit: str | None = None, extension: str | None = None) -> list[SlotCounts]:
    """The inbound calls of each week ``[boundaries[n], boundaries[n + 1])`` (of ``unit``, or
    of ``extension``), ``slot`` = n."""
    week = _bucket(boundaries)
    stmt = _where(select(week.label("slot"), *_counted(target_end_s)), boundaries[0],
                  boundaries[-1], unit=unit, extension=extension).group_by(week)
    return [_slot(r) for r in session.execute(stmt).mappings()]


def weekly_greetings(session: Session, boundaries: Sequence[datetime], *,
                     extension: str | None = None) -> list[WeekGreetings]:
    """The greetings of the answered inbound and internal calls of each week, by answering
    extension and unit called (a unit's are those its extensions answered, chosen by the
    builder as the per-unit report does), or those ``extension`` answered."""
    week = _bucket(boundaries)
    verdict = Greeting.verdict
    stmt = in_period(
        select(week.label("slot"), Call.answered_by, Call.unit,
               func.count().filter(verdict.in_(JUDGED_VERDICTS)).label("judged"),
               func.count().filter(verdict == "complete").label("complete"))
        .outerjoin(Greeting, Greeting.call_pk == Call.id)
        .where(Call.outcome == "answered", Call.direction.in_(sorted(GREETED_DIRECTIONS))),
        since=boundaries[0], until=boundaries[-1])
    if extension is not None:
        stmt = stmt.where(Call.answered_by == extension)
    stmt = stmt.group_by(week, Call.answered_by, Call.unit)
    return [WeekGreetings(r["slot"], r["answered_by"], r["unit"], r["judged"], r["complete"])
            for r in session.execute(stmt).mappings()]


def hourly_calls(session: Session, *, since: datetime, until: datetime, target_end_s: float,
                 unit: str | None = None, units: Sequence[str] | None = None,
                 extension: str | None = None) -> list[SlotCounts]:
    """The inbound calls of ``[since, until)`` by UTC hour (``slot``: hours since the epoch),
    of ``unit``, of ``units``, or of ``extension``."""
    hour = _epoch_hour(session)
    stmt = _where(select(hour.label("slot"), *_counted(target_end_s)), since, until,
                  unit=unit, extension=extension)
    if units is not None:
        stmt = stmt.where(Call.unit.in_(list(units)))
    return [_slot(r) for r in session.execute(stmt.group_by(hour)).mappings()]


def failed_transfer_reasons(session: Session, *, since: datetime, until: datetime,
                            unit: str | None = None, extension: str | None = None
                            ) -> list[ReasonCount]:
    """The calls of ``[since, until)`` (of ``unit``, any direction, or of ``extension``)
    whose last transfer failed, by the reason it failed for (T5)."""
    ranked = _where(
        select(Transfer.outcome, Transfer.reason,
               func.row_number().over(partition_by=Transfer.call_pk,
                                      order_by=(Transfer.seq.desc(), Transfer.id.desc()))
               .label("rank")).join(Call, Call.id == Transfer.call_pk),
        since, until, unit=unit, extension=extension, inbound=False).subquery("ranked")
    stmt = (select(ranked.c.reason, func.count().label("calls"))
            .where(ranked.c.rank == 1, ranked.c.outcome == "failed").group_by(ranked.c.reason))
    return [ReasonCount(r["reason"] or "unknown", r["calls"])
            for r in session.execute(stmt).mappings()]


def _where(stmt: Selected, since: datetime, until: datetime, *, unit: str | None,
           extension: str | None, inbound: bool = True) -> Selected:
    """``stmt`` over the (inbound) calls of the period, of ``unit`` or of ``extension``."""
    stmt = in_period(stmt, since=since, until=until, unit=unit)
    if inbound:
        stmt = stmt.where(Call.direction == "inbound")
    if extension is not None:
        stmt = stmt.where(Call.id.in_(_person_calls(extension, since, until)))
    return stmt


def _person_calls(extension: str, since: datetime, until: datetime) -> Selected:
    """The ids of the calls of the period that rang at (a leg to) or were answered at
    ``extension``, found through the period's calls (``started_at`` is indexed)."""
    rang = in_period(select(Leg.call_pk.label("id")).join(Call, Call.id == Leg.call_pk)
                     .where(Leg.extension == extension), since=since, until=until)
    answered = in_period(select(Call.id.label("id")).where(Call.answered_by == extension),
                         since=since, until=until)
    members = union(rang, answered).subquery("person_calls")
    return select(members.c.id)


def _counted(target_end_s: float) -> tuple[ColumnElement[int], ...]:
    return (
        func.count().label("inbound_calls"),
        func.count().filter(Call.outcome == "answered").label("answered"),
        func.count().filter(Call.within_target.is_(True)).label("answered_within_target"),
        func.count().filter(Call.outcome == "abandoned", Call.wait_seconds < target_end_s)
        .label("given_up_before_target"),
        func.count().filter(Call.outcome == "abandoned").label("abandoned"),
    )


def _slot(r: Any) -> SlotCounts:
    return SlotCounts(slot=int(r["slot"]), inbound_calls=r["inbound_calls"],
                      answered=r["answered"], answered_within_target=r["answered_within_target"],
                      given_up_before_target=r["given_up_before_target"],
                      abandoned=r["abandoned"])


def _bucket(boundaries: Sequence[datetime]) -> ColumnElement[int]:
    """The index n of the week ``[boundaries[n], boundaries[n + 1])`` a call started in."""
    inner = boundaries[1:-1]
    if not inner:
        return cast(0, Integer)
    return case(*((Call.started_at < edge, n) for n, edge in enumerate(inner)),
                else_=len(inner))


def _epoch_hour(session: Session) -> ColumnElement[int]:
    """Hours since 1970-01-01 00:00 UTC of ``started_at`` (stored as UTC on both backends:
    naive text on SQLite, ``timestamptz`` on PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        seconds: ColumnElement[Any] = cast(func.strftime("%s", Call.started_at), Integer)
        return cast(seconds / 3600, Integer)
    seconds = func.extract("epoch", Call.started_at)
    return cast(func.floor(seconds / 3600), Integer)



def last_call_at(session: Session, *, units: Sequence[str] | None = None,
                 extension: str | None = None) -> datetime | None:
    """When the newest finished call of ``units`` (all: None), or of one employee (answered
    at or rang at ``extension``), began: where a page whose period holds no call can send
    its reader (index lookups on ``calls.started_at``)."""
    stmt = select(func.max(Call.started_at)).where(Call.in_progress.is_(False))
    if units is not None:
        stmt = stmt.where(Call.unit.in_(list(units)))
    if extension is not None:
        rang = select(Leg.call_pk).where(Leg.extension == extension)
        stmt = stmt.where(or_(Call.answered_by == extension, Call.id.in_(rang)))
    return session.execute(stmt).scalar_one_or_none()  # max() keeps the column's UTC type
