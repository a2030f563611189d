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

import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ..callbacks import BusinessCalendar
from ..callbacks.opening import calendar_for
from ..clock import Clock, utc_now
from ..config import Settings
from ..errors import CaptureFormatError
from ..storage.captures import NewCapture, open_captures
from ..storage.repository import refresh_callbacks
from ..storage.streams import exclusive, stream_state
from ..storage.writer import CallWriter
from ..telephony.capture.files import CaptureSet, CaptureSource, probe
from ..telephony.capture.journal import Journal
from ..telephony.numbers import Directory
from ..telephony.packets import CapturedPacket
from . import carry
from .reading import Reading, utc

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
                 clock: Clock = utc_now, as_of: Clock | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.stream = stream
        self.directory = directory or Directory(settings)
        self.clock = clock
        """The wall clock: it stamps what is stored."""
        self.as_of = as_of or clock
        """When callbacks are judged (``ingest --as-of``; default: the wall clock)."""
        self.writer = CallWriter(settings, sessions, directory=self.directory,
                                 calendar=calendar or calendar_for(settings.business_hours),
                                 clock=clock, as_of=self.as_of)

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
        with (exclusive(self.sessions.kw.get("bind"), self.stream),
              tempfile.TemporaryDirectory(prefix="etykieta-ingest-") as tmp):
            carried, continued, resume_at = self._load_carry(run)
            capture_ids = self._capture_rows(captures.sources)
            reading = Reading(self, run, capture_ids, Journal(tmp, durable=False))
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
            return refresh_callbacks(session, now or self.as_of())

    # -- the stream's state -----------------------------------------------------------
    def _load_carry(self, run: IngestRun) -> tuple[list[CapturedPacket], int, float | None]:
        """The previous input's carry, how many calls it continues, where the stream got to."""
        with self.sessions.begin() as session:
            state = stream_state(session, self.stream)
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
                                                      self.stream, utc(s.first_ts))
                                           for s in sources], ingested_at=self.clock())


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

