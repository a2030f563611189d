"""``ingest --follow DIR``: read a capture host's rotated files as it closes them, each once.

A rotating writer (tcpdump ``-C``/``-G``, dumpcap's ring buffer) writes one file at a time into
a directory and moves on to the next. A file counts as closed when it has not changed for
``settle_s`` and a newer capture file has appeared (the writer moved on), or — for the newest
file, when the capture stops — when it has not changed for ``closed_after_s`` and no process
on this machine holds it open for writing. Closed files are ingested as one stream, continuing
the stream's calls from file to file (`Ingestor`); which files were read is remembered in the
database (``captures``: path, size, modification time), so a restarted follower reads each
file once, and a file that grows after it was read is read again (what it held before is not
stored twice). When no file comes for ``end_after_s``, the calls still going on are stored as
they stand: the capture has stopped.
"""

from __future__ import annotations

import fnmatch
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..errors import CaptureFormatError
from ..ingest.service import Ingestor, IngestRun, describe_failure
from ..storage.models import Capture
from ..telephony.capture.files import CaptureSource, probe

SETTLE_S = 2.0
CLOSED_AFTER_S = 60.0
END_AFTER_S = 3600.0
POLL_S = 1.0
SKIPPED_SUFFIXES = (".tmp", ".part", ".partial", "~")
"""Files a copy or rename in progress leaves under their final name's neighbours."""
O_ACCMODE = 0o3


@dataclass(frozen=True, slots=True)
class _Seen:
    path: Path
    size: int
    mtime: float


class Follower:
    """Ingests the capture files that appear in a directory, as they are closed."""

    def __init__(self, ingestor: Ingestor, directory: str | os.PathLike[str], *,
                 pattern: str = "*", settle_s: float = SETTLE_S,
                 closed_after_s: float = CLOSED_AFTER_S, end_after_s: float = END_AFTER_S,
                 poll_s: float = POLL_S, on_run: Callable[[IngestRun], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.ingestor = ingestor
        self.directory = Path(directory)
        self.pattern = pattern
        self.settle_s = settle_s
        self.closed_after_s = closed_after_s
        self.end_after_s = end_after_s
        self.poll_s = poll_s
        self.on_run = on_run
        self.clock = clock
        self._refused: set[_Seen] = set()
        self._last_input = clock()
        self._open_calls = False

    def run(self, stop: threading.Event) -> None:
        """Follow the directory until ``stop`` is set (the file being ingested is finished)."""
        if not self.directory.is_dir():
            raise FileNotFoundError(f"{self.directory}: no such directory")
        while not stop.is_set():
            self.poll()
            stop.wait(self.poll_s)

    def poll(self) -> IngestRun | None:
        """Ingest the files closed since the last look; end the stream after a long silence."""
        now = self.clock()
        files = self._candidates()
        unread = self._unread(files)
        ready = [f for f in unread if self._closed(f, files, now)]
        sources: list[CaptureSource] = []
        failures: list[tuple[str, str]] = []
        for seen in ready:
            try:
                sources.append(probe(seen.path))
            except (OSError, CaptureFormatError) as exc:
                self._refused.add(seen)
                failures.append((str(seen.path), describe_failure(exc)))
        run: IngestRun | None = None
        if sources:
            run = self.ingestor.ingest_sources(sources)
            self._last_input = now
            self._open_calls = run.still_open > 0
        elif self._open_calls and now - self._last_input >= self.end_after_s:
            run = self.ingestor.finish_stream()  # the capture stopped: nothing continues them
            self._open_calls = False
        if failures:
            run = run or IngestRun()
            run.failures = failures
        if run is not None and self.on_run is not None:
            self.on_run(run)
        return run

    def _candidates(self) -> list[_Seen]:
        found: list[_Seen] = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return found
        for entry in entries:
            name = entry.name
            if (name.startswith(".") or name.endswith(SKIPPED_SUFFIXES)
                    or not fnmatch.fnmatch(name, self.pattern)):
                continue
            try:
                if not entry.is_file():
                    continue
                status = entry.stat()
            except FileNotFoundError:
                continue  # rotated away (a ring buffer) while we looked
            found.append(_Seen(Path(entry.path).resolve(), status.st_size, status.st_mtime))
        return found

    def _unread(self, files: list[_Seen]) -> list[_Seen]:
        """The files not read to their end as they are now (nor refused as they are now)."""
        if not files:
            return []
        with self.ingestor.sessions.begin() as session:
            rows = session.execute(
                select(Capture.path, Capture.size, Capture.mtime)
                .where(Capture.path.in_([str(f.path) for f in files]),
                       Capture.finished_at.is_not(None))).all()
        read = {(path, size, mtime) for path, size, mtime in rows}
        return [f for f in files if (str(f.path), f.size, f.mtime) not in read
                and f not in self._refused]

    def _closed(self, seen: _Seen, files: list[_Seen], now: float) -> bool:
        quiet = now - seen.mtime
        if quiet < self.settle_s:
            return False
        if any(other.mtime > seen.mtime for other in files if other.path != seen.path):
            return True  # the writer has moved on to a newer file
        return quiet >= self.closed_after_s and not open_for_writing(seen.path)


def open_for_writing(path: Path) -> bool:
    """Whether a process on this machine holds ``path`` open for writing (Linux ``/proc``).

    Processes whose descriptors cannot be read (another user's, without root) do not count:
    the quiet time alone decides for them.
    """
    target = str(path)
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        fds = proc / pid / "fd"
        try:
            names = os.listdir(fds)
        except OSError:
            continue
        for fd in names:
            try:
                if os.readlink(fds / fd) != target:
                    continue
                info = (proc / pid / "fdinfo" / fd).read_text()
            except OSError:
                continue
            flags = next((line.split()[1] for line in info.splitlines()
                          if line.startswith("flags:")), "0")
            if int(flags, 8) & O_ACCMODE:
                return True
    return False
