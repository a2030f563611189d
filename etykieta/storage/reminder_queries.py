"""The read seam of callback reminders: the duties still to do, each with its own id (T6–T8).

A reminder is sent once per duty (its key holds the duty's id), so the reminders need what
the worklist's call listing does not carry: the row id of the duty itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..callbacks.follow_ups import OPEN_STATUSES
from .models import Call, CallbackObligation


@dataclass(frozen=True, slots=True)
class OpenCallback:
    """A callback duty not done yet, not overdue at the instant it was read at."""

    id: int
    unit: str
    reason: str
    call_started_at: datetime
    due_at: datetime
    attempts: int


def open_callbacks(session: Session, *, as_of: datetime) -> list[OpenCallback]:
    """The duties still pending at ``as_of`` (open, due after it), soonest due first."""
    stmt = (select(CallbackObligation.id, CallbackObligation.unit, CallbackObligation.reason,
                   Call.started_at, CallbackObligation.due_at, CallbackObligation.attempts)
            .join(Call, Call.id == CallbackObligation.call_pk)
            .where(CallbackObligation.status.in_(sorted(OPEN_STATUSES)),
                   CallbackObligation.due_at > as_of)
            .order_by(CallbackObligation.due_at, CallbackObligation.id))
    return [OpenCallback(*row) for row in session.execute(stmt)]
