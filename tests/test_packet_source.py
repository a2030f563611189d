"""Every live source is a PacketSource with neutral counters; the monitor's line reads them."""

from __future__ import annotations

from etykieta.monitor.service import MonitorStats
from etykieta.telephony.capture.live import LiveCapture, StreamCapture
from etykieta.telephony.capture.source import PacketSource, SourceStats

from .conftest import CALLS

CAPTURE = CALLS / "b2bua_answered_ring3.pcap"  # 13 packets


def _drain(source: PacketSource) -> int:
    source.start()
    try:
        return sum(1 for packet in source.packets(0.05) if packet is not None)
    finally:
        source.stop()


def test_a_stream_says_what_it_read_and_that_it_lost_nothing() -> None:
    with CAPTURE.open("rb") as stream:
        source = StreamCapture(stream, name="stream:test")
        assert _drain(source) == 13
    assert source.source_stats() == SourceStats(
        upstream="the kernel", packets=13, dropped_upstream=None, dropped_behind=0, errors=())


def test_tcpdumps_counters_read_as_a_sources() -> None:
    live = LiveCapture("lo")  # not started: its counters are set as its threads would
    live.stats.packets, live.stats.dropped_by_monitor = 120, 7
    live.stats.dropped_by_kernel = 3
    live.stats.errors.append("tcpdump exited unexpectedly (status 1)")
    assert live.source_stats() == SourceStats(
        upstream="the kernel", packets=120, dropped_upstream=3, dropped_behind=7,
        errors=("tcpdump exited unexpectedly (status 1)",))


def test_the_monitors_line_names_the_losses_as_before() -> None:
    stats = MonitorStats(packets=120, source=SourceStats(
        upstream="the kernel", packets=120, dropped_upstream=3, dropped_behind=7,
        errors=("tcpdump exited unexpectedly (status 1)",)))
    line = stats.line()
    assert line.endswith("; packets lost: 3 by the kernel, 7 while the monitor fell behind"
                         "; capture damaged: tcpdump exited unexpectedly (status 1)")
    behind_only = MonitorStats(source=SourceStats(upstream="the kernel", dropped_behind=2))
    assert "; packets lost: 0 by the kernel, 2 while the monitor fell behind" in (
        behind_only.line())


def test_a_source_that_lost_nothing_adds_nothing_to_the_line() -> None:
    quiet = MonitorStats(source=SourceStats(upstream="the sender", packets=5,
                                            dropped_upstream=0))
    assert "packets lost" not in quiet.line() and "damaged" not in quiet.line()
    assert "by the sender" in MonitorStats(source=SourceStats(
        upstream="the sender", dropped_upstream=4)).line()
