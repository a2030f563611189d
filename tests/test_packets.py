"""Decoding frames down to UDP datagrams and TCP segments, and IP fragment reassembly."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_NULL,
    CapturedPacket,
    Datagram,
    Endpoint,
    FragmentReassembler,
    PacketDecoder,
    TcpFlags,
    TcpSegment,
)

DATA = Path(__file__).parent / "data" / "packets"


def decode_all(name: str, decoder: PacketDecoder | None = None) -> list[Datagram | TcpSegment]:
    decoder = decoder or PacketDecoder()
    with open_capture(DATA / name) as capture:
        return [d for p in capture if (d := decoder.decode(p)) is not None]


def is_whole_sip_message(payload: bytes) -> bool:
    headers, _, body = payload.partition(b"\r\n\r\n")
    length = int(headers.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    return length == len(body) > 2000


def sip(decoded: list[Datagram | TcpSegment]) -> list[bytes]:
    return [d.payload for d in decoded if d.payload[:8] in (b"INVITE s", b"OPTIONS ", b"SIP/2.0 ")]


@pytest.mark.parametrize(
    "name",
    ["sip_udp_lo.pcap", "sip_udp_null.pcap", "sip_udp_loop.pcap", "sip_udp_lo_be.pcap"],
)
def test_every_link_layer_gives_the_same_datagrams(name: str) -> None:
    assert decode_all(name) == decode_all("sip_udp_lo.pcap")


def test_udp_datagram_has_compact_endpoints_for_both_ip_versions() -> None:
    decoded = [d for d in decode_all("sip_udp_lo.pcap") if isinstance(d, Datagram)]
    invites = [d for d in decoded if d.payload.startswith(b"INVITE ")]
    assert [(d.src, d.dst) for d in invites] == [
        (Endpoint("127.0.0.1", 5062), Endpoint("127.0.0.1", 5060)),
        (Endpoint("::1", 5062), Endpoint("::1", 5060)),
    ]
    assert str(invites[1].dst) == "[::1]:5060"


def test_rtp_payload_is_delivered_intact() -> None:
    rtp = [d for d in decode_all("sip_udp_lo.pcap") if d.dst.port == 40000]
    assert len(rtp) == 20
    assert all(d.payload[0] == 0x80 and len(d.payload) == 172 for d in rtp)


@pytest.mark.parametrize("name", ["sip_udp_sll.pcap", "sip_udp_sll2.pcap"])
def test_linux_cooked_captures_decode(name: str) -> None:
    messages = sip(decode_all(name))
    assert [m.split(b" ")[0] for m in messages][:3] == [b"INVITE", b"SIP/2.0", b"SIP/2.0"]


def test_raw_ip_from_a_tun_device_decodes() -> None:
    decoded = decode_all("sip_udp_raw.pcap")
    assert [d.dst for d in decoded] == [Endpoint("10.99.0.2", 5060)] * 2


def test_vlan_and_qinq_tags_are_skipped() -> None:
    decoded = decode_all("sip_udp_vlan.pcap")
    assert len(decoded) == 2
    assert all(b"OPTIONS sip:200@10.99.0.2" in d.payload for d in decoded)
    assert [d.payload for d in decoded] == [d.payload for d in decode_all("sip_udp_raw.pcap")]


def test_tcp_segments_carry_seq_flags_and_payload() -> None:
    segments = [d for d in decode_all("sip_tcp_lo.pcapng") if isinstance(d, TcpSegment)]
    assert segments[0].flags == TcpFlags.SYN
    assert segments[1].flags == TcpFlags.SYN | TcpFlags.ACK
    invite = segments[3]
    assert invite.payload.startswith(b"INVITE sip:200@127.0.0.1 SIP/2.0\r\n")
    assert invite.seq == (segments[0].seq + 1) & 0xFFFFFFFF
    assert any(s.flags & TcpFlags.FIN for s in segments)
    assert any(s.flags & TcpFlags.RST for s in segments)


def test_ipv4_and_ipv6_fragments_are_reassembled() -> None:
    decoder = PacketDecoder()
    invites = [d for d in decode_all("sip_udp_fragments.pcap", decoder)
               if d.payload.startswith(b"INVITE")]
    assert len(invites) == 2 and all(is_whole_sip_message(d.payload) for d in invites)
    assert [d.dst.ip for d in invites] == ["192.0.2.2", "2001:db8::2"]
    assert decoder.reassembler.reassembled == 2
    assert decoder.stats.fragments == 6
    assert decoder.stats.non_ip == 2  # ARP request and reply


def test_fragments_reassemble_in_any_order() -> None:
    with open_capture(DATA / "sip_udp_fragments.pcap") as capture:
        frames = list(capture)
    decoder = PacketDecoder()
    results = [decoder.decode(p) for p in reversed(frames)]
    invites = [d for d in results if d is not None and d.payload.startswith(b"INVITE")]
    assert len(invites) == 2 and all(is_whole_sip_message(d.payload) for d in invites)


def test_missing_fragment_leaves_a_set_that_expires() -> None:
    decoder = PacketDecoder()
    decoded = decode_all("sip_udp_fragments_invalid.pcap", decoder)
    assert len([d for d in decoded if d.payload.startswith(b"INVITE")]) == 1
    assert decoder.reassembler.pending == 1
    decoder.reassembler.expire(now=2e9)
    assert decoder.reassembler.pending == 0
    assert decoder.reassembler.fragments_expired == 2


def test_fragment_sets_are_bounded_in_number() -> None:
    reassembler = FragmentReassembler(max_sets=2)
    for ident in range(5):
        assert reassembler.add((b"a", b"b", ident, 17), 0, True, b"x" * 8, now=0.0) is None
    assert reassembler.pending == 2
    assert reassembler.fragments_expired == 3


def test_overlapping_fragments_are_tolerated() -> None:
    reassembler = FragmentReassembler()
    key = (b"a", b"b", 1, 17)
    assert reassembler.add(key, 0, True, b"A" * 16, now=0.0) is None
    assert reassembler.add(key, 8, True, b"B" * 16, now=0.1) is None
    assert reassembler.add(key, 24, False, b"C" * 8, now=0.2) == b"A" * 8 + b"B" * 16 + b"C" * 8


def test_fragment_beyond_the_maximum_datagram_is_malformed() -> None:
    with pytest.raises(ValueError, match="fragment ends at byte 65536, beyond 65535"):
        FragmentReassembler().add((b"a", b"b", 1, 17), 65528, False, b"x" * 8, now=0.0)


def ipv4(payload: bytes, *, ihl: int = 5, total: int | None = None, proto: int = 17) -> bytes:
    length = ihl * 4 + len(payload) if total is None else total
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length, 1, 0, 64, proto, 0,
                         b"\x7f\0\0\1", b"\x7f\0\0\1")
    return header + bytes(max(0, ihl * 4 - 20)) + payload


def frame(data: bytes, linktype: int = LINKTYPE_IPV4) -> CapturedPacket:
    return CapturedPacket(1, 0.0, linktype, data)


UDP = struct.pack("!HHHH", 5060, 5060, 12, 0) + b"ping"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ipv4(UDP, ihl=4), "IPv4 header length 16 < 20"),
        (ipv4(UDP)[:12], "IPv4 header truncated: 12 < 20 bytes"),
        (ipv4(UDP, total=100), "IPv4 total length 100 exceeds the 32 bytes captured"),
        (ipv4(UDP, total=19), "IPv4 total length 19 < header length 20"),
        (b"\x60" + ipv4(UDP)[1:], "IPv4 version field is 6"),
        (ipv4(UDP[:5]), "UDP header truncated: 5 < 8"),
        (ipv4(UDP[:4] + b"\x00\x04" + UDP[6:]), "UDP length 4 < 8"),
        (ipv4(UDP[:4] + b"\x00\x40" + UDP[6:]), "UDP length 64 exceeds IP payload of 12"),
        (ipv4(bytes(12), proto=6), "TCP header truncated: 12 < 20"),
        (ipv4(bytes(12) + b"\x40" + bytes(7), proto=6), "TCP header length 16 < 20"),
        (ipv4(bytes(12) + b"\xf0" + bytes(7), proto=6), "TCP header length 60 exceeds segment"),
    ],
)
def test_malformed_headers_raise_a_specific_message(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PacketDecoder().decode(frame(data))


def test_ipv4_options_are_skipped() -> None:
    decoded = PacketDecoder().decode(frame(ipv4(UDP, ihl=6)))
    assert isinstance(decoded, Datagram) and decoded.payload == b"ping"


def test_ethernet_padding_is_not_payload() -> None:
    ethernet = bytes(12) + b"\x08\x00" + ipv4(UDP) + bytes(14)
    decoded = PacketDecoder().decode(frame(ethernet, LINKTYPE_ETHERNET))
    assert isinstance(decoded, Datagram) and decoded.payload == b"ping"


def test_zero_total_length_from_segmentation_offload_means_whole_frame() -> None:
    decoded = PacketDecoder().decode(frame(ipv4(UDP, total=0)))
    assert isinstance(decoded, Datagram) and decoded.payload == b"ping"


def test_icmp_and_arp_are_not_errors() -> None:
    decoder = PacketDecoder()
    assert decoder.decode(frame(ipv4(bytes(8), proto=1))) is None
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    assert decoder.decode(frame(arp, LINKTYPE_ETHERNET)) is None
    assert (decoder.stats.other_protocol, decoder.stats.non_ip) == (1, 1)


def test_big_endian_null_header_is_recognised() -> None:
    decoded = PacketDecoder().decode(frame(b"\0\0\0\x02" + ipv4(UDP), LINKTYPE_NULL))
    assert isinstance(decoded, Datagram)


def test_truncated_vlan_tag_raises() -> None:
    with pytest.raises(ValueError, match=r"802.1Q VLAN tag truncated at byte 14"):
        PacketDecoder().decode(frame(bytes(12) + b"\x81\x00\x00", LINKTYPE_ETHERNET))


def test_ipv6_extension_header_longer_than_packet_raises() -> None:
    hop_by_hop = b"\x11\x05" + bytes(6)
    ipv6 = struct.pack("!IHBB16s16s", 0x60000000, 8, 0, 64, bytes(16), bytes(16)) + hop_by_hop
    with pytest.raises(ValueError, match="IPv6 extension header 0 length 48 exceeds packet"):
        PacketDecoder().decode(frame(ipv6, 229))
