"""An ingest stream's state: what one input hands the next, and the calls still going on.

The shell (`etykieta.ingest`) reads capture files; this module keeps the stream's row — the
carry of the calls still going on, where the stream got to — and settles the calls stored as
in progress that nothing continues any more. One ingest per stream runs at a time:
:func:`exclusive` holds a PostgreSQL advisory lock (across hosts) or, on SQLite, a lock file
next to the database (only processes that may write the database can take it).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from .models import Call, Capture, IngestStream

log = logging.getLogger(__name__)

CallKey = tuple[str, datetime]
"""A stored call's key: Call-ID and start time."""


@dataclass(frozen=True, slots=True)
class StreamState:
    """What the previous input of a stream left: its carry, and where it got to."""

    carry: bytes | None
    open_calls: int
    resume_at: datetime | None


def stream_state(session: Session, name: str) -> StreamState | None:
    row = session.get(IngestStream, name)
    if row is None:
        return None
    return StreamState(row.carry, row.open_calls, row.resume_at)


def save_stream_state(session: Session, name: str, state: StreamState, *,
                      carry_packets: int, at: datetime) -> None:
    """Store what this input hands the next (``state.resume_at`` None: keep the old one)."""
    row = session.get(IngestStream, name)
    if row is None:
        row = IngestStream(name=name)
        session.add(row)
    row.carry, row.carry_packets, row.open_calls = state.carry, carry_packets, state.open_calls
    if state.resume_at is not None:
        row.resume_at = state.resume_at
    row.updated_at = at


def settle_stale(session: Session, name: str, still_open: set[CallKey]) -> int:
    """Calls of stream ``name`` stored as in progress that nothing continues any more (the
    carry that held them is gone) stand as stored; how many."""
    settled = 0
    for call in session.scalars(select(Call).join(Capture, Call.capture_id == Capture.id)
                                .where(Call.in_progress.is_(True), Capture.stream == name)):
        if (call.call_id, call.started_at) not in still_open:
            call.in_progress = False
            settled += 1
    return settled


@contextmanager
def exclusive(engine: Engine | None, name: str) -> Iterator[None]:
    """Hold stream ``name`` for one ingest; another one waits (a slow cron run, the next)."""
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    if engine is not None and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
                log.warning("waiting for another ingest of stream %r", name)
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return
    database = engine.url.database if engine is not None else None
    if not database or database == ":memory:":
        yield  # a database no other process can open
        return
    path = f"{database}.ingest-{key & 0xFFFFFFFF:08x}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("waiting for another ingest of stream %r", name)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
