"""The ``captures`` table: which captures were read, what was found in each, which hold a moment.

A row's life is the same whoever reads: `open_captures` when reading starts (``ingest``: one
row per file; the live monitor: one for its interface or pipe), `finish_capture` with what was
counted when it ends — and, for a file, how far it could be read and which packet times it
holds. Reading a call's audio again (`etykieta.speech.audio.reread`) needs to know which
captures hold a window; `captures_near` asks the table and hands back plain `CaptureFile`
values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..speech.audio.reread import SLACK_S, CaptureFile, Window
from .models import Capture


@dataclass(frozen=True, slots=True)
class NewCapture:
    """A capture about to be read."""

    path: str
    """The file's resolved path, or the live source's name (``live:eth1``, ``stream:-``)."""
    size: int = 0
    mtime: float | None = None
    stream: str | None = None
    """The ingest stream it belongs to; None for the live monitor."""
    first_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaptureCounts:
    """What reading a capture found."""

    packets: int
    sip_messages: int
    calls_found: int
    calls_added: int
    unparsable: int
    malformed_packets: int
    ambiguous_links: int


@dataclass(frozen=True, slots=True)
class FileRead:
    """What is known of a capture file once it was read."""

    truncated: bool
    errors: str
    first_at: datetime | None
    last_at: datetime | None
    finished_at: datetime | None
    """When reading reached the end of the file (None: it never did)."""


def open_captures(session: Session, captures: Iterable[NewCapture], *, ingested_at: datetime
                  ) -> list[int]:
    """Rows for captures about to be read; their ids, in order."""
    rows = [Capture(path=c.path, size=c.size, mtime=c.mtime, stream=c.stream,
                    ingested_at=ingested_at, first_at=c.first_at) for c in captures]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def finish_capture(session: Session, capture_id: int, counts: CaptureCounts,
                   read: FileRead | None = None) -> None:
    """Store what reading a capture found, and for a file how its reading ended."""
    row = session.get_one(Capture, capture_id)
    row.packets, row.sip_messages = counts.packets, counts.sip_messages
    row.calls_found, row.calls_added = counts.calls_found, counts.calls_added
    row.unparsable, row.malformed_packets = counts.unparsable, counts.malformed_packets
    row.ambiguous_links = counts.ambiguous_links
    if read is not None:
        row.truncated, row.errors = read.truncated, read.errors
        row.first_at, row.last_at = read.first_at, read.last_at
        row.finished_at = read.finished_at


def capture_file(row: Capture) -> CaptureFile:
    """A capture as the reader of files needs it: where it is, which times it holds."""
    return CaptureFile(row.id, row.path, _ts(row.first_at), _ts(row.last_at), row.stream)


def captures_near(session: Session, windows: Iterable[Window], ids: Iterable[int | None] = ()
                  ) -> list[CaptureFile]:
    """The captures whose packet times overlap ``windows`` (as a whole), and those of ``ids``."""
    spans = list(windows)
    low = min(start for start, _ in spans) - SLACK_S
    high = max(start + duration for start, duration in spans) + SLACK_S
    wanted = [i for i in ids if i is not None]
    rows = session.scalars(select(Capture).where(or_(
        and_(Capture.first_at <= _utc(high), Capture.last_at >= _utc(low)),
        Capture.id.in_(wanted))))
    return [capture_file(row) for row in rows]


def _ts(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
