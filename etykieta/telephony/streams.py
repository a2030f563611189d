"""TCP stream reassembly (RFC 9293) and SIP message framing on a byte stream (RFC 3261 §18.3).

:class:`TcpReassembler` turns the segments of each direction of a connection into in-order
bytes; :class:`SipStreamFramer` cuts one direction's bytes into SIP messages. Neither keeps a
clock: the packets' timestamps are the only time they know.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from .packets import Endpoint, TcpFlags, TcpSegment

SEQ_MASK = 0xFFFFFFFF
SEQ_HALF = 0x80000000  # sequence numbers compare modulo 2**32 (RFC 9293 §3.4)
MAX_STREAMS = 4096
MAX_BUFFERED_BYTES = 256 * 1024  # out-of-order bytes held per direction before skipping a gap
MAX_BUFFERED_SEGMENTS = 256
GAP_TIMEOUT = 10.0  # seconds a hole may stay open before the stream skips past it
MAX_SIP_MESSAGE_SIZE = 64 * 1024

# A SIP start line (RFC 3261 §7.1, §7.2): "METHOD sip:... SIP/2.0" or "SIP/2.0 NNN reason".
_START_LINE_PATTERN = (
    rb"(?:[A-Z][A-Za-z0-9!%'*+\-.`~_]* (?i:sips?|tel):[^ \r\n]+ SIP/2\.0"
    rb"|SIP/2\.0 [1-6][0-9]{2}(?: [^\r\n]*)?)\r?\n"
)
_START_LINE = re.compile(_START_LINE_PATTERN)
SIP_START_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")  # a method or "SIP/2.0"
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(
    rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE
)
_LINE_BREAKS = b"\r\n"

StreamKey = tuple[Endpoint, Endpoint]


def looks_like_sip(payload: bytes) -> bool:
    """Tell whether a payload starts with a SIP request or status line (RFC 3261 §7.1, §7.2).

    Cheap enough for every UDP payload: anything not starting with an upper-case letter (RTP
    starts with 0x80 or 0x90) is rejected on its first byte.
    """
    if not payload or payload[0] not in SIP_START_BYTES:
        return False
    return _START_LINE.match(payload) is not None


@dataclass(frozen=True, slots=True)
class StreamData:
    """In-order bytes of one direction of a TCP connection, released by the segment ``number``.

    ``gap`` means bytes were lost just before ``data``; ``closed`` that the direction ended (FIN
    reached in sequence, or RST) after ``data``.
    """

    number: int
    timestamp: float
    src: Endpoint
    dst: Endpoint
    data: bytes
    gap: bool = False
    closed: bool = False


@dataclass(slots=True)
class _Direction:
    next_seq: int
    pending: dict[int, bytes] = field(default_factory=dict)
    pending_bytes: int = 0
    gap_since: float = 0.0
    fin_seq: int | None = None


class TcpReassembler:
    """Delivers each direction's bytes in sequence order (RFC 9293 §3.4, §3.10.7.4).

    A SYN sets the initial sequence number; a direction first seen mid-stream starts at its
    first segment. Retransmitted and overlapping bytes are delivered once. Out-of-order segments
    wait, up to ``max_buffered_bytes``/``max_buffered_segments`` or ``gap_timeout`` seconds of
    packet time, or until the sender's FIN or RST; then the stream skips the hole and ``gaps``
    counts it. At most ``max_streams``
    directions are tracked; the least recently active one is dropped first.
    """

    def __init__(
        self,
        *,
        max_streams: int = MAX_STREAMS,
        max_buffered_bytes: int = MAX_BUFFERED_BYTES,
        max_buffered_segments: int = MAX_BUFFERED_SEGMENTS,
        gap_timeout: float = GAP_TIMEOUT,
    ) -> None:
        self.max_streams = max_streams
        self.max_buffered_bytes = max_buffered_bytes
        self.max_buffered_segments = max_buffered_segments
        self.gap_timeout = gap_timeout
        self.gaps = 0
        self.streams_evicted = 0
        self._streams: OrderedDict[StreamKey, _Direction] = OrderedDict()

    def __contains__(self, key: StreamKey) -> bool:
        return key in self._streams

    def __len__(self) -> int:
        return len(self._streams)

    def receive(self, seg: TcpSegment) -> list[StreamData]:
        """Take one segment; return the bytes it made deliverable, in order (often none)."""
        key = (seg.src, seg.dst)
        seq = seg.seq
        state = self._streams.get(key)
        if seg.flags & TcpFlags.SYN:
            seq = (seq + 1) & SEQ_MASK  # the SYN occupies one sequence number
            state = self._streams[key] = _Direction(seq)
            self._evict()
        elif state is None:
            if seg.flags & TcpFlags.RST:
                return []
            state = self._streams[key] = _Direction(seq)
            self._evict()
        self._streams.move_to_end(key)
        ending = bool(seg.flags & (TcpFlags.FIN | TcpFlags.RST))
        if seg.flags & TcpFlags.FIN:
            state.fin_seq = (seq + len(seg.payload)) & SEQ_MASK
        if seg.payload:
            self._buffer(state, seq, seg.payload, seg.timestamp)
        chunks: list[StreamData] = []
        gap = False
        while True:
            data = self._drain(state)
            if data or gap:
                chunks.append(StreamData(seg.number, seg.timestamp, seg.src, seg.dst, data, gap))
            # Once the sender ends the stream, a hole before the end is not going to fill.
            if not state.pending or not (ending or self._gap_overdue(state, seg.timestamp)):
                break
            self._skip_gap(state, seg.timestamp)
            gap = True
        if seg.flags & TcpFlags.RST or state.fin_seq == state.next_seq:
            del self._streams[key]
            if chunks:
                chunks[-1] = StreamData(seg.number, seg.timestamp, seg.src, seg.dst,
                                        chunks[-1].data, chunks[-1].gap, closed=True)
            else:
                chunks.append(StreamData(seg.number, seg.timestamp, seg.src, seg.dst, b"",
                                         closed=True))
        return chunks

    def _buffer(self, state: _Direction, seq: int, payload: bytes, now: float) -> None:
        """Hold a segment until the bytes before it have been delivered."""
        if not state.pending:
            state.gap_since = now
        held = state.pending.get(seq)
        if held is None or len(held) < len(payload):
            state.pending[seq] = payload
            state.pending_bytes += len(payload) - (len(held) if held is not None else 0)

    def _drain(self, state: _Direction) -> bytes:
        """Deliver the held bytes that now follow ``next_seq``, trimming any already seen."""
        out: list[bytes] = []
        progress = True
        while progress and state.pending:
            progress = False
            for seq in list(state.pending):
                offset = (seq - state.next_seq) & SEQ_MASK
                if offset and offset < SEQ_HALF:
                    continue  # still beyond a hole
                payload = state.pending.pop(seq)
                state.pending_bytes -= len(payload)
                already_seen = (state.next_seq - seq) & SEQ_MASK
                if already_seen < len(payload):
                    out.append(payload[already_seen:])
                    state.next_seq = (state.next_seq + len(payload) - already_seen) & SEQ_MASK
                    progress = True
        return b"".join(out)

    def _gap_overdue(self, state: _Direction, now: float) -> bool:
        return (
            state.pending_bytes > self.max_buffered_bytes
            or len(state.pending) > self.max_buffered_segments
            or now - state.gap_since > self.gap_timeout
        )

    def _skip_gap(self, state: _Direction, now: float) -> None:
        """Give up on the hole: jump to the nearest held segment."""
        state.next_seq = min(state.pending, key=lambda seq: (seq - state.next_seq) & SEQ_MASK)
        state.gap_since = now  # a further hole gets its own time
        self.gaps += 1

    def _evict(self) -> None:
        while len(self._streams) > self.max_streams:
            self._streams.popitem(last=False)
            self.streams_evicted += 1


class SipStreamFramer:
    """Cuts the in-order bytes of one stream direction into SIP messages (RFC 3261 §18.3).

    A message ends ``Content-Length`` bytes after the blank line that ends its headers; on a
    stream a missing Content-Length means 0. CRLF keep-alives (RFC 5626 §3.5.1) are skipped.
    Bytes that do not start a SIP message are skipped up to the next SIP start line and counted
    in ``bytes_skipped``; a message larger than ``max_message_size`` is
    dropped and counted in ``oversized``.
    """

    def __init__(self, max_message_size: int = MAX_SIP_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self.bytes_skipped = 0
        self.oversized = 0
        self._buffer = bytearray()
        self._discard = 0  # bytes still to drop from an oversized message's body

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the messages they completed, oldest first."""
        if self._discard:
            dropped = min(self._discard, len(data))
            self._discard -= dropped
            data = data[dropped:]
        buffer = self._buffer
        buffer += data
        messages: list[bytes] = []
        while True:
            del buffer[: len(buffer) - len(buffer.lstrip(_LINE_BREAKS))]
            if not buffer:
                break
            if _START_LINE.match(buffer) is None:
                if buffer[0] in SIP_START_BYTES and buffer.find(b"\n") < 0:
                    if len(buffer) > self.max_message_size:
                        self._skip(len(buffer))
                    break  # the start line may still be arriving
                self._resync()
                continue
            header_end = _HEADER_END.search(buffer)
            if header_end is None:
                if len(buffer) > self.max_message_size:
                    self.oversized += 1
                    buffer.clear()
                break
            length = _content_length(bytes(buffer[: header_end.start()]))
            if length is None:
                self._skip(buffer.find(b"\n") + 1)
                continue
            total = header_end.end() + length
            if total > self.max_message_size:
                self.oversized += 1
                self._discard = max(0, total - len(buffer))
                del buffer[:total]
                continue
            if len(buffer) < total:
                break
            messages.append(bytes(buffer[:total]))
            del buffer[:total]
        return messages

    def lose_sync(self) -> None:
        """Bytes of the stream were lost: drop the partial message and look for the next one."""
        self.bytes_skipped += len(self._buffer)
        self._buffer.clear()
        self._discard = 0

    def _resync(self) -> None:
        """Skip to the next SIP start line, or keep the last partial line.

        The start line is looked for anywhere, not only after a line break: after lost bytes
        the next message follows the tail of a body with none.
        """
        buffer = self._buffer
        match = _START_LINE.search(buffer, 1)
        if match is not None:
            self._skip(match.start())
        else:
            self._skip(buffer.rfind(b"\n") + 1 or len(buffer))

    def _skip(self, count: int) -> None:
        self.bytes_skipped += count
        del self._buffer[:count]


def _content_length(headers: bytes) -> int | None:
    """Return the Content-Length (RFC 3261 §20.14, compact form "l"); 0 if absent, None if bad."""
    match = _CONTENT_LENGTH.search(headers)
    if match is None:
        return 0
    value = match.group(1)
    return int(value) if value.isdigit() else None
