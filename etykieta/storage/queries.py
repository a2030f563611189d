"""The read seam: what reports read from the database, as SQL, into frozen views.

Nothing outside ``storage`` sees an ORM row or a result object: these functions return the
dataclasses of :mod:`etykieta.reports.views`. :func:`list_calls` is one statement per page; the
per-unit tables are GROUP BY aggregates over the period's ``calls.started_at`` (indexed), by
``calls.unit`` (indexed), whose results have a row per unit or per answering extension however
many calls the period holds.

The per-unit report's own aggregates (call figures with ring-time order statistics, per unit
and per employee) are in :mod:`.report_queries`, which builds on these.

A callback reads pending or missed through
:func:`~etykieta.callbacks.follow_ups.status_as_of`: in the listing by calling it, in the
aggregates as :func:`callback_status_as_of`, the same rule as a SQL ``CASE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from ..callbacks import CallbackStatus
from ..callbacks.follow_ups import OPEN_STATUSES, status_as_of
from ..reports.views import (
    CallbackView,
    CallView,
    GreetingCounts,
    GreetingView,
    MissingElements,
    TransferView,
    UnitCallbackCounts,
    UnitCallCounts,
)
from ..speech.greeting.gate import GREETED_DIRECTIONS
from ..speech.greeting.verdict import Element
from .disputes import effective_verdict, machine_missing_counts, overridden, with_disputes
from .models import Call, CallbackObligation, Dispute, Greeting, Leg, SpeechJob, Transfer
from .repository import in_period

WAITING_JOB_STATUSES = ("queued", "running")
"""A speech job in one of these will (again) judge its call's greeting."""
COUNTED_VERDICTS = ("complete", "partial", "no_greeting", "silent", "unclear", "no_audio",
                    "unsupported_codec")
"""The verdicts counted each on its own; any other, or none, counts as not checked."""
OUTCOMES = ("answered", "abandoned", "voicemail", "busy", "no_answer", "rejected", "failed",
            "unknown")


def callback_status_as_of(now: datetime) -> ColumnElement[str]:
    """:func:`~etykieta.callbacks.follow_ups.status_as_of` of each duty row at ``now``, in SQL."""
    return case(
        (CallbackObligation.status.in_(sorted(OPEN_STATUSES)),
         case((CallbackObligation.due_at <= now, CallbackStatus.MISSED.value),
              else_=CallbackStatus.PENDING.value)),
        else_=CallbackObligation.status)


def rang_at(extension: str) -> ColumnElement[bool]:
    """The calls that rang at ``extension`` (a leg to it) or were answered there: a person's."""
    return or_(Call.answered_by == extension,
               exists().where(Leg.call_pk == Call.id, Leg.extension == extension))


def list_calls(session: Session, *, as_of: datetime, since: datetime | None = None,
               until: datetime | None = None, unit: str | None = None,
               after: tuple[datetime, int] | None = None, limit: int | None = None,
               extension: str | None = None, units: Sequence[str] | None = None,
               outcome: str | None = None, drill: CallDrill | None = None) -> list[CallView]:
    """Calls started in ``[since, until)`` (of ``unit``), oldest first; callbacks as of ``as_of``.

    With ``extension``, only the calls that rang or were answered there (:func:`rang_at`);
    with ``units``, only the calls of those units (a supervisor's); with ``outcome``, only
    the calls that ended so; with ``drill``, only the calls behind one figure of a report.

    One statement: the calls left-joined to their last transfer, their callback and their
    greeting. A page is ``limit`` calls after the ``key`` of the previous page's last (``after``).
    """
    stmt = in_period(_listing(), since=since, until=until, unit=unit)
    if extension is not None:
        stmt = stmt.where(rang_at(extension))
    if units is not None:
        stmt = stmt.where(Call.unit.in_(list(units)))
    if outcome is not None:
        stmt = stmt.where(Call.outcome == outcome)
    if drill is not None:
        stmt = stmt.where(*drill_conditions(drill, as_of))
    if after is not None:
        stmt = stmt.where(or_(Call.started_at > after[0],
                              and_(Call.started_at == after[0], Call.id > after[1])))
    stmt = stmt.order_by(Call.started_at, Call.id).limit(limit)
    return with_disputes(session, [_call_view(row, as_of)
                                   for row in session.execute(stmt).mappings()])


def call_by_id(session: Session, call_pk: int, *, as_of: datetime) -> CallView | None:
    """One call as the listing shows it, by its row id (the call page); None if there is none."""
    row = session.execute(_listing().where(Call.id == call_pk)).mappings().first()
    return None if row is None else with_disputes(session, [_call_view(row, as_of)])[0]


GREETING_FILTERS = (*COUNTED_VERDICTS, "not_checked", "too_fast", "casual", "thanked",
                    "not_thanked", *(f"missing_{element}" for element in Element))
"""What ``CallDrill.greeting`` may ask for: a verdict, T2/T9/T10, or a missing element (T1)."""


@dataclass(frozen=True, slots=True)
class CallDrill:
    """The calls behind one figure of a report (a page's drill-down), each part optional.

    ``within_target``: answered by the target ring or not (T3); ``ring``: answered on that
    ring; ``transfer``: ``"any"`` or a transfer outcome (of the last transfer, T5);
    ``callback``: a duty's status as of the listing's instant (T6–T8); ``greeting``: one of
    :data:`GREETING_FILTERS`; ``intervals``: started within one of these ``[start, end)``
    (a weekday × hour cell of office time, computed by the caller).
    """

    direction: str | None = None
    within_target: bool | None = None
    ring: int | None = None
    transfer: str | None = None
    callback: str | None = None
    greeting: str | None = None
    intervals: tuple[tuple[datetime, datetime], ...] | None = None


def drill_conditions(drill: CallDrill, as_of: datetime) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``drill`` over :func:`_listing`'s joins."""
    found: list[ColumnElement[bool]] = []
    if drill.direction is not None:
        found.append(Call.direction == drill.direction)
    if drill.within_target is not None:
        found.append(Call.within_target.is_(True) if drill.within_target
                     else and_(Call.outcome == "answered", Call.within_target.is_not(True)))
    if drill.ring is not None:
        found.append(and_(Call.outcome == "answered", Call.rings == drill.ring))
    if drill.transfer is not None:
        found.append(Transfer.id.is_not(None) if drill.transfer == "any"
                     else Transfer.outcome == drill.transfer)
    if drill.callback is not None:
        found.append(and_(CallbackObligation.id.is_not(None),
                          callback_status_as_of(as_of) == drill.callback))
    if drill.greeting is not None:
        found.append(_greeting_condition(drill.greeting))
    if drill.intervals is not None:
        found.append(or_(False, *(and_(Call.started_at >= start, Call.started_at < end)
                                  for start, end in drill.intervals)))
    return found


def _greeting_condition(wanted: str) -> ColumnElement[bool]:
    """The calls a greeting figure counts, as the reports count them: by the supervisor's
    verdict where one overrode the machine's (the listing joins the call's dispute)."""
    answered = and_(Call.outcome == "answered", Call.direction.in_(sorted(GREETED_DIRECTIONS)))
    verdict = effective_verdict()
    if wanted.startswith("missing_"):
        return and_(answered, machine_missing_counts(),
                    cast(Greeting.missing, Text).like(f'%"{wanted[8:]}"%'))
    if wanted == "not_checked":
        return and_(answered, or_(verdict.is_(None), verdict.not_in(COUNTED_VERDICTS)))
    flags: dict[str, ColumnElement[bool]] = {
        "too_fast": Greeting.too_fast.is_(True),
        "casual": func.json_array_length(Greeting.casual_words) > 0,
        "thanked": Greeting.thanked.is_(True), "not_thanked": Greeting.thanked.is_(False)}
    return and_(answered, flags.get(wanted, verdict == wanted))


def callback_worklist(session: Session, *, as_of: datetime, units: Sequence[str] | None = None,
                      limit: int | None = None) -> list[CallView]:
    """The calls whose callback is still to do (T6–T8: pending, or missed and not yet made up),
    owed by ``units`` (None: any), soonest due first; statuses as of ``as_of``."""
    stmt = _listing().where(CallbackObligation.status.in_(sorted(OPEN_STATUSES)))
    if units is not None:
        stmt = stmt.where(CallbackObligation.unit.in_(list(units)))
    stmt = stmt.order_by(CallbackObligation.due_at, Call.id).limit(limit)
    return [_call_view(row, as_of) for row in session.execute(stmt).mappings()]


def _listing() -> Select[*tuple[Any, ...]]:
    """Calls left-joined to their last transfer, their callback and their greeting."""
    last_transfer = (select(Transfer.id).where(Transfer.call_pk == Call.id)
                     .order_by(Transfer.seq.desc(), Transfer.id.desc()).limit(1)
                     .correlate(Call).scalar_subquery())
    waiting = exists().where(SpeechJob.call_pk == Call.id,
                             SpeechJob.status.in_(WAITING_JOB_STATUSES))
    return (select(*_CALL_COLUMNS, Transfer.id.label("transfer_id"), *_TRANSFER_COLUMNS,
                   CallbackObligation.id.label("callback_id"), *_CALLBACK_COLUMNS,
                   Greeting.id.label("greeting_id"), *_GREETING_COLUMNS,
                   waiting.label("speech_waiting"))
            .outerjoin(Transfer, Transfer.id == last_transfer)
            .outerjoin(CallbackObligation, CallbackObligation.call_pk == Call.id)
            .outerjoin(Greeting, Greeting.call_pk == Call.id)
            .outerjoin(Dispute, Dispute.call_pk == Call.id))  # one per call: a row per call


def _labelled(prefix: str, columns: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(column.label(f"{prefix}_{name}") for name, column in columns.items())


_CALL_COLUMNS = (Call.id, Call.call_id, Call.started_at, Call.ended_at, Call.direction,
                 Call.caller, Call.caller_e164, Call.dialed, Call.unit, Call.answered_by,
                 Call.outcome, Call.answered_at, Call.ring_seconds, Call.rings,
                 Call.within_target, Call.post_dial_delay_s, Call.final_status,
                 Call.caller_name, Call.wait_seconds, Call.in_progress)
_TRANSFER_COLUMNS = _labelled("transfer", {
    "kind": Transfer.kind, "from_extension": Transfer.from_extension,
    "target": Transfer.target, "outcome": Transfer.outcome, "reason": Transfer.reason})
_CALLBACK_COLUMNS = _labelled("callback", {
    "status": CallbackObligation.status, "reason": CallbackObligation.reason,
    "unit": CallbackObligation.unit, "due_at": CallbackObligation.due_at,
    "attempts": CallbackObligation.attempts, "done_at": CallbackObligation.done_at})
_GREETING_COLUMNS = _labelled("greeting", {
    "verdict": Greeting.verdict, "reason": Greeting.reason, "missing": Greeting.missing,
    "transcript": Greeting.transcript, "first_word_s": Greeting.first_word_s,
    "syllables_per_s": Greeting.syllables_per_s, "too_fast": Greeting.too_fast,
    "casual_words": Greeting.casual_words, "thanked": Greeting.thanked,
    "order_ok": Greeting.order_ok})


def _call_view(r: RowMapping, as_of: datetime) -> CallView:
    transfer = None if r["transfer_id"] is None else TransferView(
        kind=r["transfer_kind"], from_extension=r["transfer_from_extension"],
        target=r["transfer_target"], outcome=r["transfer_outcome"],
        reason=r["transfer_reason"])
    callback = None if r["callback_id"] is None else CallbackView(
        status=status_as_of(r["callback_status"], r["callback_due_at"], as_of),
        reason=r["callback_reason"], unit=r["callback_unit"], due_at=r["callback_due_at"],
        attempts=r["callback_attempts"], done_at=r["callback_done_at"])
    greeting = None if r["greeting_id"] is None else GreetingView(
        verdict=r["greeting_verdict"], reason=r["greeting_reason"],
        missing=tuple(r["greeting_missing"]), transcript=r["greeting_transcript"],
        first_word_s=r["greeting_first_word_s"], syllables_per_s=r["greeting_syllables_per_s"],
        too_fast=r["greeting_too_fast"], casual_words=tuple(r["greeting_casual_words"]),
        thanked=r["greeting_thanked"], order_ok=r["greeting_order_ok"])
    return CallView(**{column.key: r[column.key] for column in _CALL_COLUMNS},
                    transfer=transfer, callback=callback, greeting=greeting,
                    speech_waiting=bool(r["speech_waiting"]))


def unit_call_counts(session: Session, *, since: datetime | None = None,
                     until: datetime | None = None) -> list[UnitCallCounts]:
    """Per unit called: the inbound calls of ``[since, until)`` by outcome, and failed transfers.

    Two statements: the calls grouped by unit, and the failed transfers of the period's calls
    grouped by their unit. Every unit a call of the period names has a row.
    """
    inbound = Call.direction == "inbound"
    grouped = in_period(select(
        Call.unit.label("unit"), func.min(Call.started_at).label("first_at"),
        func.count().filter(inbound).label("inbound"),
        func.count().filter(inbound, Call.within_target.is_(True)).label("within_target"),
        *(func.count().filter(inbound, Call.outcome == outcome).label(outcome)
          for outcome in OUTCOMES)), since=since, until=until).group_by(Call.unit).subquery()
    first_id = (select(func.min(Call.id))
                .where(Call.unit.is_not_distinct_from(grouped.c.unit),
                       Call.started_at == grouped.c.first_at).scalar_subquery())
    failed = {unit: n for unit, n in session.execute(in_period(
        select(Call.unit, func.count()).join(Transfer, Transfer.call_pk == Call.id)
        .where(Transfer.outcome == "failed"), since=since, until=until).group_by(Call.unit))}
    return [UnitCallCounts(
        unit=r["unit"], first_call=(r["first_at"], r["first_id"]), inbound=r["inbound"],
        within_target=r["within_target"], **{outcome: r[outcome] for outcome in OUTCOMES},
        failed_transfers=failed.get(r["unit"], 0))
        for r in session.execute(select(grouped, first_id.label("first_id"))).mappings()]


def unit_callback_counts(session: Session, *, as_of: datetime, since: datetime | None = None,
                         until: datetime | None = None) -> list[UnitCallbackCounts]:
    """Per unit that owes them: the duties opened by calls of ``[since, until)``, by status as
    of ``as_of``. One statement."""
    counted = callback_status_counts(as_of)
    grouped = in_period(
        select(CallbackObligation.unit.label("unit"),
               func.min(Call.started_at).label("first_at"),
               *(column.label(name) for name, column in counted.items()))
        .join(CallbackObligation, CallbackObligation.call_pk == Call.id),
        since=since, until=until).group_by(CallbackObligation.unit).subquery()
    first_id = (select(func.min(Call.id))
                .join(CallbackObligation, CallbackObligation.call_pk == Call.id)
                .where(CallbackObligation.unit == grouped.c.unit,
                       Call.started_at == grouped.c.first_at).scalar_subquery())
    return [UnitCallbackCounts(unit=r["unit"], first_call=(r["first_at"], r["first_id"]),
                               **{name: r[name] for name in counted})
            for r in session.execute(select(grouped, first_id.label("first_id"))).mappings()]


def callback_status_counts(as_of: datetime) -> dict[str, ColumnElement[int]]:
    """A count of the duty rows in each status as of ``as_of``, by the status's name."""
    status = callback_status_as_of(as_of)
    return {each.value: func.count().filter(status == each.value) for each in CallbackStatus}


def greeting_counts(session: Session, *, since: datetime | None = None,
                    until: datetime | None = None) -> list[GreetingCounts]:
    """Per answering extension and unit called: the greetings of the answered inbound and
    internal calls of ``[since, until)`` (T1, T2, T9, T10), and the elements they lacked.
    One statement."""
    greeted = (Call.outcome == "answered", Call.direction.in_(sorted(GREETED_DIRECTIONS)))
    verdict = effective_verdict()
    counted = {
        "answered": func.count(),
        **{name: func.count().filter(verdict == name) for name in COUNTED_VERDICTS},
        "not_checked": func.count().filter(or_(verdict.is_(None),
                                               verdict.not_in(COUNTED_VERDICTS))),
        "too_fast": func.count().filter(Greeting.too_fast.is_(True)),
        "casual": func.count().filter(func.json_array_length(Greeting.casual_words) > 0),
        "thanked": func.count().filter(Greeting.thanked.is_(True)),
        "closings_heard": func.count().filter(Greeting.thanked.is_not(None)),
        "overridden": func.count().filter(overridden()),
    }
    # ``missing`` is a JSON array of Element names, none a part of another: its text says it.
    lacked = {f"missing_{element}": func.count().filter(
        cast(Greeting.missing, Text).like(f'%"{element}"%'), machine_missing_counts())
        for element in Element}
    grouped = in_period(
        select(Call.answered_by.label("answered_by"), Call.unit.label("unit"),
               func.min(Call.started_at).label("first_at"),
               *(column.label(name) for name, column in (counted | lacked).items()))
        .outerjoin(Greeting, Greeting.call_pk == Call.id)
        .outerjoin(Dispute, Dispute.call_pk == Call.id).where(*greeted),
        since=since, until=until).group_by(Call.answered_by, Call.unit).subquery()
    first_id = (select(func.min(Call.id))
                .where(*greeted, Call.answered_by.is_not_distinct_from(grouped.c.answered_by),
                       Call.unit.is_not_distinct_from(grouped.c.unit),
                       Call.started_at == grouped.c.first_at).scalar_subquery())
    return [GreetingCounts(answered_by=r["answered_by"], unit=r["unit"],
                           first_call=(r["first_at"], r["first_id"]),
                           **{name: r[name] for name in counted},
                           missing=MissingElements(**{element.value: r[f"missing_{element}"]
                                                      for element in Element}))
            for r in session.execute(select(grouped, first_id.label("first_id"))).mappings()]
