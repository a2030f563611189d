"""Calls from legs: B2BUA and transfer correlation, ring time, outcome, transfer outcome.

A PBX is a B2BUA: the caller-facing leg (trunk ↔ PBX) and each phone leg (PBX ↔ extension)
are separate dialogs with separate Call-IDs. ``CallAssembler`` groups the legs of one call the
way a person reading the ladder diagram would, strongest evidence first:

1. the configured correlation header (Asterisk's ``X-Linkedid``) names another leg or link id;
2. the INVITE replaces a dialog that a REFER of an open call pointed at (attended transfer,
   RFC 3891) or targets the number a REFER of an open call pointed at (blind transfer, RFC 3515);
3. the caller's number (or, outbound, the dialled number) matches an open call's, and the new
   leg comes from the address that received that call's leg (the PBX) — or from a configured
   PBX address, or within the link window.

A call is final when all its legs are final and ``settle_s`` of capture time has passed, so a
transfer leg that starts after the REFER still finds its call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..config import Directory, RingCadence
from .events import LegEvent, LegStarted
from .legs import EndCause, Leg, LegState, Refer
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

# How long after a REFER the transferee's (or PBX's) INVITE to the target may start.
REFER_WINDOW_S = 60.0
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


@dataclass(slots=True)
class AssemblerStats:
    calls: int = 0
    legs_linked: int = 0
    ambiguous_links: int = 0  # a leg that matched several open calls (issue: counted once)


@dataclass(slots=True, eq=False)
class _Group:
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


# An open call a new leg belongs to: the call, the leg's role in it, and what linked it.
_Found = tuple[_Group, LegRole, LinkKind]


class CallAssembler:
    """Leg events in, finished ``CallRecord``s out (sans-I/O; ``now`` is capture time)."""

    def __init__(self, directory: Directory, cadence: RingCadence, *,
                 link_window_s: float = 10.0, settle_s: float = 10.0,
                 pbx_addresses: Iterable[str] = ()) -> None:
        self.directory = directory
        self.cadence = cadence
        self.link_window_s = link_window_s
        self.settle_s = settle_s
        self.pbx_addresses = frozenset(pbx_addresses)
        self.stats = AssemblerStats()
        self._groups: list[_Group] = []
        self._by_call_id: dict[str, _Group] = {}
        self._by_link: dict[str, _Group] = {}
        self._by_caller: dict[str, list[_Group]] = {}
        self._by_dialed: dict[str, list[_Group]] = {}

    # -- input ---------------------------------------------------------------------------
    def feed(self, event: LegEvent) -> list[CallRecord]:
        if isinstance(event, LegStarted):
            self._place(event.leg)
        # other events need nothing here: a group reads its legs' state when it settles
        return []

    def handle_timer(self, now: float) -> list[CallRecord]:
        """Finish the calls whose legs are all final and quiet for ``settle_s``."""
        done = [g for g in self._groups if g.settled() and now - g.last_end() >= self.settle_s]
        return [self._finish(g) for g in done]

    def close(self) -> list[CallRecord]:
        """End of input: finish every call (their legs were closed by the tracker)."""
        return [self._finish(g) for g in list(self._groups)]

    @property
    def open_calls(self) -> int:
        return len(self._groups)

    def leg_ids(self) -> set[str]:
        """Call-IDs of every leg of every open call."""
        return {leg.call_id for group in self._groups for leg in group.legs}

    def oldest_open_start(self) -> float | None:
        """When the oldest call still open began (capture time), or None if none is open."""
        return min((group.first.started_at for group in self._groups), default=None)

    def preview(self, call_id: str) -> CallRecord | None:
        """The record the open call holding leg ``call_id`` would give if it ended now.

        For the live monitor, which must judge a greeting while the call goes on: the
        answering leg and who answered are known long before the call is finished. None when
        no open call holds that leg. The call stays open; nothing is counted.
        """
        group = self._by_call_id.get(call_id)
        return None if group is None else _CallBuilder(self, group).build()

    # -- correlation ---------------------------------------------------------------------
    def _place(self, leg: Leg) -> None:
        caller = self._e164(_caller_number(leg))
        dialed = self._e164(_number(leg.request_uri) or _number(leg.to_addr))
        found = (self._by_header(leg) or self._by_transfer(leg)
                 or self._by_numbers(leg, caller, dialed) or self._by_address(leg))
        if found is None:
            group = _Group([leg], caller, dialed)
            group.roles[leg.call_id] = LegRole.CALLER
            self._groups.append(group)
            self._index(group, caller, dialed)
        else:
            group, role, how = found
            group.legs.append(leg)
            group.roles[leg.call_id] = role
            if group.link is LinkKind.SINGLE or how is LinkKind.AMBIGUOUS:
                group.link = how
            self.stats.legs_linked += 1
        self._by_call_id[leg.call_id] = group
        self._by_link[leg.call_id] = group
        if leg.link_value:
            self._by_link.setdefault(leg.link_value, group)

    def _by_header(self, leg: Leg) -> _Found | None:
        if not leg.link_value:
            return None
        group = self._by_link.get(leg.link_value)
        if group is None or group not in self._groups:
            return None
        return group, self._role_in(group, leg), LinkKind.HEADER

    def _by_transfer(self, leg: Leg) -> _Found | None:
        """The INVITE that carries out a REFER seen in an open call (RFC 3515, RFC 3891)."""
        target = self._extension_or_number(_number(leg.request_uri) or _number(leg.to_addr))
        for group in reversed(self._groups):
            for other in group.legs:
                for refer in other.refers:
                    if refer in group.refer_of.values():
                        continue
                    if not refer.at <= leg.started_at <= refer.at + REFER_WINDOW_S:
                        continue
                    replaced = leg.replaces.call_id if leg.replaces else None
                    wanted = refer.replaces.call_id if refer.replaces else None
                    refer_target = self._extension_or_number(_number(refer.refer_to.uri))
                    if (wanted is not None and replaced == wanted) or refer_target == target:
                        group.refer_of[leg.call_id] = refer
                        if wanted is not None:
                            self._absorb(group, wanted)
                        return group, LegRole.TRANSFER, LinkKind.REFER
        return None

    def _absorb(self, group: _Group, call_id: str) -> None:
        """Fold the consultation call of an attended transfer into the transferred call."""
        other = self._by_call_id.get(call_id)
        if other is None or other is group or other not in self._groups:
            return
        self._groups.remove(other)
        for leg in other.legs:
            group.legs.append(leg)
            group.roles[leg.call_id] = LegRole.CONSULTATION
            self._by_call_id[leg.call_id] = group

    def _by_numbers(self, leg: Leg, caller: str, dialed: str) -> _Found | None:
        """A B2BUA's next leg of an open call: same caller (or same dialled external number)."""
        candidates = [g for g in self._by_caller.get(caller, ()) if self._may_link(g, leg)]
        if not candidates and not self.directory.is_extension(dialed):
            candidates = [g for g in self._by_dialed.get(dialed, ()) if self._may_link(g, leg)]
        if not candidates:
            return None
        confident = [g for g in candidates if self._from_pbx(g, leg)]
        pool = confident or [g for g in candidates
                             if leg.started_at - g.first.started_at <= self.link_window_s]
        if not pool:
            return None
        group = max(pool, key=lambda g: g.first.started_at)
        how = LinkKind.NUMBER if len(pool) == 1 else LinkKind.AMBIGUOUS
        if how is LinkKind.AMBIGUOUS:
            self.stats.ambiguous_links += 1
        return group, self._role_in(group, leg), how

    def _by_address(self, leg: Leg) -> _Found | None:
        """A PBX's leg to a phone that does not show the caller's number (rewritten, hidden).

        It comes from the address a still-ringing caller leg went to, within the link window,
        and rings an extension: it belongs to one of those calls, and is counted once, with
        low confidence (issue #3: the ambiguity is reported in the ingest summary).
        """
        if self.callee_extension(leg) is None:
            return None
        pool = [g for g in self._groups
                if (g.first.dst.ip == leg.src.ip or leg.src.ip in self.pbx_addresses)
                and g.first.answered_at is None and self._may_link(g, leg)
                and leg.started_at - g.first.started_at <= self.link_window_s
                # only a call coming in from outside: a trunk or SBC that an extension's
                # outbound call went to also sends new inbound calls of its own
                and not self.directory.is_extension(g.caller_e164)]
        if not pool:
            return None
        self.stats.ambiguous_links += 1
        group = max(pool, key=lambda g: g.first.started_at)
        return group, self._role_in(group, leg), LinkKind.AMBIGUOUS

    def _may_link(self, group: _Group, leg: Leg) -> bool:
        first = group.first
        if group not in self._groups or leg.started_at < first.started_at:
            return False
        if first.ended_at is not None and leg.started_at > first.ended_at + ANSWER_BRIDGE_S:
            return False
        # two legs from the same UA to the same UA are two calls, not two hops
        return (leg.src.ip, leg.src.port) != (first.src.ip, first.src.port)

    def _from_pbx(self, group: _Group, leg: Leg) -> bool:
        return leg.src.ip == group.first.dst.ip or leg.src.ip in self.pbx_addresses

    def _role_in(self, group: _Group, leg: Leg) -> LegRole:
        first = group.first
        answered = first.answered_at
        if answered is not None and leg.started_at > answered:
            return LegRole.TRANSFER
        return LegRole.PHONE

    def _index(self, group: _Group, caller: str, dialed: str) -> None:
        self._by_caller.setdefault(caller, []).append(group)
        self._by_dialed.setdefault(dialed, []).append(group)

    def _unindex(self, group: _Group) -> None:
        self._groups.remove(group)
        for index, key in ((self._by_caller, group.caller_e164),
                           (self._by_dialed, group.dialed_e164)):
            bucket = index.get(key)
            if bucket is not None:
                bucket[:] = [g for g in bucket if g is not group]
                if not bucket:
                    del index[key]
        for leg in group.legs:
            self._by_call_id.pop(leg.call_id, None)
            self._by_link.pop(leg.call_id, None)
            if leg.link_value and self._by_link.get(leg.link_value) is group:
                del self._by_link[leg.link_value]

    # -- numbers -------------------------------------------------------------------------
    def _e164(self, number: str | None) -> str:
        return self.directory.normalise(number) if number else ""

    def _extension_or_number(self, number: str | None) -> str | None:
        if not number:
            return None
        return self.directory.extension_of(number) or self.directory.normalise(number)

    def answering_extension(self, leg: Leg) -> str | None:
        """Who picked up a leg: its 200 OK's Contact, else the callee as last routed."""
        return self._first_extension(leg.answer_contact, leg.callee_uri, leg.to_addr,
                                     leg.request_uri)

    def callee_extension(self, leg: Leg) -> str | None:
        """The extension a leg rang, as routed nearest the callee."""
        return self._first_extension(leg.callee_uri, leg.to_addr, leg.request_uri)

    def _first_extension(self, *candidates: NameAddr | SipUri | None) -> str | None:
        for candidate in candidates:
            number = _number(candidate)
            extension = self.directory.extension_of(number) if number else None
            if extension is not None:
                return extension
        return None

    # -- the record ----------------------------------------------------------------------
    def _finish(self, group: _Group) -> CallRecord:
        self._unindex(group)
        self.stats.calls += 1
        return _CallBuilder(self, group).build()


class _CallBuilder:
    """Turns one settled group into a ``CallRecord`` (outcome rules of the issue, T3–T6)."""

    def __init__(self, assembler: CallAssembler, group: _Group) -> None:
        self.a = assembler
        self.d = assembler.directory
        self.group = group
        self.first = group.first

    def build(self) -> CallRecord:
        first = self.first
        caller = _caller_number(first) or ""
        dialed = _number(first.request_uri) or _number(first.to_addr) or ""
        caller_ext = self.d.extension_of(caller) if caller else None
        dialed_ext = self.d.extension_of(dialed) if dialed else None
        if caller_ext is None:
            direction = Direction.INBOUND
        else:
            direction = Direction.INTERNAL if dialed_ext is not None else Direction.OUTBOUND
        answering = self._answering_leg()
        answered_by = self.a.answering_extension(answering) if answering else None
        if answering is not None and answered_by is None:
            answered_by = _number(answering.callee_uri)  # an outside number picked up
        # the unit that owes the answer: the dialled one, or for outbound calls the caller's
        unit_ext = caller_ext if direction is Direction.OUTBOUND else dialed_ext
        if direction is Direction.INBOUND and unit_ext is None:
            unit_ext = answered_by or self._first_phone_extension()
        unit = self.d.unit_of(unit_ext) if unit_ext else None
        outcome = self._outcome(answered_by)
        ring_s = first.ring_seconds() if outcome in ANSWERED_OUTCOMES else None
        rings = ring_number(self.a.cadence, ring_s) if ring_s is not None else None
        within = (within_target(self.a.cadence, rings)
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
            extension = self.a.callee_extension(leg)
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
                sender = (self.a.callee_extension(leg) if not refer.from_caller
                          else self.d.extension_of(_caller_number(leg) or ""))
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
                    target = self.a.callee_extension(leg)
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
            caller=_caller_number(leg) or "",
            callee=_number(leg.callee_uri) or _number(leg.to_addr) or "",
            extension=self.a.callee_extension(leg),
            final_status=leg.final_status,
            end_cause=leg.end_cause.value if leg.end_cause else None,
            transport=leg.transport,
            src=f"{leg.src.ip}:{leg.src.port}",
            dst=f"{leg.dst.ip}:{leg.dst.port}",
            first_packet=leg.first_packet,
            last_packet=leg.last_packet,
            retransmissions=leg.retransmissions,
        )


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


def _caller_number(leg: Leg) -> str | None:
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
