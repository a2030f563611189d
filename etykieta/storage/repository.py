"""Reads and writes of the metrics database, one unit of work at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, selectinload

from ..callbacks import CallbackStatus, FollowUp, Obligation, evaluate
from ..telephony.records import CallRecord
from .models import Call, CallbackObligation, Leg, SpeechJob, Transfer

FINAL_CALLBACK_STATUSES = frozenset({CallbackStatus.DONE.value, CallbackStatus.LATE.value,
                                     CallbackStatus.CALLER_CALLED_AGAIN.value})


def add_calls(session: Session, records: Sequence[CallRecord],
              obligations: Sequence[Obligation | None], capture_id: int | None
              ) -> list[tuple[int, Call]]:
    """Store calls not stored yet (idempotent by Call-ID and start time).

    Returns (index in ``records``, new row) for each call added, so the caller can attach
    what belongs to it (media, greeting) in the same transaction.
    """
    if not records:
        return []
    keys = [(r.call_id, r.started_at) for r in records]
    stored = select(Call.call_id, Call.started_at).where(
        tuple_(Call.call_id, Call.started_at).in_(keys))
    existing: set[tuple[str, datetime]] = {(row[0], row[1]) for row in session.execute(stored)}
    added: list[tuple[int, Call]] = []
    for index, (record, obligation) in enumerate(zip(records, obligations, strict=True)):
        if (record.call_id, record.started_at) in existing:
            continue
        existing.add((record.call_id, record.started_at))
        row = _call_row(record, obligation, capture_id)
        session.add(row)
        added.append((index, row))
    return added


def _call_row(record: CallRecord, obligation: Obligation | None, capture_id: int | None) -> Call:
    call = Call(
        call_id=record.call_id, started_at=record.started_at, ended_at=record.ended_at,
        direction=record.direction, caller=record.caller, caller_e164=record.caller_e164,
        dialed=record.dialed, dialed_e164=record.dialed_e164, unit=record.unit,
        answered_by=record.answered_by, outcome=record.outcome, answered_at=record.answered_at,
        ring_seconds=record.ring_seconds, rings=record.rings, within_target=record.within_target,
        post_dial_delay_s=record.post_dial_delay_s, final_status=record.final_status,
        end_cause=record.end_cause, link=record.link, holds=record.holds, capture_id=capture_id,
        in_progress=record.in_progress, caller_name=record.caller_name,
        wait_seconds=record.wait_seconds,
    )
    call.legs = [Leg(
        call_id=leg.call_id, role=leg.role, started_at=leg.started_at,
        answered_at=leg.answered_at, ended_at=leg.ended_at, caller=leg.caller,
        callee=leg.callee, extension=leg.extension, final_status=leg.final_status,
        end_cause=leg.end_cause, transport=leg.transport, src=leg.src, dst=leg.dst,
        first_packet=leg.first_packet, last_packet=leg.last_packet,
        retransmissions=leg.retransmissions) for leg in record.legs]
    call.transfers = [Transfer(
        seq=seq, kind=t.kind, from_extension=t.from_extension, target=t.target,
        outcome=t.outcome, reason=t.reason, at=t.at, failed_at=t.failed_at)
        for seq, t in enumerate(record.transfers)]
    if obligation is not None:
        call.callback = CallbackObligation(
            unit=obligation.unit, number=obligation.number, reason=obligation.reason,
            opened_at=obligation.opened_at, due_at=obligation.due_at,
            status=CallbackStatus.PENDING.value, attempts=0)
    return call


def refresh_callbacks(session: Session, now: datetime) -> int:
    """Re-evaluate every obligation not closed yet against the calls stored since (T6–T8)."""
    open_ones = session.scalars(select(CallbackObligation).where(
        CallbackObligation.status.not_in(FINAL_CALLBACK_STATUSES))).all()
    if not open_ones:
        return 0
    numbers = {ob.number for ob in open_ones}
    earliest = min(ob.opened_at for ob in open_ones)
    callbacks: dict[tuple[str, str], list[Call]] = defaultdict(list)
    for call in session.scalars(select(Call).where(
            Call.direction == "outbound", Call.dialed_e164.in_(numbers),
            Call.started_at >= earliest)):
        callbacks[(call.dialed_e164, call.unit or "")].append(call)
    again: dict[str, list[Call]] = defaultdict(list)
    for call in session.scalars(select(Call).where(
            Call.direction == "inbound", Call.caller_e164.in_(numbers),
            Call.outcome == "answered", Call.started_at >= earliest)):
        again[call.caller_e164].append(call)
    for ob in open_ones:
        follow_ups = [_follow_up(c, "callback") for c in callbacks[(ob.number, ob.unit)]]
        follow_ups += [_follow_up(c, "caller_again") for c in again[ob.number]
                       if c.id != ob.call_pk]
        state = evaluate(Obligation(opened_at=ob.opened_at, due_at=ob.due_at, number=ob.number,
                                    unit=ob.unit, reason=ob.reason),  # type: ignore[arg-type]
                         follow_ups, now)
        ob.status, ob.attempts, ob.done_at = state.status.value, state.attempts, state.done_at
    return len(open_ones)


def _follow_up(call: Call, kind: str) -> FollowUp:
    answered = call.outcome == "answered" and call.answered_at is not None
    return FollowUp(started_at=call.started_at, kind=kind,  # type: ignore[arg-type]
                    answered=answered, answered_at=call.answered_at if answered else None)


def query_calls(session: Session, *, since: datetime | None = None,
                until: datetime | None = None, unit: str | None = None,
                units: Iterable[str] | None = None) -> list[Call]:
    """Calls in a period (``since`` inclusive, ``until`` exclusive), oldest first."""
    stmt = select(Call).options(selectinload(Call.transfers), selectinload(Call.callback),
                                selectinload(Call.greeting),
                                selectinload(Call.speech_jobs).load_only(SpeechJob.status))
    if since is not None:
        stmt = stmt.where(Call.started_at >= since)
    if until is not None:
        stmt = stmt.where(Call.started_at < until)
    if unit is not None:
        stmt = stmt.where(Call.unit == unit)
    if units is not None:
        stmt = stmt.where(Call.unit.in_(list(units)))
    return list(session.scalars(stmt.order_by(Call.started_at, Call.id)))
