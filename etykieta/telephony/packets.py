"""Captured frames and their decoding from the link layer up to UDP datagrams and TCP segments.

The boundary between capture adapters and the sans-I/O core: an adapter yields
:class:`CapturedPacket`, and :class:`PacketDecoder` turns each one into a :class:`Datagram`, a
:class:`TcpSegment` or ``None`` (not IP, or an IP protocol other than UDP and TCP). Traffic
that a remote mirror port delivers inside a tunnel (IP-in-IP, GRE, ERSPAN, VXLAN, MPLS: see
:mod:`.tunnels`) is decoded down to the frame inside, whose addresses are what the result
carries. Malformed headers raise :class:`ValueError` with a message naming the field (and the
tunnel it was in); checksums are not verified, since a capture taken on the sending host
carries checksum-offload garbage.
"""

from __future__ import annotations

import enum
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from .fragments import FragmentReassembler
from .tunnels import (
    IPPROTO_GRE,
    IPPROTO_IPIP,
    MAX_TUNNEL_DEPTH,
    NEXT_ETHERNET,
    NEXT_IPV4,
    NEXT_IPV6,
    NEXT_MPLS,
    TUNNEL_PROTOCOLS,
    VXLAN_UDP_PORT,
    ethertype_next,
    gre,
    mpls,
    vxlan,
)

# pcap LINKTYPE_* values (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0  # BSD loopback
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108  # OpenBSD loopback
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
VLAN_ETHERTYPES = frozenset({0x8100, 0x88A8, 0x9100})  # 802.1Q, 802.1ad, pre-standard QinQ
ETHERNET_HEADER_LENGTH = 14
VLAN_TAG_LENGTH = 4
SLL_HEADER_LENGTH = 16
SLL2_HEADER_LENGTH = 20
NULL_HEADER_LENGTH = 4
AF_INET_BSD = 2
AF_INET6_BSD = frozenset({24, 28, 30})  # NetBSD/OpenBSD, FreeBSD, Darwin

IPV4_HEADER_LENGTH = 20
IPV6_HEADER_LENGTH = 40
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_SCTP = 132
IPV6_EXTENSION_HEADERS = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options
IPV6_FRAGMENT = 44
IPV6_NO_NEXT_HEADER = 59
UDP_HEADER_LENGTH = 8
TCP_HEADER_LENGTH = 20

ENDPOINT_CACHE_SIZE = 65536

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U32_LE = struct.Struct("<I")
_IPV4 = struct.Struct("!BxHHHxB2x4s4s")
_IPV6 = struct.Struct("!4xHBx16s16s")
_UDP = struct.Struct("!HHH")
_TCP = struct.Struct("!HHI4xBB")
_IPV6_FRAGMENT = struct.Struct("!BxHI")

@dataclass(frozen=True, slots=True)
class CapturedPacket:
    """One frame as a capture adapter saw it: its number, time and link-layer bytes."""

    number: int  # 1-based position in the source (frame number in Wireshark)
    timestamp: float  # seconds since the Unix epoch, UTC
    linktype: int  # a LINKTYPE_* value
    data: bytes


class Transport(enum.Enum):
    """The transport protocol a SIP message or a stream travelled on."""

    UDP = "UDP"
    TCP = "TCP"


class TcpFlags(enum.IntFlag):
    """The TCP control bits this project acts on (RFC 9293 §3.1)."""

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An IP address in its compact text form ("127.0.0.1", "::1") and a port."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


# (first payload byte or -1, source port, destination port) -> decode this datagram?
UdpFilter = Callable[[int, int, int], bool]


@dataclass(frozen=True, slots=True)
class Datagram:
    """A UDP datagram (RFC 768), reassembled if it arrived in IP fragments."""

    number: int
    timestamp: float
    src: Endpoint
    dst: Endpoint
    payload: bytes


@dataclass(frozen=True, slots=True)
class TcpSegment:
    """A TCP segment (RFC 9293 §3.1): what stream reassembly needs and nothing more."""

    number: int
    timestamp: float
    src: Endpoint
    dst: Endpoint
    seq: int
    flags: TcpFlags
    payload: bytes


@dataclass(slots=True)
class DecoderStats:
    """What :class:`PacketDecoder` saw, besides the packets it raised on."""

    decoded: int = 0  # returned a Datagram or a TcpSegment
    non_ip: int = 0  # ARP, LLDP, ... (also inside a tunnel) and link types this decoder lacks
    other_protocol: int = 0  # IP, but neither UDP, TCP, SCTP nor a tunnel (ICMP, ESP, ...)
    sctp: int = 0  # SCTP packets (RFC 9260): SIP over SCTP is not decoded
    fragments: int = 0  # IP fragments taken in (each one is held until its set completes)
    filtered: int = 0  # UDP datagrams the udp_filter turned away before they were built
    tunnelled: int = 0  # frames that carried a tunnel header (decoded inside, or raised)


class PacketDecoder:
    """Decodes captured frames down to UDP datagrams and TCP segments.

    Stateful only for IP fragment reassembly, whose clock is the packets' timestamps.
    """

    def __init__(self, reassembler: FragmentReassembler | None = None, *,
                 udp_filter: UdpFilter | None = None) -> None:
        self.reassembler = reassembler if reassembler is not None else FragmentReassembler()
        # Most UDP next to a PBX is RTP nobody asked for: a filter that sees the first payload
        # byte and the ports lets the decoder skip building a Datagram for it.
        self.udp_filter = udp_filter
        self.stats = DecoderStats()
        self._addresses: dict[bytes, str] = {}
        self._endpoints: dict[tuple[bytes, int], Endpoint] = {}
        self._depth = 0  # tunnel headers around the part of the frame being decoded

    def decode(self, pkt: CapturedPacket) -> Datagram | TcpSegment | None:
        """Decode one frame; ``None`` if it carries no UDP or TCP (or only a fragment so far).

        Raises :class:`ValueError` naming the header that is malformed or truncated.
        """
        if self.reassembler.pending:
            self.reassembler.expire(pkt.timestamp)
        data = pkt.data
        offset, version = _link_layer(pkt.linktype, data)
        if version == 4:
            result = self._ipv4(pkt, data, offset)
        elif version == 6:
            result = self._ipv6(pkt, data, offset)
        elif version == NEXT_MPLS:
            result = self._mpls(pkt, data, offset)
        else:
            self.stats.non_ip += 1
            return None
        if result is not None:
            self.stats.decoded += 1
        return result

    def _ipv4(self, pkt: CapturedPacket, data: bytes, offset: int) -> Datagram | TcpSegment | None:
        """Decode an IPv4 header (RFC 791 §3.1) and what it carries."""
        available = len(data) - offset
        if available < IPV4_HEADER_LENGTH:
            raise ValueError(f"IPv4 header truncated: {available} < {IPV4_HEADER_LENGTH} bytes")
        first, total, ident, frag, proto, src, dst = _IPV4.unpack_from(data, offset)
        if first >> 4 != 4:
            raise ValueError(f"IPv4 version field is {first >> 4}")
        header_length = (first & 0x0F) * 4
        if header_length < IPV4_HEADER_LENGTH:
            raise ValueError(f"IPv4 header length {header_length} < {IPV4_HEADER_LENGTH}")
        if total == 0:  # TCP segmentation offload on the capturing host: length not filled in
            total = available
        if total < header_length:
            raise ValueError(f"IPv4 total length {total} < header length {header_length}")
        if total > available:
            raise ValueError(f"IPv4 total length {total} exceeds the {available} bytes captured")
        payload = data[offset + header_length : offset + total]
        if frag & 0x3FFF:  # MF set or a non-zero fragment offset
            self.stats.fragments += 1
            key = (src, dst, ident, proto)
            whole = self.reassembler.add(key, (frag & 0x1FFF) * 8, bool(frag & 0x2000), payload,
                                         pkt.timestamp)
            if whole is None:
                return None
            payload = whole
        return self._transport(pkt, proto, src, dst, payload)

    def _ipv6(self, pkt: CapturedPacket, data: bytes, offset: int) -> Datagram | TcpSegment | None:
        """Decode an IPv6 header and its extension headers (RFC 8200 §3, §4)."""
        available = len(data) - offset
        if available < IPV6_HEADER_LENGTH:
            raise ValueError(f"IPv6 header truncated: {available} < {IPV6_HEADER_LENGTH} bytes")
        if data[offset] >> 4 != 6:
            raise ValueError(f"IPv6 version field is {data[offset] >> 4}")
        length, proto, src, dst = _IPV6.unpack_from(data, offset)
        if length == 0:  # a jumbogram (RFC 2675), or segmentation offload
            length = available - IPV6_HEADER_LENGTH
        if IPV6_HEADER_LENGTH + length > available:
            raise ValueError(
                f"IPv6 payload length {length} exceeds the "
                f"{available - IPV6_HEADER_LENGTH} bytes captured"
            )
        payload = data[offset + IPV6_HEADER_LENGTH : offset + IPV6_HEADER_LENGTH + length]
        while proto in IPV6_EXTENSION_HEADERS:
            if len(payload) < 8:
                raise ValueError(f"IPv6 extension header {proto} truncated")
            skip = (payload[1] + 1) * 8
            if skip > len(payload):
                raise ValueError(f"IPv6 extension header {proto} length {skip} exceeds packet")
            proto, payload = payload[0], payload[skip:]
        if proto == IPV6_FRAGMENT:
            if len(payload) < 8:
                raise ValueError("IPv6 fragment header truncated")
            proto, frag, ident = _IPV6_FRAGMENT.unpack_from(payload)
            self.stats.fragments += 1
            whole = self.reassembler.add(
                (src, dst, ident, proto), frag & 0xFFF8, bool(frag & 1), payload[8:], pkt.timestamp
            )
            if whole is None:
                return None
            payload = whole
        return self._transport(pkt, proto, src, dst, payload)

    def _transport(
        self, pkt: CapturedPacket, proto: int, src: bytes, dst: bytes, payload: bytes
    ) -> Datagram | TcpSegment | None:
        """Decode a UDP (RFC 768) or TCP (RFC 9293 §3.1) header, or a tunnel's."""
        if proto == IPPROTO_UDP:
            if len(payload) < UDP_HEADER_LENGTH:
                raise ValueError(f"UDP header truncated: {len(payload)} < {UDP_HEADER_LENGTH}")
            sport, dport, length = _UDP.unpack_from(payload)
            if length == 0:  # IPv6 jumbogram (RFC 2675 §4)
                length = len(payload)
            if length < UDP_HEADER_LENGTH:
                raise ValueError(f"UDP length {length} < {UDP_HEADER_LENGTH}")
            if length > len(payload):
                raise ValueError(f"UDP length {length} exceeds IP payload of {len(payload)}")
            udp_filter = self.udp_filter
            if udp_filter is not None:
                first = payload[UDP_HEADER_LENGTH] if length > UDP_HEADER_LENGTH else -1
                if not udp_filter(first, sport, dport):
                    self.stats.filtered += 1
                    return None
            if dport == VXLAN_UDP_PORT:
                inner = vxlan(payload, UDP_HEADER_LENGTH)
                if inner is not None:
                    return self._inner(pkt, "VXLAN", payload[:length], *inner)
            return Datagram(pkt.number, pkt.timestamp, self._endpoint(src, sport),
                            self._endpoint(dst, dport), payload[UDP_HEADER_LENGTH:length])
        if proto == IPPROTO_TCP:
            if len(payload) < TCP_HEADER_LENGTH:
                raise ValueError(f"TCP header truncated: {len(payload)} < {TCP_HEADER_LENGTH}")
            sport, dport, seq, data_offset, flags = _TCP.unpack_from(payload)
            header_length = (data_offset >> 4) * 4
            if header_length < TCP_HEADER_LENGTH:
                raise ValueError(f"TCP header length {header_length} < {TCP_HEADER_LENGTH}")
            if header_length > len(payload):
                raise ValueError(f"TCP header length {header_length} exceeds segment of "
                                 f"{len(payload)}")
            return TcpSegment(pkt.number, pkt.timestamp, self._endpoint(src, sport),
                              self._endpoint(dst, dport), seq, TcpFlags(flags & 0x1F),
                              payload[header_length:])
        if proto in TUNNEL_PROTOCOLS:
            if proto == IPPROTO_GRE:
                return self._inner(pkt, "GRE", payload, *gre(payload, 0))
            return self._inner(pkt, "IP-in-IP", payload, 0,
                               NEXT_IPV4 if proto == IPPROTO_IPIP else NEXT_IPV6)
        if proto == IPPROTO_SCTP:
            self.stats.sctp += 1
        else:
            self.stats.other_protocol += 1
        return None

    def _inner(self, pkt: CapturedPacket, tunnel: str, data: bytes, offset: int,
               kind: int) -> Datagram | TcpSegment | None:
        """Decode the frame a tunnel header carries: ``kind`` (``NEXT_*``) at ``offset``.

        Errors inside are prefixed with the tunnel ("in GRE: IPv4 header truncated ...");
        more than ``MAX_TUNNEL_DEPTH`` tunnels in one frame are taken for garbage. The depth
        is kept on the decoder, not passed down, so that untunnelled frames pay nothing for it.
        """
        if self._depth >= MAX_TUNNEL_DEPTH:
            raise ValueError(f"more than {MAX_TUNNEL_DEPTH} tunnel headers nested")
        self._depth += 1
        if self._depth == 1:
            self.stats.tunnelled += 1
        try:
            if kind == NEXT_ETHERNET:  # a copy, so that _link_layer's hot path needs no offset
                data = data[offset:]
                offset, kind = _link_layer(LINKTYPE_ETHERNET, data)
            if kind == NEXT_IPV4:
                return self._ipv4(pkt, data, offset)
            if kind == NEXT_IPV6:
                return self._ipv6(pkt, data, offset)
            if kind == NEXT_MPLS:
                return self._mpls(pkt, data, offset)
        except ValueError as exc:
            raise ValueError(f"in {tunnel}: {exc}") from None
        finally:
            self._depth -= 1
        self.stats.non_ip += 1
        return None

    def _mpls(self, pkt: CapturedPacket, data: bytes, offset: int) -> Datagram | TcpSegment | None:
        """Decode what an MPLS label stack (RFC 3032) carries."""
        return self._inner(pkt, "MPLS", data, *mpls(data, offset))

    def _endpoint(self, address: bytes, port: int) -> Endpoint:
        """Return the cached Endpoint for a packed address and port (both caches are bounded)."""
        key = (address, port)
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            ip = self._addresses.get(address)
            if ip is None:
                if len(self._addresses) >= ENDPOINT_CACHE_SIZE:
                    self._addresses.clear()
                family = socket.AF_INET if len(address) == 4 else socket.AF_INET6
                ip = self._addresses[address] = socket.inet_ntop(family, address)
            if len(self._endpoints) >= ENDPOINT_CACHE_SIZE:
                self._endpoints.clear()
            endpoint = self._endpoints[key] = Endpoint(ip, port)
        return endpoint


def _link_layer(linktype: int, data: bytes) -> tuple[int, int]:
    """Return (offset of the payload, what it is): 4 or 6 for IP, ``NEXT_MPLS``, or 0.

    Frame formats: Ethernet II with any stack of IEEE 802.1Q/802.1ad tags, Linux cooked capture
    v1 and v2, raw IP and BSD loopback, as described at https://www.tcpdump.org/linktypes.html.
    """
    if linktype == LINKTYPE_ETHERNET:
        offset = ETHERNET_HEADER_LENGTH
        if len(data) < offset:
            raise ValueError(f"Ethernet header truncated: {len(data)} < {offset} bytes")
        ethertype = (data[12] << 8) | data[13]
        while ethertype in VLAN_ETHERTYPES:
            offset += VLAN_TAG_LENGTH
            if len(data) < offset:
                raise ValueError(f"802.1Q VLAN tag truncated at byte {offset - VLAN_TAG_LENGTH}")
            ethertype = (data[offset - 2] << 8) | data[offset - 1]
        return offset, _ethertype_version(ethertype)
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < SLL_HEADER_LENGTH:
            raise ValueError(f"Linux SLL header truncated: {len(data)} < {SLL_HEADER_LENGTH} bytes")
        return SLL_HEADER_LENGTH, _ethertype_version(_U16.unpack_from(data, 14)[0])
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < SLL2_HEADER_LENGTH:
            raise ValueError(
                f"Linux SLL2 header truncated: {len(data)} < {SLL2_HEADER_LENGTH} bytes"
            )
        return SLL2_HEADER_LENGTH, _ethertype_version(_U16.unpack_from(data)[0])
    if linktype == LINKTYPE_RAW:
        if not data:
            raise ValueError("raw IP frame is empty")
        version = data[0] >> 4
        return 0, version if version in (4, 6) else 0
    if linktype == LINKTYPE_IPV4:
        return 0, 4
    if linktype == LINKTYPE_IPV6:
        return 0, 6
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(data) < NULL_HEADER_LENGTH:
            raise ValueError(f"loopback header truncated: {len(data)} < {NULL_HEADER_LENGTH} bytes")
        if linktype == LINKTYPE_LOOP:
            family = _U32.unpack_from(data)[0]
        else:  # host byte order of the capturing machine, which the file does not record
            family = _U32_LE.unpack_from(data)[0]
            if family > 0xFFFF:
                family = _U32.unpack_from(data)[0]
        if family == AF_INET_BSD:
            return NULL_HEADER_LENGTH, 4
        return NULL_HEADER_LENGTH, 6 if family in AF_INET6_BSD else 0
    return 0, 0


def _ethertype_version(ethertype: int) -> int:
    if ethertype == ETHERTYPE_IPV4:
        return 4
    return 6 if ethertype == ETHERTYPE_IPV6 else ethertype_next(ethertype)
