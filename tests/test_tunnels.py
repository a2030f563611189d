"""Traffic inside the tunnels of remote mirror ports is decoded to the call inside (issue 8 §5).

The captures are real calls from tests/lab/tunnels/ (VXLAN made by the kernel, the rest real
frames wrapped in their tunnel's headers, see the lab's wrap.py); each invalid twin is one of
their frames with one field broken.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    CapturedPacket,
    Datagram,
    Endpoint,
    PacketDecoder,
    TcpSegment,
)
from etykieta.telephony.pipeline import SipExtractor
from etykieta.telephony.tunnels import MAX_TUNNEL_DEPTH

CALLS = Path(__file__).parent / "data" / "calls"
CALLER_V4, PHONE_V4 = Endpoint("127.0.1.1", 5060), Endpoint("127.0.1.22", 5060)
CALLER_V6, PHONE_V6 = Endpoint("::1", 5062), Endpoint("::1", 5060)
# capture -> (inner endpoints of the INVITE, frames that carry a tunnel header)
TUNNELS = {
    "tunnel_vxlan": ((CALLER_V4, PHONE_V4), 11),
    "tunnel_ipip": ((CALLER_V4, PHONE_V4), 7),
    "tunnel_ip6in4": ((CALLER_V6, PHONE_V6), 7),
    "tunnel_ip4in6": ((CALLER_V4, PHONE_V4), 7),
    "tunnel_ip6in6": ((CALLER_V6, PHONE_V6), 7),
    "tunnel_gre": ((CALLER_V4, PHONE_V4), 7),
    "tunnel_gre_options": ((CALLER_V6, PHONE_V6), 7),
    "tunnel_gretap": ((CALLER_V4, PHONE_V4), 11),
    "tunnel_erspan1": ((CALLER_V4, PHONE_V4), 11),
    "tunnel_erspan2": ((CALLER_V4, PHONE_V4), 11),
    "tunnel_erspan3": ((CALLER_V4, PHONE_V4), 11),
    "tunnel_mpls": ((CALLER_V4, PHONE_V4), 7),
    "tunnel_mpls_pw": ((CALLER_V4, PHONE_V4), 11),
    "tunnel_erspan_vxlan": ((CALLER_V4, PHONE_V4), 15),
    "tunnel_qinq": ((CALLER_V4, PHONE_V4), 0),
}
SIP_START = (b"INVITE ", b"ACK ", b"BYE ", b"SIP/2.0 ")


def frames(name: str) -> list[CapturedPacket]:
    with open_capture(CALLS / f"{name}.pcap") as capture:
        return list(capture)


def decode_all(packets: list[CapturedPacket], decoder: PacketDecoder) -> list[Datagram]:
    decoded = [decoder.decode(p) for p in packets]
    assert not any(isinstance(d, TcpSegment) for d in decoded)
    return [d for d in decoded if isinstance(d, Datagram)]


def with_byte(packet: CapturedPacket, offset: int, value: int) -> CapturedPacket:
    data = bytearray(packet.data)
    data[offset] = value
    return CapturedPacket(packet.number, packet.timestamp, packet.linktype, bytes(data))


def cut(packet: CapturedPacket, length: int) -> CapturedPacket:
    return CapturedPacket(packet.number, packet.timestamp, packet.linktype, packet.data[:length])


@pytest.mark.parametrize("name", sorted(TUNNELS))
def test_every_sip_message_of_the_call_comes_out_of_its_tunnel(name: str) -> None:
    (caller, phone), tunnelled = TUNNELS[name]
    decoder = PacketDecoder()
    datagrams = decode_all(frames(name), decoder)
    assert [d.payload.split(b" ")[0] for d in datagrams] == [
        b"INVITE", b"SIP/2.0", b"SIP/2.0", b"SIP/2.0", b"ACK", b"BYE", b"SIP/2.0"]
    assert (datagrams[0].src, datagrams[0].dst) == (caller, phone)
    assert (datagrams[1].src, datagrams[1].dst) == (phone, caller)
    assert all(d.payload.startswith(SIP_START) for d in datagrams)
    assert (decoder.stats.tunnelled, decoder.stats.decoded) == (tunnelled, 7)


def test_arp_inside_a_layer_two_tunnel_is_non_ip() -> None:
    decoder = PacketDecoder()
    decode_all(frames("tunnel_gretap"), decoder)
    assert (decoder.stats.non_ip, decoder.stats.tunnelled) == (4, 11)


def test_responses_inside_ip_in_ip_join_the_plain_requests() -> None:
    decoder = PacketDecoder()
    datagrams = decode_all(frames("tunnel_ipip_responses"), decoder)
    assert [d.payload.split(b"\r\n")[0][:20] for d in datagrams] == [
        b"INVITE sip:1202@127.", b"SIP/2.0 100 Trying", b"SIP/2.0 183 Session ",
        b"SIP/2.0 200 OK", b"ACK sip:1202@127.0.1", b"BYE sip:1202@127.0.1", b"SIP/2.0 200 OK"]
    assert decoder.stats.tunnelled == 4


# -- invalid twins: one field of a real frame broken ----------------------------------------
# Frame layouts (bytes): Ethernet 14, IPv4 20, IPv6 40, UDP 8, GRE 4 (+4 per option), VXLAN 8,
# ERSPAN II 8, ERSPAN III 12, MPLS entry 4. Frame 1 is the INVITE where there is no ARP first.


@pytest.mark.parametrize(
    ("name", "index", "broken", "error"),
    [
        ("tunnel_gre", 0, lambda p: with_byte(p, 34, 0x40), "GRE routing present (RFC 1701 R "
         "bit, removed by RFC 2784)"),
        ("tunnel_gre", 0, lambda p: with_byte(p, 38, 0x41), "in GRE: IPv4 header length 4 < 20"),
        ("tunnel_gre_options", 0, lambda p: with_byte(p, 70, 0x00), "in GRE: IPv6 version "
         "field is 0"),
        ("tunnel_ipip", 0, lambda p: with_byte(p, 34, 0x55), "in IP-in-IP: IPv4 version field "
         "is 5"),
        ("tunnel_ip6in4", 0, lambda p: with_byte(p, 34, 0x70), "in IP-in-IP: IPv6 version field "
         "is 7"),
        ("tunnel_ip4in6", 0, lambda p: with_byte(p, 56, 0xFF),
         "in IP-in-IP: IPv4 total length 65394 exceeds the 626 bytes captured"),
        ("tunnel_erspan2", 4, lambda p: with_byte(p, 42, 0x20), "ERSPAN type II header has "
         "version 2, not 1"),
        ("tunnel_erspan3", 4, lambda p: with_byte(p, 42, 0x10), "ERSPAN type III header has "
         "version 1, not 2"),
        ("tunnel_erspan1", 4, lambda p: with_byte(p, 52, 0x35), "in GRE: IPv4 version field "
         "is 3"),
        ("tunnel_vxlan", 4, lambda p: with_byte(p, 64, 0x55), "in VXLAN: IPv4 version field is 5"),
        ("tunnel_mpls", 0, lambda p: cut(p, 18), "MPLS label stack truncated at byte 18"),
        ("tunnel_mpls", 0, lambda p: with_byte(p, 22, 0x41), "in MPLS: IPv4 header length 4 "
         "< 20"),
        ("tunnel_mpls_pw", 4, lambda p: cut(p, 20), "MPLS pseudowire control word truncated"),
        ("tunnel_qinq", 4, lambda p: cut(p, 20), "802.1Q VLAN tag truncated at byte 18"),
        ("tunnel_erspan_vxlan", 4, lambda p: with_byte(p, 114, 0x41),
         "in GRE: in VXLAN: IPv4 header length 4 < 20"),
    ],
)
def test_invalid_twin_names_the_broken_field_and_its_tunnel(
    name: str, index: int, broken: Callable[[CapturedPacket], CapturedPacket], error: str
) -> None:
    original = frames(name)[index]
    assert isinstance(PacketDecoder().decode(original), Datagram)
    with pytest.raises(ValueError) as excinfo:
        PacketDecoder().decode(broken(original))
    assert str(excinfo.value) == error


def test_gre_version_one_is_pptp_not_ip() -> None:
    decoder = PacketDecoder()
    assert decoder.decode(with_byte(frames("tunnel_gre")[0], 35, 0x01)) is None
    assert (decoder.stats.non_ip, decoder.stats.tunnelled) == (1, 1)


def ipip(packet: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(packet), 1, 0, 64, 4, 0,
                         b"\xc0\0\2\1", b"\xc0\0\2\2")
    return header + packet


def test_tunnels_nested_up_to_the_limit_are_decoded_and_deeper_is_malformed() -> None:
    invite = frames("tunnel_ipip")[0].data[34:]   # the IPv4/UDP/SIP packet inside
    nested = invite
    for _ in range(MAX_TUNNEL_DEPTH):
        nested = ipip(nested)
    decoded = PacketDecoder().decode(CapturedPacket(1, 0.0, LINKTYPE_IPV4, nested))
    assert isinstance(decoded, Datagram) and decoded.payload.startswith(b"INVITE sip:1202@")
    with pytest.raises(ValueError) as excinfo:
        PacketDecoder().decode(CapturedPacket(1, 0.0, LINKTYPE_IPV4, ipip(nested)))
    assert str(excinfo.value) == "in IP-in-IP: " * MAX_TUNNEL_DEPTH + (
        f"more than {MAX_TUNNEL_DEPTH} tunnel headers nested")


def udp_frame(dport: int, payload: bytes) -> CapturedPacket:
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     b"\x0a\0\0\1", b"\x0a\0\0\2") + udp
    return CapturedPacket(1, 0.0, LINKTYPE_ETHERNET, bytes(12) + b"\x08\x00" + ip)


def test_rtp_on_port_4789_is_not_taken_for_vxlan() -> None:
    rtp = b"\x80\x08" + bytes(170)
    decoded = PacketDecoder().decode(udp_frame(4789, rtp))
    assert isinstance(decoded, Datagram) and decoded.payload == rtp


def test_vxlan_header_cut_short_is_plain_udp() -> None:
    decoded = PacketDecoder().decode(udp_frame(4789, b"\x08\0\0"))
    assert isinstance(decoded, Datagram) and decoded.payload == b"\x08\0\0"


def test_udp_filter_admits_vxlan_and_filters_what_is_inside() -> None:
    forwarded: list[Datagram] = []
    extractor = SipExtractor(on_datagram=forwarded.append, wants_port=lambda port: False)
    messages = [m for p in frames("tunnel_vxlan") for m in extractor.receive(p)]
    assert len(messages) == 7 and forwarded == []
    stats = extractor.stats
    assert (stats.tunnelled, stats.sip_messages, stats.malformed) == (11, 7, 0)
    rtp_inside = udp_frame(4789, b"\x08\0\0\0\0\0\x2a\0" + udp_frame(30000, b"\x80" * 20).data)
    assert extractor.receive(rtp_inside) == [] and forwarded == []
    wanted = SipExtractor(on_datagram=forwarded.append, wants_port=lambda port: port == 30000)
    wanted.receive(rtp_inside)
    assert [(d.dst, d.payload) for d in forwarded] == [(Endpoint("10.0.0.2", 30000), b"\x80" * 20)]


def test_sctp_packets_are_counted_not_decoded() -> None:
    extractor = SipExtractor()
    messages = [m for p in frames("sctp_unsupported") for m in extractor.receive(p)]
    stats = extractor.stats
    assert (messages, stats.sctp, stats.other_protocol, stats.malformed) == ([], 7, 0, 0)


def test_raw_frame_whose_first_nibble_is_no_ip_version_is_non_ip() -> None:
    decoder = PacketDecoder()
    assert decoder.decode(CapturedPacket(1, 0.0, 101, b"\x20" + bytes(40))) is None
    assert (decoder.stats.non_ip, decoder.stats.tunnelled) == (1, 0)


def test_mpls_in_a_linux_cooked_capture_is_decoded() -> None:
    ethernet = frames("tunnel_mpls")[0].data
    sll = b"\0\0\0\1\0\6" + bytes(8) + ethernet[12:14] + ethernet[14:]   # SLL protocol = 0x8847
    decoded = PacketDecoder().decode(CapturedPacket(1, 0.0, 113, sll))
    assert isinstance(decoded, Datagram) and (decoded.src, decoded.dst) == (CALLER_V4, PHONE_V4)
