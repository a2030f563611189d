"""Wrap the frames of a real capture in tunnel headers, as a remote mirror port delivers them.

This kernel has no ipip, sit, ip6tnl, gre, gretap, erspan or MPLS support (``ip link add``
answers "Unknown device type", there is no modprobe and no tc), so those captures are made
the way the VLAN capture is: a real call is recorded on a real link, and every frame is then
put inside the headers the tunnel would have added, byte for byte as the RFCs lay them out.
The outer addresses are documentation ones (RFC 5737 192.0.2.0/24, RFC 3849 2001:db8::/32):
a mirror source 192.0.2.10 / 2001:db8::10 sending to a collector 192.0.2.20 / 2001:db8::20.

Every function takes the captured frame (an Ethernet frame; ``ip_packet`` strips the
Ethernet header for layer-3 tunnels) and returns the new one. ``rewrite`` applies one to a
whole pcap file. The header layouts:

- IPv4 (RFC 791 §3.1, checksum filled in), IPv6 (RFC 8200 §3)
- GRE (RFC 2784 §2, key and sequence number RFC 2890 §2; checksum over header and payload)
- ERSPAN type II and III (draft-foschiano-erspan-03 §4.2, §4.3), type I = GRE 0x88BE bare
- MPLS label stack entries (RFC 3032 §2.1), pseudowire control word (RFC 4385 §3)
- 802.1ad S-tag 0x88A8 before an 802.1Q C-tag 0x8100 (IEEE 802.1Q-2018 §9)
- SCTP common header and DATA chunk (RFC 9260 §3, §3.3.1; CRC32c not computed, zero)
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path

PCAP_HEADER = struct.Struct("<IHHiIII")
PCAP_RECORD = struct.Struct("<IIII")
PCAP_MAGIC_US = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_TEB = 0x6558
ETHERTYPE_ERSPAN_II = 0x88BE
ETHERTYPE_ERSPAN_III = 0x22EB
ETHERTYPE_MPLS = 0x8847
ETHERTYPE_8021AD = 0x88A8
ETHERTYPE_8021Q = 0x8100
IPPROTO_IPIP = 4
IPPROTO_IPV6 = 41
IPPROTO_GRE = 47
IPPROTO_SCTP = 132
IPPROTO_UDP = 17

MIRROR_MAC = bytes.fromhex("020000000a10")   # locally administered (IEEE 802 §8.4)
COLLECTOR_MAC = bytes.fromhex("020000000a20")
MIRROR_IPV4, COLLECTOR_IPV4 = bytes([192, 0, 2, 10]), bytes([192, 0, 2, 20])
MIRROR_IPV6 = bytes.fromhex("20010db8000000000000000000000010")
COLLECTOR_IPV6 = bytes.fromhex("20010db8000000000000000000000020")
ETHERNET_HEADER_LENGTH = 14

Frame = bytes
Wrapper = Callable[[Frame, int], Frame | None]   # (frame, its index) -> new frame or None (drop)


def read_pcap(path: Path) -> tuple[bytes, list[tuple[int, int, bytes]]]:
    """The file header and (seconds, microseconds, frame) of a little-endian µs pcap."""
    data = path.read_bytes()
    magic, _major, _minor, _zone, _sigfigs, _snaplen, linktype = PCAP_HEADER.unpack_from(data)
    if magic != PCAP_MAGIC_US or linktype != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: need a little-endian microsecond pcap of Ethernet frames")
    records = []
    offset = PCAP_HEADER.size
    while offset < len(data):
        seconds, micros, caplen, _length = PCAP_RECORD.unpack_from(data, offset)
        start = offset + PCAP_RECORD.size
        records.append((seconds, micros, data[start : start + caplen]))
        offset = start + caplen
    return data[: PCAP_HEADER.size], records


def rewrite(source: Path, target: Path, wrap: Wrapper) -> int:
    """Write ``target`` with ``wrap`` applied to every frame of ``source``; return the count."""
    header, records = read_pcap(source)
    out = bytearray(header)
    written = 0
    for index, (seconds, micros, frame) in enumerate(records):
        new = wrap(frame, index)
        if new is None:
            continue
        out += PCAP_RECORD.pack(seconds, micros, len(new), len(new)) + new
        written += 1
    target.write_bytes(bytes(out))
    return written


def frames(path: Path) -> Iterator[Frame]:
    """The frames of a pcap file, in order."""
    for _seconds, _micros, frame in read_pcap(path)[1]:
        yield frame


# --------------------------------------------------------------------- headers


def ethernet(payload: bytes, ethertype: int) -> Frame:
    """An Ethernet II frame from the mirror source to the collector."""
    return COLLECTOR_MAC + MIRROR_MAC + struct.pack("!H", ethertype) + payload


def ethertype_of(frame: Frame) -> int:
    return int(struct.unpack_from("!H", frame, 12)[0])


def ip_packet(frame: Frame) -> bytes | None:
    """The IP packet inside an untagged Ethernet frame; None for ARP and the like."""
    if ethertype_of(frame) not in (ETHERTYPE_IPV4, ETHERTYPE_IPV6):
        return None
    return frame[ETHERNET_HEADER_LENGTH:]


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(payload: bytes, proto: int, ident: int, src: bytes = MIRROR_IPV4,
         dst: bytes = COLLECTOR_IPV4) -> bytes:
    """An IPv4 header (RFC 791 §3.1), by default from the mirror source to the collector."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000,
                         64, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def ipv6(payload: bytes, next_header: int) -> bytes:
    """An IPv6 header (RFC 8200 §3) from the mirror source to the collector."""
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, 64, MIRROR_IPV6,
                       COLLECTOR_IPV6) + payload


def gre(payload: bytes, protocol: int, *, key: int | None = None, seq: int | None = None,
        with_checksum: bool = False) -> bytes:
    """A GRE header (RFC 2784 §2.1, RFC 2890 §2) and its payload."""
    flags = (0x8000 if with_checksum else 0) | (0x2000 if key is not None else 0) | (
        0x1000 if seq is not None else 0)
    options = b""
    if key is not None:
        options += struct.pack("!I", key)
    if seq is not None:
        options += struct.pack("!I", seq)
    if not with_checksum:
        return struct.pack("!HH", flags, protocol) + options + payload
    # RFC 2784 §2.5: the checksum covers the GRE header and payload, the field taken as zero
    unsummed = struct.pack("!HHHH", flags, protocol, 0, 0) + options + payload
    return struct.pack("!HHHH", flags, protocol, checksum(unsummed), 0) + options + payload


def erspan_ii(frame: Frame, session: int, vlan: int = 0, index: int = 0) -> bytes:
    """An ERSPAN type II header (version 1) before the mirrored frame."""
    return struct.pack("!HHI", (1 << 12) | vlan, session & 0x3FF, index & 0xFFFFF) + frame


def erspan_iii(frame: Frame, session: int, timestamp: int, *, platform: bytes | None = None,
               hardware: int = 1) -> bytes:
    """An ERSPAN type III header (version 2, frame type 0 = Ethernet), O bit if ``platform``."""
    word3 = (hardware & 0x3F) << 4 | (1 if platform is not None else 0)   # P=0 FT=0 D=0 Gra=0
    header = struct.pack("!HHIHH", 2 << 12, session & 0x3FF, timestamp & 0xFFFFFFFF, 0, word3)
    return header + (platform or b"") + frame


def mpls(payload: bytes, labels: list[int], ttl: int = 64) -> bytes:
    """An MPLS label stack (RFC 3032 §2.1), the last entry with the bottom-of-stack bit."""
    entries = b"".join(
        struct.pack("!I", (label << 12) | (1 << 8 if n == len(labels) - 1 else 0) | ttl)
        for n, label in enumerate(labels))
    return entries + payload


def pseudowire_control_word(sequence: int) -> bytes:
    """The generic PW control word (RFC 4385 §3): first nibble 0000, a sequence number."""
    return struct.pack("!HH", 0, sequence & 0xFFFF)


def qinq(frame: Frame, service_vlan: int, customer_vlan: int) -> Frame:
    """Insert an 802.1ad S-tag and an 802.1Q C-tag after the MAC addresses."""
    tags = struct.pack("!HHHH", ETHERTYPE_8021AD, service_vlan, ETHERTYPE_8021Q, customer_vlan)
    return frame[:12] + tags + frame[12:]


def udp_payload(packet: bytes) -> tuple[int, int, bytes] | None:
    """(source port, destination port, payload) of an IPv4/UDP packet without options."""
    if packet[0] != 0x45 or packet[9] != IPPROTO_UDP:
        return None
    sport, dport, length = struct.unpack_from("!HHH", packet, 20)
    return sport, dport, packet[28 : 20 + length]


def sctp_data(sport: int, dport: int, tsn: int, stream_seq: int, payload: bytes) -> bytes:
    """An SCTP packet with one DATA chunk (RFC 9260 §3.3.1), PPID 0, B and E bits set."""
    padding = b"\0" * (-len(payload) % 4)
    chunk = struct.pack("!BBHIHHI", 0, 0x03, 16 + len(payload), tsn, 0, stream_seq, 0)
    return struct.pack("!HHII", sport, dport, 0x5EED, 0) + chunk + payload + padding
