"""What the core hands to storage: finished calls with their legs and transfers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """One transfer attempt in a call (T4–T6)."""

    kind: str  # "blind" (REFER), "attended" (REFER with Replaces), "pbx" (new leg, no REFER)
    from_extension: str | None
    target: str | None
    outcome: str  # "connected" | "failed"
    reason: str | None  # busy, no_answer, caller_hung_up, rejected, refer_rejected, …
    at: datetime
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class LegRecord:
    """One dialog of a call, for drill-down and for the media of the speech check."""

    call_id: str
    role: str  # caller, phone, transfer, consultation
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


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A finished call as a person counts it: one per caller, whatever the PBX did inside."""

    call_id: str  # Call-ID of the caller-facing leg
    started_at: datetime
    ended_at: datetime
    direction: str  # inbound, outbound, internal
    caller: str
    caller_e164: str
    dialed: str
    dialed_e164: str
    unit: str | None
    answered_by: str | None
    outcome: str
    answered_at: datetime | None
    ring_seconds: float | None
    rings: int | None
    within_target: bool | None
    post_dial_delay_s: float | None
    final_status: int | None
    end_cause: str | None
    link: str  # how the legs were linked: single, header, refer, number, ambiguous
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
