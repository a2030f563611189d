"""Several capture files read as one stream, the way a capture host cuts one stream into them.

tcpdump ``-C``/``-G``, dumpcap's ring buffer and every rotating writer cut one capture into
pieces, and calls run across the cuts. :class:`CaptureSet` reads the pieces as the one stream
they came from: in the order of their first packet (whatever their names or the order they
were given in), merged by time where they overlap (two interfaces captured side by side), as
``mergecap`` would merge them. Only the files that overlap the moment being read are open at
once, so a day of rotated files needs a handful of descriptors, not one per file.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ...errors import CaptureFormatError
from ..packets import CapturedPacket
from .pcap_file import CaptureFile, CaptureStats, open_capture


@dataclass(slots=True)
class CaptureSource:
    """One file of a set: where it is, when its first packet was, what reading it found."""

    path: Path
    first_ts: float | None
    """The first packet's time; None when the file holds no packet at all."""
    size: int
    mtime: float
    stats: CaptureStats | None = None
    """Set once the file has been read to its end (or to the damage that ended it)."""
    error: str | None = None
    """Why the file could not be read after all (it went away between probe and read)."""


def probe(path: str | os.PathLike[str]) -> CaptureSource:
    """Look at a capture file: its first packet time, size and modification time.

    Raises what opening it raises: :class:`FileNotFoundError`, :class:`IsADirectoryError`,
    :class:`PermissionError`, or :class:`~etykieta.errors.CaptureFormatError` if it is not a
    capture at all.
    """
    path = Path(path)
    with open_capture(path) as capture:
        first = next(iter(capture), None)
    status = path.stat()
    return CaptureSource(path, None if first is None else first.timestamp, status.st_size,
                         status.st_mtime)


class CaptureSet:
    """Capture files as one stream of packets, each tagged with the index of its file.

    ``sources`` are in stream order (by first packet; empty files first). Iterating yields
    ``(index into sources, packet)``; packets keep the number they have in their own file, as
    Wireshark shows it.
    """

    def __init__(self, sources: list[CaptureSource]) -> None:
        self.sources = sorted(sources, key=lambda s: (s.first_ts is not None, s.first_ts or 0.0))

    def __iter__(self) -> Iterator[tuple[int, CapturedPacket]]:
        pending = list(range(len(self.sources)))
        pending.reverse()  # popped from the end: the next file to open is last
        heap: list[tuple[float, int, CapturedPacket, Iterator[CapturedPacket]]] = []
        opened: dict[int, CaptureFile] = {}
        try:
            while heap or pending:
                if not heap:
                    self._open(pending.pop(), heap, opened)
                    continue
                while pending and self._starts_by(pending[-1], heap[0][0]):
                    self._open(pending.pop(), heap, opened)
                _, index, packet, packets = heap[0]
                if len(heap) == 1:
                    # one file alone at this moment: read it straight until the next one starts
                    upto = self.sources[pending[-1]].first_ts if pending else None
                    heapq.heappop(heap)
                    yield index, packet
                    for packet in packets:
                        if upto is not None and packet.timestamp >= upto:
                            heapq.heappush(heap, (packet.timestamp, index, packet, packets))
                            break
                        yield index, packet
                    else:
                        self._finish(index, opened)
                    continue
                heapq.heappop(heap)
                yield index, packet
                following = next(packets, None)
                if following is None:
                    self._finish(index, opened)
                else:
                    heapq.heappush(heap, (following.timestamp, index, following, packets))
        finally:
            for capture in opened.values():
                capture.close()

    def _starts_by(self, index: int, timestamp: float) -> bool:
        first = self.sources[index].first_ts
        return first is None or first <= timestamp

    def _open(self, index: int, heap: list[tuple[float, int, CapturedPacket,
                                                  Iterator[CapturedPacket]]],
              opened: dict[int, CaptureFile]) -> None:
        source = self.sources[index]
        try:
            capture = open_capture(source.path)
        except (OSError, CaptureFormatError) as exc:
            source.error = str(exc)
            return
        opened[index] = capture
        packets = iter(capture)
        first = next(packets, None)
        if first is None:
            self._finish(index, opened)
        else:
            heapq.heappush(heap, (first.timestamp, index, first, packets))

    def _finish(self, index: int, opened: dict[int, CaptureFile]) -> None:
        capture = opened.pop(index)
        self.sources[index].stats = capture.stats
        capture.close()
