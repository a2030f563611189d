"""The call page's read: one call with its legs and their ladders, transfers, greeting evidence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..reports.call_detail import CallDetail, GreetingDetail, LegDetail, TransferDetail
from ..telephony.ladder import LadderStep
from .models import CallbackObligation, Greeting, Leg, Transfer
from .queries import call_by_id


def call_detail(session: Session, call_pk: int, *, as_of: datetime) -> CallDetail | None:
    """Call ``call_pk`` in full (callback status as of ``as_of``); None if there is none.
    A few statements: the call as listed (with its dispute), its legs, transfers,
    greeting evidence and callback."""
    call = call_by_id(session, call_pk, as_of=as_of)
    if call is None:
        return None
    legs = tuple(LegDetail(
        call_id=leg.call_id, role=leg.role, started_at=leg.started_at,
        answered_at=leg.answered_at, ended_at=leg.ended_at, caller=leg.caller,
        callee=leg.callee, extension=leg.extension, final_status=leg.final_status,
        end_cause=leg.end_cause, transport=leg.transport, src=leg.src, dst=leg.dst,
        retransmissions=leg.retransmissions,
        ladder=None if leg.ladder is None else tuple(LadderStep.from_dict(step)
                                                     for step in leg.ladder))
        for leg in session.scalars(select(Leg).where(Leg.call_pk == call_pk)
                                   .order_by(Leg.started_at, Leg.id)))
    transfers = tuple(TransferDetail(t.kind, t.from_extension, t.target, t.outcome, t.reason,
                                     t.at, t.failed_at)
                      for t in session.scalars(select(Transfer).where(Transfer.call_pk == call_pk)
                                               .order_by(Transfer.seq, Transfer.id)))
    row = session.execute(select(Greeting.details, Greeting.grammar_transcript,
                                 Greeting.checked_at).where(Greeting.call_pk == call_pk)).first()
    greeting = None if row is None else GreetingDetail(
        elements=dict((row.details or {}).get("elements") or {}),
        grammar_transcript=row.grammar_transcript, checked_at=row.checked_at)
    opened = session.scalar(select(CallbackObligation.opened_at)
                            .where(CallbackObligation.call_pk == call_pk))
    return CallDetail(call, legs, transfers, greeting, opened)
