"""The ingest job: capture files → the signalling core → the metrics database.

This is the I/O shell around :class:`~etykieta.telephony.analyzer.SignallingAnalyzer`: it opens
the file, feeds the frames, and stores finished calls in batches, each batch one transaction,
so a crash loses at most the batch in flight, and ingesting the file again (idempotent by
Call-ID and start time) fills exactly that gap.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ..callbacks import BusinessCalendar
from ..callbacks.opening import calendar_for
from ..config import Directory, Settings
from ..speech.collector import MediaCollector
from ..storage.models import Capture
from ..storage.repository import refresh_callbacks
from ..telephony.analyzer import SignallingAnalyzer
from ..telephony.capture.pcap_file import open_capture
from ..writer import CallWriter, Finished

log = logging.getLogger(__name__)
# calls per transaction; each holds its audio windows (~0.3 MB) until stored
BATCH_CALLS = 100


@dataclass(slots=True)
class IngestSummary:
    """The one-line summary ``etykieta ingest`` prints per file."""

    path: str
    packets: int = 0
    sip_messages: int = 0
    calls: int = 0
    added: int = 0
    unparsable: int = 0
    malformed_packets: int = 0
    ambiguous_links: int = 0
    greetings_queued: int = 0
    truncated: bool = False
    read_errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (f"{self.path}: {self.packets} packets, {self.sip_messages} SIP messages, "
                f"{self.calls} calls ({self.added} new), {self.unparsable} unparsable messages, "
                f"{self.malformed_packets} malformed packets")
        if self.ambiguous_links:
            text += f", {self.ambiguous_links} legs linked with low confidence"
        if self.greetings_queued:
            text += f", {self.greetings_queued} greetings queued for recognition"
        if self.truncated or self.read_errors:
            text += "; capture damaged: " + "; ".join(self.read_errors or ["truncated"])
        return text


class Ingestor:
    """Stores what the analyzer finds; one per database and configuration."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *,
                 directory: Directory | None = None,
                 calendar: BusinessCalendar | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.directory = directory or Directory(settings)
        self.writer = CallWriter(settings, sessions, directory=self.directory,
                                 calendar=calendar or calendar_for(settings.business_hours))

    def ingest_file(self, path: str | os.PathLike[str]) -> IngestSummary:
        """Ingest one capture file. Raises before storing anything if it is not a capture."""
        path = Path(path)
        summary = IngestSummary(path=str(path))
        with open_capture(path) as capture:  # CaptureFormatError / OSError surface here
            with self.sessions.begin() as session:
                row = Capture(path=str(path.resolve()), size=path.stat().st_size,
                              ingested_at=datetime.now(UTC))
                session.add(row)
                session.flush()
                capture_id = row.id
            speech = self.settings.speech
            collector = MediaCollector(speech.window_s, speech.closing_window_s)
            analyzer = SignallingAnalyzer(self.settings, self.directory, media=collector)
            pending: list[Finished] = []
            first_at: float | None = None
            last_at: float | None = None
            for packet in capture:
                if first_at is None:
                    first_at = packet.timestamp
                last_at = packet.timestamp if last_at is None else max(last_at, packet.timestamp)
                pending.extend((r, collector.take(r)) for r in analyzer.receive(packet))
                if len(pending) >= BATCH_CALLS:
                    self._store(pending, capture_id, summary)
                    pending = []
            pending.extend((r, collector.take(r)) for r in analyzer.close())
            self._store(pending, capture_id, summary)
            stats = capture.stats
        pipeline = analyzer.extractor.stats
        summary.packets = stats.packets
        summary.sip_messages = pipeline.sip_messages
        summary.unparsable = analyzer.stats.unparsable
        summary.malformed_packets = pipeline.malformed
        summary.ambiguous_links = analyzer.assembler.stats.ambiguous_links
        summary.truncated = stats.truncated
        summary.read_errors = list(stats.errors)
        for number, error in pipeline.malformed_samples + tuple(analyzer.stats.unparsable_samples):
            log.warning("%s: packet %d skipped: %s", path, number, error)
        with self.sessions.begin() as session:
            row = session.get_one(Capture, capture_id)
            row.packets, row.sip_messages = summary.packets, summary.sip_messages
            row.calls_found, row.calls_added = summary.calls, summary.added
            row.unparsable, row.malformed_packets = summary.unparsable, summary.malformed_packets
            row.truncated, row.ambiguous_links = summary.truncated, summary.ambiguous_links
            row.errors = "\n".join(summary.read_errors)
            row.first_at = _utc(first_at)
            row.last_at = _utc(last_at)
            row.finished_at = datetime.now(UTC)
        return summary

    def refresh_callbacks(self, now: datetime | None = None) -> int:
        """Re-evaluate open callback obligations (``now`` defaults to the wall clock)."""
        with self.sessions.begin() as session:
            return refresh_callbacks(session, now or datetime.now(UTC))

    def _store(self, calls: list[Finished], capture_id: int, summary: IngestSummary) -> None:
        written = self.writer.store(calls, capture_id)
        summary.calls += written.calls
        summary.added += written.added
        summary.greetings_queued += written.greetings_queued


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)
