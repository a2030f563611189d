"""The tunnel headers a remote mirror port wraps traffic in: GRE, ERSPAN, VXLAN and MPLS.

Each function reads one header at ``offset`` in ``data`` and returns where its payload starts
and what the payload is (one of the ``NEXT_*`` codes below), so that
:class:`~etykieta.telephony.packets.PacketDecoder` can go on decoding the inner frame. A header
that is cut short or breaks its specification raises ValueError naming the field; a payload of
a kind this package does not decode (PPP, an MPLS pseudowire without a control word, ...) is
``NEXT_NONE``, not an error. IP-in-IP (IP protocols 4 and 41, RFC 2003 and RFC 4213 §3.5,
RFC 2473) needs no header of its own and is handled by the decoder.

Decoded:
- GRE (RFC 2784, RFC 2890): version 0, with or without checksum, key and sequence number;
  payloads IPv4, IPv6, transparent Ethernet bridging (0x6558, gretap) and MPLS (RFC 4023).
  The RFC 1701 routing field (R bit) is refused as malformed: RFC 2784 §2.1 removed it.
  Version 1 (PPTP's enhanced GRE, RFC 2637) carries PPP and is ``NEXT_NONE``.
- ERSPAN (draft-foschiano-erspan-03) over GRE: type I (protocol 0x88BE, no GRE sequence
  number, no ERSPAN header), type II (0x88BE with a sequence number, 8-byte header, version 1)
  and type III (0x22EB, 12-byte header, version 2, plus the 8-byte platform-specific
  subheader when its O bit is set; frame type 0 = Ethernet, 2 = IP).
- VXLAN (RFC 7348) on UDP port 4789: 8-byte header whose flags are the I flag alone, then
  Ethernet (the group-policy extension's other flags are not decoded).
- MPLS label stacks (RFC 3032) up to the bottom-of-stack entry; the payload is guessed from
  its first nibble as Wireshark does: 4 = IPv4, 6 = IPv6, 0 = a pseudowire control word
  (RFC 4385 §3) followed by Ethernet (RFC 4448). An Ethernet pseudowire without a control word
  cannot be told from IP reliably and is not decoded.
"""

from __future__ import annotations

import struct

# What follows a header (IP versions keep their number).
NEXT_NONE = 0
NEXT_ETHERNET = 1
NEXT_MPLS = 2
NEXT_IPV4 = 4
NEXT_IPV6 = 6

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_MPLS = frozenset({0x8847, 0x8848})  # unicast, multicast (RFC 5332)
ETHERTYPE_TEB = 0x6558  # transparent Ethernet bridging
ETHERTYPE_ERSPAN_II = 0x88BE  # types I and II
ETHERTYPE_ERSPAN_III = 0x22EB

IPPROTO_IPIP = 4
IPPROTO_IPV6 = 41
IPPROTO_GRE = 47
TUNNEL_PROTOCOLS = frozenset({IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_GRE})
VXLAN_UDP_PORT = 4789
MAX_TUNNEL_DEPTH = 4  # tunnel headers inside one frame; more is taken for garbage

GRE_HEADER_LENGTH = 4
GRE_CHECKSUM = 0x8000
GRE_ROUTING = 0x4000
GRE_KEY = 0x2000
GRE_SEQUENCE = 0x1000
GRE_VERSION = 0x0007
GRE_OPTIONAL_LENGTH = 4  # each of checksum+reserved, key, sequence number
ERSPAN_II_HEADER_LENGTH = 8
ERSPAN_III_HEADER_LENGTH = 12
ERSPAN_III_SUBHEADER_LENGTH = 8
ERSPAN_II_VERSION = 1
ERSPAN_III_VERSION = 2
ERSPAN_III_OPTIONAL = 0x0001  # O bit of the third word's low half
ERSPAN_FRAME_ETHERNET = 0
ERSPAN_FRAME_IP = 2
VXLAN_HEADER_LENGTH = 8
VXLAN_FLAGS = 0x08  # the I flag; RFC 7348 §5: the other seven bits are reserved, sent as zero
MPLS_ENTRY_LENGTH = 4
MPLS_BOTTOM_OF_STACK = 0x01  # the S bit, lowest bit of an entry's third byte
MAX_MPLS_LABELS = 16
MPLS_CONTROL_WORD_LENGTH = 4

_U16 = struct.Struct("!H")
_GRE = struct.Struct("!HH")

_ETHERTYPE_NEXT = {
    ETHERTYPE_IPV4: NEXT_IPV4,
    ETHERTYPE_IPV6: NEXT_IPV6,
    ETHERTYPE_TEB: NEXT_ETHERNET,
    **dict.fromkeys(ETHERTYPE_MPLS, NEXT_MPLS),
}
_NIBBLE_NEXT = {4: NEXT_IPV4, 6: NEXT_IPV6}


def ethertype_next(ethertype: int) -> int:
    """What an EtherType (as a GRE protocol type too, RFC 2784 §2.4) says follows."""
    return _ETHERTYPE_NEXT.get(ethertype, NEXT_NONE)


def gre(data: bytes, offset: int) -> tuple[int, int]:
    """Read a GRE header (RFC 2784 §2, keys and sequence numbers RFC 2890 §2) and ERSPAN.

    Returns (payload offset, ``NEXT_*``). Checksums are not verified (see ``packets``).
    """
    available = len(data) - offset
    if available < GRE_HEADER_LENGTH:
        raise ValueError(f"GRE header truncated: {available} < {GRE_HEADER_LENGTH} bytes")
    flags, protocol = _GRE.unpack_from(data, offset)
    if flags & GRE_VERSION:
        return offset, NEXT_NONE  # version 1: PPTP (RFC 2637) carries PPP
    if flags & GRE_ROUTING:
        raise ValueError("GRE routing present (RFC 1701 R bit, removed by RFC 2784)")
    length = GRE_HEADER_LENGTH + GRE_OPTIONAL_LENGTH * (
        bool(flags & GRE_CHECKSUM) + bool(flags & GRE_KEY) + bool(flags & GRE_SEQUENCE))
    if available < length:
        raise ValueError(f"GRE header with its options truncated: {available} < {length} bytes")
    offset += length
    if protocol == ETHERTYPE_ERSPAN_II:
        if not flags & GRE_SEQUENCE:  # type I: the mirrored frame follows at once
            return offset, NEXT_ETHERNET
        return erspan_ii(data, offset)
    if protocol == ETHERTYPE_ERSPAN_III:
        return erspan_iii(data, offset)
    return offset, ethertype_next(protocol)


def erspan_ii(data: bytes, offset: int) -> tuple[int, int]:
    """Read an ERSPAN type II header (draft-foschiano-erspan-03 §4.2): an Ethernet frame follows."""
    available = len(data) - offset
    if available < ERSPAN_II_HEADER_LENGTH:
        raise ValueError(
            f"ERSPAN type II header truncated: {available} < {ERSPAN_II_HEADER_LENGTH} bytes")
    version = data[offset] >> 4
    if version != ERSPAN_II_VERSION:
        raise ValueError(f"ERSPAN type II header has version {version}, not {ERSPAN_II_VERSION}")
    return offset + ERSPAN_II_HEADER_LENGTH, NEXT_ETHERNET


def erspan_iii(data: bytes, offset: int) -> tuple[int, int]:
    """Read an ERSPAN type III header (draft-foschiano-erspan-03 §4.3) and its subheader."""
    available = len(data) - offset
    if available < ERSPAN_III_HEADER_LENGTH:
        raise ValueError(
            f"ERSPAN type III header truncated: {available} < {ERSPAN_III_HEADER_LENGTH} bytes")
    version = data[offset] >> 4
    if version != ERSPAN_III_VERSION:
        raise ValueError(
            f"ERSPAN type III header has version {version}, not {ERSPAN_III_VERSION}")
    word = _U16.unpack_from(data, offset + 10)[0]  # P(1) FT(5) HW ID(6) D(1) Gra(2) O(1)
    length = ERSPAN_III_HEADER_LENGTH
    if word & ERSPAN_III_OPTIONAL:
        length += ERSPAN_III_SUBHEADER_LENGTH
        if available < length:
            raise ValueError(
                f"ERSPAN type III platform subheader truncated: {available} < {length} bytes")
    frame_type = (word >> 10) & 0x1F
    if frame_type == ERSPAN_FRAME_ETHERNET:
        return offset + length, NEXT_ETHERNET
    if frame_type == ERSPAN_FRAME_IP and available > length:
        return offset + length, _NIBBLE_NEXT.get(data[offset + length] >> 4, NEXT_NONE)
    return offset + length, NEXT_NONE


def vxlan(data: bytes, offset: int) -> tuple[int, int] | None:
    """Read a VXLAN header (RFC 7348 §5); None if the datagram is not VXLAN after all.

    Port 4789 is only a convention: a datagram whose first byte is not the VXLAN flags byte
    (RTP starts with 0x80-0xBF, SIP with a letter) is left as the UDP it is.
    """
    if len(data) - offset < VXLAN_HEADER_LENGTH or data[offset] != VXLAN_FLAGS:
        return None
    return offset + VXLAN_HEADER_LENGTH, NEXT_ETHERNET


def mpls(data: bytes, offset: int) -> tuple[int, int]:
    """Skip an MPLS label stack (RFC 3032 §2.1) and guess what it carries (see the module)."""
    for _ in range(MAX_MPLS_LABELS):
        if len(data) - offset < MPLS_ENTRY_LENGTH:
            raise ValueError(f"MPLS label stack truncated at byte {offset}")
        bottom = data[offset + 2] & MPLS_BOTTOM_OF_STACK
        offset += MPLS_ENTRY_LENGTH
        if bottom:
            break
    else:
        raise ValueError(f"MPLS label stack deeper than {MAX_MPLS_LABELS} entries")
    if len(data) <= offset:
        raise ValueError("MPLS payload is empty")
    nibble = data[offset] >> 4
    if nibble == 0:  # pseudowire control word (RFC 4385 §3), then the Ethernet frame
        if len(data) - offset < MPLS_CONTROL_WORD_LENGTH:
            raise ValueError("MPLS pseudowire control word truncated")
        return offset + MPLS_CONTROL_WORD_LENGTH, NEXT_ETHERNET
    return offset, _NIBBLE_NEXT.get(nibble, NEXT_NONE)
