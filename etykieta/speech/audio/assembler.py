"""One direction of a call's RTP audio, assembled onto a timeline and decoded to 16-bit PCM.

:class:`RtpStreamAssembler` takes the datagrams of one direction with their arrival times and
renders any window of absolute time. Packets are placed by their RTP timestamps (RFC 3550
§5.1), so reordering and loss cost nothing in accuracy: a gap becomes silence of exactly the
missing length. Each SSRC — and each restart of one — is a *run*, anchored at the arrival of
its least-delayed early packet; where runs overlap in time, the later one wins. Peer mistakes
(RTCP, non-RTP, malformed packets, unknown payload types) are counted, never raised.

Memory stays bounded: only packets inside the ``keep`` windows and the rolling ``tail_s`` are
stored, and never more than ``max_packets``. Time stays bounded too: ``push`` reads the fixed
header only and keeps the datagram as it came; a payload is cut out, and decoded, only when a
window over it is rendered, which most packets of a long call never are.

Runs and their timelines are in :mod:`etykieta.speech.audio.timeline`, the decoding of a window in
:mod:`etykieta.speech.audio.render`; their public names are importable from here as well.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import chain

from ...telephony.packets import Datagram, Endpoint
from ...telephony.sdp import MediaDescription
from .render import DEFAULT_SAMPLE_RATE, WARMUP_S, RenderedAudio, render_window
from .rtp import (
    RTCP_PACKET_TYPE_FIRST,
    RTCP_PACKET_TYPE_LAST,
    RTP_HEADER_LENGTH,
    RTP_VERSION,
    PayloadKind,
    PayloadTypes,
    RtpPacket,
    is_rtcp,
)
from .signals import aligned_correlation
from .timeline import (
    COMFORT_NOISE_CLOCK_RATE,
    MAX_DROPOUT,
    MAX_MISORDER,
    PLAIN_FIRST_BYTE,
    PLAIN_HEADER_TAIL,
    RESYNC_S,
    Codec,
    Entry,
    Fit,
    Run,
    codec_of,
    fit,
    time_of,
)

__all__ = [
    "COMFORT_NOISE_CLOCK_RATE",
    "DEFAULT_JITTER_WINDOW",
    "DEFAULT_SAMPLE_RATE",
    "KEEP_MARGIN_S",
    "MAX_DROPOUT",
    "MAX_MISORDER",
    "MAX_STORED_PACKETS",
    "MAX_TRACKED_SSRCS",
    "RESYNC_S",
    "WARMUP_S",
    "AssemblerStats",
    "MediaStream",
    "RenderedAudio",
    "RtpStreamAssembler",
    "StreamKey",
    "aligned_correlation",
    "payload_types_from_sdp",
]

DEFAULT_JITTER_WINDOW = 8  # packets
KEEP_MARGIN_S = 0.5  # packets span up to their ptime, and early anchors move by the jitter
MAX_STORED_PACKETS = 100_000  # ~33 minutes at 50 packets/s
MAX_TRACKED_SSRCS = 64


@dataclass(frozen=True, slots=True)
class StreamKey:
    """One direction of RTP: the sender's address as it was seen, and the receiver's."""

    src: Endpoint
    dst: Endpoint

    @classmethod
    def of(cls, datagram: Datagram) -> StreamKey:
        """The direction a datagram travelled."""
        return cls(datagram.src, datagram.dst)


@dataclass(frozen=True, slots=True)
class MediaStream:
    """One direction of audio as the receiver's SDP describes it (RFC 3264 §5.1).

    The receiver announces where it wants the audio (``destination``) and which payload types
    mean what. The sender's address is not known from SDP (NAT, symmetric RTP): latch on the
    :class:`StreamKey` of the first datagram :meth:`accepts`.
    """

    destination: Endpoint
    payload_types: Mapping[int, tuple[str, int]]
    receives: bool  # False when the receiver said sendonly or inactive (hold)

    @classmethod
    def from_sdp(cls, media: MediaDescription) -> MediaStream | None:
        """The stream towards the party whose ``m=audio`` section this is; None if rejected."""
        if media.media != "audio" or not media.port or media.connection is None:
            return None
        return cls(
            destination=Endpoint(media.connection.address, media.port),
            payload_types=payload_types_from_sdp(media),
            receives=media.direction in ("sendrecv", "recvonly"),
        )

    def accepts(self, datagram: Datagram) -> bool:
        """Whether a datagram is addressed to this stream's receiver."""
        return datagram.dst == self.destination


def payload_types_from_sdp(media: MediaDescription) -> dict[int, tuple[str, int]]:
    """Payload type -> (encoding name, clock rate) from ``a=rtpmap`` and static defaults."""
    return {entry.payload_type: (entry.encoding_name, entry.clock_rate) for entry in media.rtpmap}


@dataclass(frozen=True, slots=True)
class AssemblerStats:
    """Whole-stream counters of an :class:`RtpStreamAssembler` (peer mistakes included)."""

    datagrams: int
    rtp_packets: int
    rtcp: int
    non_rtp: int  # not RTP version 2 at all (STUN, DTLS, stray traffic)
    malformed: int  # version 2 but truncated or with bad padding
    duplicates: int
    reordered: int
    late: int  # too far behind or ahead in sequence to place (RFC 3550 A.1), dropped
    telephone_events: int
    comfort_noise: int
    unknown_payload_types: tuple[tuple[int, int], ...]  # (payload type, packets)
    runs: int
    stored: int
    outside_windows: int  # not kept: outside every window and the tail
    overflow: int  # dropped because max_packets were stored


@dataclass(slots=True)
class _Counts:
    """The counters of :class:`AssemblerStats` that ``push`` increments."""

    datagrams: int = 0
    rtp_packets: int = 0
    rtcp: int = 0
    non_rtp: int = 0
    malformed: int = 0
    duplicates: int = 0
    reordered: int = 0
    late: int = 0
    telephone_events: int = 0
    comfort_noise: int = 0
    outside_windows: int = 0
    overflow: int = 0


class RtpStreamAssembler:
    """Collects one direction's RTP datagrams and renders windows of it as PCM.

    ``payload_types`` maps payload type -> (encoding name, clock rate) as negotiated; it may be
    updated in place (a re-INVITE). ``jitter_window`` is how many early packets of a run may
    move its anchor earlier (the least-delayed one defines the timeline, so a delayed first
    packet does not shift it). ``keep`` (absolute time windows) and ``tail_s`` (the rolling
    last seconds) bound what is stored; with neither, everything is stored up to
    ``max_packets``.
    """

    def __init__(
        self,
        payload_types: PayloadTypes,
        *,
        jitter_window: int = DEFAULT_JITTER_WINDOW,
        keep: Sequence[tuple[float, float]] | None = None,
        tail_s: float | None = None,
        max_packets: int = MAX_STORED_PACKETS,
    ) -> None:
        if jitter_window < 1:
            raise ValueError(f"jitter_window must be at least 1 packet, got {jitter_window}")
        if tail_s is not None and not tail_s >= 0:
            raise ValueError(f"tail_s must be a non-negative number of seconds, got {tail_s}")
        self.payload_types = dict(payload_types)
        self.jitter_window = jitter_window
        self.keep = [(float(a), float(b)) for a, b in keep] if keep is not None else None
        self.tail_s = tail_s
        self.max_packets = max_packets
        self._pinned_spans = [
            (start - KEEP_MARGIN_S, end + KEEP_MARGIN_S) for start, end in self.keep or ()
        ]
        self._drop_outside = keep is not None and tail_s is None
        self._codecs: dict[int, tuple[tuple[str, int] | None, Codec]] = {}
        self._runs: OrderedDict[int, Run] = OrderedDict()  # current run of each SSRC
        self._pinned: list[Entry] = []
        self._tail: deque[Entry] = deque()
        self._newest = -math.inf
        self._counts = _Counts()
        self._unknown: Counter[int] = Counter()
        self._run_count = 0

    def push(self, arrival: float, data: bytes) -> None:
        """Take one datagram that arrived at ``arrival`` (seconds, the capture's clock)."""
        if not math.isfinite(arrival):
            raise ValueError(f"arrival time must be finite, got {arrival}")
        counts = self._counts
        counts.datagrams += 1
        if len(data) >= RTP_HEADER_LENGTH and data[0] == PLAIN_FIRST_BYTE:
            second, seq, ts, ssrc = PLAIN_HEADER_TAIL.unpack_from(data, 1)
            if RTCP_PACKET_TYPE_FIRST <= second <= RTCP_PACKET_TYPE_LAST:
                counts.rtcp += 1
                return
            payload_type = second & 0x7F
        else:
            header = self._unusual_header(data)
            if header is None:
                return
            payload_type, seq, ts, ssrc = header
        counts.rtp_packets += 1
        codec = self._codec(payload_type)
        kind = codec.kind
        if kind is PayloadKind.UNKNOWN:
            self._unknown[payload_type] += 1
            self._store((None, 0, 0, arrival, codec, data, False), arrival)
            return
        if kind is PayloadKind.TELEPHONE_EVENT:
            counts.telephone_events += 1
        elif kind is PayloadKind.COMFORT_NOISE:
            counts.comfort_noise += 1
        self._place(arrival, data, codec, seq, ts, ssrc)

    def _unusual_header(self, data: bytes) -> tuple[int, int, int, int] | None:
        """(payload type, sequence number, timestamp, SSRC) of any other datagram, or None.

        RTCP, non-RTP and malformed datagrams are counted here and go no further.
        """
        if is_rtcp(data):
            self._counts.rtcp += 1
            return None
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            if data[:1] and data[0] >> 6 == RTP_VERSION:
                self._counts.malformed += 1
            else:
                self._counts.non_rtp += 1
            return None
        return packet.payload_type, packet.sequence_number, packet.timestamp, packet.ssrc

    def _codec(self, payload_type: int) -> Codec:
        """What ``payload_type`` means, cached until its ``payload_types`` entry changes."""
        entry = self.payload_types.get(payload_type)
        known = self._codecs.get(payload_type)
        if known is not None and known[0] is entry:
            return known[1]
        codec = codec_of(payload_type, self.payload_types)
        self._codecs[payload_type] = (entry, codec)
        return codec

    def _place(
        self, arrival: float, data: bytes, codec: Codec, seq: int, ts: int, ssrc: int
    ) -> None:
        """Find or start the packet's run and store the packet, unless it is a duplicate or late."""
        run = self._runs.get(ssrc)
        if run is None:
            run = self._new_run(ssrc, seq, ts, codec.clock_rate, arrival)
            ext_seq, ext_ts = seq, ts
        else:
            ext_seq, ext_ts = run.unwrap_seq(seq), run.unwrap_ts(ts)
            outcome = fit(run, codec, seq, ext_seq, ext_ts, arrival)
            if outcome is Fit.DROP:
                self._counts.late += 1
                return
            if outcome is Fit.NEW:
                run = self._new_run(ssrc, seq, ts, codec.clock_rate, arrival)
                ext_seq, ext_ts = seq, ts
        seen = run.seen
        if ext_seq in seen:
            self._counts.duplicates += 1
            return
        reordered = ext_seq < run.highest_seq
        if reordered:
            self._counts.reordered += 1
        seen.add(ext_seq)
        if len(seen) > 4 * MAX_MISORDER:
            run.seen = {s for s in seen if s >= run.highest_seq - MAX_MISORDER}
        if ext_seq > run.highest_seq:
            run.highest_seq = ext_seq
        if codec.kind is not PayloadKind.TELEPHONE_EVENT:  # events carry their start timestamp
            if ext_ts > run.highest_ts:
                run.highest_ts = ext_ts
            if run.anchoring:
                run.anchoring -= 1
                run.offset = min(run.offset, arrival - (ext_ts - run.ts_origin) / run.clock_rate)
        if codec.kind is PayloadKind.AUDIO:
            run.encoding = codec.encoding
        entry = (run, ext_seq, ext_ts, arrival, codec, data, reordered)
        self._store(entry, run.time_of(ext_ts))

    def _new_run(self, ssrc: int, seq: int, ts: int, clock_rate: int, arrival: float) -> Run:
        run = Run(self._run_count, ssrc, seq, ts, clock_rate, arrival, self.jitter_window)
        self._run_count += 1
        self._runs.pop(ssrc, None)
        self._runs[ssrc] = run
        if len(self._runs) > MAX_TRACKED_SSRCS:
            self._runs.popitem(last=False)
        return run

    def _store(self, entry: Entry, at: float) -> None:
        """Pin a packet inside a ``keep`` window, else add it to the tail and age the tail."""
        for low, high in self._pinned_spans:
            if low <= at <= high:
                if len(self._pinned) + len(self._tail) >= self.max_packets:
                    self._counts.overflow += 1
                else:
                    self._pinned.append(entry)
                return
        if self._drop_outside:
            self._counts.outside_windows += 1
            return
        tail = self._tail
        tail.append(entry)
        if at > self._newest:
            self._newest = at
        if self.tail_s is not None:
            horizon = self._newest - self.tail_s - KEEP_MARGIN_S
            while tail and time_of(tail[0]) < horizon:
                tail.popleft()
                self._counts.outside_windows += 1
        while tail and len(self._pinned) + len(tail) > self.max_packets:
            tail.popleft()
            self._counts.overflow += 1

    def stats(self) -> AssemblerStats:
        """A snapshot of the whole-stream counters."""
        return AssemblerStats(
            **asdict(self._counts),
            unknown_payload_types=tuple(sorted(self._unknown.items())),
            runs=self._run_count,
            stored=len(self._pinned) + len(self._tail),
        )

    def held(self) -> list[tuple[float, bytes]]:
        """The datagrams stored for the windows, as (arrival, bytes as they came), in arrival
        order: what a continuation needs to render the same windows (``ingest`` carries them
        from one capture file to the next)."""
        return sorted(((entry[3], entry[5]) for entry in chain(self._pinned, self._tail)),
                      key=lambda held: held[0])

    def render(self, start: float, duration: float) -> RenderedAudio:
        """The audio of ``[start, start + duration)``: gaps are silence, later runs win."""
        return render_window(chain(self._pinned, self._tail), start, duration)
