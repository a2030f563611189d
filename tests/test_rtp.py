"""RTP packet parsing (RFC 3550 §5.1), RTCP demultiplexing (RFC 5761 §4), payload kinds."""

from __future__ import annotations

import pytest

from etykieta.speech.audio.rtp import (
    PayloadKind,
    RtpPacket,
    TelephoneEvent,
    is_rtcp,
    payload_kind,
)
from tests.rtp_streams import SIPP_DTMF_5, SIPP_PCMA, captured_datagrams

needs_sipp_captures = pytest.mark.skipif(
    not SIPP_PCMA.exists(), reason="needs sipp's bundled captures (Debian sip-tester)"
)

# A PCMA packet as Asterisk sends it: V=2, PT 8, seq 0x1234, ts 0x000a0000, SSRC 0x0badcafe.
PCMA_HEADER = bytes.fromhex("80 08 1234 000a0000 0badcafe")
PCMA_PAYLOAD = bytes([0xD5]) * 160  # A-law idle code
PCMA_PACKET = PCMA_HEADER + PCMA_PAYLOAD

# Marker set, 2 CSRCs, a one-word header extension (RFC 8285 one-byte profile 0xBEDE) and
# 4 bytes of padding: every optional part of the header at once.
FULL_PACKET = (
    bytes.fromhex("b2 e5 ffff ffffff60 00000001")
    + bytes.fromhex("00000002 00000003")
    + bytes.fromhex("bede 0001 10ff0000")
    + b"\x01\x02\x03"
    + bytes.fromhex("000000 04")
)


def test_parse_reads_the_fixed_header_and_payload() -> None:
    packet = RtpPacket.parse(PCMA_PACKET)
    assert packet == RtpPacket(
        payload_type=8,
        sequence_number=0x1234,
        timestamp=0x000A0000,
        ssrc=0x0BADCAFE,
        payload=PCMA_PAYLOAD,
    )


def test_parse_skips_csrcs_and_extension_and_removes_padding() -> None:
    packet = RtpPacket.parse(FULL_PACKET)
    assert packet.marker
    assert packet.payload_type == 101
    assert (packet.sequence_number, packet.timestamp) == (0xFFFF, 0xFFFFFF60)
    assert packet.csrc == (2, 3)
    assert packet.extension_profile == 0xBEDE
    assert packet.extension == bytes.fromhex("10ff0000")
    assert packet.payload == b"\x01\x02\x03"
    assert packet.padding_size == 4


@pytest.mark.parametrize("data", [PCMA_PACKET, FULL_PACKET], ids=["pcma", "full"])
def test_serialising_a_parsed_packet_gives_the_same_bytes(data: bytes) -> None:
    assert bytes(RtpPacket.parse(data)) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (PCMA_HEADER[:11], "RTP packet is 11 bytes, shorter than the 12-byte header"),
        (b"\x40" + PCMA_PACKET[1:], "RTP version is 1, not 2"),
        (b"\x00\x00", "RTP packet is 2 bytes, shorter than the 12-byte header"),
        (
            FULL_PACKET[:18],
            "RTP packet is 18 bytes, too short for its 2 CSRC identifiers (20 bytes)",
        ),
        (
            FULL_PACKET[:22],
            "RTP packet is 22 bytes, too short for its header extension header at offset 20",
        ),
        (
            FULL_PACKET[:26],
            "RTP header extension of 1 words needs 28 bytes, the packet has 26",
        ),
        (FULL_PACKET[:-1] + b"\x00", "RTP padding length is 0; it must count at least itself"),
        (
            FULL_PACKET[:-1] + b"\x08",
            "RTP padding of 8 bytes is longer than the 7 bytes after the header",
        ),
    ],
    ids=[
        "short",
        "version1",
        "stun-like",
        "csrc",
        "extension-header",
        "extension-body",
        "padding-zero",
        "padding-long",
    ],
)
def test_parse_invalid_names_the_length_problem(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as error:
        RtpPacket.parse(data)
    assert str(error.value) == message


def test_padding_may_take_the_whole_payload() -> None:
    packet = RtpPacket.parse(bytes([0xA0]) + PCMA_HEADER[1:] + bytes(3) + b"\x04")
    assert packet.payload == b""
    assert packet.padding_size == 4


@pytest.mark.parametrize(
    ("second_byte", "rtcp"),
    [(200, True), (201, True), (192, True), (223, True), (8, False), (0x80, False), (191, False)],
    ids=["SR", "RR", "first", "last", "pcma", "pcmu-marker", "pt63-marker"],
)
def test_is_rtcp_looks_at_the_second_byte(second_byte: int, rtcp: bool) -> None:
    assert is_rtcp(bytes([0x80, second_byte]) + bytes(6)) is rtcp


def test_is_rtcp_is_false_for_a_one_byte_datagram() -> None:
    assert not is_rtcp(b"\x80")


MAP = {0: ("PCMU", 8000), 8: ("PCMA", 8000), 101: ("telephone-event", 8000), 18: ("G729", 8000)}


@pytest.mark.parametrize(
    ("payload_type", "payload_types", "kind"),
    [
        (8, MAP, PayloadKind.AUDIO),
        (18, MAP, PayloadKind.AUDIO),
        (101, MAP, PayloadKind.TELEPHONE_EVENT),
        (13, MAP, PayloadKind.COMFORT_NOISE),
        (13, {13: ("CN", 8000)}, PayloadKind.COMFORT_NOISE),
        (96, {96: ("CN", 16000)}, PayloadKind.COMFORT_NOISE),
        (96, MAP, PayloadKind.UNKNOWN),
    ],
    ids=["pcma", "g729", "dtmf", "cn-static", "cn-mapped", "cn-dynamic", "unknown"],
)
def test_payload_kind_comes_from_the_negotiated_map(
    payload_type: int, payload_types: dict[int, tuple[str, int]], kind: PayloadKind
) -> None:
    assert payload_kind(payload_type, payload_types) is kind


def test_telephone_event_round_trip() -> None:
    data = bytes.fromhex("0b 8a 0320")  # '#', end, volume 10, 800 ticks
    event = TelephoneEvent.parse(data)
    assert event == TelephoneEvent(event=11, end=True, volume=10, duration=800)
    assert bytes(event) == data


def test_telephone_event_invalid_is_too_short() -> None:
    with pytest.raises(ValueError, match="telephone-event payload is 3 bytes, shorter than 4"):
        TelephoneEvent.parse(b"\x01\x02\x03")


def test_serialising_refuses_a_ragged_extension() -> None:
    with pytest.raises(ValueError, match="whole number of 32-bit words"):
        bytes(RtpPacket(0, 0, 0, 0, extension_profile=1, extension=b"\x00"))


@needs_sipp_captures
def test_real_pcma_capture_parses_packet_by_packet() -> None:
    packets = [RtpPacket.parse(d.payload) for d in captured_datagrams(SIPP_PCMA)]
    first = packets[0]
    assert (first.payload_type, first.sequence_number, first.timestamp) == (8, 59133, 240)
    assert (first.ssrc, first.marker, len(first.payload)) == (0xDEE0EE8F, True, 240)
    assert [p.sequence_number for p in packets] == list(range(59133, 59133 + 236))
    assert {len(p.payload) for p in packets} == {240}  # 30 ms at 8000 Hz
    assert not any(p.marker for p in packets[1:])


@needs_sipp_captures
def test_real_pcma_capture_invalid_truncated_is_refused() -> None:
    data = captured_datagrams(SIPP_PCMA)[0].payload
    with pytest.raises(ValueError, match="RTP packet is 11 bytes"):
        RtpPacket.parse(data[:11])
    with pytest.raises(ValueError, match="too short for its 15 CSRC identifiers"):
        RtpPacket.parse(bytes([data[0] | 0x0F]) + data[1:40])


@needs_sipp_captures
def test_real_dtmf_capture_is_one_telephone_event() -> None:
    packets = [RtpPacket.parse(d.payload) for d in captured_datagrams(SIPP_DTMF_5)]
    events = [TelephoneEvent.parse(p.payload) for p in packets]
    assert {p.payload_type for p in packets} == {101}
    assert {p.timestamp for p in packets} == {43200}  # every packet carries the start
    assert {e.event for e in events} == {5}
    assert [e.end for e in events] == [False] * 7 + [True] * 3  # the end sent three times
    assert events[-1].duration == 2240  # 280 ms
