"""Which later calls bear on a callback duty, and how its status reads as time passes (T6–T8).

Pure: the stored calls' facts go in, :class:`~etykieta.callbacks.rules.FollowUp`s come out.
Whichever path stores a call — a capture file, the live monitor — the writer hands the calls
of the numbers it touched to these rules (``storage.repository.refresh_callbacks``), so a
callback is judged the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .rules import CallbackStatus, FollowUp, Obligation

OPEN_STATUSES = frozenset({CallbackStatus.PENDING.value, CallbackStatus.MISSED.value})


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What a stored call says that can bear on a callback duty."""

    id: int
    direction: str
    caller_e164: str
    dialed_e164: str
    unit: str | None
    outcome: str
    started_at: datetime
    answered_at: datetime | None


def follow_ups(obligation: Obligation, calls: Iterable[CallFacts], *,
               opened_by: int | None = None) -> list[FollowUp]:
    """The calls that bear on ``obligation``, as the rules read them.

    T6/T7/T8 ``callback``: a call from an extension of the obliged unit to the caller's
    number (answered or not: an unanswered one is an attempt that keeps the duty open).
    T8 ``caller_again``: a call from that number that staff answered. The call that opened
    the duty (``opened_by``) is neither.
    """
    found: list[FollowUp] = []
    for call in calls:
        if call.id == opened_by:
            continue
        if (call.direction == "outbound" and call.dialed_e164 == obligation.number
                and (call.unit or "") == obligation.unit):
            found.append(_follow_up(call, "callback"))
        elif (call.direction == "inbound" and call.caller_e164 == obligation.number
              and call.outcome == "answered"):
            found.append(_follow_up(call, "caller_again"))
    return found


def status_as_of(status: str, due_at: datetime, now: datetime) -> str:
    """A stored status read at ``now``: an open duty is pending until due, then missed (T8).

    Only the closing statuses (done, late, caller_called_again) are final; whether an open
    one is pending or missed depends on when one asks.
    """
    if status in OPEN_STATUSES:
        return CallbackStatus.MISSED.value if now >= due_at else CallbackStatus.PENDING.value
    return status


def _follow_up(call: CallFacts, kind: str) -> FollowUp:
    answered = call.outcome == "answered" and call.answered_at is not None
    return FollowUp(started_at=call.started_at, kind=kind,  # type: ignore[arg-type]
                    answered=answered, answered_at=call.answered_at if answered else None)
