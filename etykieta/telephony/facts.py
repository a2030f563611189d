"""The facts of a finished call, from the legs correlation grouped (T3–T6).

:func:`build_record` reads a :class:`LegGroup` — the legs :class:`~.calls.CallAssembler`
put together — the way the outcome table of issue #2 and the phone rules read a ladder
diagram: who called whom (direction, the unit that owes the answer), which leg the caller
heard answered and by whom, the outcome, the ring time and ring number (T3,
:mod:`.rings`), each transfer and whether it connected (T4–T5: only a target that answered
with the caller still there), how long an unanswered caller waited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..config import RingCadence
from .legs import EndCause, Leg, LegState, Refer
from .numbers import Directory
from .records import (
    CallRecord,
    Direction,
    LegRecord,
    LegRole,
    LinkKind,
    Outcome,
    TransferKind,
    TransferOutcome,
    TransferReason,
    TransferRecord,
)
from .rings import ring_number, within_target
from .sipuri import NameAddr, SipUri, number_of

# Seconds between the phone leg's 200 OK and the caller leg's 200 OK at a B2BUA.
ANSWER_BRIDGE_S = 2.0
BUSY_CODES = frozenset({486, 600})
NO_ANSWER_CODES = frozenset({408, 480})
# Display names that hide the caller (RFC 3323 §4.1.1.3 suggests "Anonymous").
ANONYMOUS_NAMES = frozenset({"anonymous", "unknown", "restricted", "withheld"})
# Outcomes of a call that something picked up: they have a ring time and someone who answered.
ANSWERED_OUTCOMES = frozenset({Outcome.ANSWERED, Outcome.VOICEMAIL})
# Why a transfer failed, by how the target's unanswered leg ended (anything else: an error).
TARGET_FAILURES: dict[Outcome, TransferReason] = {
    Outcome.BUSY: TransferReason.BUSY,
    Outcome.NO_ANSWER: TransferReason.NO_ANSWER,
    Outcome.REJECTED: TransferReason.REJECTED,
    Outcome.ABANDONED: TransferReason.CALLER_HUNG_UP,
    Outcome.UNKNOWN: TransferReason.UNKNOWN,
}


@dataclass(slots=True, eq=False)
class LegGroup:
    """The legs correlation put together as one call, and how each one is part of it."""

    legs: list[Leg]
    caller_e164: str
    dialed_e164: str
    roles: dict[str, LegRole] = field(default_factory=dict)  # Call-ID → role
    refer_of: dict[str, Refer] = field(default_factory=dict)  # target leg Call-ID → its REFER
    link: LinkKind = LinkKind.SINGLE

    @property
    def first(self) -> Leg:
        return self.legs[0]

    def settled(self) -> bool:
        return all(leg.state in (LegState.TERMINATED, LegState.UNKNOWN) for leg in self.legs)

    def last_end(self) -> float:
        return max((leg.ended_at or leg.last_seen) for leg in self.legs)


def build_record(group: LegGroup, directory: Directory, cadence: RingCadence) -> CallRecord:
    """The record of the call ``group`` holds, as it stands (settled or still open)."""
    return _CallBuilder(group, directory, cadence).build()


class _CallBuilder:
    """Turns one settled group into a ``CallRecord`` (outcome rules of the issue, T3–T6)."""

    def __init__(self, group: LegGroup, directory: Directory, cadence: RingCadence) -> None:
        self.d = directory
        self.cadence = cadence
        self.group = group
        self.first = group.first

    def build(self) -> CallRecord:
        first = self.first
        caller = caller_number(first) or ""
        dialed = dialed_number(first) or ""
        caller_ext = self.d.extension_of(caller) if caller else None
        dialed_ext = self.d.extension_of(dialed) if dialed else None
        if caller_ext is None:
            direction = Direction.INBOUND
        else:
            direction = Direction.INTERNAL if dialed_ext is not None else Direction.OUTBOUND
        answering = self._answering_leg()
        answered_by = answering_extension(self.d, answering) if answering else None
        if answering is not None and answered_by is None:
            answered_by = _number(answering.callee_uri)  # an outside number picked up
        # the unit that owes the answer: the dialled one, or for outbound calls the caller's
        unit_ext = caller_ext if direction is Direction.OUTBOUND else dialed_ext
        if direction is Direction.INBOUND and unit_ext is None:
            unit_ext = answered_by or self._first_phone_extension()
        unit = self.d.unit_of(unit_ext) if unit_ext else None
        outcome = self._outcome(answered_by)
        ring_s = first.ring_seconds() if outcome in ANSWERED_OUTCOMES else None
        rings = ring_number(self.cadence, ring_s) if ring_s is not None else None
        within = (within_target(self.cadence, rings)
                  if rings is not None and outcome is Outcome.ANSWERED else None)
        transfers = self._transfers(answering, answered_by)
        return CallRecord(
            call_id=first.call_id,
            started_at=_utc(first.started_at),
            ended_at=_utc(self.group.last_end()),
            direction=direction,
            caller=caller,
            caller_e164=self.d.normalise(caller) if caller else "",
            dialed=dialed,
            dialed_e164=self.d.normalise(dialed) if dialed else "",
            unit=unit.name if unit else None,
            answered_by=answered_by if outcome in ANSWERED_OUTCOMES else None,
            outcome=outcome,
            answered_at=_utc(first.answered_at) if first.answered_at is not None else None,
            ring_seconds=None if ring_s is None else round(ring_s, 3),
            rings=rings,
            within_target=within,
            post_dial_delay_s=_round(first.post_dial_delay()),
            final_status=first.final_status,
            end_cause=first.end_cause.value if first.end_cause else None,
            link=self.group.link,
            holds=sum(leg.holds for leg in self.group.legs),
            transfers=tuple(transfers),
            answering_call_id=answering.call_id if answering is not None else None,
            legs=tuple(self._leg_record(leg) for leg in self.group.legs),
            in_progress=any(leg.open_at_end for leg in self.group.legs),
            caller_name=_caller_name(first),
            wait_seconds=None if first.answered_at is not None else _round(_waited(first)),
        )

    def _phone_legs(self) -> list[Leg]:
        return [leg for leg in self.group.legs if self.group.roles[leg.call_id] is LegRole.PHONE]

    def _first_phone_extension(self) -> str | None:
        for leg in self._phone_legs():
            extension = callee_extension(self.d, leg)
            if extension is not None:
                return extension
        return None

    def _answering_leg(self) -> Leg | None:
        """The leg whose 200 OK the caller heard: a phone leg at a B2BUA, or the caller leg."""
        answered_at = self.first.answered_at
        if answered_at is None:
            return None
        phones = [leg for leg in self._phone_legs()
                  if leg.answered_at is not None
                  and leg.answered_at <= answered_at + ANSWER_BRIDGE_S]
        if phones:
            return max(phones, key=lambda leg: leg.answered_at or 0.0)
        return self.first

    def _outcome(self, answered_by: str | None) -> Outcome:
        first = self.first
        if first.answered_at is not None:
            if answered_by is not None and self.d.non_person_at(answered_by) is not None:
                return Outcome.VOICEMAIL
            return Outcome.ANSWERED
        return _unanswered_outcome(first)

    def _transfers(self, answering: Leg | None, answered_by: str | None
                   ) -> list[TransferRecord]:
        group = self.group
        records: list[TransferRecord] = []
        for leg in group.legs:
            for refer in leg.refers:
                target_leg = next((t for t in group.legs if group.refer_of.get(t.call_id)
                                   is refer), None)
                sender = (callee_extension(self.d, leg) if not refer.from_caller
                          else self.d.extension_of(caller_number(leg) or ""))
                target = _number(refer.refer_to.uri)
                records.append(self._transfer(
                    TransferKind.ATTENDED if refer.replaces else TransferKind.BLIND,
                    sender or answered_by,
                    (self.d.extension_of(target) if target else None) or target,
                    refer.at, target_leg, refer))
        if not records and answering is not None and answering is not self.first:
            for leg in group.legs:
                if (group.roles[leg.call_id] is LegRole.TRANSFER
                        and not group.refer_of.get(leg.call_id)):
                    target = callee_extension(self.d, leg)
                    if target is not None and target != answered_by:
                        records.append(self._transfer(TransferKind.PBX, answered_by, target,
                                                      leg.started_at, leg, None))
        return records

    def _transfer(self, kind: TransferKind, sender: str | None, target: str | None, at: float,
                  target_leg: Leg | None, refer: Refer | None) -> TransferRecord:
        outcome, reason = self._transfer_outcome(target_leg, refer)
        return TransferRecord(kind=kind, from_extension=sender, target=target,
                              outcome=outcome, reason=reason, at=_utc(at),
                              failed_at=None if outcome is TransferOutcome.CONNECTED else _utc(
                                  target_leg.ended_at if target_leg and target_leg.ended_at
                                   else at))

    def _transfer_outcome(self, target_leg: Leg | None, refer: Refer | None
                          ) -> tuple[TransferOutcome, TransferReason | None]:
        """T5: connected only when the target answered and the caller was still there."""
        caller_leg = self.first
        if target_leg is None:
            if refer is not None and refer.response is not None and refer.response >= 300:
                return TransferOutcome.FAILED, TransferReason.REFER_REJECTED
            return TransferOutcome.FAILED, TransferReason.NO_TARGET_LEG
        answered = target_leg.answered_at
        if answered is not None:
            # REFER to the caller's own UA: it calls the target itself, so it is on that leg
            caller_dialled = target_leg.src.ip == caller_leg.src.ip
            if caller_dialled or caller_leg.ended_at is None or caller_leg.ended_at >= answered:
                return TransferOutcome.CONNECTED, None
            return TransferOutcome.FAILED, TransferReason.CALLER_HUNG_UP
        if target_leg.end_cause is EndCause.CALLER_CANCEL or (
                caller_leg.ended_at is not None and target_leg.ended_at is not None
                and caller_leg.ended_at <= target_leg.ended_at
                and caller_leg.end_cause in (EndCause.CALLER_BYE, EndCause.CALLER_CANCEL)):
            return TransferOutcome.FAILED, TransferReason.CALLER_HUNG_UP
        reason = TARGET_FAILURES.get(_unanswered_outcome(target_leg), TransferReason.ERROR)
        return TransferOutcome.FAILED, reason

    def _leg_record(self, leg: Leg) -> LegRecord:
        return LegRecord(
            call_id=leg.call_id,
            role=self.group.roles[leg.call_id],
            started_at=_utc(leg.started_at),
            answered_at=_utc(leg.answered_at) if leg.answered_at is not None else None,
            ended_at=_utc(leg.ended_at) if leg.ended_at is not None else None,
            caller=caller_number(leg) or "",
            callee=_number(leg.callee_uri) or _number(leg.to_addr) or "",
            extension=callee_extension(self.d, leg),
            final_status=leg.final_status,
            end_cause=leg.end_cause.value if leg.end_cause else None,
            transport=leg.transport,
            src=f"{leg.src.ip}:{leg.src.port}",
            dst=f"{leg.dst.ip}:{leg.dst.port}",
            first_packet=leg.first_packet,
            last_packet=leg.last_packet,
            retransmissions=leg.retransmissions,
            ladder=tuple(leg.ladder),
        )


def answering_extension(directory: Directory, leg: Leg) -> str | None:
    """Who picked up a leg: its 200 OK's Contact, else the callee as last routed."""
    return _first_extension(directory, leg.answer_contact, leg.callee_uri, leg.to_addr,
                            leg.request_uri)


def callee_extension(directory: Directory, leg: Leg) -> str | None:
    """The extension a leg rang, as routed nearest the callee."""
    return _first_extension(directory, leg.callee_uri, leg.to_addr, leg.request_uri)


def _first_extension(directory: Directory, *candidates: NameAddr | SipUri | None
                     ) -> str | None:
    for candidate in candidates:
        number = _number(candidate)
        extension = directory.extension_of(number) if number else None
        if extension is not None:
            return extension
    return None


def dialed_number(leg: Leg) -> str | None:
    """The number the caller dialled: the Request-URI's, else To's."""
    return number_of(leg.request_uri) or number_of(leg.to_addr)


def _unanswered_outcome(leg: Leg) -> Outcome:
    """Outcome of a leg that was never answered (issue #2's outcome table)."""
    cause = leg.end_cause
    if cause is EndCause.CALLER_CANCEL or cause is EndCause.CALLER_BYE:
        return Outcome.ABANDONED
    if cause is EndCause.NO_RESPONSE:
        return Outcome.FAILED
    status = leg.final_status
    if status is None or leg.state is LegState.UNKNOWN:
        return Outcome.UNKNOWN
    if status in BUSY_CODES:
        return Outcome.BUSY
    if status in NO_ANSWER_CODES or status == 487:
        return Outcome.NO_ANSWER  # 487 without the caller's CANCEL: the PBX gave up ringing
    if status >= 500 and status < 600:
        return Outcome.FAILED
    return Outcome.REJECTED


def _number(addr: NameAddr | SipUri | None) -> str | None:
    return number_of(addr) if addr is not None else None


def caller_number(leg: Leg) -> str | None:
    """The caller's number: From, or P-Asserted-Identity when From is anonymous (RFC 3325)."""
    number = _number(leg.from_addr)
    if number and (number[0] == "+" or number.isdigit()):
        return number
    for identity in leg.p_asserted:
        asserted = _number(identity)
        if asserted and (asserted[0] == "+" or asserted.isdigit()):
            return asserted
    return number


def _caller_name(leg: Leg) -> str | None:
    """The caller's display name as it came: From's, or P-Asserted-Identity's when From has
    none or hides it ("Anonymous", RFC 3323 §4.1.1.3, RFC 3325)."""
    name = (leg.from_addr.display_name or "").strip()
    if name and name.casefold() not in ANONYMOUS_NAMES:
        return name
    for identity in leg.p_asserted:
        asserted = (identity.display_name or "").strip()
        if asserted and asserted.casefold() not in ANONYMOUS_NAMES:
            return asserted
    return name or None


def _waited(leg: Leg) -> float | None:
    """How long the caller of an unanswered leg waited before it ended, at the caller's hop.

    From the first 18x (the INVITE when no 18x came) to whichever came first of the caller's
    CANCEL, the caller's BYE, or the final response; None when the input shows no end (no
    response at all, or the capture stopped first).
    """
    times = leg.caller_times()
    start = times.provisional if times.provisional is not None else times.invite
    bye = leg.ended_at if leg.end_cause is EndCause.CALLER_BYE else None
    ends = [at for at in (times.cancel, bye, times.final) if at is not None]
    if not ends:
        return None
    return max(0.0, min(ends) - (leg.started_at if start is None else start))


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
