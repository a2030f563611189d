"""The whole signalling core in one object: captured frames in, finished calls out.

``SignallingAnalyzer`` chains the packet pipeline, the SIP parser, the leg tracker and the call
assembler. It is sans-I/O: a capture adapter (file, live interface, HEP listener) calls
``receive(packet)`` for each frame and ``close()`` at the end; capture time drives every timer.
A ``MediaObserver`` (the speech side's collector) may listen to leg events and to the datagrams
that are not SIP.

The shells (``ingest``, ``monitor``) use only this object's own API: ``stats`` (one snapshot of
every counter), ``preview``, ``oldest_open_start``, ``open_call_ids``, ``finish_ended``,
``last_frame_was_signalling``, ``legs_opened``/``last_opened_leg`` and ``sip_ports``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from ..config import Settings
from .calls import AssemblerStats, CallAssembler
from .events import LegEvent
from .numbers import Directory
from .packets import CapturedPacket, Datagram
from .pipeline import PipelineStats, SipExtractor
from .records import CallRecord
from .sip import SipMessage
from .tracker import LegTracker, TrackerStats

TIMER_STEP_S = 1.0  # how often (in capture time) timers run
MAX_UNPARSABLE_SAMPLES = 100


class MediaObserver(Protocol):
    """What the analyzer tells a media collector."""

    def on_event(self, event: LegEvent) -> None: ...

    def on_datagram(self, datagram: Datagram) -> None: ...

    def wants_port(self, port: int) -> bool: ...


@dataclass(frozen=True, slots=True)
class AnalyzerStats:
    """A snapshot of what the core has counted so far, frames to calls.

    The ingest summary line, the capture rows and the benchmarks are made from it.
    """

    pipeline: PipelineStats  # frames, SIP messages found, malformed packets, SCTP, TCP …
    tracker: TrackerStats  # messages tracked, legs opened, retransmissions, peers' anomalies
    assembler: AssemblerStats  # calls finished, legs linked, ambiguous links
    unparsable: int  # SIP messages the parser could not read
    unparsable_samples: tuple[tuple[int, str], ...]  # (packet number, error), the first ones
    # messages kept although a header broke its grammar ("N messages with malformed headers
    # kept"); the samples are (packet number, "; "-joined SipMessage.anomalies)
    malformed_headers_kept: int
    malformed_header_samples: tuple[tuple[int, str], ...]
    open_legs: int  # legs the tracker holds now
    open_calls: int  # calls not finished yet


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
        self._unparsable_count = 0
        self._unparsable_samples: list[tuple[int, str]] = []
        self._malformed_headers_count = 0
        self._malformed_header_samples: list[tuple[int, str]] = []
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

    def finish_ended(self, now: float) -> list[CallRecord]:
        """Finish every call whose legs have all ended by ``now``; the others stay open.

        For an input that stops here (a monitor that stops and journals the calls still going
        on): the settle time a transfer leg may still come in is not waited for.
        """
        return self.assembler.handle_timer(now + self.assembler.settle_s)

    def open_call_ids(self) -> set[str]:
        """The Call-IDs of every leg the core still holds: in an open call, or lingering for
        its retransmissions. A continuation of the input needs their SIP, and only theirs."""
        return self.tracker.leg_ids() | self.assembler.leg_ids()

    def preview(self, call_id: str) -> CallRecord | None:
        """The record the open call holding leg ``call_id`` would give if it ended now.

        None when no open call holds that leg; the call stays open and nothing is counted.
        The live monitor judges a greeting from it while the call goes on.
        """
        return self.assembler.preview(call_id)

    def oldest_open_start(self) -> float | None:
        """When the oldest call still open began (capture time), or None if none is open.

        A journal of the input may forget what came before it.
        """
        return self.assembler.oldest_open_start()

    @property
    def stats(self) -> AnalyzerStats:
        """Every counter so far, as one consistent snapshot."""
        return AnalyzerStats(
            pipeline=self.extractor.stats,
            tracker=replace(self.tracker.stats),
            assembler=replace(self.assembler.stats),
            unparsable=self._unparsable_count,
            unparsable_samples=tuple(self._unparsable_samples),
            malformed_headers_kept=self._malformed_headers_count,
            malformed_header_samples=tuple(self._malformed_header_samples),
            open_legs=self.tracker.open_legs,
            open_calls=self.assembler.open_calls,
        )

    @property
    def last_frame_was_signalling(self) -> bool:
        """Whether the frame received last was signalling (the shells journal those).

        A SIP datagram, a segment of a SIP stream, or an IP fragment (which may be part of one).
        """
        return self.extractor.signalling

    @property
    def legs_opened(self) -> int:
        """How many legs the input has opened so far (cheap: the shells watch it per frame)."""
        return self.tracker.stats.legs

    @property
    def last_opened_leg(self) -> str | None:
        """Call-ID of the leg opened last (a shell reading several files notes where each began)."""
        return self.tracker.last_opened

    @property
    def sip_ports(self) -> frozenset[int] | None:
        """The ports SIP is read on (``[capture] sip_ports``); None: any port, by content."""
        return self.extractor.sip_ports

    def _feed(self, events: list[LegEvent]) -> list[CallRecord]:
        finished: list[CallRecord] = []
        for event in events:
            if self.media is not None:
                self.media.on_event(event)
            finished.extend(self.assembler.feed(event))
        return finished

    def _unparsable(self, number: int, error: str) -> None:
        self._unparsable_count += 1
        if len(self._unparsable_samples) < MAX_UNPARSABLE_SAMPLES:
            self._unparsable_samples.append((number, error))

    def _malformed_headers(self, number: int, anomalies: tuple[str, ...]) -> None:
        self._malformed_headers_count += 1
        if len(self._malformed_header_samples) < MAX_UNPARSABLE_SAMPLES:
            self._malformed_header_samples.append((number, "; ".join(anomalies)))
