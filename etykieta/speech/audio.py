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
"""

from __future__ import annotations

import enum
import functools
import math
import struct
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import accumulate, chain

import numpy as np
import numpy.typing as npt

from etykieta.speech.codecs import PCM, Decoder, codec_label, decoder_for
from etykieta.speech.rtp import (
    COMFORT_NOISE,
    RTCP_PACKET_TYPE_FIRST,
    RTCP_PACKET_TYPE_LAST,
    RTP_HEADER_LENGTH,
    RTP_VERSION,
    PayloadKind,
    PayloadTypes,
    RtpPacket,
    is_rtcp,
    payload_kind,
)
from etykieta.telephony.packets import Datagram, Endpoint
from etykieta.telephony.sdp import MediaDescription

DEFAULT_JITTER_WINDOW = 8  # packets
MAX_MISORDER = 100  # RFC 3550 A.1: a packet this far behind is late or a restart
MAX_DROPOUT = 3000  # RFC 3550 A.1: a jump this far ahead is a restart unless confirmed
RESYNC_S = 1.0  # a timestamp this far from its arrival means the sender re-based its clock
KEEP_MARGIN_S = 0.5  # packets span up to their ptime, and early anchors move by the jitter
WARMUP_S = 0.2  # packets decoded before a window: the ADPCM state settles, the first overlaps
MAX_STORED_PACKETS = 100_000  # ~33 minutes at 50 packets/s
MAX_TRACKED_SSRCS = 64
DEFAULT_SAMPLE_RATE = 8000
COMFORT_NOISE_CLOCK_RATE = 8000  # RFC 3551 §6, static payload type 13

_SEQ_HALF, _SEQ_MOD = 1 << 15, 1 << 16
_TS_HALF, _TS_MOD = 1 << 31, 1 << 32
# RFC 3550 §5.1: nearly every packet has no padding, extension or CSRCs, so its first octet is
# exactly the version and its header the fixed 12 octets; those skip RtpPacket.parse.
_PLAIN_FIRST_BYTE = RTP_VERSION << 6
_PLAIN_HEADER_TAIL = struct.Struct("!BHII")  # M+PT, sequence number, timestamp, SSRC


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
class RenderedAudio:
    """What one direction sounded like over a window, with the packet facts behind it.

    Counts cover packets whose audio starts inside the window. ``codec`` names the decoder
    used (None if nothing was decodable); ``unsupported_codec`` names an encoding that carried
    packets in the window but cannot be decoded (``G729/8000``, or ``PT 96`` when the payload
    type was never negotiated).
    """

    pcm: PCM
    sample_rate: int
    start: float
    codec: str | None
    packets: int
    speech_packets: int  # decoded audio
    non_speech_packets: int  # RFC 4733 events and comfort noise
    lost_packets: int  # sequence numbers missing between the window's first and last packet
    reordered: int
    ssrc_changes: int
    unsupported_codec: str | None

    @property
    def duration(self) -> float:
        """Length of :attr:`pcm` in seconds."""
        return len(self.pcm) / self.sample_rate


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


@dataclass(frozen=True, slots=True, eq=False)
class _Codec:
    """What one payload type means for placing its packets, worked out once per type."""

    kind: PayloadKind
    encoding: str  # upper-cased; "PT n" when the payload type is unknown
    clock_rate: int  # 0 when unknown: such packets are placed by their arrival


def _codec_of(payload_type: int, payload_types: PayloadTypes) -> _Codec:
    kind = payload_kind(payload_type, payload_types)
    encoding, clock_rate = payload_types.get(
        payload_type, (COMFORT_NOISE, COMFORT_NOISE_CLOCK_RATE)
    )
    if kind is PayloadKind.UNKNOWN or clock_rate <= 0:
        return _Codec(PayloadKind.UNKNOWN, f"PT {payload_type}", 0)
    return _Codec(kind, encoding.upper(), clock_rate)


class _Run:
    """Packets of one SSRC that share a timeline (RTP timestamps with one origin)."""

    __slots__ = (
        "anchoring", "bad_seq", "clock_rate", "encoding", "highest_seq", "highest_ts",
        "index", "offset", "seen", "ssrc", "ts_origin",
    )  # fmt: skip

    def __init__(
        self, index: int, ssrc: int, seq: int, ts: int, clock_rate: int, arrival: float,
        jitter: int,
    ) -> None:  # fmt: skip
        self.index = index
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.encoding: str | None = None
        self.ts_origin = self.highest_ts = ts
        self.highest_seq = seq
        self.seen: set[int] = set()
        self.offset = arrival  # absolute time of ts_origin
        self.anchoring = jitter
        self.bad_seq: int | None = None

    def unwrap_seq(self, seq: int) -> int:
        """Extended sequence number nearest the highest seen (wrap-around at 2**16)."""
        return self.highest_seq + (seq - self.highest_seq + _SEQ_HALF) % _SEQ_MOD - _SEQ_HALF

    def unwrap_ts(self, ts: int) -> int:
        """Extended timestamp nearest the highest seen (wrap-around at 2**32)."""
        return self.highest_ts + (ts - self.highest_ts + _TS_HALF) % _TS_MOD - _TS_HALF

    def time_of(self, ext_ts: int) -> float:
        """Absolute time of an extended timestamp on this run's timeline."""
        return self.offset + (ext_ts - self.ts_origin) / self.clock_rate


class _Fit(enum.Enum):
    SAME = "same"  # the packet continues the run
    NEW = "new"  # it starts a new run of the same SSRC
    DROP = "drop"  # too far off the sequence to place until another packet confirms the jump


def _fit(run: _Run, codec: _Codec, seq: int, ext_seq: int, ext_ts: int, arrival: float) -> _Fit:
    """Whether a packet of the run's SSRC belongs to that run (RFC 3550 A.1, simplified).

    A changed clock or codec, or a timestamp far from the arrival time, starts a new run at
    once; a sequence jump is believed only when the next packet follows it in sequence.
    """
    if run.clock_rate != codec.clock_rate:
        return _Fit.NEW
    kind = codec.kind
    if kind is PayloadKind.AUDIO and run.encoding is not None and run.encoding != codec.encoding:
        return _Fit.NEW
    # events carry their start timestamp, which may lag the arrival by the whole event
    if kind is not PayloadKind.TELEPHONE_EVENT and abs(run.time_of(ext_ts) - arrival) > RESYNC_S:
        return _Fit.NEW
    if -MAX_MISORDER <= ext_seq - run.highest_seq <= MAX_DROPOUT:
        run.bad_seq = None
        return _Fit.SAME
    if run.bad_seq == seq:
        return _Fit.NEW  # two packets in sequence after the jump: the sender restarted
    run.bad_seq = (seq + 1) % _SEQ_MOD
    return _Fit.DROP


# A stored packet as ``push`` leaves it: (run or None, extended sequence number, extended
# timestamp, arrival, codec, the datagram as it arrived, reordered). A plain tuple, because a
# call makes one per packet and the tail drops nearly all of them unread; its payload is only
# cut out of the datagram if a window is rendered over it.
_Entry = tuple[_Run | None, int, int, float, _Codec, bytes, bool]


def _time_of(entry: _Entry) -> float:
    """Where a stored packet's audio starts: by its run's timeline, or by its arrival."""
    run = entry[0]
    return entry[3] if run is None else run.offset + (entry[2] - run.ts_origin) / run.clock_rate


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to make
class _Stored:
    """A stored packet that a render reads, its place on the timeline worked out once."""

    run: _Run | None  # None: unknown payload type, placed by arrival
    seq: int  # extended
    ts: int  # extended
    arrival: float
    codec: _Codec
    datagram: bytes
    reordered: bool
    time: float

    @property
    def kind(self) -> PayloadKind:
        return self.codec.kind

    @property
    def encoding(self) -> str:
        return self.codec.encoding

    @property
    def payload(self) -> bytes:
        if self.datagram[0] == _PLAIN_FIRST_BYTE:
            return self.datagram[RTP_HEADER_LENGTH:]
        return RtpPacket.parse(self.datagram).payload


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
        self._codecs: dict[int, tuple[tuple[str, int] | None, _Codec]] = {}
        self._runs: OrderedDict[int, _Run] = OrderedDict()  # current run of each SSRC
        self._pinned: list[_Entry] = []
        self._tail: deque[_Entry] = deque()
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
        if len(data) >= RTP_HEADER_LENGTH and data[0] == _PLAIN_FIRST_BYTE:
            second, seq, ts, ssrc = _PLAIN_HEADER_TAIL.unpack_from(data, 1)
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

    def _codec(self, payload_type: int) -> _Codec:
        """What ``payload_type`` means, cached until its ``payload_types`` entry changes."""
        entry = self.payload_types.get(payload_type)
        known = self._codecs.get(payload_type)
        if known is not None and known[0] is entry:
            return known[1]
        codec = _codec_of(payload_type, self.payload_types)
        self._codecs[payload_type] = (entry, codec)
        return codec

    def _place(
        self, arrival: float, data: bytes, codec: _Codec, seq: int, ts: int, ssrc: int
    ) -> None:
        """Find or start the packet's run and store the packet, unless it is a duplicate or late."""
        run = self._runs.get(ssrc)
        if run is None:
            run = self._new_run(ssrc, seq, ts, codec.clock_rate, arrival)
            ext_seq, ext_ts = seq, ts
        else:
            ext_seq, ext_ts = run.unwrap_seq(seq), run.unwrap_ts(ts)
            fit = _fit(run, codec, seq, ext_seq, ext_ts, arrival)
            if fit is _Fit.DROP:
                self._counts.late += 1
                return
            if fit is _Fit.NEW:
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

    def _new_run(self, ssrc: int, seq: int, ts: int, clock_rate: int, arrival: float) -> _Run:
        run = _Run(self._run_count, ssrc, seq, ts, clock_rate, arrival, self.jitter_window)
        self._run_count += 1
        self._runs.pop(ssrc, None)
        self._runs[ssrc] = run
        if len(self._runs) > MAX_TRACKED_SSRCS:
            self._runs.popitem(last=False)
        return run

    def _store(self, entry: _Entry, at: float) -> None:
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
            while tail and _time_of(tail[0]) < horizon:
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

    def render(self, start: float, duration: float) -> RenderedAudio:
        """The audio of ``[start, start + duration)``: gaps are silence, later runs win."""
        if not (math.isfinite(start) and math.isfinite(duration) and duration >= 0):
            raise ValueError(f"bad window: start {start}, duration {duration}")
        end = start + duration
        first = start - WARMUP_S
        nearby = [
            _Stored(*entry, at)
            for entry in chain(self._pinned, self._tail)
            if first <= (at := _time_of(entry)) < end
        ]
        inside = [p for p in nearby if p.time >= start]
        by_run: dict[int, list[_Stored]] = {}
        for stored in nearby:
            if stored.run is not None:
                by_run.setdefault(stored.run.index, []).append(stored)
        decoded = [_decode_run(packets) for _, packets in sorted(by_run.items())]
        audible = [run for run in decoded if run.sample_rate]
        main = max(audible, key=lambda run: run.chunks, default=None)
        rate = main.sample_rate if main is not None else DEFAULT_SAMPLE_RATE
        pcm = np.zeros(round(duration * rate), dtype=np.int16)
        for run in decoded:
            _overlay(pcm, rate, start, run)
        speech, non_speech, unsupported = _tally(inside)
        return RenderedAudio(
            pcm=pcm,
            sample_rate=rate,
            start=start,
            codec=main.codec if main is not None else None,
            packets=len(inside),
            speech_packets=speech,
            non_speech_packets=non_speech,
            lost_packets=_lost(inside),
            reordered=sum(p.reordered for p in inside),
            ssrc_changes=_ssrc_changes(inside),
            unsupported_codec=unsupported.most_common(1)[0][0] if unsupported else None,
        )


@dataclass(frozen=True, slots=True)
class _DecodedRun:
    begin: float  # absolute time of pcm[0]
    end: float  # the run's last packet ends here (the span it wins over)
    pcm: PCM
    sample_rate: int  # 0: nothing decodable
    codec: str | None
    chunks: int


def _decode_run(packets: list[_Stored]) -> _DecodedRun:
    """Decode one run's packets in timestamp order onto its own sample grid."""
    run = packets[0].run
    assert run is not None
    begin = min(p.time for p in packets)
    ts_begin = min(p.ts for p in packets)
    audio = sorted((p for p in packets if p.kind is PayloadKind.AUDIO), key=lambda p: p.ts)
    decoder = decoder_for(audio[0].encoding, run.clock_rate) if audio else None
    if decoder is None:
        end = max(p.time for p in packets)
        return _DecodedRun(begin, end, np.zeros(0, np.int16), 0, None, 0)
    tick = decoder.samples_per_tick
    samples, bounds = _decode_in_order(decoder, [p.payload for p in audio])
    starts = [int((p.ts - ts_begin) * tick) for p in audio]
    length = max(at + bounds[i + 1] - bounds[i] for i, at in enumerate(starts))
    pcm = decoder.silence(length)
    # Copy each stretch of back-to-back packets at once, stretches in timestamp order: a later
    # packet still overwrites an earlier one that overlaps it.
    stretch_at, stretch_from = starts[0], bounds[0]
    for at, begins in zip(starts[1:], bounds[1:-1], strict=True):
        if at != stretch_at + begins - stretch_from:
            pcm[stretch_at : stretch_at + begins - stretch_from] = samples[stretch_from:begins]
            stretch_at, stretch_from = at, begins
    pcm[stretch_at : stretch_at + bounds[-1] - stretch_from] = samples[stretch_from:]
    end = max(begin + length / decoder.sample_rate, max(p.time for p in packets))
    return _DecodedRun(begin, end, pcm, decoder.sample_rate, decoder.name, len(audio))


def _decode_in_order(decoder: Decoder, payloads: list[bytes]) -> tuple[PCM, list[int]]:
    """All payloads decoded one after the other, and where each one's samples begin (and end).

    G.711 and G.722 turn each byte into a fixed number of samples, and a decoder's state runs
    on from payload to payload anyway, so one call on the joined payloads gives the same
    samples as a call per payload; a codec that does not fit that is decoded payload by payload.
    """
    joined = b"".join(payloads)
    samples = decoder.decode(joined)
    per_byte, rest = divmod(len(samples), len(joined)) if joined else (0, 0)
    if rest:
        decoder.reset()
        chunks = [decoder.decode(payload) for payload in payloads]
        samples = np.concatenate(chunks) if chunks else samples
        sizes = [len(chunk) for chunk in chunks]
    else:
        sizes = [len(payload) * per_byte for payload in payloads]
    return samples, [0, *accumulate(sizes)]


def _overlay(out: PCM, rate: int, start: float, run: _DecodedRun) -> None:
    """Write a run over ``out``: silence over its whole span, then its samples."""
    first = max(round((run.begin - start) * rate), 0)
    last = min(round((run.end - start) * rate), len(out))
    if first >= last:
        return
    out[first:last] = 0
    if not run.sample_rate:
        return
    pcm = _resample(run.pcm, run.sample_rate, rate)
    at = round((run.begin - start) * rate)
    skip = max(-at, 0)
    piece = pcm[skip : skip + len(out) - max(at, 0)]
    out[max(at, 0) : max(at, 0) + len(piece)] = piece


def _resample(pcm: PCM, rate: int, target: int) -> PCM:
    """Linear interpolation to another rate: only for a window that mixes 8 and 16 kHz runs."""
    if rate == target or not len(pcm):
        return pcm
    positions = np.arange(round(len(pcm) * target / rate)) * (rate / target)
    return np.interp(positions, np.arange(len(pcm)), pcm).astype(np.int16)


def _tally(packets: list[_Stored]) -> tuple[int, int, Counter[str]]:
    """Speech packets, non-speech packets, and the packets of each undecodable codec's label."""
    speech = non_speech = 0
    unsupported: Counter[str] = Counter()
    for codec, count in Counter(p.codec for p in packets).items():  # by identity: one per type
        if codec.kind is PayloadKind.UNKNOWN:
            unsupported[codec.encoding] += count
        elif codec.kind is not PayloadKind.AUDIO:
            non_speech += count  # RFC 4733 events and comfort noise
        elif _decodable(codec.encoding, codec.clock_rate):
            speech += count
        else:
            unsupported[codec_label(codec.encoding, codec.clock_rate)] += count
    return speech, non_speech, unsupported


@functools.lru_cache(maxsize=64)
def _decodable(encoding: str, clock_rate: int) -> bool:
    return decoder_for(encoding, clock_rate) is not None


def _lost(packets: Iterable[_Stored]) -> int:
    """Sequence numbers missing inside each run's first..last packet of the window."""
    by_run: dict[int, set[int]] = {}
    for stored in packets:
        if stored.run is not None:
            by_run.setdefault(stored.run.index, set()).add(stored.seq)
    return sum(max(seqs) - min(seqs) + 1 - len(seqs) for seqs in by_run.values())


def _ssrc_changes(packets: Iterable[_Stored]) -> int:
    runs = sorted({p.run.index: p.run.ssrc for p in packets if p.run is not None}.items())
    return sum(a[1] != b[1] for a, b in zip(runs, runs[1:], strict=False))


def aligned_correlation(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> float:
    """Normalised cross-correlation of two same-rate signals at their best alignment.

    The lag is the peak of the FFT cross-correlation; the result is the Pearson correlation
    of the overlapping parts at that lag (1.0: identical up to gain and offset). Silence
    around either signal does not lower it; what is missing inside the overlap does.
    """
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if not len(x) or not len(y):
        return 0.0
    size = 1 << (len(x) + len(y) - 1).bit_length()
    spectrum = np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size))
    xcorr = np.fft.irfft(spectrum, size)  # xcorr[k] = sum x[n + k] * y[n], k < 0 wraps
    lag = int(np.argmax(xcorr))
    if lag >= len(x):
        lag -= size
    x_part = x[max(lag, 0) :]
    y_part = y[max(-lag, 0) :]
    overlap = min(len(x_part), len(y_part))
    x_part = x_part[:overlap] - x_part[:overlap].mean()
    y_part = y_part[:overlap] - y_part[:overlap].mean()
    norm = math.sqrt(float(np.dot(x_part, x_part)) * float(np.dot(y_part, y_part)))
    return float(np.dot(x_part, y_part)) / norm if norm else 0.0
