"""The ``captures`` table: which capture files were read, and which of them hold a moment.

Reading a file's audio again (`etykieta.speech.audio.reread`) needs to know which captures
hold a window; `captures_near` asks the table and hands back plain `CaptureFile` values.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..speech.audio.reread import SLACK_S, CaptureFile, Window
from .models import Capture


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
