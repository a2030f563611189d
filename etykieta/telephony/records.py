"""What the core hands to storage: finished calls with their legs and transfers.

The facts a call is counted by are ``StrEnum``s: the core compares members, while the edges
(JSON, CSV, the database's string columns) see the same strings they always did.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from .ladder import LadderStep


class Direction(enum.StrEnum):
    """Who called whom, as the office counts it."""

    INBOUND = "inbound"  # from outside to an extension
    OUTBOUND = "outbound"  # from an extension to outside
    INTERNAL = "internal"  # from one extension to another


class Outcome(enum.StrEnum):
    """How a call ended for the caller (issue #2's outcome table)."""

    ANSWERED = "answered"  # by a person
    VOICEMAIL = "voicemail"  # by an extension that is not a person
    ABANDONED = "abandoned"  # the caller gave up (CANCEL, or BYE before the answer)
    BUSY = "busy"  # 486, 600
    NO_ANSWER = "no_answer"  # 408, 480, or 487 without the caller's CANCEL
    REJECTED = "rejected"  # any other final failure response
    FAILED = "failed"  # 5xx, or no response at all
    UNKNOWN = "unknown"  # the capture does not show how it ended


class TransferKind(enum.StrEnum):
    """How a transfer was made (T4)."""

    BLIND = "blind"  # REFER (RFC 3515)
    ATTENDED = "attended"  # REFER with Replaces (RFC 3891)
    PBX = "pbx"  # the PBX opened a new leg to the target, no REFER on the wire


class TransferOutcome(enum.StrEnum):
    """Whether the caller reached the transfer's target (T5)."""

    CONNECTED = "connected"  # the target answered with the caller still there
    FAILED = "failed"


class TransferReason(enum.StrEnum):
    """Why a transfer failed."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CALLER_HUNG_UP = "caller_hung_up"
    REJECTED = "rejected"
    REFER_REJECTED = "refer_rejected"  # the REFER itself got a failure response
    NO_TARGET_LEG = "no_target_leg"  # no leg to the target followed the REFER
    UNKNOWN = "unknown"  # the capture does not show how the target's leg ended
    ERROR = "error"  # the target's leg failed (5xx, no response)


class LegRole(enum.StrEnum):
    """What a leg is in its call."""

    CALLER = "caller"  # the caller-facing leg: the call's own
    PHONE = "phone"  # a B2BUA's leg to a phone, before the answer
    TRANSFER = "transfer"  # a leg to a transfer's target (or any leg after the answer)
    CONSULTATION = "consultation"  # the consultation call of an attended transfer


class LinkKind(enum.StrEnum):
    """The strongest evidence that grouped a call's legs."""

    SINGLE = "single"  # one leg, nothing to link
    HEADER = "header"  # the configured correlation header (X-Linkedid)
    REFER = "refer"  # a REFER's target or Replaces
    NUMBER = "number"  # the caller's number coming back from the PBX
    AMBIGUOUS = "ambiguous"  # several open calls matched: linked with low confidence


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """One transfer attempt in a call (T4–T6)."""

    kind: TransferKind
    from_extension: str | None
    target: str | None
    outcome: TransferOutcome
    reason: TransferReason | None  # None when connected
    at: datetime
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class LegRecord:
    """One dialog of a call, for drill-down and for the media of the speech check."""

    call_id: str
    role: LegRole
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    caller: str
    callee: str
    extension: str | None
    final_status: int | None
    end_cause: str | None
    transport: str
    src: str
    dst: str
    first_packet: int
    last_packet: int
    retransmissions: int
    ladder: tuple[LadderStep, ...] = ()  # the messages that decided the leg (ladder.py)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A finished call as a person counts it: one per caller, whatever the PBX did inside."""

    call_id: str  # Call-ID of the caller-facing leg
    started_at: datetime
    ended_at: datetime
    direction: Direction
    caller: str
    caller_e164: str
    dialed: str
    dialed_e164: str
    unit: str | None
    answered_by: str | None
    outcome: Outcome
    answered_at: datetime | None
    ring_seconds: float | None
    rings: int | None
    within_target: bool | None
    post_dial_delay_s: float | None
    final_status: int | None
    end_cause: str | None
    link: LinkKind  # how the legs were linked
    holds: int
    transfers: tuple[TransferRecord, ...]
    answering_call_id: str | None  # the leg whose answer the caller heard (the employee's)
    legs: tuple[LegRecord, ...]
    caller_name: str | None = None  # the caller's display name as it came (From, PAI)
    wait_seconds: float | None = None  # unanswered: how long the caller waited
    in_progress: bool = False
    """The input ended while a leg was still going on: the call as it stood then, which the
    next capture file of the same stream may continue."""

    @property
    def transfer(self) -> TransferRecord | None:
        """The transfer a report shows: the last one (it decided where the caller ended up)."""
        return self.transfers[-1] if self.transfers else None

    @property
    def answering_leg(self) -> LegRecord | None:
        return next((leg for leg in self.legs if leg.call_id == self.answering_call_id), None)
