"""What one input of a stream hands to the next: the calls still going on when it ended.

A capture host cuts one stream into files, and calls run across the cuts. At the end of an
input, ``ingest`` keeps what a continuation needs to follow the calls still open as if the
files had been one: the SIP of their legs (collected in a `Journal` while the input is read,
as the monitor does, and cut down to those legs at the end) and the datagrams their greeting
windows already hold (`MediaCollector.held_media`), re-sent as raw IP/UDP frames from the
address they came from. The next input of the stream replays that carry through a fresh
analyzer first, then goes on with its own packets; the frames of the carry that the input
holds again (a whole file ingested after a part of it) are skipped, so nothing is counted
twice.

The carry is stored in the database with the calls of the same input (``IngestStream``),
zlib-compressed, in a small format of its own: a header, then per packet its capture time
(float64, the exact value the analyzer saw), link type and bytes.
"""

from __future__ import annotations

import heapq
import socket
import struct
import zlib
from collections.abc import Iterable, Iterator

from ..speech.audio.collector import HeldDatagram
from ..telephony.packets import LINKTYPE_RAW, CapturedPacket, Transport
from ..telephony.pipeline import SipExtractor
from ..telephony.sip import SipMessage

MAGIC = b"ETYKIETA-CARRY\x01"
_RECORD = struct.Struct("<dHI")  # capture time, link type, length
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_UDP = struct.Struct("!HHHH")
IPV4_TTL = 64
IPPROTO_UDP = 17


def pack(packets: Iterable[CapturedPacket]) -> tuple[bytes, int]:
    """The carry as stored: compressed bytes, and how many packets it holds."""
    out = bytearray(MAGIC)
    count = 0
    for packet in packets:
        out += _RECORD.pack(packet.timestamp, packet.linktype, len(packet.data))
        out += packet.data
        count += 1
    return zlib.compress(bytes(out), 6), count


def unpack(blob: bytes) -> list[CapturedPacket]:
    """The packets of a stored carry, numbered from 1. Raises ValueError if it is damaged."""
    try:
        data = zlib.decompress(blob)
    except zlib.error as exc:
        raise ValueError(f"carry is not zlib data: {exc}") from exc
    if not data.startswith(MAGIC):
        raise ValueError("carry does not start with the carry header (another version?)")
    packets: list[CapturedPacket] = []
    offset = len(MAGIC)
    while offset < len(data):
        if offset + _RECORD.size > len(data):
            raise ValueError(f"carry ends inside a record header at byte {offset}")
        timestamp, linktype, length = _RECORD.unpack_from(data, offset)
        offset += _RECORD.size
        if offset + length > len(data):
            raise ValueError(f"carry ends inside packet {len(packets) + 1} at byte {offset}")
        packets.append(CapturedPacket(len(packets) + 1, timestamp, linktype,
                                      data[offset:offset + length]))
        offset += length
    return packets


def carried_sip(journaled: Iterable[CapturedPacket], call_ids: set[str],
                sip_ports: frozenset[int] | None) -> Iterator[CapturedPacket]:
    """The journaled signalling frames a continuation needs: those of the legs still held.

    A datagram whose every SIP message belongs to another Call-ID is left out; everything
    else is kept as it is — TCP segments (a message can span them, and one can hold the end of
    one message and the start of the next), IP fragments, and anything that cannot be read,
    which costs a little space and never a call.
    """
    extractor = SipExtractor(sip_ports=sip_ports)
    for frame in journaled:
        messages = extractor.receive(frame)
        if not messages or any(m.transport is not Transport.UDP for m in messages):
            yield frame
            continue
        for message in messages:
            try:
                call_id = SipMessage.parse(message.data).call_id
            except ValueError:
                yield frame
                break
            if call_id in call_ids:
                yield frame
                break


def media_frames(held: Iterable[HeldDatagram]) -> Iterator[CapturedPacket]:
    """The datagrams the greeting windows hold, as raw IP/UDP frames (link type RAW)."""
    for datagram in held:
        yield CapturedPacket(0, datagram.arrival, LINKTYPE_RAW,
                             udp_frame(datagram.source, datagram.destination, datagram.data))


def merge(sip: Iterable[CapturedPacket], media: Iterable[CapturedPacket]
          ) -> Iterator[CapturedPacket]:
    """One time-ordered carry; at the same instant SIP comes first (an answer before its RTP)."""
    tagged_sip = ((p.timestamp, 0, p) for p in sip)
    tagged_media = ((p.timestamp, 1, p) for p in media)
    for _, _, packet in heapq.merge(tagged_sip, tagged_media, key=lambda t: (t[0], t[1])):
        yield packet


def udp_frame(source: tuple[str, int], destination: tuple[str, int], payload: bytes) -> bytes:
    """A raw IPv4 or IPv6 packet carrying one UDP datagram (RFC 791/8200, RFC 768).

    Checksums are left zero: the capture side never verifies them (offload makes them
    garbage on the sending host anyway), and UDP over IPv4 allows a zero checksum.
    """
    udp = _UDP.pack(source[1], destination[1], _UDP.size + len(payload), 0) + payload
    if ":" in source[0] or ":" in destination[0]:
        return _IPV6.pack(6 << 28, len(udp), IPPROTO_UDP, IPV4_TTL,
                          socket.inet_pton(socket.AF_INET6, source[0]),
                          socket.inet_pton(socket.AF_INET6, destination[0])) + udp
    return _IPV4.pack(0x45, 0, 20 + len(udp), 0, 0x4000, IPV4_TTL, IPPROTO_UDP, 0,
                      socket.inet_aton(source[0]), socket.inet_aton(destination[0])) + udp
