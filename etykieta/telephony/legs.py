"""Legs: one SIP dialog set (an INVITE and everything in its Call-ID) as seen on the wire.

A leg is what the tracker builds from messages; calls (``calls.py``) are built from legs. A leg
may be seen at several hops at once — a stateful proxy in front of the phones relays every
message, so a mirror port shows each one twice with the same Call-ID and CSeq and one more Via
(RFC 3261 §16.6 step 8). The Via count therefore names the hop: the copy with the fewest Vias is
the one nearest the caller, and that is the hop the caller's experience is timed on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .ladder import LadderStep
from .packets import Endpoint
from .sdp import SessionDescription
from .sip import NameAddr, Replaces, SipMessage, SipUri


class LegState(enum.Enum):
    """Where the initial INVITE transaction of a leg stands (RFC 3261 §13, §17.1.1)."""

    CALLING = "calling"  # INVITE seen, no provisional response yet
    PROCEEDING = "proceeding"  # a 1xx was seen
    ESTABLISHED = "established"  # a 2xx was seen; the dialog is confirmed
    TERMINATED = "terminated"  # BYE after a 2xx, or a final non-2xx response
    UNKNOWN = "unknown"  # the capture ended (or the leg timed out) before it ended


class EndCause(enum.Enum):
    """Why a leg ended: which side ended it, or which response did."""

    CALLER_BYE = "caller_bye"
    CALLEE_BYE = "callee_bye"
    CALLER_CANCEL = "caller_cancel"
    FINAL_RESPONSE = "final_response"
    NO_RESPONSE = "no_response"  # the INVITE was retransmitted and nothing ever answered
    CAPTURE_ENDED = "capture_ended"
    TIMEOUT = "timeout"


@dataclass(slots=True)
class HopTimes:
    """The first time each milestone of the initial INVITE was seen at one hop."""

    invite: float | None = None
    provisional: float | None = None  # first 180/183 (100 Trying is hop-by-hop, not ringing)
    answer: float | None = None  # first 2xx
    final: float | None = None  # first final response of any class
    cancel: float | None = None


@dataclass(slots=True)
class Refer:
    """A REFER seen inside a leg (RFC 3515) and what came of it on that leg."""

    at: float
    from_caller: bool  # sent by the leg's caller side (its From tag is the leg's)
    refer_to: NameAddr
    replaces: Replaces | None  # embedded in Refer-To: an attended transfer (RFC 3891 §7)
    referred_by: NameAddr | None
    cseq: int
    response: int | None = None
    notify_statuses: list[int] = field(default_factory=list)  # message/sipfrag codes


@dataclass(slots=True, eq=False)
class Leg:
    """One INVITE dialog set, built message by message by the tracker."""

    call_id: str
    started_at: float
    first_packet: int
    transport: str
    src: Endpoint  # the caller's side of the hop nearest the caller
    dst: Endpoint
    from_addr: NameAddr
    to_addr: NameAddr
    request_uri: SipUri  # as the caller sent it
    callee_uri: SipUri  # as the hop nearest the callee carried it (after proxy lookup)
    from_tag: str | None
    caller_hop: int  # Via count of the copy nearest the caller
    callee_hop: int
    p_asserted: tuple[NameAddr, ...] = ()
    diversion: tuple[NameAddr, ...] = ()
    link_value: str | None = None  # the configured correlation header (e.g. X-Linkedid)
    referred_by: NameAddr | None = None
    replaces: Replaces | None = None
    offer: SessionDescription | None = None
    answer_sdp: SessionDescription | None = None
    state: LegState = LegState.CALLING
    hops: dict[int, HopTimes] = field(default_factory=dict)
    early_tags: list[str] = field(default_factory=list)  # To tags of early dialogs (forking)
    answer_tag: str | None = None
    answer_contact: NameAddr | None = None
    final_status: int | None = None
    final_reason_cause: int | None = None  # Reason header cause on CANCEL/BYE (RFC 3326)
    ended_at: float | None = None
    end_cause: EndCause | None = None
    refers: list[Refer] = field(default_factory=list)
    holds: int = 0
    retransmissions: int = 0
    messages: int = 0
    ladder: list[LadderStep] = field(default_factory=list)  # at most ladder.MAX_STEPS
    ladder_dropped: int = 0  # steps past MAX_STEPS, not kept
    last_packet: int = 0
    last_seen: float = 0.0
    open_at_end: bool = False
    """The input ended while the leg was still going on (`LegTracker.close`): how it ended is
    the tracker's best reading of what was seen, and a continuation may tell otherwise."""
    _seen: set[tuple[int, str, object]] = field(default_factory=set)

    # -- derived facts -------------------------------------------------------------------
    def caller_times(self) -> HopTimes:
        """Milestones at the hop nearest the caller (fewest Vias) that saw the INVITE."""
        return self.hops.get(self.caller_hop) or HopTimes(invite=self.started_at)

    @property
    def answered_at(self) -> float | None:
        return self.caller_times().answer

    @property
    def ringing_at(self) -> float | None:
        return self.caller_times().provisional

    @property
    def cancelled(self) -> bool:
        return self.end_cause is EndCause.CALLER_CANCEL

    def ring_seconds(self) -> float | None:
        """Answer time minus first 18x at the caller's hop (INVITE time if no 18x came)."""
        times = self.caller_times()
        if times.answer is None:
            return None
        start = times.provisional if times.provisional is not None else times.invite
        if start is None:
            start = self.started_at
        return max(0.0, times.answer - start)

    def post_dial_delay(self) -> float | None:
        """INVITE to first 18x at the caller's hop (post-dial delay, ITU-T E.721)."""
        times = self.caller_times()
        if times.provisional is None or times.invite is None:
            return None
        return max(0.0, times.provisional - times.invite)

    def seen_once(self, hop: int, what: str, detail: object = None) -> bool:
        """Record a milestone at a hop; False (and a retransmission counted) if seen before."""
        key = (hop, what, detail)
        if key in self._seen:
            self.retransmissions += 1
            return False
        self._seen.add(key)
        return True


def leg_from_invite(msg: SipMessage, *, number: int, at: float, transport: str,
                    src: Endpoint, dst: Endpoint, link_header: str) -> Leg:
    """Open a leg from the first copy of an initial INVITE (no To tag)."""
    assert msg.request_uri is not None
    hop = msg.via_count()
    return Leg(
        call_id=msg.call_id,
        started_at=at,
        first_packet=number,
        transport=transport,
        src=src,
        dst=dst,
        from_addr=msg.from_,
        to_addr=msg.to,
        request_uri=msg.request_uri,
        callee_uri=msg.request_uri,
        from_tag=msg.from_.tag,
        caller_hop=hop,
        callee_hop=hop,
        p_asserted=tuple(msg.p_asserted_identity),
        diversion=tuple(msg.diversion),
        link_value=msg.header(link_header) if link_header else None,
        referred_by=msg.referred_by,
        replaces=msg.replaces,
        offer=msg.sdp,
        last_packet=number,
        last_seen=at,
    )
