"""Reading pcap and pcapng files: every format variant, damage, streams."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from etykieta.errors import CaptureFormatError
from etykieta.telephony.capture.pcap_file import CaptureStats, open_capture
from etykieta.telephony.packets import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    CapturedPacket,
)

DATA = Path(__file__).parent / "data" / "packets"


def read(name: str) -> tuple[list[CapturedPacket], CaptureStats]:
    with open_capture(DATA / name) as capture:
        packets = list(capture)
    return packets, capture.stats


@pytest.mark.parametrize(
    ("name", "linktype"),
    [
        ("sip_udp_lo.pcap", LINKTYPE_ETHERNET),
        ("sip_udp_lo_be.pcap", LINKTYPE_ETHERNET),
        ("sip_udp_null.pcap", LINKTYPE_NULL),
        ("sip_udp_loop.pcap", LINKTYPE_LOOP),
        ("sip_udp_raw.pcap", LINKTYPE_RAW),
        ("sip_udp_sll.pcap", LINKTYPE_LINUX_SLL),
        ("sip_udp_sll2.pcap", LINKTYPE_LINUX_SLL2),
        ("sip_udp_lo_nsec.pcapng", LINKTYPE_ETHERNET),
        ("sip_udp_lo_nsec_be.pcapng", LINKTYPE_ETHERNET),
        ("sip_tcp_lo.pcapng", LINKTYPE_ETHERNET),
    ],
)
def test_valid_capture_reads_to_the_end_with_its_link_type(name: str, linktype: int) -> None:
    packets, stats = read(name)
    assert packets
    assert stats.packets == len(packets)
    assert not stats.truncated and stats.errors == []
    assert {p.linktype for p in packets} == {linktype}
    assert [p.number for p in packets] == list(range(1, len(packets) + 1))
    assert all(b.timestamp >= a.timestamp for a, b in zip(packets, packets[1:], strict=False))


def test_big_endian_pcap_yields_the_same_packets_as_little_endian() -> None:
    little, _ = read("sip_udp_lo.pcap")
    big, _ = read("sip_udp_lo_be.pcap")
    assert big == little


def test_big_endian_pcapng_yields_the_same_packets_as_little_endian() -> None:
    little, _ = read("sip_udp_lo_nsec.pcapng")
    big, _ = read("sip_udp_lo_nsec_be.pcapng")
    assert big == little


def test_timestamps_match_tshark_to_the_microsecond() -> None:
    packets, _ = read("sip_udp_lo_nsec.pcapng")
    try:
        out = subprocess.run(
            ["tshark", "-r", str(DATA / "sip_udp_lo_nsec.pcapng"), "-T", "fields",
             "-e", "frame.time_epoch"], capture_output=True, text=True, check=True,
        ).stdout.split()
    except FileNotFoundError:
        pytest.skip("tshark is not installed")
    assert [round(p.timestamp, 6) for p in packets] == [round(float(t), 6) for t in out]


def test_nanosecond_resolution_is_kept() -> None:
    packets, _ = read("sip_udp_lo_nsec.pcapng")
    assert any(round(p.timestamp * 1e9) % 1000 for p in packets)


def test_simple_and_obsolete_packet_blocks_carry_the_same_frames() -> None:
    enhanced, _ = read("sip_tcp_lo.pcapng")
    rewritten, stats = read("sip_tcp_spb_pb.pcapng")
    assert [p.data for p in rewritten] == [p.data for p in enhanced]
    # a Simple Packet Block has no timestamp: it carries the previous packet's
    assert rewritten[1].timestamp == rewritten[0].timestamp == enhanced[0].timestamp
    assert stats.errors == []


def test_each_pcapng_section_declares_its_own_interfaces() -> None:
    packets, stats = read("sip_two_sections.pcapng")
    tcp, _ = read("sip_tcp_lo.pcapng")
    sll2, _ = read("sip_udp_sll2.pcap")
    assert [p.linktype for p in packets] == [p.linktype for p in tcp + sll2]
    assert [p.number for p in packets] == list(range(1, len(packets) + 1))
    assert stats.errors == []


def test_truncated_pcap_yields_every_whole_record_then_reports() -> None:
    whole, _ = read("sip_udp_lo.pcap")
    packets, stats = read("sip_udp_lo_invalid.pcap")
    assert packets == whole[:-1]
    assert stats.truncated
    last_record = (DATA / "sip_udp_lo.pcap").stat().st_size - len(whole[-1].data) - 16
    assert stats.errors == [f"truncated record at byte {last_record}"]


def test_truncated_pcapng_yields_every_whole_block_then_reports() -> None:
    whole, _ = read("sip_tcp_lo.pcapng")
    packets, stats = read("sip_tcp_lo_invalid.pcapng")
    assert packets == whole[:-1]
    assert stats.truncated and stats.errors[0].startswith("truncated block at byte ")


def test_implausible_record_length_stops_reading_with_its_offset() -> None:
    packets, stats = read("sip_udp_lo_be_invalid.pcap")
    assert len(packets) == 4
    assert not stats.truncated
    assert stats.errors == [stats.errors[0]]
    assert stats.errors[0].startswith("implausible record length 2147483647 at byte ")


def test_invalid_pcapng_block_length_stops_reading() -> None:
    packets, stats = read("sip_udp_lo_nsec_be_invalid.pcapng")
    assert len(packets) == 4
    assert stats.errors[0].startswith("invalid block length 13 at byte ")


def test_file_that_is_not_a_capture_is_refused_on_open() -> None:
    with pytest.raises(CaptureFormatError, match=r"not a pcap or pcapng file: magic 0x494e5649"):
        open_capture(DATA / "not_a_capture_invalid.pcap")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(CaptureFormatError, match="capture file is empty"):
        open_capture(empty)


def test_gzip_file_gets_a_hint(tmp_path: Path) -> None:
    compressed = tmp_path / "c.pcap.gz"
    compressed.write_bytes(b"\x1f\x8b\x08\x00" + bytes(40))
    with pytest.raises(CaptureFormatError, match="gzip-compressed"):
        open_capture(compressed)


def test_truncated_pcap_header_is_refused() -> None:
    head = (DATA / "sip_udp_lo.pcap").read_bytes()[:10]
    with pytest.raises(CaptureFormatError, match="pcap file header truncated: 10 of 24 bytes"):
        open_capture(io.BytesIO(head))


def test_bad_pcapng_byte_order_magic_is_refused() -> None:
    head = bytearray((DATA / "sip_tcp_lo.pcapng").read_bytes()[:64])
    head[8:12] = b"ABCD"
    with pytest.raises(CaptureFormatError, match="bad pcapng byte-order magic 0x41424344"):
        open_capture(io.BytesIO(bytes(head)))


class TrickleStream(io.RawIOBase):
    """A pipe-like stream that hands out at most 7 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(min(7, len(buffer)))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("name", ["sip_udp_lo.pcap", "sip_tcp_lo.pcapng"])
def test_stream_delivering_short_reads_gives_the_same_packets(name: str) -> None:
    expected, _ = read(name)
    stream = TrickleStream((DATA / name).read_bytes())
    capture = open_capture(stream)  # type: ignore[arg-type]
    assert list(capture) == expected
    capture.close()
    assert not stream.closed  # a stream passed in belongs to the caller


def test_stopping_early_counts_only_the_packets_taken() -> None:
    with open_capture(DATA / "sip_udp_lo.pcap") as capture:
        iterator = iter(capture)
        next(iterator)
        next(iterator)
        iterator.close()  # type: ignore[attr-defined]
    assert capture.stats.packets == 2
