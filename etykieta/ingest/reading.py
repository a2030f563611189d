"""One pass of the signalling core over a carry and a set of capture files, and what it stores.

:class:`Reading` is the inner loop of `etykieta.ingest.service.Ingestor`: it replays the
previous input's carry, reads the files as one stream (skipping what an overlapping file
holds that was read before), journals their SIP, stores calls in batches, and at the end
carries the calls still going on to the next input.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy.orm import Session

from ..errors import CaptureFormatError
from ..speech.audio.collector import MediaCollector
from ..storage.captures import CaptureCounts, FileRead, finish_capture
from ..storage.streams import StreamState, save_stream_state, settle_stale
from ..storage.writer import BATCH_CALLS, Finished
from ..telephony.analyzer import SignallingAnalyzer
from ..telephony.capture.files import CaptureSet, CaptureSource
from ..telephony.capture.journal import JOURNAL_MARGIN_S, PRUNE_EVERY_S, Journal
from ..telephony.capture.pcap_file import open_capture
from ..telephony.packets import CapturedPacket, PacketDecoder, TcpSegment
from ..telephony.records import CallRecord
from . import carry

if TYPE_CHECKING:
    from .service import Ingestor, IngestRun

log = logging.getLogger(__name__)


class Reading:
    """One pass of the core over a carry and a set of files, and what it stores."""

    def __init__(self, ingestor: Ingestor, run: IngestRun, capture_ids: list[int],
                 journal: Journal) -> None:
        self.ingestor = ingestor
        self.run = run
        self.capture_ids = capture_ids
        self.journal = journal
        settings = ingestor.settings
        self.collector = MediaCollector(settings.speech.window_s,
                                        settings.speech.closing_window_s)
        self.analyzer = SignallingAnalyzer(settings, ingestor.directory, media=self.collector)
        self.pending: list[Finished] = []
        self.began_in: dict[str, int] = {}
        """Call-ID of each leg opened while reading → the file it began in."""
        self.overlapping: list[bool] = [False] * len(capture_ids)
        self.known: set[int] = set()
        self.carried_media: set[tuple[str, int]] = set()
        self.classifier = PacketDecoder()
        self.read_before = float("-inf")
        """Packets of an overlapping file up to this time were read by an earlier input."""
        self.first: list[float | None] = [None] * len(capture_ids)
        self.last: list[float | None] = [None] * len(capture_ids)
        self.next_prune = 0.0
        self._file = 0
        self._mark = self._counters()

    def skip_read_before(self, sources: list[CaptureSource], carried: list[CapturedPacket],
                         resume_at: float) -> None:
        """Find the files that hold what the stream read already, up to ``resume_at``.

        A file that begins before the stream got there and holds a frame of the carry is the
        same capture again (the whole file after a part of it, or that capture merged with
        another): up to there, the frames of the carry, every TCP segment and the RTP of the
        carried calls are skipped — the carry's TCP and RTP streams go on from where they
        were, and the same segments once more would tear them — and the rest is read (the
        calls it finishes were stored already, and are not stored twice). A file that holds
        no frame of the carry is another capture of an earlier time, read in full.
        """
        known = self.known = {_identity(packet) for packet in carried}
        for index, source in enumerate(sources):
            if source.first_ts is None or source.first_ts > resume_at:
                continue
            try:
                with open_capture(source.path) as capture:
                    for packet in capture:
                        if packet.timestamp > resume_at:
                            break
                        if _identity(packet) in known:
                            self.overlapping[index] = True
                            break
            except (OSError, CaptureFormatError):
                continue  # reading it proper will say what is wrong
        if any(self.overlapping):
            self.read_before = resume_at

    def _read_before(self, packet: CapturedPacket) -> bool:
        """Whether a packet of an overlapping file, before where the stream got, was read."""
        if _identity(packet) in self.known:
            return True
        try:
            decoded = self.classifier.decode(packet)
        except ValueError:
            return False
        if isinstance(decoded, TcpSegment):
            return True
        # RTP of a carried call: its windows came with the carry, and the same packets once
        # more would look like a sender that restarted its stream (RFC 3550 A.1)
        return decoded is not None and (decoded.dst.ip, decoded.dst.port) in self.carried_media

    def replay(self, carried: list[CapturedPacket]) -> None:
        """Feed the previous input's carry: its open calls pick up where they were."""
        analyzer = self.analyzer
        for packet in carried:
            finished = analyzer.receive(packet)
            if analyzer.last_frame_was_signalling:
                self.journal.append(packet)
            self._finished(finished)
        self._mark = self._counters()  # the carry's messages were counted by its own input
        self.carried_media = self.collector.router.destinations()

    def read(self, captures: CaptureSet) -> None:
        analyzer = self.analyzer
        journal = self.journal
        first, last = self.first, self.last
        legs = analyzer.legs_opened
        for index, packet in captures:
            if index != self._file:
                self._switch(index)
            timestamp = packet.timestamp
            if first[index] is None:
                first[index] = timestamp
            previous = last[index]
            if previous is None or timestamp > previous:
                last[index] = timestamp
            if (timestamp <= self.read_before and self.overlapping[index]
                    and self._read_before(packet)):
                self.run.files[index].already_read += 1
                continue
            finished = analyzer.receive(packet)
            if analyzer.last_frame_was_signalling:
                journal.append(packet)
                if analyzer.legs_opened != legs:
                    legs = analyzer.legs_opened
                    self.began_in[analyzer.last_opened_leg or ""] = index
            if finished:
                self._finished(finished)
            if timestamp >= self.next_prune:
                self.next_prune = timestamp + PRUNE_EVERY_S
                oldest = analyzer.oldest_open_start()
                journal.prune((timestamp if oldest is None else oldest) - JOURNAL_MARGIN_S)

    def finish(self, sources: list[CaptureSource], *, finish: bool) -> None:
        """End of the input: store what is left, carry the calls still going on."""
        analyzer, collector = self.analyzer, self.collector
        if finish:
            records = [replace(r, in_progress=False) for r in analyzer.close()]
            blob: bytes | None = None
            count = 0
        else:
            held = analyzer.open_call_ids()
            media = collector.held_media()
            records = analyzer.close()
            sip = carry.carried_sip(self.journal.replay(), held, analyzer.sip_ports)
            packed, count = carry.pack(carry.merge(sip, carry.media_frames(media)))
            blob = packed if count else None
        self.journal.close()
        self._switch(self._file)  # the rest of the counts: the file read last
        final = [(r, collector.take(r)) for r in records]
        still_open = {(r.call_id, r.started_at) for r in records if r.in_progress}
        ingestor = self.ingestor
        with ingestor.sessions.begin() as session:
            self._store(session, self.pending + final)
            self.pending = []
            settle_stale(session, ingestor.stream, still_open)
            lasts = [ts for ts in self.last if ts is not None]
            save_stream_state(session, ingestor.stream,
                              StreamState(blob, len(still_open), utc(max(lasts, default=None))),
                              carry_packets=count, at=ingestor.clock())
            self._finish_capture_rows(session, sources)
        self.run.still_open = len(still_open)
        if self.run.files:
            self.run.files[-1].still_open = len(still_open)
        for summary in self.run.files:
            for level, problem in summary.problems:
                log.log(level, "%s: %s", summary.path, problem)

    # -- storing ------------------------------------------------------------------------
    def _finished(self, records: list[CallRecord]) -> None:
        self.pending.extend((r, self.collector.take(r)) for r in records)
        if len(self.pending) >= BATCH_CALLS:
            with self.ingestor.sessions.begin() as session:
                self._store(session, self.pending)
            self.pending = []

    def _store(self, session: Session, calls: list[Finished]) -> None:
        """Store calls, each with the capture file it began in."""
        by_file: dict[int, list[Finished]] = {}
        for call in calls:
            by_file.setdefault(self._file_of(call[0]), []).append(call)
        for file, group in sorted(by_file.items()):
            capture_id = self.capture_ids[file] if self.capture_ids else None
            written = self.ingestor.writer.store_in(session, group, capture_id)
            self.run.calls += written.calls
            self.run.added += written.added
            self.run.replaced += written.replaced
            if self.run.files:
                summary = self.run.files[file]
                summary.calls += written.calls
                summary.added += written.added
                summary.replaced += written.replaced
                summary.greetings_queued += written.greetings_queued

    def _file_of(self, record: CallRecord) -> int:
        """The file the call began in (the first file for a call continued from the previous
        input); forgets its legs."""
        began = [self.began_in.pop(leg.call_id, None) for leg in record.legs]
        return began[0] if began and began[0] is not None else 0

    def _finish_capture_rows(self, session: Session, sources: list[CaptureSource]) -> None:
        for index, (source, capture_id) in enumerate(zip(sources, self.capture_ids,
                                                         strict=True)):
            summary = self.run.files[index]
            stats = source.stats
            if stats is not None:
                summary.packets = stats.packets
                summary.truncated = stats.truncated
                summary.read_errors = list(stats.errors)
            if source.error is not None:
                summary.read_errors.append(f"could not be read: {source.error}")
            counts = CaptureCounts(summary.packets, summary.sip_messages, summary.calls,
                                   summary.added, summary.unparsable, summary.malformed_packets,
                                   summary.ambiguous_links)
            finish_capture(session, capture_id, counts, FileRead(
                summary.truncated, "\n".join(summary.read_errors), utc(self.first[index]),
                utc(self.last[index]), self.ingestor.clock() if source.error is None else None))

    # -- per-file counters --------------------------------------------------------------
    def _counters(self) -> _Counts:
        stats = self.analyzer.stats
        pipeline = stats.pipeline
        return _Counts(
            sip_messages=pipeline.sip_messages, malformed_packets=pipeline.malformed,
            unparsable=stats.unparsable,
            ambiguous_links=stats.assembler.ambiguous_links,
            sctp_packets=pipeline.sctp, malformed_headers=stats.malformed_headers_kept,
            samples=(len(pipeline.malformed_samples), len(stats.unparsable_samples),
                     len(stats.malformed_header_samples)))

    def _switch(self, index: int) -> None:
        """Give the file read so far what the core counted since the last switch."""
        now = self._counters()
        if self.run.files:
            summary = self.run.files[self._file]
            for name in _Counts.COUNTED:
                setattr(summary, name, getattr(summary, name)
                        + getattr(now, name) - getattr(self._mark, name))
            stats = self.analyzer.stats
            pipeline = stats.pipeline
            skipped, unparsable, odd = self._mark.samples
            summary.problems += [(logging.WARNING, f"packet {n} skipped: {why}")
                                 for n, why in pipeline.malformed_samples[skipped:]]
            summary.problems += [(logging.WARNING, f"packet {n}: SIP message not readable: {why}")
                                 for n, why in stats.unparsable_samples[unparsable:]]
            summary.problems += [(logging.INFO, f"packet {n}: kept with malformed headers: {why}")
                                 for n, why in stats.malformed_header_samples[odd:]]
        self._mark = now
        self._file = index


@dataclass(frozen=True, slots=True)
class _Counts:
    """What the core has counted so far (`_Reading._switch` hands each file its share)."""

    COUNTED: ClassVar[tuple[str, ...]] = ("sip_messages", "malformed_packets", "unparsable",
                                          "ambiguous_links", "sctp_packets",
                                          "malformed_headers")
    sip_messages: int
    malformed_packets: int
    unparsable: int
    ambiguous_links: int
    sctp_packets: int
    malformed_headers: int
    samples: tuple[int, int, int]
    """How many malformed-packet, unparsable and malformed-header samples were kept."""


def _identity(packet: CapturedPacket) -> int:
    return hash((packet.timestamp, packet.data))


def utc(ts: float | None) -> datetime | None:
    """A capture time as a UTC datetime (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)
