"""Read a call's audio again from the capture files it was ingested from (files only: which
files those are, and where the call's RTP went, the caller looks up in the database).

The database keeps where the employee's RTP went (``call_media``), not the audio: the files are
read again with the same packet pipeline and stream assembler the ingest used, so what an
admin hears (``etykieta audio``, `etykieta.storage.call_audio`) and what a greeting judged
after the fact is judged on (`etykieta.monitor.requeue`) is what the ingest heard.

A call's audio may lie in several files: a rotated capture cuts one stream every N megabytes or
minutes, and a call goes on across the cut. Every capture whose first and last packet times
(``captures.first_at``/``last_at``) overlap a window is read, in time order, into one assembler
(`plan_files`); a capture recorded before those times were kept is found through
``calls.capture_id``. `read_requests` reads each file once for all the calls whose windows it
holds.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import CaptureFormatError
from ...telephony.capture.pcap_file import open_capture
from ...telephony.media import Address, MediaRouter
from ...telephony.packets import Datagram
from ...telephony.pipeline import SipExtractor
from .assembler import RenderedAudio, RtpStreamAssembler

LIVE_SOURCES = ("live:", "stream:")
"""How the live monitor names its capture: nothing to read again."""
SLACK_S = 1.0
"""A stream's datagrams are taken from 1 s before the answer (as `MediaRouter` routes them),
and packets still arrive for a moment after a window: a file is needed if it overlaps a window
widened by this much, and read until this long after the last window in it."""

CUT_GAP_S = 0.1
"""Two files of one rotated capture meet within the time between two packets: packet times
this close count as one span when asking whether the files that are there hold a gone one's."""

Window = tuple[float, float]
"""(start, duration) in capture time (seconds since the epoch)."""


@dataclass(frozen=True, slots=True)
class CaptureFile:
    """A capture as the ``captures`` table records it: where it is, which times it holds."""

    id: int
    path: str
    first_at: float | None
    last_at: float | None
    stream: str | None = None

    @property
    def live(self) -> bool:
        """Heard by the live monitor: there is no file to read."""
        return self.path.startswith(LIVE_SOURCES)

    def overlaps(self, windows: Iterable[Window]) -> bool:
        if self.first_at is None or self.last_at is None:
            return False
        return any(self.first_at <= start + duration + SLACK_S
                   and self.last_at >= start - SLACK_S for start, duration in windows)

    def holds(self, other: CaptureFile) -> bool:
        """Whether every packet time of ``other`` lies within this file's (a whole file
        ingested after its pieces, or a copy)."""
        return (self.first_at is not None and self.last_at is not None
                and other.first_at is not None and other.last_at is not None
                and self.first_at <= other.first_at and other.last_at <= self.last_at)


@dataclass(frozen=True, slots=True)
class FilePlan:
    """The files to read for a call's windows, or why they cannot be read."""

    files: tuple[CaptureFile, ...]
    """The files to read, in time order."""
    gone: tuple[CaptureFile, ...]
    """Files that held part of the windows and are gone (no other file holds that part)."""
    source: CaptureFile | None
    """The call's own capture (``calls.capture_id``), e.g. the live monitor's."""

    @property
    def readable(self) -> bool:
        return bool(self.files) and not self.gone


def plan_files(windows: Sequence[Window], own: CaptureFile | None,
               captures: Iterable[CaptureFile], *,
               exists: Callable[[str], bool] = lambda path: Path(path).is_file()) -> FilePlan:
    """Which captures hold ``windows`` of a call stored from ``own``.

    Every capture whose packet times overlap a window, of the call's own ingest stream when it
    has one. A call stored from a capture that does not record its times (ingested before they
    were kept, when each file was analysed on its own) is read from that file alone. A capture
    that lies within another one that is there (the whole file ingested after its pieces) is
    not read twice, and is not missed when it is gone; nor is a gone whole file whose pieces
    are there.
    """
    if own is not None and not own.live and own.first_at is None:
        candidates = [own]
    else:
        timed = {c.path: c for c in sorted(captures, key=lambda c: c.id)
                 if not c.live and c.overlaps(windows)}
        candidates = list(timed.values())
        if own is not None and own.stream is not None:
            candidates = [c for c in candidates if c.stream == own.stream] or candidates
    present = [c for c in candidates if exists(c.path)]
    gone = [c for c in candidates if c not in present]
    files = [c for c in present
             if not any(o is not c and o.holds(c) and (not c.holds(o) or o.id < c.id)
                        for o in present)]
    gone = [c for c in gone if not _covered(c, windows, files)]
    files.sort(key=lambda c: (c.first_at if c.first_at is not None else -1.0, c.id))
    return FilePlan(tuple(files), tuple(gone), own)


def _covered(gone: CaptureFile, windows: Sequence[Window], files: Sequence[CaptureFile]) -> bool:
    """Whether ``files`` hold every moment of ``windows`` that the ``gone`` capture held."""
    if gone.first_at is None or gone.last_at is None:
        return False
    spans = sorted((c.first_at, c.last_at) for c in files
                   if c.first_at is not None and c.last_at is not None)
    for start, duration in windows:
        low = max(start - SLACK_S, gone.first_at)
        high = min(start + duration + SLACK_S, gone.last_at)
        for first, last in spans:
            if first - CUT_GAP_S <= low <= last:
                low = last
        if low < high:
            return False
    return True


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """Windows of the stream sent to ``destination`` since ``since`` (the answer), to be read
    from ``files`` (in time order)."""

    key: int
    destination: Address
    payload_types: dict[int, tuple[str, int]]
    since: float
    windows: tuple[Window, ...]
    files: tuple[CaptureFile, ...]

    @property
    def end(self) -> float:
        return max(start + duration for start, duration in self.windows)


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The rendered windows of a `ReadRequest` (in its order), or the file that failed it."""

    request: ReadRequest
    windows: tuple[RenderedAudio, ...]
    failed: CaptureFile | None = None
    error: str | None = None


def read_requests(requests: Iterable[ReadRequest]) -> Iterator[ReadResult]:
    """Read every file the requests need once, in time order; each request's result as soon as
    its last file is read.

    One pass per file serves all the calls whose windows it holds; a request's assembler lives
    from its first file to its last, so a call cut by a rotation is assembled whole. Only the
    windows are kept, so memory grows with the calls being read, not with the files.
    """
    pending = list(requests)
    first_need: dict[str, float] = {}
    files: dict[str, CaptureFile] = {}
    users: dict[str, list[ReadRequest]] = {}
    left: dict[int, int] = {}
    for request in pending:
        left[request.key] = len(request.files)
        for capture in request.files:
            files.setdefault(capture.path, capture)
            users.setdefault(capture.path, []).append(request)
            first_need[capture.path] = min(first_need.get(capture.path, request.since),
                                           request.since)
    for request in pending:
        if not request.files:
            yield ReadResult(request, (), None, "no capture file holds its windows")
    order = sorted(files.values(), key=lambda c: (
        c.first_at if c.first_at is not None else first_need[c.path], c.id))
    assemblers: dict[int, RtpStreamAssembler] = {}
    failed: set[int] = set()
    for capture in order:
        readers = [r for r in users[capture.path] if r.key not in failed]
        for request in readers:
            if request.key not in assemblers:
                keep = [(start, start + duration) for start, duration in request.windows]
                assemblers[request.key] = RtpStreamAssembler(request.payload_types, keep=keep)
        error = _read_file(capture.path, readers, assemblers) if readers else None
        for request in readers:
            left[request.key] -= 1
            if error is not None:
                failed.add(request.key)
                assemblers.pop(request.key, None)
                yield ReadResult(request, (), capture, error)
            elif not left[request.key]:
                assembler = assemblers.pop(request.key)
                yield ReadResult(request, tuple(assembler.render(start, duration)
                                                for start, duration in request.windows))


def _read_file(path: str, readers: Sequence[ReadRequest],
               assemblers: dict[int, RtpStreamAssembler]) -> str | None:
    """Push the datagrams of ``path`` sent to the readers' streams; why it failed, or None.

    A stream is watched from 1 s before its answer until 1 s after its last window, so a later
    call that gets the same address again (ports are reused) takes over from there, as in the
    ingest.
    """
    router = MediaRouter()
    waiting = deque(sorted(readers, key=lambda r: r.since))
    watching: list[tuple[float, int]] = []
    stop = max(r.end for r in readers) + SLACK_S

    def take(datagram: Datagram) -> None:
        key = router.route(datagram)
        if key is not None:
            assemblers[int(key)].push(datagram.timestamp, datagram.payload)

    extractor = SipExtractor(on_datagram=take, wants_port=router.watches_port)
    try:
        with open_capture(path) as capture:
            for packet in capture:
                at = packet.timestamp
                if at > stop:
                    break
                while waiting and waiting[0].since - SLACK_S <= at:
                    request = waiting.popleft()
                    router.watch(str(request.key), request.destination, request.since)
                    heapq.heappush(watching, (request.end + SLACK_S, request.key))
                while watching and watching[0][0] < at:
                    router.unwatch(str(heapq.heappop(watching)[1]))
                extractor.receive(packet)
    except FileNotFoundError:
        return "it is gone"
    except (OSError, CaptureFormatError) as exc:
        return str(exc)
    return None


def read_window(paths: str | Path | Sequence[str | Path], destination: Address,
                payload_types: dict[int, tuple[str, int]], since: float, start: float,
                duration: float) -> RenderedAudio:
    """Render ``duration`` seconds from ``start`` of the stream sent to ``destination``, read
    from ``paths`` in the order given. Raises OSError naming a file that cannot be read."""
    names = [paths] if isinstance(paths, str | Path) else list(paths)
    files = tuple(CaptureFile(-index, str(p), None, None) for index, p in enumerate(names))
    request = ReadRequest(0, destination, payload_types, since, ((start, duration),), files)
    (result,) = read_requests([request])
    if result.failed is not None:
        raise OSError(f"{result.failed.path}: {result.error}")
    return result.windows[0]


def gone_text(plan: FilePlan) -> str:
    """Why a plan cannot be read: "capture file … is gone", or the live monitor heard it."""
    if plan.gone:
        names = ", ".join(c.path for c in plan.gone)
        return (f"capture file {names} is gone" if len(plan.gone) == 1
                else f"capture files {names} are gone")
    source = plan.source
    if source is None:
        return "no capture file is recorded for it"
    if source.live:
        return f"it was heard by the live monitor ({source.path})"
    return f"capture file {source.path} is gone"
