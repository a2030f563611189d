"""The leg tracker: SIP messages in, leg events out (sans-I/O, like h11's connection).

``LegTracker.receive(msg, raw)`` takes one parsed message and the packet facts it came in
(``raw.timestamp`` is *now*); ``handle_timer(now)`` retires legs whose last retransmission window
has passed and times out legs that went quiet; ``close(now)`` ends the capture. Nothing here
reads a clock or a socket, so a replayed capture gives the same legs every time.

What the peer does wrong is counted in ``TrackerStats``, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import LegAnswered, LegEnded, LegEvent, LegStarted, MediaMoved
from .ladder import add_step, ladder_step
from .legs import EndCause, HopTimes, Leg, LegState, Refer, leg_from_invite
from .pipeline import RawSipMessage
from .sdp import SessionDescription
from .sip import SipMessage

# RFC 3261 §17.1.1.2: Timer B = 64·T1 = 32 s; retransmissions and late ACKs stay inside it.
LINGER_S = 32.0
# A ringing leg that hears nothing for this long lost its final response in the capture.
RINGING_TIMEOUT_S = 600.0
# An established leg with no BYE after this long is closed as unknown (live use only).
ESTABLISHED_TIMEOUT_S = 4 * 3600.0
RINGING_CODES = frozenset({180, 183})
CHALLENGE_CODES = frozenset({401, 407})
HOLD_DIRECTIONS = frozenset({"sendonly", "inactive"})


@dataclass(slots=True)
class TrackerStats:
    """Counters of what the tracker saw; anomalies of the peers are counted here."""

    messages: int = 0
    legs: int = 0
    retransmissions: int = 0
    orphan_messages: int = 0  # in-dialog traffic of a leg whose INVITE the capture missed
    out_of_dialog: int = 0  # REGISTER, OPTIONS, SUBSCRIBE … outside any leg
    timed_out: int = 0


@dataclass(slots=True)
class _Pending:
    """Facts about a leg the tracker needs but a finished leg does not."""

    invite_cseq: int
    challenged_at: float | None = None
    cancel_at: float | None = None


class LegTracker:
    """Builds legs from the SIP messages of a capture or a live feed."""

    def __init__(self, *, link_header: str = "X-Linkedid", linger_s: float = LINGER_S,
                 ringing_timeout_s: float = RINGING_TIMEOUT_S,
                 established_timeout_s: float = ESTABLISHED_TIMEOUT_S) -> None:
        self.link_header = link_header
        self.linger_s = linger_s
        self.ringing_timeout_s = ringing_timeout_s
        self.established_timeout_s = established_timeout_s
        self.stats = TrackerStats()
        self._legs: dict[str, Leg] = {}
        self._pending: dict[str, _Pending] = {}
        self.last_opened: str | None = None
        """Call-ID of the leg opened last (a shell that reads several files notes which file
        each leg began in)."""

    @property
    def open_legs(self) -> int:
        return len(self._legs)

    def leg_ids(self) -> set[str]:
        """Call-IDs of the legs held: open, or ended and lingering for retransmissions."""
        return set(self._legs)

    # -- input ---------------------------------------------------------------------------
    def receive(self, msg: SipMessage, raw: RawSipMessage) -> list[LegEvent]:
        """Take one message; return the leg events it caused."""
        self.stats.messages += 1
        leg = self._legs.get(msg.call_id)
        if leg is None:
            if msg.method == "INVITE" and msg.to.tag is None:
                return [self._open(msg, raw)]
            if msg.method in (None, "ACK", "BYE", "CANCEL", "REFER", "NOTIFY", "INVITE"):
                self.stats.orphan_messages += 1
            else:
                self.stats.out_of_dialog += 1
            return []
        leg.messages += 1
        leg.last_packet = raw.number
        leg.last_seen = raw.timestamp
        _keep_step(leg, msg, raw)
        before = leg.state
        answered = leg.answer_tag is not None
        events: list[LegEvent] = []
        if msg.is_request:
            moved = self._request(leg, msg, raw)
            if moved is not None:
                events.append(MediaMoved(leg, moved, raw.timestamp))
        else:
            self._response(leg, msg, raw)
        if not answered and leg.answer_tag is not None:
            events.append(LegAnswered(leg, raw.timestamp))
        if leg.state is LegState.TERMINATED and before is not LegState.TERMINATED:
            events.append(LegEnded(leg))
        return events

    def handle_timer(self, now: float) -> list[LegEvent]:
        """Retire lingering legs and time out silent ones; call as capture time advances."""
        events: list[LegEvent] = []
        for call_id, leg in list(self._legs.items()):
            pending = self._pending[call_id]
            if leg.state is LegState.TERMINATED:
                if leg.ended_at is not None and now - leg.ended_at > self.linger_s:
                    self._forget(call_id)
                continue
            if pending.challenged_at is not None and now - pending.challenged_at > self.linger_s:
                self._end(leg, pending.challenged_at, EndCause.FINAL_RESPONSE)
                events.append(LegEnded(leg))
                continue
            if leg.state is LegState.CALLING and now - leg.started_at > self.linger_s:
                self._end(leg, leg.last_seen, EndCause.NO_RESPONSE)  # Timer B fired
                events.append(LegEnded(leg))
                continue
            limit = (self.established_timeout_s if leg.state is LegState.ESTABLISHED
                     else self.ringing_timeout_s)
            if now - leg.last_seen > limit:
                self.stats.timed_out += 1
                self._abandon_unknown(leg, EndCause.TIMEOUT)
                events.append(LegEnded(leg))
                self._forget(call_id)
        return events

    def close(self, now: float) -> list[LegEvent]:
        """End of input: every leg still open ends now, as ``unknown`` unless it was final."""
        events: list[LegEvent] = []
        for call_id, leg in list(self._legs.items()):
            pending = self._pending[call_id]
            if leg.state is not LegState.TERMINATED:
                leg.open_at_end = True
                if pending.challenged_at is not None:
                    self._end(leg, pending.challenged_at, EndCause.FINAL_RESPONSE)
                elif pending.cancel_at is not None and leg.state is not LegState.ESTABLISHED:
                    # some UAs (pyVoIP) answer CANCEL with 200 but never send 487
                    self._end(leg, pending.cancel_at, EndCause.CALLER_CANCEL)
                elif leg.state is LegState.CALLING and leg.retransmissions:
                    # retransmitted and never answered: the UAC's Timer B decides (§17.1.1.2)
                    self._end(leg, leg.last_seen, EndCause.NO_RESPONSE)
                else:
                    self._abandon_unknown(leg, EndCause.CAPTURE_ENDED)
                events.append(LegEnded(leg))
            self._forget(call_id)
        return events

    # -- requests ------------------------------------------------------------------------
    def _open(self, msg: SipMessage, raw: RawSipMessage) -> LegEvent:
        leg = leg_from_invite(msg, number=raw.number, at=raw.timestamp,
                              transport=raw.transport.value, src=raw.src, dst=raw.dst,
                              link_header=self.link_header)
        leg.hops[leg.caller_hop] = HopTimes(invite=raw.timestamp)
        leg.seen_once(leg.caller_hop, "INVITE")
        _keep_step(leg, msg, raw)
        self._legs[msg.call_id] = leg
        self._pending[msg.call_id] = _Pending(invite_cseq=msg.cseq.number)
        self.stats.legs += 1
        self.last_opened = msg.call_id
        return LegStarted(leg)

    def _request(self, leg: Leg, msg: SipMessage, raw: RawSipMessage
                 ) -> SessionDescription | None:
        """Apply an in-leg request; return the caller side's new SDP if it moved its media."""
        pending = self._pending[leg.call_id]
        method = msg.method
        if method == "INVITE" and msg.to.tag is None:
            self._initial_invite_copy(leg, pending, msg, raw)
        elif method in ("INVITE", "UPDATE"):
            return self._session_change(leg, msg)
        elif method == "CANCEL":
            hop = msg.via_count()
            times = leg.hops.setdefault(hop, HopTimes())
            if times.cancel is None:
                times.cancel = raw.timestamp
            if pending.cancel_at is None and leg.state is not LegState.ESTABLISHED:
                pending.cancel_at = raw.timestamp
                leg.final_reason_cause = _reason_cause(msg)
        elif method == "BYE":
            if not leg.seen_once(0, "BYE", msg.cseq.number):
                return None
            if leg.state is not LegState.TERMINATED:
                caller = msg.from_.tag == leg.from_tag
                leg.final_reason_cause = _reason_cause(msg)
                self._end(leg, raw.timestamp,
                          EndCause.CALLER_BYE if caller else EndCause.CALLEE_BYE)
        elif method == "REFER":
            if leg.seen_once(0, "REFER", msg.cseq.number) and msg.refer_to is not None:
                leg.refers.append(Refer(
                    at=raw.timestamp, from_caller=msg.from_.tag == leg.from_tag,
                    refer_to=msg.refer_to, replaces=msg.refer_replaces,
                    referred_by=msg.referred_by, cseq=msg.cseq.number))
        elif method == "NOTIFY":
            status = msg.sipfrag_status
            event = msg.event or ""
            if (status is not None and event.startswith("refer") and leg.refers
                    and leg.seen_once(0, "NOTIFY", msg.cseq.number)):
                leg.refers[-1].notify_statuses.append(status)
        return None

    def _initial_invite_copy(self, leg: Leg, pending: _Pending, msg: SipMessage,
                             raw: RawSipMessage) -> None:
        """Another copy of the initial INVITE: a retransmission, another hop, or a retry."""
        if msg.cseq.number > pending.invite_cseq:
            # a new INVITE after a 401/407 challenge (RFC 3261 §22.2): same call, new transaction
            pending.invite_cseq = msg.cseq.number
            pending.challenged_at = None
            leg.hops.clear()
            leg._seen.clear()
            leg.final_status = None
            leg.state = LegState.CALLING
        hop = msg.via_count()
        if not leg.seen_once(hop, "INVITE"):
            return
        times = leg.hops.setdefault(hop, HopTimes())
        times.invite = raw.timestamp
        if hop < leg.caller_hop or not leg.hops.get(leg.caller_hop):
            leg.caller_hop = hop
            leg.src, leg.dst = raw.src, raw.dst
        if hop >= leg.callee_hop and msg.request_uri is not None:
            leg.callee_hop = hop
            leg.callee_uri = msg.request_uri
        if leg.offer is None:
            leg.offer = msg.sdp

    def _session_change(self, leg: Leg, msg: SipMessage) -> SessionDescription | None:
        """re-INVITE or UPDATE inside the dialog: a hold (RFC 3264 §8.4) or moved media."""
        if not leg.seen_once(0, msg.method or "", msg.cseq.number):
            return None
        sdp = msg.sdp
        if sdp is None:
            return None
        if any(m.direction in HOLD_DIRECTIONS for m in sdp.media):
            leg.holds += 1
        return sdp if msg.from_.tag == leg.from_tag else None

    # -- responses -----------------------------------------------------------------------
    def _response(self, leg: Leg, msg: SipMessage, raw: RawSipMessage) -> None:
        code = msg.status_code or 0
        pending = self._pending[leg.call_id]
        if msg.cseq.method == "REFER":
            for refer in leg.refers:
                if refer.cseq == msg.cseq.number and (refer.response is None or code >= 200):
                    refer.response = code
            return
        if msg.cseq.method != "INVITE" or msg.cseq.number != pending.invite_cseq or code < 101:
            return
        hop = msg.via_count()
        if not leg.seen_once(hop, "response", (code, msg.to.tag)):
            return
        times = leg.hops.setdefault(hop, HopTimes())
        at = raw.timestamp
        tag = msg.to.tag
        if code < 200:
            if code in RINGING_CODES and times.provisional is None:
                times.provisional = at
            if tag and tag not in leg.early_tags:
                leg.early_tags.append(tag)
            if leg.state is LegState.CALLING:
                leg.state = LegState.PROCEEDING
            return
        if times.final is None:
            times.final = at
        if code < 300:
            if times.answer is None:
                times.answer = at
            if leg.answer_tag is None:
                leg.answer_tag = tag
                leg.answer_contact = msg.contact
                leg.answer_sdp = msg.sdp
            leg.final_status = leg.final_status if leg.final_status is not None else code
            if leg.state is not LegState.TERMINATED or leg.end_cause is EndCause.CALLER_CANCEL:
                # a 200 racing a CANCEL wins (RFC 3261 §9.1): the call was answered
                leg.state = LegState.ESTABLISHED
                leg.ended_at = None
                leg.end_cause = None
            return
        if hop > leg.caller_hop or leg.state in (LegState.ESTABLISHED, LegState.TERMINATED):
            return  # a branch that lost, seen behind a forking proxy; or a stray final
        if code in CHALLENGE_CODES:
            pending.challenged_at = at
            leg.final_status = code
            return
        leg.final_status = code
        cause = (EndCause.CALLER_CANCEL if code == 487 and pending.cancel_at is not None
                 else EndCause.FINAL_RESPONSE)
        self._end(leg, at, cause)

    # -- helpers -------------------------------------------------------------------------
    def _end(self, leg: Leg, at: float, cause: EndCause) -> None:
        leg.state = LegState.TERMINATED
        leg.ended_at = at
        leg.end_cause = cause

    def _abandon_unknown(self, leg: Leg, cause: EndCause) -> None:
        leg.state = LegState.UNKNOWN
        leg.ended_at = leg.last_seen
        leg.end_cause = cause

    def _forget(self, call_id: str) -> None:
        leg = self._legs.pop(call_id)
        self.stats.retransmissions += leg.retransmissions
        del self._pending[call_id]


def _keep_step(leg: Leg, msg: SipMessage, raw: RawSipMessage) -> None:
    """Add ``msg`` to the leg's ladder (once; counted as dropped when the ladder is full)."""
    step = ladder_step(msg, raw)
    if step is not None and not add_step(leg.ladder, step):
        leg.ladder_dropped += 1


def _reason_cause(msg: SipMessage) -> int | None:
    for reason in msg.reasons:
        if reason.cause is not None:
            return reason.cause
    return None
