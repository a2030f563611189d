"""From capture files to raw SIP messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import LINKTYPE_IPV4, CapturedPacket, Datagram, Transport
from etykieta.telephony.pipeline import RawSipMessage, SipExtractor

DATA = Path(__file__).parent / "data" / "packets"


def extract(name: str, extractor: SipExtractor | None = None) -> list[RawSipMessage]:
    extractor = extractor or SipExtractor()
    with open_capture(DATA / name) as capture:
        return [m for p in capture for m in extractor.receive(p)]


def first_lines(messages: list[RawSipMessage]) -> list[bytes]:
    return [m.data.split(b"\r\n", 1)[0].split(b" sip:")[0] for m in messages]


CALL = [b"INVITE", b"SIP/2.0 180 Ringing", b"SIP/2.0 200 OK", b"ACK", b"BYE", b"SIP/2.0 200 OK"]
TCP_SESSION = [b"INVITE", b"SIP/2.0 100 Trying", b"SIP/2.0 200 OK", b"ACK", b"BYE",
               b"SIP/2.0 200 OK"]


def test_udp_calls_give_each_sip_message_and_forward_rtp() -> None:
    rtp: list[Datagram] = []
    extractor = SipExtractor(on_datagram=rtp.append)
    messages = extract("sip_udp_lo.pcap", extractor)
    assert first_lines(messages) == CALL + CALL
    assert {m.transport for m in messages} == {Transport.UDP}
    assert sum(d.dst.port == 40000 for d in rtp) == 20
    assert [d.payload for d in rtp if d.dst.port == 5060] == [b"\r\n\r\n"] * 2
    stats = extractor.stats
    assert (stats.sip_messages, stats.non_sip_datagrams, stats.malformed) == (12, 22, 0)


def test_tcp_sessions_are_framed_into_whole_messages() -> None:
    messages = extract("sip_tcp_lo.pcapng")
    assert first_lines(messages) == TCP_SESSION + TCP_SESSION
    assert {m.transport for m in messages} == {Transport.TCP}
    ack = messages[3]
    assert ack.data.endswith(b"Content-Length: 0\r\n\r\n")
    assert ack.number > messages[2].number  # the segment that completed it


def test_tcp_message_is_the_same_bytes_whatever_the_block_type() -> None:
    def data(name: str) -> list[bytes]:
        return [m.data for m in extract(name)]

    assert data("sip_tcp_spb_pb.pcapng") == data("sip_tcp_lo.pcapng")


def test_lost_tcp_segment_costs_one_message_and_is_counted() -> None:
    extractor = SipExtractor()
    messages = extract("sip_tcp_lo_gap_invalid.pcapng", extractor)
    # The hole swallows the ACK; the BYE waits behind it until the client's FIN, after the 200.
    assert first_lines(messages) == TCP_SESSION[:3] + [b"SIP/2.0 200 OK", b"BYE"] + TCP_SESSION
    assert extractor.stats.tcp_gaps == 1
    assert extractor.stats.bytes_skipped > 0


def test_sip_ports_restriction_follows_streams_from_their_syn() -> None:
    messages = extract("sip_tcp_lo.pcapng", SipExtractor(sip_ports=frozenset({5060})))
    assert first_lines(messages) == TCP_SESSION + TCP_SESSION


def test_sip_on_other_ports_is_ignored_when_ports_are_restricted() -> None:
    assert extract("sip_udp_lo.pcap", SipExtractor(sip_ports=frozenset({5080}))) == []


def test_fragmented_invites_come_out_whole() -> None:
    extractor = SipExtractor()
    messages = extract("sip_udp_fragments.pcap", extractor)
    assert [len(m.data) > 2000 for m in messages] == [True, True]
    assert extractor.stats.fragments_reassembled == 2
    assert extractor.stats.non_ip == 2


@pytest.mark.parametrize(
    "name", ["sip_udp_sll.pcap", "sip_udp_sll2.pcap", "sip_udp_null.pcap", "sip_udp_raw.pcap",
             "sip_udp_vlan.pcap", "sip_udp_lo_nsec_be.pcapng", "sip_two_sections.pcapng"],
)
def test_sip_is_found_on_every_link_type(name: str) -> None:
    assert extract(name)


def test_malformed_packets_are_counted_with_a_bounded_sample() -> None:
    extractor = SipExtractor(max_malformed_samples=2)
    for number in range(1, 6):
        assert extractor.receive(CapturedPacket(number, 0.0, LINKTYPE_IPV4, b"\x45\x00")) == []
    stats = extractor.stats
    assert stats.malformed == 5
    assert stats.malformed_samples == (
        (1, "IPv4 header truncated: 2 < 20 bytes"),
        (2, "IPv4 header truncated: 2 < 20 bytes"),
    )
