"""Stored RTP packets of one direction turned into the 16-bit PCM of a window of time.

Each run is decoded on its own, in timestamp order, onto its own sample grid; the runs are then
laid over the window in the order they began, so where two overlap the later one wins, and a gap
is silence of exactly the missing length. A window that mixes 8 and 16 kHz runs comes out at the
rate of the run with the most audio packets near it.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from .codecs import PCM, Decoder, codec_label, decoder_for
from .rtp import RTP_HEADER_LENGTH, PayloadKind, RtpPacket
from .timeline import PLAIN_FIRST_BYTE, Codec, Entry, Run, time_of

WARMUP_S = 0.2  # packets decoded before a window: the ADPCM state settles, the first overlaps
DEFAULT_SAMPLE_RATE = 8000


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


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to make
class _Stored:
    """A stored packet that a render reads, its place on the timeline worked out once."""

    run: Run | None  # None: unknown payload type, placed by arrival
    seq: int  # extended
    ts: int  # extended
    arrival: float
    codec: Codec
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
        if self.datagram[0] == PLAIN_FIRST_BYTE:
            return self.datagram[RTP_HEADER_LENGTH:]
        return RtpPacket.parse(self.datagram).payload


def render_window(entries: Iterable[Entry], start: float, duration: float) -> RenderedAudio:
    """What the stored ``entries`` sound like over ``[start, start + duration)``."""
    if not (math.isfinite(start) and math.isfinite(duration) and duration >= 0):
        raise ValueError(f"bad window: start {start}, duration {duration}")
    end = start + duration
    first = start - WARMUP_S
    nearby = [_Stored(*entry, at) for entry in entries if first <= (at := time_of(entry)) < end]
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
