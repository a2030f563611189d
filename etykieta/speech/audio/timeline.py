"""Where RTP packets sit in time: runs, their timelines, and the packets stored on them.

A *run* is the packets of one SSRC whose RTP timestamps share one origin (RFC 3550 §5.1); a
sender that restarts its sequence or re-bases its clock starts a new run (RFC 3550 A.1,
simplified in :func:`fit`). A run's timeline is anchored at an absolute time, so every packet's
audio has a start time however late or out of order it arrived. :class:`RtpStreamAssembler
<etykieta.speech.audio.assembler.RtpStreamAssembler>` builds runs and stores :data:`Entry` tuples;
:mod:`etykieta.speech.audio.render` reads them back.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from .rtp import (
    COMFORT_NOISE,
    RTP_VERSION,
    SEQUENCE_MODULUS,
    TIMESTAMP_MODULUS,
    PayloadKind,
    PayloadTypes,
    payload_kind,
)

MAX_MISORDER = 100  # RFC 3550 A.1: a packet this far behind is late or a restart
MAX_DROPOUT = 3000  # RFC 3550 A.1: a jump this far ahead is a restart unless confirmed
RESYNC_S = 1.0  # a timestamp this far from its arrival means the sender re-based its clock
COMFORT_NOISE_CLOCK_RATE = 8000  # RFC 3551 §6, static payload type 13

_SEQ_HALF = SEQUENCE_MODULUS // 2
_TS_HALF = TIMESTAMP_MODULUS // 2
# RFC 3550 §5.1: nearly every packet has no padding, extension or CSRCs, so its first octet is
# exactly the version and its header the fixed 12 octets; those skip RtpPacket.parse.
PLAIN_FIRST_BYTE = RTP_VERSION << 6
PLAIN_HEADER_TAIL = struct.Struct("!BHII")  # M+PT, sequence number, timestamp, SSRC


@dataclass(frozen=True, slots=True, eq=False)
class Codec:
    """What one payload type means for placing its packets, worked out once per type."""

    kind: PayloadKind
    encoding: str  # upper-cased; "PT n" when the payload type is unknown
    clock_rate: int  # 0 when unknown: such packets are placed by their arrival


def codec_of(payload_type: int, payload_types: PayloadTypes) -> Codec:
    """What ``payload_type`` means under the negotiated ``payload_types``."""
    kind = payload_kind(payload_type, payload_types)
    encoding, clock_rate = payload_types.get(
        payload_type, (COMFORT_NOISE, COMFORT_NOISE_CLOCK_RATE)
    )
    if kind is PayloadKind.UNKNOWN or clock_rate <= 0:
        return Codec(PayloadKind.UNKNOWN, f"PT {payload_type}", 0)
    return Codec(kind, encoding.upper(), clock_rate)


class Run:
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
        return (
            self.highest_seq + (seq - self.highest_seq + _SEQ_HALF) % SEQUENCE_MODULUS - _SEQ_HALF
        )

    def unwrap_ts(self, ts: int) -> int:
        """Extended timestamp nearest the highest seen (wrap-around at 2**32)."""
        return self.highest_ts + (ts - self.highest_ts + _TS_HALF) % TIMESTAMP_MODULUS - _TS_HALF

    def time_of(self, ext_ts: int) -> float:
        """Absolute time of an extended timestamp on this run's timeline."""
        return self.offset + (ext_ts - self.ts_origin) / self.clock_rate


class Fit(enum.Enum):
    """Where :func:`fit` puts a packet of an SSRC that already has a run."""

    SAME = "same"  # the packet continues the run
    NEW = "new"  # it starts a new run of the same SSRC
    DROP = "drop"  # too far off the sequence to place until another packet confirms the jump


def fit(run: Run, codec: Codec, seq: int, ext_seq: int, ext_ts: int, arrival: float) -> Fit:
    """Whether a packet of the run's SSRC belongs to that run (RFC 3550 A.1, simplified).

    A changed clock or codec, or a timestamp far from the arrival time, starts a new run at
    once; a sequence jump is believed only when the next packet follows it in sequence.
    """
    if run.clock_rate != codec.clock_rate:
        return Fit.NEW
    kind = codec.kind
    if kind is PayloadKind.AUDIO and run.encoding is not None and run.encoding != codec.encoding:
        return Fit.NEW
    # events carry their start timestamp, which may lag the arrival by the whole event
    if kind is not PayloadKind.TELEPHONE_EVENT and abs(run.time_of(ext_ts) - arrival) > RESYNC_S:
        return Fit.NEW
    if -MAX_MISORDER <= ext_seq - run.highest_seq <= MAX_DROPOUT:
        run.bad_seq = None
        return Fit.SAME
    if run.bad_seq == seq:
        return Fit.NEW  # two packets in sequence after the jump: the sender restarted
    run.bad_seq = (seq + 1) % SEQUENCE_MODULUS
    return Fit.DROP


# A stored packet as ``push`` leaves it: (run or None, extended sequence number, extended
# timestamp, arrival, codec, the datagram as it arrived, reordered). A plain tuple, because a
# call makes one per packet and the tail drops nearly all of them unread; its payload is only
# cut out of the datagram if a window is rendered over it.
Entry = tuple[Run | None, int, int, float, Codec, bytes, bool]


def time_of(entry: Entry) -> float:
    """Where a stored packet's audio starts: by its run's timeline, or by its arrival."""
    run = entry[0]
    return entry[3] if run is None else run.time_of(entry[2])
