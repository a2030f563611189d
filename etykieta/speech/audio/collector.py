"""The answering employee's audio of each call, collected while the signalling core runs.

``MediaCollector`` plugs into :class:`~etykieta.telephony.analyzer.SignallingAnalyzer`: leg events
tell it which datagrams to keep (the callee → caller direction of every answered leg, to the
address the caller side announced in SDP), the analyzer hands it every non-SIP datagram, and
when a call is finished ``take(record)`` renders the opening window (``[speech] window_s`` from
the answer, T1/T2/T9) and the closing window (the last ``closing_window_s``, T10) of the leg
whose answer the caller heard. Only those windows are ever stored, so memory does not grow with
call length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...telephony.events import LegAnswered, LegEvent, MediaMoved
from ...telephony.media import MediaRouter
from ...telephony.packets import Datagram
from ...telephony.records import CallRecord
from ...telephony.sdp import SessionDescription
from .assembler import MediaStream, RenderedAudio, RtpStreamAssembler

SECURE_PROFILES = ("RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF")


@dataclass(frozen=True, slots=True)
class CallAudio:
    """What the employee said at the start and at the end of a call, as Etykieta heard it."""

    leg_call_id: str
    destination: tuple[str, int] | None  # where the employee's RTP was sent
    payload_types: dict[int, tuple[str, int]]
    opening: RenderedAudio | None  # None: no media was negotiated (or it was SRTP)
    closing: RenderedAudio | None
    reason: str | None = None  # why there is no audio, when there is none


@dataclass(frozen=True, slots=True)
class HeldDatagram:
    """One datagram a stream keeps for its windows, with the addresses it travelled between."""

    arrival: float
    source: tuple[str, int]
    destination: tuple[str, int]
    data: bytes


@dataclass(slots=True)
class _Stream:
    assembler: RtpStreamAssembler
    stream: MediaStream
    answered_at: float
    route_since: float
    """Since when the stream is sent to its current address (the answer, or the last move)."""
    opening_taken: bool = False
    moves: list[tuple[float, tuple[str, int], tuple[str, int] | None]] = field(
        default_factory=list)
    """(since, destination, latched source) of each address used before the current one."""


def employee_stream(offer: SessionDescription | None) -> tuple[MediaStream | None, str | None]:
    """The stream the callee sends to: the caller side's audio section, or why there is none."""
    if offer is None:
        return None, "no SDP offer in the INVITE (late offer not followed)"
    audio = next((m for m in offer.media if m.media == "audio"), None)
    if audio is None:
        return None, "no audio in the SDP offer"
    if audio.proto.upper() in SECURE_PROFILES:
        return None, f"media is encrypted ({audio.proto})"
    stream = MediaStream.from_sdp(audio)
    return stream, None if stream is not None else "audio rejected in SDP (port 0)"


class MediaCollector:
    """Keeps the opening and closing windows of the callee's audio on every answered leg."""

    wants_port: Callable[[int], bool]  # asked of every UDP datagram: the router's own test

    def __init__(self, window_s: float, closing_window_s: float) -> None:
        self.window_s = window_s
        self.closing_window_s = closing_window_s
        self.router = MediaRouter()
        self.wants_port = self.router.watches_port
        self._streams: dict[str, _Stream] = {}
        self._no_media: dict[str, str] = {}

    def on_event(self, event: LegEvent) -> None:
        if isinstance(event, LegAnswered):
            self._watch(event.leg.call_id, event.leg.offer, event.at, new=True)
        elif isinstance(event, MediaMoved) and event.leg.call_id in self._streams:
            self._watch(event.leg.call_id, event.sdp, event.at, new=False)

    def on_datagram(self, datagram: Datagram) -> None:
        key = self.router.route(datagram)
        if key is not None:
            self._streams[key].assembler.push(datagram.timestamp, datagram.payload)

    def take(self, record: CallRecord) -> CallAudio | None:
        """The audio of a finished call's answering leg; forgets every leg of the call."""
        leg = record.answering_leg
        audio: CallAudio | None = None
        if leg is not None:
            audio = self._render(leg.call_id, leg.ended_at.timestamp() if leg.ended_at else None)
        for other in record.legs:
            self.router.unwatch(other.call_id)
            self._streams.pop(other.call_id, None)
            self._no_media.pop(other.call_id, None)
        return audio

    def due_openings(self, now: float) -> list[CallAudio]:
        """Opening windows complete by ``now`` (capture time), each handed out once.

        The live monitor judges a greeting as soon as its window is over, not at hang-up; the
        leg's stream is kept for the closing window, which `take` renders at the end.
        """
        due = []
        for call_id, held in self._streams.items():
            if not held.opening_taken and now >= held.answered_at + self.window_s:
                held.opening_taken = True
                dst = held.stream.destination
                due.append(CallAudio(
                    call_id, (dst.ip, dst.port), dict(held.assembler.payload_types),
                    held.assembler.render(held.answered_at, self.window_s), None))
        return due

    def held_media(self) -> list[HeldDatagram]:
        """The datagrams kept for the windows of every stream still open, oldest first.

        A continuation that is given them (as datagrams sent from the latched source to the
        stream's address, after the SIP that answered the leg) renders the same windows: how
        ``ingest`` carries a call's greeting audio from one capture file to the next.
        """
        held: list[HeldDatagram] = []
        for call_id, stream in self._streams.items():
            current = self.router.addresses(call_id)
            if current is None:
                continue
            routes = [*stream.moves, (stream.route_since, *current)]
            for arrival, data in stream.assembler.held():
                # the address in use when it arrived (routing allows 1 s of slack, as here)
                route = next((r for r in reversed(routes) if arrival >= r[0] - 1.0), routes[0])
                if route[2] is not None:
                    held.append(HeldDatagram(arrival, route[2], route[1], data))
        held.sort(key=lambda datagram: datagram.arrival)
        return held

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def _watch(self, call_id: str, sdp: SessionDescription | None, at: float, *,
               new: bool) -> None:
        stream, reason = employee_stream(sdp)
        if stream is None:
            if new:
                self._no_media[call_id] = reason or "no media"
            return
        if new:
            assembler = RtpStreamAssembler(stream.payload_types,
                                           keep=[(at, at + self.window_s)],
                                           tail_s=self.closing_window_s)
            self._streams[call_id] = _Stream(assembler, stream, at, at)
        else:
            held = self._streams[call_id]
            held.assembler.payload_types.update(stream.payload_types)
            before = self.router.addresses(call_id)
            if before is not None:
                held.moves.append((held.route_since, *before))
            held.route_since = at
        dst = stream.destination
        self.router.watch(call_id, (dst.ip, dst.port), at)

    def _render(self, call_id: str, ended_at: float | None) -> CallAudio:
        held = self._streams.get(call_id)
        if held is None:
            reason = self._no_media.get(call_id, "the answer carried no media")
            return CallAudio(call_id, None, {}, None, None, reason)
        start = held.answered_at
        opening = held.assembler.render(start, self.window_s)
        end = ended_at if ended_at is not None else start + self.window_s
        closing_start = max(start, end - self.closing_window_s)
        closing = held.assembler.render(closing_start, max(0.0, end - closing_start))
        dst = held.stream.destination
        return CallAudio(call_id, (dst.ip, dst.port), dict(held.assembler.payload_types),
                         opening, closing)
