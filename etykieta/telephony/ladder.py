"""The ladder of a leg: the SIP messages that decided it, each once, in capture order.

A ladder diagram (RFC 3665's call flows) is how a telecom admin reads a call: one column per
address, one arrow per message. A leg keeps the arrows a person needs to check what Etykieta
made of it — the initial INVITE and its 18x and final responses (T3), CANCEL and BYE (who
ended it), REFER with its response and the NOTIFYs that carry the transfer's progress
(RFC 3515 §2.4.5, the sipfrag status; T5), and re-INVITEs or UPDATEs (a hold, RFC 3264 §8.4).
100 Trying, ACK, PRACK and the responses to BYE, CANCEL and NOTIFY decide nothing and are left
out.

A retransmission, or a copy of the same hop seen again, is the same step: a step is known by
its addresses, its hop (the Via count, RFC 3261 §16.6 step 8: a proxy's relayed copy carries
one Via more), what it is (method or status and To tag) and its CSeq. A proxy's copy at
another hop, or a forking proxy's INVITE to each phone, is an arrow of its own. At most
:data:`MAX_STEPS` are kept per leg, so a leg's memory stays flat however long it runs;
``Leg.ladder_dropped`` counts the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .pipeline import RawSipMessage
from .sip import SipMessage

MAX_STEPS = 40
KEPT_REQUESTS = frozenset({"INVITE", "CANCEL", "BYE", "REFER", "NOTIFY", "UPDATE"})
ANSWERED_METHODS = frozenset({"INVITE", "REFER"})  # whose final responses are kept
HOLD_DIRECTIONS = frozenset({"sendonly", "inactive"})


@dataclass(frozen=True, slots=True)
class LadderStep:
    """One message of a leg's ladder: when, from which address to which, and what it said."""

    at: float  # capture time (epoch seconds)
    src: str  # "ip:port" ("[ip]:port" for IPv6)
    dst: str
    hop: int  # Via count: 1 at the caller, one more behind each proxy
    method: str | None  # a request's method; None for a response
    status: int | None  # a response's status code
    reason: str | None  # a response's reason phrase, as sent
    cseq: int
    cseq_method: str
    note: str | None = None  # "hold" (a re-INVITE that holds), a NOTIFY's sipfrag status
    in_dialog: bool = False  # a request with a To tag: not the initial INVITE
    tag: str | None = None  # a response's To tag: forked branches answer apart

    @property
    def label(self) -> str:
        """What the arrow says: ``INVITE``, ``180 Ringing``, ``NOTIFY (200)``."""
        if self.method is None:
            text = f"{self.status} {self.reason}".strip() if self.reason else str(self.status)
        else:
            text = self.method
        return f"{text} ({self.note})" if self.note else text

    def key(self) -> tuple[object, ...]:
        return (self.src, self.dst, self.hop, self.method, self.status, self.cseq,
                self.cseq_method, self.note, self.in_dialog, self.tag)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "src": self.src, "dst": self.dst, "hop": self.hop,
                "method": self.method, "status": self.status, "reason": self.reason,
                "cseq": self.cseq, "cseq_method": self.cseq_method, "note": self.note,
                "in_dialog": self.in_dialog, "tag": self.tag}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LadderStep:
        return cls(at=float(data["at"]), src=str(data["src"]), dst=str(data["dst"]),
                   hop=int(data["hop"]), method=data.get("method"), status=data.get("status"),
                   reason=data.get("reason"), cseq=int(data["cseq"]),
                   cseq_method=str(data["cseq_method"]), note=data.get("note"),
                   in_dialog=bool(data.get("in_dialog", False)), tag=data.get("tag"))


def ladder_step(msg: SipMessage, raw: RawSipMessage) -> LadderStep | None:
    """The step ``msg`` is on its leg's ladder, or None for a message that decides nothing."""
    if msg.is_request:
        if msg.method not in KEPT_REQUESTS:
            return None
        status = None
        note = _note(msg)
    else:
        status = msg.status_code or 0
        provisional = 180 <= status < 200
        if not (provisional or (status >= 200 and msg.cseq.method in ANSWERED_METHODS)):
            return None
        if provisional and msg.cseq.method != "INVITE":
            return None
        note = None
    return LadderStep(
        at=raw.timestamp, src=str(raw.src), dst=str(raw.dst), hop=msg.via_count(),
        method=msg.method, status=status, reason=msg.reason_phrase if status else None,
        cseq=msg.cseq.number, cseq_method=msg.cseq.method, note=note,
        in_dialog=msg.is_request and msg.to.tag is not None,
        tag=None if msg.is_request else msg.to.tag)


def add_step(steps: list[LadderStep], step: LadderStep) -> bool:
    """Append ``step`` unless it is already there; False if it is new but the ladder is full.

    The list is at most :data:`MAX_STEPS` long, so looking through it is cheap and no set of
    keys grows beside it.
    """
    key = step.key()
    if any(kept.key() == key for kept in steps):
        return True
    if len(steps) >= MAX_STEPS:
        return False
    steps.append(step)
    return True


def _note(msg: SipMessage) -> str | None:
    if msg.method == "NOTIFY":
        status = msg.sipfrag_status
        return str(status) if status is not None else None
    if msg.method in ("INVITE", "UPDATE") and msg.to.tag is not None:
        sdp = msg.sdp
        if sdp is not None and any(m.direction in HOLD_DIRECTIONS for m in sdp.media):
            return "hold"
    return None
