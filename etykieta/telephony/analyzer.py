"""The whole signalling core in one object: captured frames in, finished calls out.

``SignallingAnalyzer`` chains the packet pipeline, the SIP parser, the leg tracker and the call
assembler. It is sans-I/O: a capture adapter (file, live interface, HEP listener) calls
``receive(packet)`` for each frame and ``close()`` at the end; capture time drives every timer.
A ``MediaObserver`` (the speech side's collector) may listen to leg events and to the datagrams
that are not SIP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..config import Directory, Settings
from .calls import CallAssembler
from .events import LegEvent
from .packets import CapturedPacket, Datagram
from .pipeline import SipExtractor
from .records import CallRecord
from .sip import SipMessage
from .tracker import LegTracker

TIMER_STEP_S = 1.0  # how often (in capture time) timers run
MAX_UNPARSABLE_SAMPLES = 100


class MediaObserver(Protocol):
    """What the analyzer tells a media collector."""

    def on_event(self, event: LegEvent) -> None: ...

    def on_datagram(self, datagram: Datagram) -> None: ...

    def wants_port(self, port: int) -> bool: ...


@dataclass(slots=True)
class AnalyzerStats:
    """What one run saw; the ingest summary line is made from it."""

    unparsable: int = 0
    unparsable_samples: list[tuple[int, str]] = field(default_factory=list)
    # messages kept although a header broke its grammar ("N messages with malformed headers
    # kept"); the samples are (packet number, "; "-joined SipMessage.anomalies)
    malformed_headers_kept: int = 0
    malformed_header_samples: list[tuple[int, str]] = field(default_factory=list)


class SignallingAnalyzer:
    """Frames → SIP messages → legs → calls."""

    def __init__(self, settings: Settings, directory: Directory | None = None, *,
                 media: MediaObserver | None = None) -> None:
        self.directory = directory or Directory(settings)
        configured = settings.capture.sip_ports
        ports = frozenset(configured) if configured is not None else None
        self.media = media
        self.extractor = SipExtractor(
            sip_ports=ports, on_datagram=media.on_datagram if media is not None else None,
            wants_port=media.wants_port if media is not None else None)
        self.tracker = LegTracker(link_header=settings.pbx.link_header)
        self.assembler = CallAssembler(
            self.directory, settings.rings, link_window_s=settings.pbx.link_window_s,
            pbx_addresses=settings.pbx.addresses)
        self.stats = AnalyzerStats()
        self._next_timer: float | None = None
        self._now = 0.0

    def receive(self, packet: CapturedPacket) -> list[CallRecord]:
        """Take one frame; return the calls that it (or the time it carries) finished."""
        finished: list[CallRecord] = []
        now = packet.timestamp
        if now > self._now:
            self._now = now
        if self._next_timer is None:
            self._next_timer = now + TIMER_STEP_S
        elif now >= self._next_timer:
            finished.extend(self.handle_timer(now))
        for raw in self.extractor.receive(packet):
            try:
                msg = SipMessage.parse(raw.data)
            except ValueError as exc:
                self._unparsable(raw.number, str(exc))
                continue
            if msg.anomalies:
                self._malformed_headers(raw.number, msg.anomalies)
            finished.extend(self._feed(self.tracker.receive(msg, raw)))
        return finished

    def handle_timer(self, now: float) -> list[CallRecord]:
        """Advance time without a packet (live capture calls this from its clock)."""
        self._next_timer = now + TIMER_STEP_S
        finished = self._feed(self.tracker.handle_timer(now))
        finished.extend(self.assembler.handle_timer(now))
        return finished

    def close(self) -> list[CallRecord]:
        """End of input: close open legs as ``unknown`` and finish every call."""
        finished = self._feed(self.tracker.close(self._now))
        finished.extend(self.assembler.close())
        return finished

    def open_call_ids(self) -> set[str]:
        """The Call-IDs of every leg the core still holds: in an open call, or lingering for
        its retransmissions. A continuation of the input needs their SIP, and only theirs."""
        return self.tracker.leg_ids() | self.assembler.leg_ids()

    def _feed(self, events: list[LegEvent]) -> list[CallRecord]:
        finished: list[CallRecord] = []
        for event in events:
            if self.media is not None:
                self.media.on_event(event)
            finished.extend(self.assembler.feed(event))
        return finished

    def _unparsable(self, number: int, error: str) -> None:
        self.stats.unparsable += 1
        if len(self.stats.unparsable_samples) < MAX_UNPARSABLE_SAMPLES:
            self.stats.unparsable_samples.append((number, error))

    def _malformed_headers(self, number: int, anomalies: tuple[str, ...]) -> None:
        self.stats.malformed_headers_kept += 1
        if len(self.stats.malformed_header_samples) < MAX_UNPARSABLE_SAMPLES:
            self.stats.malformed_header_samples.append((number, "; ".join(anomalies)))
