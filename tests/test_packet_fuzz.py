"""Random and mutated input never escapes as anything but the documented errors."""

from __future__ import annotations

import contextlib
import io
import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etykieta.errors import CaptureFormatError
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import CapturedPacket, PacketDecoder
from etykieta.telephony.pipeline import SipExtractor
from etykieta.telephony.streams import SipStreamFramer, looks_like_sip

DATA = Path(__file__).parent / "data" / "packets"
CALLS = Path(__file__).parent / "data" / "calls"
LINKTYPES = st.sampled_from([0, 1, 101, 108, 113, 228, 229, 276, 147])
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frames(name: str, directory: Path = DATA) -> list[CapturedPacket]:
    with open_capture(directory / name) as capture:
        return list(capture)


REAL = frames("sip_udp_lo.pcap") + frames("sip_tcp_lo.pcapng") + frames(
    "sip_udp_fragments.pcap") + frames("sip_udp_vlan.pcap")
# One frame of each tunnel capture (the lab's real calls, tests/lab/tunnels/): its INVITE.
TUNNELLED = [next(p for p in frames(path.name, CALLS) if b"INVITE" in p.data)
             for path in sorted(CALLS.glob("tunnel_*.pcap"))]
# Tunnel headers around a payload: (link type, prefix). The prefixes' length fields are filled
# in by ``tunnel_frame`` so that a random payload reaches the inner decoder.
IP_PROTOCOLS = st.sampled_from([4, 41, 47, 132, 17])
ETHER_PREFIXES = st.sampled_from([0x8847, 0x8848, 0x88A8, 0x8100, 0x6558, 0x0800, 0x86DD,
                                 0x88BE, 0x22EB])


@FAST
@given(linktype=LINKTYPES, data=st.binary(max_size=200))
def test_random_frames_decode_or_raise_value_error(linktype: int, data: bytes) -> None:
    with contextlib.suppress(ValueError):
        PacketDecoder().decode(CapturedPacket(1, 0.0, linktype, data))


@FAST
@given(index=st.integers(0, len(REAL) - 1), flips=st.lists(
    st.tuples(st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 2000))
def test_mutated_real_frames_never_crash_the_extractor(
    index: int, flips: list[tuple[int, int]], cut: int
) -> None:
    original = REAL[index]
    data = bytearray(original.data)
    for position, value in flips:
        if position < len(data):
            data[position] = value
    extractor = SipExtractor()
    for pkt in REAL[:index]:
        extractor.receive(pkt)
    mutated = CapturedPacket(original.number, original.timestamp, original.linktype,
                             bytes(data[:cut] if cut < len(data) else data))
    extractor.receive(mutated)
    stats = extractor.stats
    assert stats.packets == index + 1


@FAST
@given(index=st.integers(0, len(TUNNELLED) - 1), flips=st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 700))
def test_mutated_tunnel_frames_decode_or_raise_value_error(
    index: int, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(TUNNELLED[index].data[:cut])
    for position, value in flips:
        if position < len(data):
            data[position] = value
    packet = CapturedPacket(1, 0.0, 1, bytes(data))
    with contextlib.suppress(ValueError):
        PacketDecoder().decode(packet)
    extractor = SipExtractor(on_datagram=lambda datagram: None, wants_port=lambda port: True)
    extractor.receive(packet)
    assert extractor.stats.packets == 1


def ipv4_packet(proto: int, payload: bytes) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                       b"\xc0\0\2\1", b"\xc0\0\2\2") + payload


Layer = tuple[str, int] | tuple[str, int, int]


def wrap_layer(layer: Layer, data: bytes) -> bytes:
    """Put ``data`` inside one header: IP (protocol), Ethernet (EtherType), GRE, VXLAN."""
    kind, value = layer[0], layer[1]
    if kind == "ip":
        return ipv4_packet(value, data)
    if kind == "ether":
        return bytes(12) + struct.pack("!H", value) + data
    if kind == "gre":
        return ipv4_packet(47, struct.pack("!HH", value, layer[-1]) + data)
    vxlan = struct.pack("!B3xI", value, 42 << 8) + data
    return ipv4_packet(17, struct.pack("!HHHH", 50000, 4789, 8 + len(vxlan), 0) + vxlan)


@FAST
@given(layers=st.lists(st.one_of(
    st.tuples(st.just("ip"), IP_PROTOCOLS),
    st.tuples(st.just("ether"), ETHER_PREFIXES),
    st.tuples(st.just("gre"), st.integers(0, 0xFFFF), ETHER_PREFIXES),
    st.tuples(st.just("vxlan"), st.sampled_from([0x08, 0x00, 0x88])),
), max_size=7), payload=st.binary(max_size=80))
def test_random_tunnel_stacks_decode_or_raise_value_error(
    layers: list[Layer], payload: bytes
) -> None:
    """Headers of every kind in any order and nesting around random bytes: only ValueError."""
    data = payload
    for layer in reversed(layers):
        data = wrap_layer(layer, data)
    linktype = 1 if layers and layers[0][0] == "ether" else 101  # Ethernet or raw IP
    packet = CapturedPacket(1, 0.0, linktype, data)
    with contextlib.suppress(ValueError):
        PacketDecoder().decode(packet)
    extractor = SipExtractor()
    extractor.receive(packet)
    assert extractor.stats.packets == 1


@FAST
@given(chunks=st.lists(st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"INVITE sip:a@b SIP/2.0\r\n", b"SIP/2.0 200 OK\r\n", b"l: 3\r\n",
                     b"Content-Length: 2\r\n", b"\r\n", b"\r\n\r\n", b"abc"]),
), max_size=30))
def test_framer_output_is_always_whole_messages(chunks: list[bytes]) -> None:
    framer = SipStreamFramer(max_message_size=200)
    for chunk in chunks:
        for message in framer.feed(chunk):
            assert looks_like_sip(message)
            assert b"\n\r\n" in message or b"\n\n" in message


@FAST
@given(data=st.binary(max_size=300))
def test_random_bytes_are_refused_or_read_quietly(data: bytes) -> None:
    try:
        capture = open_capture(io.BytesIO(data))
    except CaptureFormatError:
        return
    packets = list(capture)
    assert capture.stats.packets == len(packets)


@FAST
@given(name=st.sampled_from(["sip_udp_lo.pcap", "sip_tcp_lo.pcapng", "sip_udp_lo_nsec_be.pcapng"]),
       flips=st.lists(st.tuples(st.integers(0, 8000), st.integers(0, 255)), max_size=4),
       cut=st.integers(0, 8000))
def test_damaged_capture_files_stop_cleanly(
    name: str, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray((DATA / name).read_bytes()[:cut])
    for position, value in flips:
        if position < len(data):
            data[position] = value
    try:
        capture = open_capture(io.BytesIO(bytes(data)))
    except CaptureFormatError:
        return
    extractor = SipExtractor()
    for pkt in capture:
        extractor.receive(pkt)
    assert capture.stats.packets == extractor.stats.packets
