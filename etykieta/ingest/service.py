"""The ingest job: capture files → the signalling core → the metrics database.

This is the I/O shell around :class:`~etykieta.telephony.analyzer.SignallingAnalyzer` for
capture files. The files of one call to :meth:`Ingestor.ingest` are one stream
(:class:`~etykieta.telephony.capture.files.CaptureSet`: ordered by their first packet, merged
by time where they overlap) fed to one analyzer, because a capture host cuts one stream into
many files and calls run across the cuts.

Successive calls on the same *stream* (``--stream``, one per capture point) continue each
other: the calls still going on when an input ends are stored as they stand, marked
``in_progress``, and carried (`etykieta.ingest.carry`) to the next input, which replays them
first and then finishes them — their records are then replaced, never doubled. Finished calls
are stored in batches, each batch one transaction; the last batch, the carry and the stream's
state are one transaction, so an ingest killed at any point and run again on the same files
stores the same calls, once.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from ..callbacks import BusinessCalendar
from ..callbacks.opening import calendar_for
from ..config import Directory, Settings
from ..errors import CaptureFormatError
from ..speech.audio.collector import MediaCollector
from ..storage.captures import CaptureCounts, FileRead, NewCapture, finish_capture, open_captures
from ..storage.models import Call, Capture, IngestStream
from ..storage.repository import refresh_callbacks
from ..storage.writer import BATCH_CALLS, CallWriter, Finished
from ..telephony.analyzer import SignallingAnalyzer
from ..telephony.capture.files import CaptureSet, CaptureSource, probe
from ..telephony.capture.journal import JOURNAL_MARGIN_S, PRUNE_EVERY_S, Journal
from ..telephony.capture.pcap_file import open_capture
from ..telephony.packets import CapturedPacket, PacketDecoder, TcpSegment
from ..telephony.records import CallRecord
from . import carry

log = logging.getLogger(__name__)
DEFAULT_STREAM = "default"


@dataclass(slots=True)
class IngestSummary:
    """The one-line summary ``etykieta ingest`` prints per file.

    Calls are counted in the file they began in (a call that runs across two files counts in
    the first; a call continued from the previous input, in the first file of this one).
    """

    path: str
    packets: int = 0
    sip_messages: int = 0
    calls: int = 0
    added: int = 0
    replaced: int = 0
    unparsable: int = 0
    malformed_packets: int = 0
    ambiguous_links: int = 0
    greetings_queued: int = 0
    already_read: int = 0
    """Packets of a file that holds what the stream has read already (the whole file after a
    part of it, a file read again): up to where the stream had got, they are skipped, so
    nothing is counted twice and the calls carried on continue where they were."""
    continued: int = 0
    """Calls going on at the end of the previous input that this file continued (first file)."""
    still_open: int = 0
    """Calls still going on at the end of this file, stored as in progress (last file)."""
    sctp_packets: int = 0
    malformed_headers: int = 0
    """SIP messages kept although a header broke its grammar (real devices send those)."""
    truncated: bool = False
    read_errors: list[str] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(log level, what) of the first malformed packets and messages, with their numbers."""

    def line(self) -> str:
        new = f"{self.added} new" + (f", {self.replaced} completed" if self.replaced else "")
        text = (f"{self.path}: {self.packets} packets, {self.sip_messages} SIP messages, "
                f"{self.calls} calls ({new}), {self.unparsable} unparsable messages, "
                f"{self.malformed_packets} malformed packets")
        if self.malformed_headers:
            text += f", {self.malformed_headers} messages with malformed headers kept"
        if self.sctp_packets:
            text += f", {self.sctp_packets} SCTP packets (SIP over SCTP not supported)"
        if self.ambiguous_links:
            text += f", {self.ambiguous_links} legs linked with low confidence"
        if self.greetings_queued:
            text += f", {self.greetings_queued} greetings queued for recognition"
        if self.already_read:
            text += f", {self.already_read} packets read before skipped"
        if self.continued:
            text += f"; continued {self.continued} calls from the previous file"
        if self.still_open:
            text += (f"; {self.still_open} calls still going on at the end, stored as in "
                     f"progress until the next file continues them")
        if self.truncated or self.read_errors:
            text += "; capture damaged: " + "; ".join(self.read_errors or ["truncated"])
        return text


@dataclass(slots=True)
class IngestRun:
    """What one ``ingest`` did: a summary per file read, in stream order, and the failures."""

    files: list[IngestSummary] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(path, why) of the files that could not be read at all."""
    carried_packets: int = 0
    """Packets replayed from the previous input's carry."""
    calls: int = 0
    added: int = 0
    replaced: int = 0
    still_open: int = 0
    carry_problem: str | None = None
    """Why the previous input's carry could not be used (its calls stay as stored)."""


class Ingestor:
    """Stores what the analyzer finds in capture files; one per database, config and stream."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *,
                 directory: Directory | None = None,
                 calendar: BusinessCalendar | None = None, stream: str = DEFAULT_STREAM,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.stream = stream
        self.directory = directory or Directory(settings)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.writer = CallWriter(settings, sessions, directory=self.directory,
                                 calendar=calendar or calendar_for(settings.business_hours),
                                 clock=lambda: datetime.now(UTC), as_of=self.clock)

    def ingest_file(self, path: str | os.PathLike[str]) -> IngestSummary:
        """Ingest one capture file. Raises before storing anything if it is not a capture."""
        return self.ingest_sources([probe(path)]).files[0]

    def ingest(self, paths: Iterable[str | os.PathLike[str]], *, finish: bool = False
               ) -> IngestRun:
        """Ingest files as one stream; those that cannot be read are listed, not raised."""
        sources: list[CaptureSource] = []
        failures: list[tuple[str, str]] = []
        for path in paths:
            try:
                sources.append(probe(path))
            except (OSError, CaptureFormatError) as exc:
                failures.append((str(path), describe_failure(exc)))
        run = self.ingest_sources(sources, finish=finish) if sources or finish else IngestRun()
        run.failures = failures
        return run

    def ingest_sources(self, sources: list[CaptureSource], *, finish: bool = False
                       ) -> IngestRun:
        """Read ``sources`` as one stream, continuing the stream's calls from its carry.

        ``finish``: the stream ends with these files; calls still going on at the end are
        stored as they stand (not in progress) and nothing is carried on.
        """
        captures = CaptureSet(sources)
        run = IngestRun(files=[IngestSummary(path=str(s.path)) for s in captures.sources])
        with self._exclusive(), tempfile.TemporaryDirectory(prefix="etykieta-ingest-") as tmp:
            carried, continued, resume_at = self._load_carry(run)
            capture_ids = self._capture_rows(captures.sources)
            reading = _Reading(self, run, capture_ids, Journal(tmp, durable=False))
            if resume_at is not None:
                reading.skip_read_before(captures.sources, carried, resume_at)
            reading.replay(carried)
            if run.files:
                run.files[0].continued = continued
            reading.read(captures)
            reading.finish(captures.sources, finish=finish)
        return run

    def finish_stream(self) -> IngestRun:
        """End the stream without a file: its calls still going on are stored as they stand."""
        return self.ingest_sources([], finish=True)

    def refresh_callbacks(self, now: datetime | None = None) -> int:
        """Re-evaluate open callback obligations (``now`` defaults to the clock)."""
        with self.sessions.begin() as session:
            return refresh_callbacks(session, now or self.clock())

    # -- the stream's state -----------------------------------------------------------
    def _load_carry(self, run: IngestRun) -> tuple[list[CapturedPacket], int, float | None]:
        """The previous input's carry, how many calls it continues, where the stream got to."""
        with self.sessions.begin() as session:
            state = session.get(IngestStream, self.stream)
            if state is None or state.carry is None:
                return [], 0, None
            resume_at = state.resume_at.timestamp() if state.resume_at is not None else None
            try:
                packets = carry.unpack(state.carry)
            except ValueError as exc:
                run.carry_problem = f"stream {self.stream!r}: carry unusable: {exc}"
                log.error("%s; its calls stay as stored", run.carry_problem)
                return [], 0, None
            run.carried_packets = len(packets)
            return packets, state.open_calls, resume_at

    def _capture_rows(self, sources: list[CaptureSource]) -> list[int]:
        with self.sessions.begin() as session:
            return open_captures(session, [NewCapture(str(s.path.resolve()), s.size, s.mtime,
                                                      self.stream, _utc(s.first_ts))
                                           for s in sources], ingested_at=datetime.now(UTC))

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One ingest at a time per database and stream (a slow cron run and the next one).

        PostgreSQL: an advisory lock, which holds across hosts. SQLite: a lock file next to
        the database (only processes that can write the database can take it).
        """
        bind = self.sessions.kw.get("bind")
        key = int.from_bytes(hashlib.sha256(self.stream.encode()).digest()[:8], "big",
                             signed=True)
        if bind is not None and bind.dialect.name == "postgresql":
            with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                if not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
                    log.warning("waiting for another ingest of stream %r", self.stream)
                    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            return
        database = bind.url.database if bind is not None else None
        if not database or database == ":memory:":
            yield  # a database no other process can open
            return
        path = f"{database}.ingest-{key & 0xFFFFFFFF:08x}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning("waiting for another ingest of stream %r", self.stream)
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


class _Reading:
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
            self._settle_stale(session, still_open)
            state = session.get(IngestStream, ingestor.stream)
            if state is None:
                state = IngestStream(name=ingestor.stream)
                session.add(state)
            state.carry, state.carry_packets, state.open_calls = blob, count, len(still_open)
            lasts = [ts for ts in self.last if ts is not None]
            if lasts:
                state.resume_at = _utc(max(lasts))
            state.updated_at = datetime.now(UTC)
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

    def _settle_stale(self, session: Session, still_open: set[tuple[str, datetime]]) -> None:
        """Calls of this stream stored as in progress that nothing continues any more (the
        carry that held them is gone): they stand as stored."""
        stale = session.scalars(select(Call).join(Capture, Call.capture_id == Capture.id)
                                .where(Call.in_progress.is_(True),
                                       Capture.stream == self.ingestor.stream))
        for call in stale:
            if (call.call_id, call.started_at) not in still_open:
                call.in_progress = False

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
                summary.truncated, "\n".join(summary.read_errors), _utc(self.first[index]),
                _utc(self.last[index]), datetime.now(UTC) if source.error is None else None))

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


def describe_failure(exc: OSError | CaptureFormatError) -> str:
    """Why a file cannot be ingested, in the words the summary uses."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a capture file"
    if isinstance(exc, PermissionError):
        return "cannot be read: permission denied"
    if isinstance(exc, CaptureFormatError):
        return f"not a capture: {exc}"
    return f"cannot be read: {exc.strerror or exc}"


def _identity(packet: CapturedPacket) -> int:
    return hash((packet.timestamp, packet.data))


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)
