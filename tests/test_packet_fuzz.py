"""Random and mutated input never escapes as anything but the documented errors."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etykieta.errors import CaptureFormatError
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import CapturedPacket, PacketDecoder
from etykieta.telephony.pipeline import SipExtractor
from etykieta.telephony.streams import SipStreamFramer, looks_like_sip

DATA = Path(__file__).parent / "data" / "packets"
LINKTYPES = st.sampled_from([0, 1, 101, 108, 113, 228, 229, 276, 147])
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frames(name: str) -> list[CapturedPacket]:
    with open_capture(DATA / name) as capture:
        return list(capture)


REAL = frames("sip_udp_lo.pcap") + frames("sip_tcp_lo.pcapng") + frames(
    "sip_udp_fragments.pcap") + frames("sip_udp_vlan.pcap")


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
