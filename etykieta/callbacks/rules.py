"""Whether a callback obligation was met: rules T6–T8 of the phone standard.

T6: a transfer that could not be made obliges the unit to call the caller back.
T7: a callback that does not reach the caller keeps the obligation open.
T8: a missed call is the unit's to return; the caller must not have to call again.

Pure: the obligation, the later calls that matter to it and the current time go in; a
:class:`CallbackState` comes out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal, get_args

ObligationReason = Literal["missed_call", "failed_transfer"]
FollowUpKind = Literal["callback", "caller_again"]

# ITU-T E.164 §6: at most 15 digits, the country code never starts with 0. The shortest numbers
# in service anywhere (Niue, +683 and four digits) have 7.
E164_PATTERN = re.compile(r"\+[1-9][0-9]{6,14}")


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime: {name}={value.isoformat()}")


class CallbackStatus(Enum):
    """Where a callback obligation stands."""

    DONE = "done"
    LATE = "late"
    CALLER_CALLED_AGAIN = "caller_called_again"
    PENDING = "pending"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Obligation:
    """The unit owes ``number`` a call by ``due_at`` (T6 for a failed transfer, T8 for a miss)."""

    opened_at: datetime
    due_at: datetime
    number: str
    unit: str
    reason: ObligationReason

    def __post_init__(self) -> None:
        _require_aware(self.opened_at, "opened_at")
        _require_aware(self.due_at, "due_at")
        if self.due_at < self.opened_at:
            raise ValueError(f"due_at {self.due_at} precedes opened_at {self.opened_at}")
        if not E164_PATTERN.fullmatch(self.number):
            raise ValueError(f"number is not E.164: {self.number!r}")
        if self.reason not in get_args(ObligationReason):
            raise ValueError(f"unknown obligation reason: {self.reason!r}")


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A later call that bears on an obligation.

    ``callback``: an outbound call from an extension of the obliged unit to the number.
    ``caller_again``: an inbound call from the number that any staff member answered.
    """

    started_at: datetime
    kind: FollowUpKind
    answered: bool
    answered_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware(self.started_at, "started_at")
        if self.kind not in get_args(FollowUpKind):
            raise ValueError(f"unknown follow-up kind: {self.kind!r}")
        if self.answered != (self.answered_at is not None):
            raise ValueError("answered_at must be set exactly when answered is true")
        if self.answered_at is not None:
            _require_aware(self.answered_at, "answered_at")
            if self.answered_at < self.started_at:
                raise ValueError(f"answered_at {self.answered_at} precedes {self.started_at}")


@dataclass(frozen=True, slots=True)
class CallbackState:
    """The outcome: a status, the callbacks tried, and when the obligation closed (if it did)."""

    status: CallbackStatus
    attempts: int
    done_at: datetime | None


def evaluate(
    obligation: Obligation, follow_ups: Iterable[FollowUp], now: datetime
) -> CallbackState:
    """Judge ``obligation`` against the calls that followed it, as of ``now``.

    Follow-ups that started before the obligation opened are ignored; the rest are taken in
    order of ``started_at`` (a callback before a caller's call at the same instant), so the
    result does not depend on the order they are given in. ``now`` only tells a pending
    obligation from a missed one.
    """
    _require_aware(now, "now")
    relevant = sorted(
        (f for f in follow_ups if f.started_at >= obligation.opened_at),
        key=lambda f: (f.started_at, f.kind != "callback"),
    )
    attempts = 0
    for follow_up in relevant:
        if follow_up.kind == "callback":
            attempts += 1
            if follow_up.answered_at is None:
                # T7: the caller was not reached; the unit must try again, so it stays open.
                continue
            # T6/T8: the unit reached the caller, on time or not.
            on_time = follow_up.answered_at <= obligation.due_at
            status = CallbackStatus.DONE if on_time else CallbackStatus.LATE
            return CallbackState(status, attempts, follow_up.answered_at)
        if follow_up.answered_at is not None:
            # T8: the caller had to call again and got through; nothing is left to return,
            # but the unit did not do what the standard asks, so this is its own status.
            return CallbackState(
                CallbackStatus.CALLER_CALLED_AGAIN, attempts, follow_up.answered_at
            )
        # An unanswered call from the caller is a new missed call, not progress on this one.
    # T6/T8: nobody reached the caller yet; the obligation is overdue once due_at has come.
    status = CallbackStatus.PENDING if now < obligation.due_at else CallbackStatus.MISSED
    return CallbackState(status, attempts, None)
