"""Reads and writes of the metrics database, one unit of work at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_, select, tuple_, update
from sqlalchemy.orm import Session, selectinload

from ..callbacks import CallbackStatus, Obligation, evaluate
from ..callbacks.follow_ups import CallFacts, follow_ups
from ..telephony.records import CallRecord
from .models import Call, CallbackObligation, Leg, Transfer

FINAL_CALLBACK_STATUSES = frozenset({CallbackStatus.DONE.value, CallbackStatus.LATE.value,
                                     CallbackStatus.CALLER_CALLED_AGAIN.value})


@dataclass(frozen=True, slots=True)
class StoredCall:
    """A call row written by `store_calls`: new, or an earlier record of it brought up to date."""

    index: int
    """Its record's position in the batch."""
    row: Call
    previous: PreviousRecord | None
    """What the row said before it was replaced; None for a call stored for the first time."""


@dataclass(frozen=True, slots=True)
class PreviousRecord:
    """The facts of a replaced record that decide what of its greeting still holds."""

    answering_leg: str | None
    answered_at: datetime | None
    numbers: frozenset[str]
    """The numbers whose callbacks the old record could have fulfilled or opened."""


def store_calls(session: Session, records: Sequence[CallRecord],
                obligations: Sequence[Obligation | None], capture_id: int | None
                ) -> list[StoredCall]:
    """Store calls not stored yet, and bring up to date the ones stored from less of them.

    Calls are keyed by Call-ID and start time, so storing the same call again never makes a
    second one. A stored record is replaced when the new one rests on more of the call
    (`supersedes`): a call stored while still going on at the end of one capture file and
    finished in the next, or first stored from a truncated file. A call stored while going on
    that now turns out to be a leg of another call (the consultation call of an attended
    transfer) is deleted. Returns what was written, for the caller to attach media and
    greetings in the same transaction.
    """
    if not records:
        return []
    keys = {(r.call_id, r.started_at) for r in records}
    leg_keys = {(leg.call_id, leg.started_at) for r in records for leg in r.legs[1:]}
    stored = {(row.call_id, row.started_at): row for row in session.scalars(
        select(Call).where(tuple_(Call.call_id, Call.started_at).in_(list(keys | leg_keys)))
        .options(selectinload(Call.legs), selectinload(Call.callback),
                 selectinload(Call.media)))}
    written: list[StoredCall] = []
    for index, (record, obligation) in enumerate(zip(records, obligations, strict=True)):
        key = (record.call_id, record.started_at)
        old = stored.get(key)
        if old is None:
            row = _call_row(record, obligation, capture_id)
            session.add(row)
            stored[key] = row
            written.append(StoredCall(index, row, None))
        elif supersedes(record, old):
            previous = _previous(old)
            _update_row(old, record, obligation, capture_id)
            written.append(StoredCall(index, old, previous))
        for leg in record.legs[1:]:
            absorbed = stored.get((leg.call_id, leg.started_at))
            if absorbed is not None and absorbed.in_progress and absorbed is not stored[key]:
                session.delete(absorbed)
                del stored[(leg.call_id, leg.started_at)]
    return written


def supersedes(record: CallRecord, row: Call) -> bool:
    """Whether ``record`` rests on more of the call than the stored ``row``.

    More of a call means more legs that ended on their own (not cut by the end of a capture or
    timed out), then more legs, then a later end. A row stored while the call was going on is
    replaced by any record at least as complete: the input that continued it saw more.
    """
    new = _completeness([leg.end_cause for leg in record.legs], record.ended_at)
    old = _completeness([leg.end_cause for leg in row.legs], row.ended_at)
    return new > old or (row.in_progress and new >= old)


CUT_END_CAUSES = frozenset({"capture_ended", "timeout"})


def _completeness(end_causes: Sequence[str | None], ended_at: datetime
                  ) -> tuple[int, int, datetime]:
    on_their_own = sum(1 for cause in end_causes if cause is not None
                       and cause not in CUT_END_CAUSES)
    return on_their_own, len(end_causes), ended_at


def _previous(row: Call) -> PreviousRecord:
    media = row.media
    return PreviousRecord(
        answering_leg=media.leg_call_id if media is not None else None,
        answered_at=media.answered_at if media is not None else None,
        numbers=frozenset(n for n in (row.caller_e164, row.dialed_e164) if n))


def _update_row(row: Call, record: CallRecord, obligation: Obligation | None,
                capture_id: int | None) -> None:
    """Overwrite a stored call with a newer record of it; the row (and its id) stays."""
    for name, value in _call_columns(record, capture_id).items():
        setattr(row, name, value)
    _set_children(row, record, obligation)


def _call_row(record: CallRecord, obligation: Obligation | None, capture_id: int | None) -> Call:
    call = Call(**_call_columns(record, capture_id))
    _set_children(call, record, obligation)
    return call


def _call_columns(record: CallRecord, capture_id: int | None) -> dict[str, Any]:
    return dict(
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


def _set_children(call: Call, record: CallRecord, obligation: Obligation | None) -> None:
    """Legs, transfers and the callback duty of ``record`` (replacing any the row had)."""
    call.legs = [Leg(
        call_id=leg.call_id, role=leg.role, started_at=leg.started_at,
        answered_at=leg.answered_at, ended_at=leg.ended_at, caller=leg.caller,
        callee=leg.callee, extension=leg.extension, final_status=leg.final_status,
        end_cause=leg.end_cause, transport=leg.transport, src=leg.src, dst=leg.dst,
        first_packet=leg.first_packet, last_packet=leg.last_packet,
        retransmissions=leg.retransmissions,
        ladder=[step.to_dict() for step in leg.ladder]) for leg in record.legs]
    call.transfers = [Transfer(
        seq=seq, kind=t.kind, from_extension=t.from_extension, target=t.target,
        outcome=t.outcome, reason=t.reason, at=t.at, failed_at=t.failed_at)
        for seq, t in enumerate(record.transfers)]
    if obligation is None:
        call.callback = None
        return
    if call.callback is None:
        call.callback = CallbackObligation()
    ob = call.callback  # an existing duty is kept as a row and judged again from scratch
    ob.unit, ob.number, ob.reason = obligation.unit, obligation.number, obligation.reason
    ob.opened_at, ob.due_at = obligation.opened_at, obligation.due_at
    ob.status, ob.attempts, ob.done_at = CallbackStatus.PENDING.value, 0, None


def refresh_callbacks(session: Session, now: datetime,
                      numbers: Iterable[str] | None = None) -> int:
    """Re-judge the obligations not closed yet against the calls stored since (T6–T8).

    ``numbers`` limits it to the obligations of those callers: the writer passes the numbers
    of the calls it just stored, so whichever path stores a call (a capture file, the live
    monitor) the callbacks it fulfils are judged at once. Returns how many were judged.
    """
    query = select(CallbackObligation).where(
        CallbackObligation.status.not_in(FINAL_CALLBACK_STATUSES))
    if numbers is not None:
        wanted = sorted(set(numbers))
        if not wanted:
            return 0
        query = query.where(CallbackObligation.number.in_(wanted))
    open_ones = session.scalars(query).all()
    if not open_ones:
        return 0
    numbers = {ob.number for ob in open_ones}
    earliest = min(ob.opened_at for ob in open_ones)
    by_number: dict[str, list[CallFacts]] = defaultdict(list)
    for call in session.execute(select(*_FACT_COLUMNS).where(
            Call.started_at >= earliest,
            or_(and_(Call.direction == "outbound", Call.dialed_e164.in_(numbers)),
                and_(Call.direction == "inbound", Call.caller_e164.in_(numbers),
                     Call.outcome == "answered")))):
        facts = CallFacts(*call)
        by_number[facts.dialed_e164 if facts.direction == "outbound"
                  else facts.caller_e164].append(facts)
    for ob in open_ones:
        obligation = Obligation(opened_at=ob.opened_at, due_at=ob.due_at, number=ob.number,
                                unit=ob.unit, reason=ob.reason)  # type: ignore[arg-type]
        state = evaluate(obligation, follow_ups(obligation, by_number[ob.number],
                                                opened_by=ob.call_pk), now)
        ob.status, ob.attempts, ob.done_at = state.status.value, state.attempts, state.done_at
    return len(open_ones)


_FACT_COLUMNS = (Call.id, Call.direction, Call.caller_e164, Call.dialed_e164, Call.unit,
                 Call.outcome, Call.started_at, Call.answered_at)


def expire_callbacks(session: Session, now: datetime) -> int:
    """Mark the pending obligations whose deadline has passed as missed (T8); how many."""
    result = session.execute(
        update(CallbackObligation)
        .where(CallbackObligation.status == CallbackStatus.PENDING.value,
               CallbackObligation.due_at <= now)
        .values(status=CallbackStatus.MISSED.value))
    return int(getattr(result, "rowcount", 0) or 0)


Selected = TypeVar("Selected", bound=Select[*tuple[Any, ...]])


def in_period(stmt: Selected, *, since: datetime | None = None, until: datetime | None = None,
              unit: str | None = None) -> Selected:
    """``stmt`` narrowed to calls started in ``[since, until)`` (each optional) of ``unit``."""
    if since is not None:
        stmt = stmt.where(Call.started_at >= since)
    if until is not None:
        stmt = stmt.where(Call.started_at < until)
    if unit is not None:
        stmt = stmt.where(Call.unit == unit)
    return stmt
