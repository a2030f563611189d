"""RTP packets (RFC 3550 §5.1) and what their payload types mean for the greeting check.

:meth:`RtpPacket.parse` reads the fixed header, the CSRC list, a header extension (§5.3.1, kept
but not interpreted) and padding (removed from the payload). Each length problem raises a
:class:`ValueError` with its own message. :func:`is_rtcp` tells RTCP apart from RTP on a port
that carries both (RFC 5761 §4). RFC 4733 telephone events and RFC 3389 comfort noise are
recognised by :func:`payload_kind` as non-speech.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass

RTP_VERSION = 2
RTP_HEADER_LENGTH = 12
CSRC_LENGTH = 4
MAX_CSRC_COUNT = 15
EXTENSION_HEADER_LENGTH = 4  # profile-defined 16 bits + length in 32-bit words (§5.3.1)
MAX_PAYLOAD_TYPE = 127
SEQUENCE_MODULUS = 1 << 16
TIMESTAMP_MODULUS = 1 << 32

# RFC 5761 §4: on a multiplexed port, a second byte of 192..223 is an RTCP packet type
# (SR 200, RR 201, SDES 202, BYE 203, APP 204, RTPFB 205, PSFB 206, XR 207 ...).
RTCP_PACKET_TYPE_FIRST = 192
RTCP_PACKET_TYPE_LAST = 223

COMFORT_NOISE_PAYLOAD_TYPE = 13  # RFC 3551 §6 static assignment of CN (RFC 3389)
COMFORT_NOISE = "CN"
TELEPHONE_EVENT = "TELEPHONE-EVENT"  # RFC 4733 §7.1.1; SDP encoding names are upper-cased
TELEPHONE_EVENT_LENGTH = 4

_HEADER = struct.Struct("!BBHII")
_EXTENSION = struct.Struct("!HH")
_TELEPHONE_EVENT = struct.Struct("!BBH")

PayloadTypes = Mapping[int, tuple[str, int]]  # payload type -> (encoding name, RTP clock rate)


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP data packet (RFC 3550 §5.1) with its padding removed from ``payload``."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension_profile: int | None = None  # None: no header extension (X bit clear)
    extension: bytes = b""
    padding_size: int = 0  # octets of padding that followed the payload on the wire

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse an RTP packet; ValueError names the field that does not fit."""
        if len(data) < RTP_HEADER_LENGTH:
            raise ValueError(
                f"RTP packet is {len(data)} bytes, shorter than the {RTP_HEADER_LENGTH}-byte header"
            )
        first, second, sequence_number, timestamp, ssrc = _HEADER.unpack_from(data)
        version = first >> 6
        if version != RTP_VERSION:
            raise ValueError(f"RTP version is {version}, not {RTP_VERSION}")
        has_padding = bool(first & 0x20)
        has_extension = bool(first & 0x10)
        csrc_count = first & 0x0F
        offset = RTP_HEADER_LENGTH + csrc_count * CSRC_LENGTH
        if len(data) < offset:
            raise ValueError(
                f"RTP packet is {len(data)} bytes, too short for its {csrc_count} CSRC "
                f"identifiers ({offset} bytes)"
            )
        csrc = struct.unpack_from(f"!{csrc_count}I", data, RTP_HEADER_LENGTH)
        extension_profile: int | None = None
        extension = b""
        if has_extension:
            if len(data) < offset + EXTENSION_HEADER_LENGTH:
                raise ValueError(
                    f"RTP packet is {len(data)} bytes, too short for its header extension "
                    f"header at offset {offset}"
                )
            extension_profile, words = _EXTENSION.unpack_from(data, offset)
            offset += EXTENSION_HEADER_LENGTH
            end = offset + words * 4
            if len(data) < end:
                raise ValueError(
                    f"RTP header extension of {words} words needs {end} bytes, "
                    f"the packet has {len(data)}"
                )
            extension = data[offset:end]
            offset = end
        payload_end = len(data)
        padding_size = 0
        if has_padding:
            # §5.1: the last octet counts the padding octets, itself included, so 0 is invalid
            padding_size = data[-1]
            if padding_size == 0:
                raise ValueError("RTP padding length is 0; it must count at least itself")
            if padding_size > len(data) - offset:
                raise ValueError(
                    f"RTP padding of {padding_size} bytes is longer than the "
                    f"{len(data) - offset} bytes after the header"
                )
            payload_end -= padding_size
        return cls(
            payload_type=second & 0x7F,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:payload_end]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension_profile=extension_profile,
            extension=bytes(extension),
            padding_size=padding_size,
        )

    def __bytes__(self) -> bytes:
        """Serialise the packet (padding octets are zeros followed by the count)."""
        if len(self.csrc) > MAX_CSRC_COUNT:
            raise ValueError(f"RTP packet has {len(self.csrc)} CSRCs, at most 15 fit")
        if len(self.extension) % 4:
            raise ValueError("RTP header extension must be a whole number of 32-bit words")
        first = (
            RTP_VERSION << 6
            | (0x20 if self.padding_size else 0)
            | (0x10 if self.extension_profile is not None else 0)
            | len(self.csrc)
        )
        second = (0x80 if self.marker else 0) | self.payload_type
        parts = [
            _HEADER.pack(first, second, self.sequence_number, self.timestamp, self.ssrc),
            struct.pack(f"!{len(self.csrc)}I", *self.csrc),
        ]
        if self.extension_profile is not None:
            parts.append(_EXTENSION.pack(self.extension_profile, len(self.extension) // 4))
            parts.append(self.extension)
        parts.append(self.payload)
        if self.padding_size:
            parts.append(bytes(self.padding_size - 1) + bytes([self.padding_size]))
        return b"".join(parts)


def is_rtcp(data: bytes) -> bool:
    """Whether a datagram on an RTP port is RTCP (RFC 5761 §4: second byte 192..223)."""
    return len(data) >= 2 and RTCP_PACKET_TYPE_FIRST <= data[1] <= RTCP_PACKET_TYPE_LAST


class PayloadKind(enum.Enum):
    """What a payload type carries, as far as the greeting check is concerned."""

    AUDIO = "audio"  # a codec's audio frames (decodable or not)
    TELEPHONE_EVENT = "telephone_event"  # RFC 4733 DTMF and tones: non-speech
    COMFORT_NOISE = "comfort_noise"  # RFC 3389 CN: the sender is silent
    UNKNOWN = "unknown"  # not negotiated in SDP and not static


def payload_kind(payload_type: int, payload_types: PayloadTypes) -> PayloadKind:
    """Classify ``payload_type`` by the negotiated map (from ``a=rtpmap``).

    Telephone events have a dynamic payload type, so only the map can tell (RFC 4733 §7.1.1);
    comfort noise is recognised both by its name and by its static type 13 (RFC 3389 §5).
    """
    entry = payload_types.get(payload_type)
    if entry is None:
        if payload_type == COMFORT_NOISE_PAYLOAD_TYPE:
            return PayloadKind.COMFORT_NOISE
        return PayloadKind.UNKNOWN
    name = entry[0].upper()
    if name == TELEPHONE_EVENT:
        return PayloadKind.TELEPHONE_EVENT
    if name == COMFORT_NOISE:
        return PayloadKind.COMFORT_NOISE
    return PayloadKind.AUDIO


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """An RFC 4733 §2.3 named-event payload: a DTMF digit or tone and how long it has lasted."""

    event: int  # 0-9 digits, 10 '*', 11 '#', 12-15 A-D (RFC 4733 §3.2)
    end: bool
    volume: int  # dBm0 below 0, 0..63
    duration: int  # in RTP timestamp units, from the packet's timestamp

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        """Parse the first event block of a telephone-event payload."""
        if len(payload) < TELEPHONE_EVENT_LENGTH:
            raise ValueError(
                f"telephone-event payload is {len(payload)} bytes, shorter than "
                f"{TELEPHONE_EVENT_LENGTH}"
            )
        event, flags, duration = _TELEPHONE_EVENT.unpack_from(payload)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        """Serialise the event block (the reserved bit is zero)."""
        return _TELEPHONE_EVENT.pack(
            self.event, (0x80 if self.end else 0) | self.volume, self.duration
        )
