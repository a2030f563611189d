"""The monitor's journal: the SIP packets it has seen, on disk, until their calls are stored.

A call lives only in the analyzer's memory until it is finished and written; a monitor killed
before that (SIGKILL, OOM, power) would lose it. So the monitor appends every SIP packet to
the journal, and a restarted monitor replays the journal through a fresh analyzer before it
goes on with live packets. Only SIP is journaled, never RTP: call audio must not stay on disk
beyond the greeting judgement.

The journal is a directory of classic pcap files ("segments"), nanosecond resolution, one
link type each, named ``sip-<first timestamp in ns, 20 digits>.pcap``; the names sort in the
order the segments were written. Any pcap tool reads them. A segment is closed after
``segment_s`` seconds of packet time (or when the link type changes), and deleted by
:meth:`Journal.prune` once everything in it is older than the oldest call still open.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from ...errors import CaptureFormatError
from ..packets import CapturedPacket
from .pcap_file import (
    MAX_PACKET_LENGTH,
    PCAP_MAGIC_NANO,
    open_capture,
)

SEGMENT_S = 60.0
PRUNE_EVERY_S = 10.0
"""How often (packet time) the journal's owner prunes it."""
JOURNAL_MARGIN_S = 60.0
"""Journal kept from this long before the oldest open call began (a REFER or a late leg may
link to a call a little older)."""
"""Packet time a segment covers before the next one starts."""
FLUSH_S = 0.2
"""Packet time after which appended packets are handed to the OS at the latest."""
MAX_BUFFERED_BYTES = 1 << 16
"""Appended bytes held before they are handed to the OS whatever the packet time."""
DIRECTORY_MODE = 0o700
SEGMENT_MODE = 0o600  # phone numbers and names are personal data
SEGMENT_PATTERN = re.compile(r"sip-(\d{20})\.pcap")
NS_PER_S = 1_000_000_000
MAX_SECONDS = 1 << 32  # a pcap record's seconds field is unsigned 32-bit

# pcap file header (pcap draft §4): magic, version 2.4, zone, sigfigs, snap length, link type
_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")  # seconds, nanoseconds, captured length, original length


class Journal:
    """SIP packets the monitor has seen, in pcap segment files, until their calls are stored.

    Not thread-safe, and one writer per directory: the monitor's loop owns it. ``problems``
    collects what :meth:`replay` and :meth:`prune` could not do (damaged segments, files that
    could not be deleted); nothing in them raises.
    """

    def __init__(self, directory: str | os.PathLike[str], *, segment_s: float = SEGMENT_S,
                 flush_s: float = FLUSH_S, durable: bool = True) -> None:
        if segment_s <= 0:
            raise ValueError(f"segment_s must be positive, not {segment_s}")
        if flush_s < 0:
            raise ValueError(f"flush_s must not be negative, not {flush_s}")
        self.directory = Path(directory)
        self.durable = durable
        """fsync each closed segment (a scratch journal that only lives as long as its owner's
        run, like ``ingest``'s, needs no fsync)."""
        self.segment_s = segment_s
        self.flush_s = flush_s
        self.problems: list[str] = []
        self.directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        # A reopened journal never writes into an old segment (its tail may be a torn record),
        # and names a new one after the newest, so name order stays write order even if the
        # clock went back across the restart.
        self._last_name_ns = max((ns for ns, _ in self._segments()), default=-1)
        self._newest: dict[Path, float | None] = {}  # closed segment -> its latest packet time
        self._closed = False
        self._path: Path | None = None  # the current segment
        self._fd = -1
        self._buffer = bytearray()
        self._start = 0.0  # the current segment's first packet time
        self._latest = 0.0  # its latest packet time
        self._linktype = -1
        self._flush_due = 0.0

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def append(self, packet: CapturedPacket) -> None:
        """Add one packet to the current segment, starting a new segment when it is due.

        Raises :class:`ValueError` on a closed journal or a timestamp a pcap record cannot
        hold, and :class:`OSError` if the disk fails (the segment is then given up, so the
        next packet starts a fresh one rather than following a torn record).
        """
        if self._closed:
            raise ValueError("append to a closed journal")
        seconds, nanoseconds = _split_timestamp(packet.timestamp)
        timestamp = packet.timestamp
        try:
            if self._path is None:
                self._open_segment(seconds * NS_PER_S + nanoseconds, timestamp, packet.linktype)
            elif timestamp >= self._start + self.segment_s or packet.linktype != self._linktype:
                self._close_segment()
                self._open_segment(seconds * NS_PER_S + nanoseconds, timestamp, packet.linktype)
            # tcpdump's snap length is this limit, so longer frames do not come from it; the
            # reader would refuse a longer record, so it is cut as pcap cuts frames
            data = packet.data[:MAX_PACKET_LENGTH]
            self._buffer += _RECORD_HEADER.pack(seconds, nanoseconds, len(data), len(packet.data))
            self._buffer += data
            self._latest = max(self._latest, timestamp)
            if timestamp >= self._flush_due or len(self._buffer) >= MAX_BUFFERED_BYTES:
                self._flush()
                self._flush_due = timestamp + self.flush_s
        except OSError:
            self._abandon_segment()
            raise

    def sync(self) -> None:
        """Hand what was appended to the OS: a killed process then loses none of it."""
        if self._path is not None:
            try:
                self._flush()
            except OSError:
                self._abandon_segment()
                raise

    def prune(self, keep_since: float) -> int:
        """Delete the closed segments whose every packet is older than ``keep_since``.

        ``keep_since`` is epoch seconds: the start of the oldest call still open, less a
        margin. The current segment stays whatever its age. A segment that cannot be read
        holds nothing to replay and goes when its name's time is older. Returns how many
        files were deleted.
        """
        if math.isnan(keep_since):
            raise ValueError("keep_since is NaN: it would let every segment go")
        deleted = 0
        for name_ns, path in self._segments():
            if path == self._path:
                continue
            if path not in self._newest:
                self._newest[path] = _latest_timestamp(path)
            newest = self._newest[path]
            if (newest if newest is not None else name_ns / NS_PER_S) >= keep_since:
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass  # already gone: nothing left to delete
            except OSError as exc:
                self.problems.append(f"{path.name}: cannot delete: {exc}")
                continue
            else:
                deleted += 1
            del self._newest[path]
        return deleted

    def replay(self) -> Iterator[CapturedPacket]:
        """Yield every journaled packet, segment after segment, for a restarted monitor.

        Packets are numbered 1, 2, ... across the whole replay. A segment that ends inside a
        record (the writer died mid-write) ends there; one that is not a capture at all is
        skipped. Both leave a note in ``problems``; neither raises.
        """
        self.sync()
        number = 0
        for _, path in self._segments():
            try:
                capture = open_capture(path)
            except (CaptureFormatError, OSError) as exc:
                self.problems.append(f"{path.name}: skipped: {exc}")
                continue
            with capture:
                for packet in capture:
                    number += 1
                    yield replace(packet, number=number)
            if capture.stats.errors:
                self.problems.append(f"{path.name}: " + "; ".join(capture.stats.errors))

    def close(self) -> None:
        """Flush, fsync and close the current segment; later calls do nothing."""
        self._closed = True
        if self._path is not None:
            self._close_segment()

    def _segments(self) -> list[tuple[int, Path]]:
        """The segment files in name order, each with the time its name carries."""
        found: list[tuple[int, Path]] = []
        for path in self.directory.iterdir():
            match = SEGMENT_PATTERN.fullmatch(path.name)
            if match is not None:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def _open_segment(self, first_ns: int, timestamp: float, linktype: int) -> None:
        name_ns = max(first_ns, self._last_name_ns + 1)
        while True:
            path = self.directory / f"sip-{name_ns:020d}.pcap"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SEGMENT_MODE)
            except FileExistsError:
                name_ns += 1
                continue
            break
        self._last_name_ns = name_ns
        self._path, self._fd = path, fd
        self._start = self._latest = timestamp
        self._linktype = linktype
        self._flush_due = timestamp + self.flush_s
        # The header goes out at once: a segment killed before its first flush is then an
        # empty capture, which replays quietly, not a file that is not a capture at all.
        self._buffer = bytearray(
            _FILE_HEADER.pack(PCAP_MAGIC_NANO, 2, 4, 0, 0, MAX_PACKET_LENGTH, linktype))
        self._flush()

    def _flush(self) -> None:
        view = memoryview(self._buffer)
        written = 0
        while written < len(view):
            written += os.write(self._fd, view[written:])
        view.release()
        self._buffer.clear()

    def _close_segment(self) -> None:
        # fsync only here, once per segment: flushed bytes already survive a killed process
        # (they are in the page cache); fsync guards only against power loss and would put
        # milliseconds of disk latency into the analyzer's loop on every packet. After a power
        # cut the replay lacks at most the segment that was being written.
        assert self._path is not None
        try:
            self._flush()
            if self.durable:
                os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._newest[self._path] = self._latest
            self._path, self._fd = None, -1
        if self.durable:
            _fsync_directory(self.directory)  # the new file's name must survive as its bytes do

    def _abandon_segment(self) -> None:
        """Stop writing the current segment after a write failed; its tail may be torn."""
        if self._path is None:
            return
        self._buffer.clear()
        try:
            os.close(self._fd)
        except OSError as exc:
            self.problems.append(f"{self._path.name}: closing after a failed write: {exc}")
        self._path, self._fd = None, -1  # prune reads what reached the disk, as after a crash


def _split_timestamp(timestamp: float) -> tuple[int, int]:
    """Return (seconds, nanoseconds) whose sum gives ``timestamp`` back when read.

    Exact for every epoch time since 1970-04: those floats are coarser than a nanosecond, so
    the rounded nanoseconds sum back to the same float.
    """
    if not 0 <= timestamp <= MAX_SECONDS - 1:  # also refuses NaN
        raise ValueError(f"timestamp {timestamp} does not fit a pcap record (0 to 2**32 - 1 s)")
    seconds = math.floor(timestamp)
    nanoseconds = round((timestamp - seconds) * NS_PER_S)  # timestamp - seconds is exact
    if nanoseconds == NS_PER_S:
        seconds, nanoseconds = seconds + 1, 0
    return seconds, nanoseconds


def _latest_timestamp(path: Path) -> float | None:
    """The latest packet time in a segment left by an earlier run; None if it cannot be read."""
    try:
        with open_capture(path) as capture:
            return max((packet.timestamp for packet in capture), default=None)
    except (CaptureFormatError, OSError):
        return None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
