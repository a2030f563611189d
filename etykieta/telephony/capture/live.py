"""Live packet sources for the monitor: tcpdump on a network interface, or a pcap byte stream.

Both are a :class:`~.source.PacketSource`. They parse the pcap (or pcapng) stream with
:func:`open_capture` in a reader thread that feeds a bounded queue, so a consumer that falls
behind never stalls tcpdump: when the queue is full the packet is dropped and counted
(``stats.dropped_by_monitor``). :meth:`packets` yields packets as they arrive, and ``None``
after every ``tick_s`` without one, so that the caller can run the sans-I/O core's timers.
Timestamps are tcpdump's: wall-clock seconds since the Unix epoch.

tcpdump runs as ``tcpdump -i IF -U -w - -n -s SNAPLEN [--immediate-mode] -B KIB [FILTER]``: ``-U``
and immediate mode hand each packet over as soon as the kernel has it, ``-B`` absorbs bursts.
On Linux, ``-i lo`` gives Ethernet frames and ``-i any`` Linux cooked (SLL2) frames;
:class:`PacketDecoder` reads both.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import re
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, BinaryIO, Self, cast

from ...errors import CaptureFormatError, CaptureUnavailableError, EtykietaError
from ..packets import CapturedPacket
from .pcap_file import CaptureFile, open_capture
from .source import SourceStats

TCPDUMP_MAX_SNAPLEN = 262144  # what tcpdump itself uses for -s 0
# The kernel buffer tcpdump asks for (-B, KiB). With its 2 MiB default and --immediate-mode,
# tcpdump alone (writing to /dev/null) lost 1.4 % of 5,000 and 4.5 % of 10,000 packets/s on a
# busy 2-core host; with 16 MiB, none at 10,000 packets/s, through this module's queue too.
TCPDUMP_BUFFER_KIB = 16384
DEFAULT_QUEUE_SIZE = 100_000
START_TIMEOUT_S = 5.0  # tcpdump 4.99 reports "listening on" ~20 ms after it is spawned
STOP_TIMEOUT_S = 2.0  # after SIGTERM, before SIGKILL
STDERR_TAIL_LINES = 50
LISTENING_MARKER = "listening on "
IMMEDIATE_MODE_FLAG = "--immediate-mode"

WAIT_POLL_S = 0.2
"""How often a reader waiting for room in a full queue looks whether it was stopped."""
_KERNEL_DROPS = re.compile(r"^(\d+) packets? dropped by kernel$")


@dataclass(slots=True)
class LiveCaptureStats:
    """What a live source delivered, and where packets were lost, in tcpdump's terms.

    The monitor reads them as :class:`SourceStats` (:meth:`_QueuedCapture.source_stats`).
    """

    packets: int = 0  # read from the stream, dropped_by_monitor included
    dropped_by_monitor: int = 0  # read while the queue was full: the consumer fell behind
    dropped_by_kernel: int | None = None  # tcpdump's summary at exit; None until it is known
    errors: list[str] = field(default_factory=list)


class _QueuedCapture:
    """A reader thread that parses a pcap stream into a bounded queue, and the consumer's side."""

    # After stop(), read the stream to its end (without queueing) rather than leave it at once.
    _drain_after_stop = False
    # A full queue waits for the consumer (lossless) instead of dropping: right for a stream
    # that can wait (a file, a pipe), wrong for tcpdump, whose kernel buffer would overflow.
    _wait_when_full = False

    def __init__(self, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size}")
        self.stats = LiveCaptureStats()
        # None in the queue is a wake-up: the reader ended or stop() was called.
        self._queue: queue.Queue[CapturedPacket | None] = queue.Queue(queue_size)
        self._stopping = threading.Event()
        self._done = threading.Event()  # the reader has queued its last packet
        self._failure: EtykietaError | None = None  # raised by packets() once the queue is empty
        self._reader: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._started = False
        self._stopped = False

    @property
    def name(self) -> str:
        """What the capture reads, for logs and as the capture's path in storage."""
        raise NotImplementedError

    def start(self) -> None:
        """Start reading packets."""
        raise NotImplementedError

    def source_stats(self) -> SourceStats:
        """The counters so far as a packet source's: tcpdump's kernel drops are upstream."""
        stats = self.stats
        return SourceStats(upstream="the kernel", packets=stats.packets,
                           dropped_upstream=stats.dropped_by_kernel,
                           dropped_behind=stats.dropped_by_monitor, errors=tuple(stats.errors))

    def packets(self, tick_s: float = 1.0) -> Iterator[CapturedPacket | None]:
        """Yield packets as they arrive, and ``None`` after each ``tick_s`` that brought none.

        Returns when :meth:`stop` is called or the source ends. A stream that is not a capture
        raises :class:`CaptureFormatError` here; damage further on only ends the iteration and
        is described in ``stats.errors``.
        """
        if tick_s <= 0:
            raise ValueError(f"tick_s must be positive, not {tick_s}")
        if not self._started:
            raise RuntimeError(f"{self.name}: start() the capture before reading its packets")
        while not self._stopping.is_set():
            try:
                item = self._queue.get(timeout=tick_s)
            except queue.Empty:
                if self._done.is_set() and self._queue.empty():
                    break
                yield None
                continue
            if self._stopping.is_set():
                break
            if item is not None:
                yield item
            elif self._done.is_set() and self._queue.empty():
                break
        if self._failure is not None and not self._stopping.is_set():
            raise self._failure

    def stop(self) -> None:
        """End the iteration of :meth:`packets` and release the source (idempotent)."""
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        self._wake()
        self._shutdown()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _begin(self) -> None:
        """Mark the capture started; starting twice, or after stop(), is a programming error."""
        with self._state_lock:
            if self._started or self._stopped:
                state = "stopped" if self._stopped else "started"
                raise RuntimeError(f"{self.name} was already {state}")
            self._started = True

    def _start_reader(self, stream: BinaryIO) -> None:
        self._reader = threading.Thread(
            target=self._read, args=(stream,), name=f"etykieta {self.name}", daemon=True
        )
        self._reader.start()

    def _read(self, stream: BinaryIO) -> None:
        """The reader thread: queue the stream's packets until it ends."""
        try:
            self._read_packets(stream)
        finally:
            self._reader_finished()
            self._done.set()
            self._wake()

    def _read_packets(self, stream: BinaryIO) -> None:
        stats = self.stats
        capture: CaptureFile | None = None
        try:
            capture = open_capture(stream)
            for packet in capture:
                if self._stopping.is_set():
                    if self._drain_after_stop:
                        continue
                    break
                stats.packets += 1
                if self._wait_when_full:
                    self._put_waiting(packet)
                    continue
                try:
                    self._queue.put_nowait(packet)
                except queue.Full:
                    stats.dropped_by_monitor += 1
        except CaptureFormatError as exc:
            self._failure = exc
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed under us
            stats.errors.append(f"reading {self.name} failed: {exc}")
        if capture is not None:
            stats.errors.extend(capture.stats.errors)

    def _put_waiting(self, packet: CapturedPacket) -> None:
        """Queue ``packet``, waiting while the queue is full, unless the capture is stopped."""
        while not self._stopping.is_set():
            try:
                self._queue.put(packet, timeout=WAIT_POLL_S)
                return
            except queue.Full:
                continue

    def _reader_finished(self) -> None:
        """Hook run in the reader thread once the stream has ended."""

    def _shutdown(self) -> None:
        """Hook run by stop(): release what start() acquired."""

    def _wake(self) -> None:
        """Wake a consumer blocked in packets() (a full queue wakes it anyway)."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)


class LiveCapture(_QueuedCapture):
    """Packets from a network interface as tcpdump sees them (``tcpdump -i IF -U -w - ...``).

    tcpdump runs in its own session, so a Ctrl-C meant for the monitor reaches it only through
    :meth:`stop`; if the monitor dies, tcpdump dies of SIGPIPE at its next packet.
    """

    # tcpdump must never block on a full pipe while it is being terminated.
    _drain_after_stop = True

    def __init__(
        self,
        interface: str,
        *,
        capture_filter: str = "",
        tcpdump: str = "tcpdump",
        snaplen: int = 0,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        buffer_kib: int = TCPDUMP_BUFFER_KIB,
    ) -> None:
        super().__init__(queue_size)
        if not interface:
            raise ValueError("interface must not be empty")
        if not 0 <= snaplen <= TCPDUMP_MAX_SNAPLEN:
            raise ValueError(f"snaplen must be 0..{TCPDUMP_MAX_SNAPLEN}, not {snaplen}")
        if buffer_kib < 0:
            raise ValueError(f"buffer_kib must not be negative, not {buffer_kib}")
        self.interface = interface
        self.capture_filter = capture_filter
        self.tcpdump = tcpdump
        self.snaplen = snaplen or TCPDUMP_MAX_SNAPLEN
        self.buffer_kib = buffer_kib  # 0: tcpdump's default
        self.command: list[str] = []  # the tcpdump command line, once start() has built it
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_thread: threading.Thread | None = None
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._listening = False
        self._settled = threading.Event()  # tcpdump is listening, or its stderr has closed

    @property
    def name(self) -> str:
        """``live:`` and the interface, e.g. ``live:lo``."""
        return f"live:{self.interface}"

    @property
    def pid(self) -> int | None:
        """tcpdump's process id once started."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Spawn tcpdump and return once it is listening.

        Raises :class:`CaptureUnavailableError` with tcpdump's own words when it cannot capture:
        tcpdump is missing, the interface does not exist, permission is denied, the filter does
        not compile.
        """
        self._begin()
        try:
            self.command = self._command(_supports_immediate_mode(self.tcpdump))
            self._proc = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self.stop()
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CaptureUnavailableError(f"cannot run {self.tcpdump}: {detail}") from exc
        assert self._proc.stdout is not None and self._proc.stderr is not None  # PIPE above
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, args=(self._proc.stderr,),
            name=f"etykieta {self.name} stderr", daemon=True,
        )
        self._stderr_thread.start()
        self._settled.wait(START_TIMEOUT_S)
        if not self._listening:
            self.stop()
            reason = self._stderr_text() or f"not listening after {START_TIMEOUT_S:g} s"
            where = f" with filter {self.capture_filter!r}" if self.capture_filter else ""
            raise CaptureUnavailableError(
                f"tcpdump cannot capture on {self.interface}{where}: {reason}"
            )
        self._start_reader(cast(BinaryIO, self._proc.stdout))

    def _command(self, immediate_mode: bool) -> list[str]:
        command = [self.tcpdump, "-i", self.interface, "-U", "-w", "-", "-n",
                   "-s", str(self.snaplen)]
        if immediate_mode:
            command.append(IMMEDIATE_MODE_FLAG)
        if self.buffer_kib:
            command += ["-B", str(self.buffer_kib)]
        if self.capture_filter:
            command.append(self.capture_filter)
        return command

    def _read_stderr(self, stderr: IO[bytes]) -> None:
        """The stderr thread: keep tcpdump's last lines, notice when it is listening."""
        for raw in stderr:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            self._stderr_tail.append(line)
            if not self._listening and LISTENING_MARKER in line:
                self._listening = True
                self._settled.set()
        self._settled.set()

    def _stderr_text(self) -> str:
        """tcpdump's messages on one line, without its "tcpdump: " prefixes."""
        return " ".join(line.removeprefix("tcpdump: ") for line in self._stderr_tail
                        if LISTENING_MARKER not in line)

    def _reader_finished(self) -> None:
        """Reap tcpdump, then read its exit summary; an exit nobody asked for is an error."""
        if self._proc is None:
            return
        returncode = self._proc.wait()
        if self._stderr_thread is not None:
            self._stderr_thread.join(STOP_TIMEOUT_S)
        for line in self._stderr_tail:
            drops = _KERNEL_DROPS.match(line)
            if drops:
                self.stats.dropped_by_kernel = int(drops.group(1))
        if not self._stopping.is_set():
            said = self._stderr_text()
            message = f"tcpdump exited unexpectedly (status {returncode})" + (
                f": {said}" if said else "")
            self.stats.errors.append(message)
            if self._failure is not None:  # it died before writing the capture header
                self._failure = CaptureUnavailableError(message)

    def _shutdown(self) -> None:
        """SIGTERM tcpdump, SIGKILL it if it lingers, then join the threads and close pipes."""
        proc = self._proc
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for thread in (self._reader, self._stderr_thread):
            if thread is not None:
                thread.join(STOP_TIMEOUT_S)
        for pipe, thread in ((proc.stdout, self._reader), (proc.stderr, self._stderr_thread)):
            if pipe is not None and (thread is None or not thread.is_alive()):
                pipe.close()


class StreamCapture(_QueuedCapture):
    """Packets from a pcap or pcapng byte stream, e.g. ``ssh pbx tcpdump -U -w - | ...`` on stdin.

    Nothing is dropped: when the consumer falls behind, the reader waits (and the writer of
    the stream with it), so a file streamed in gives exactly the calls ``ingest`` gives.

    The stream belongs to the caller and stays open. :meth:`stop` ends the iteration at once but
    cannot interrupt a blocking read of the stream: the reader thread is a daemon that ends at
    the stream's end (or at the next packet after stop()).
    """

    _wait_when_full = True

    def __init__(self, stream: BinaryIO, *, queue_size: int = DEFAULT_QUEUE_SIZE,
                 name: str | None = None) -> None:
        super().__init__(queue_size)
        self._stream = stream
        self._name = name or f"stream:{_stream_label(stream)}"

    @property
    def name(self) -> str:
        """The name given, else ``stream:`` and the stream's own, e.g. ``stream:stdin``."""
        return self._name

    def start(self) -> None:
        """Start the reader thread; the capture header is checked there, not here."""
        self._begin()
        self._start_reader(self._stream)


def _stream_label(stream: BinaryIO) -> str:
    """A short name for a stream: "stdin" for ``<stdin>``, a path, or "fd5"."""
    name = getattr(stream, "name", None)
    if isinstance(name, str):
        return name.strip("<>") or "stream"
    if isinstance(name, int):
        return f"fd{name}"
    return "stream"


@functools.lru_cache(maxsize=8)
def _supports_immediate_mode(tcpdump: str) -> bool:
    """Whether this tcpdump has ``--immediate-mode`` (4.6 and later), judged by ``--help``."""
    result = subprocess.run([tcpdump, "--help"], capture_output=True, check=False,
                            timeout=START_TIMEOUT_S)
    return IMMEDIATE_MODE_FLAG.encode() in result.stdout + result.stderr
