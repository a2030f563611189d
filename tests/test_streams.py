"""TCP reassembly and SIP framing on streams."""

from __future__ import annotations

import pytest

from etykieta.telephony.packets import Endpoint, TcpFlags, TcpSegment
from etykieta.telephony.streams import (
    SipStreamFramer,
    StreamData,
    TcpReassembler,
    looks_like_sip,
)

A = Endpoint("192.0.2.1", 40000)
B = Endpoint("192.0.2.2", 5060)
ISN = 0xFFFFFFF0  # close to the wrap, so every test also crosses 2**32


def seg(offset: int, payload: bytes = b"", flags: TcpFlags = TcpFlags.ACK,
        number: int = 1, time: float = 0.0) -> TcpSegment:
    return TcpSegment(number, time, A, B, (ISN + 1 + offset) & 0xFFFFFFFF, flags, payload)


def syn() -> TcpSegment:
    return TcpSegment(0, 0.0, A, B, ISN, TcpFlags.SYN, b"")


def delivered(chunks: list[StreamData]) -> bytes:
    return b"".join(c.data for c in chunks)


@pytest.fixture
def tcp() -> TcpReassembler:
    reassembler = TcpReassembler()
    reassembler.receive(syn())
    return reassembler


def test_in_order_segments_are_delivered_across_the_sequence_wrap(tcp: TcpReassembler) -> None:
    assert delivered(tcp.receive(seg(0, b"0123456789abcdef"))) == b"0123456789abcdef"
    assert delivered(tcp.receive(seg(16, b"ghij"))) == b"ghij"


def test_out_of_order_segment_waits_for_the_hole(tcp: TcpReassembler) -> None:
    assert tcp.receive(seg(5, b"56789")) == []
    assert delivered(tcp.receive(seg(0, b"01234"))) == b"0123456789"


def test_retransmission_and_overlap_are_delivered_once(tcp: TcpReassembler) -> None:
    tcp.receive(seg(0, b"01234"))
    assert tcp.receive(seg(0, b"01234")) == []
    assert delivered(tcp.receive(seg(3, b"34567"))) == b"567"


def test_stream_seen_mid_way_starts_at_its_first_segment() -> None:
    tcp = TcpReassembler()
    assert delivered(tcp.receive(seg(1000, b"abc"))) == b"abc"
    assert delivered(tcp.receive(seg(1003, b"def"))) == b"def"


def test_hole_that_never_fills_is_skipped_after_the_timeout(tcp: TcpReassembler) -> None:
    tcp.receive(seg(0, b"ab"))
    assert tcp.receive(seg(10, b"late", time=1.0)) == []
    chunks = tcp.receive(seg(14, b"r", time=20.0))
    assert [(c.data, c.gap) for c in chunks] == [(b"later", True)]
    assert tcp.gaps == 1


def test_hole_is_skipped_when_too_much_is_buffered() -> None:
    tcp = TcpReassembler(max_buffered_bytes=8)
    tcp.receive(syn())
    assert tcp.receive(seg(10, b"12345")) == []
    chunks = tcp.receive(seg(15, b"67890"))
    assert [(c.data, c.gap) for c in chunks] == [(b"1234567890", True)]


def test_fin_delivers_what_is_left_and_closes(tcp: TcpReassembler) -> None:
    tcp.receive(seg(0, b"abc"))
    chunks = tcp.receive(seg(3, b"def", TcpFlags.FIN | TcpFlags.ACK))
    assert [(c.data, c.closed) for c in chunks] == [(b"def", True)]
    assert (A, B) not in tcp


def test_fin_beyond_a_hole_skips_it(tcp: TcpReassembler) -> None:
    chunks = tcp.receive(seg(4, b"tail", TcpFlags.FIN | TcpFlags.ACK))
    assert [(c.data, c.gap, c.closed) for c in chunks] == [(b"tail", True, True)]


def test_rst_closes_the_direction(tcp: TcpReassembler) -> None:
    chunks = tcp.receive(seg(0, b"", TcpFlags.RST))
    assert [(c.data, c.closed) for c in chunks] == [(b"", True)]
    assert len(tcp) == 0


def test_new_syn_restarts_the_direction(tcp: TcpReassembler) -> None:
    tcp.receive(seg(0, b"old"))
    tcp.receive(TcpSegment(2, 1.0, A, B, 100, TcpFlags.SYN, b""))
    assert delivered(tcp.receive(TcpSegment(3, 1.0, A, B, 101, TcpFlags.ACK, b"new"))) == b"new"


def test_least_recently_active_stream_is_evicted() -> None:
    tcp = TcpReassembler(max_streams=2)
    for port in (1, 2, 3):
        tcp.receive(TcpSegment(port, 0.0, Endpoint("192.0.2.9", port), B, 0, TcpFlags.SYN, b""))
    assert (Endpoint("192.0.2.9", 1), B) not in tcp and tcp.streams_evicted == 1


INVITE = (b"INVITE sip:200@example.test SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
          b"Content-Length: 4\r\n\r\nbody")
OK = b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n"


def test_messages_split_and_joined_are_framed_by_content_length() -> None:
    framer = SipStreamFramer()
    stream = INVITE + OK + INVITE
    messages = [m for i in range(0, len(stream), 7) for m in framer.feed(stream[i:i + 7])]
    assert messages == [INVITE, OK, INVITE]


def test_crlf_keepalives_are_skipped_without_counting() -> None:
    framer = SipStreamFramer()
    assert framer.feed(b"\r\n\r\n" + OK + b"\r\n") == [OK]
    assert framer.bytes_skipped == 0


def test_lower_case_content_length_header_name_is_understood() -> None:
    message = INVITE.replace(b"Content-Length", b"content-LENGTH")
    assert SipStreamFramer().feed(message) == [message]


def test_missing_content_length_means_an_empty_body() -> None:
    message = b"OPTIONS sip:x@example.test SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n"
    assert SipStreamFramer().feed(message + OK) == [message, OK]


def test_garbage_is_skipped_to_the_next_start_line_and_counted() -> None:
    framer = SipStreamFramer()
    garbage = b"\x16\x03\x01 binary\r\nmore junk\r\n"
    assert framer.feed(garbage + OK) == [OK]
    assert framer.bytes_skipped == len(garbage)


def test_bad_content_length_resynchronises() -> None:
    framer = SipStreamFramer()
    broken = b"SIP/2.0 180 Ringing\r\nContent-Length: lots\r\n\r\n"
    assert framer.feed(broken + OK) == [OK]
    assert framer.bytes_skipped == len(broken)


def test_oversized_message_is_dropped_and_the_next_one_kept() -> None:
    framer = SipStreamFramer(max_message_size=100)
    big = b"MESSAGE sip:x@example.test SIP/2.0\r\nContent-Length: 500\r\n\r\n" + b"x" * 500
    assert framer.feed(big[:200]) == []
    assert framer.feed(big[200:] + OK) == [OK]
    assert framer.oversized == 1


def test_lost_bytes_drop_the_partial_message() -> None:
    framer = SipStreamFramer()
    framer.feed(INVITE[:30])
    framer.lose_sync()
    assert framer.feed(INVITE[60:] + OK) == [OK]
    assert framer.bytes_skipped == 30 + len(INVITE) - 60


@pytest.mark.parametrize(
    "payload",
    [INVITE, OK, b"ACK sips:a@b SIP/2.0\r\n", b"INFO tel:+4812345 SIP/2.0\n",
     b"SIP/2.0 486 Busy Here\r\n", b"REGISTER SIP:host SIP/2.0\r\n"],
)
def test_sip_start_lines_are_recognised(payload: bytes) -> None:
    assert looks_like_sip(payload)


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x80\x08\x00\x01" + bytes(160), b"\x90\x00", b"GET / HTTP/1.1\r\n",
     b"INVITE sip:x SIP/2.0", b"SIP/2.0 99 Low\r\n", b"\r\n\r\n", b"invite sip:x SIP/2.0\r\n"],
)
def test_other_payloads_are_not_sip(payload: bytes) -> None:
    assert not looks_like_sip(payload)
