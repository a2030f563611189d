"""What the shells use of the signalling core is the analyzer's own API, not its parts."""

from __future__ import annotations

from dataclasses import replace

from etykieta.config import Settings
from etykieta.telephony.analyzer import SignallingAnalyzer
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import CapturedPacket
from etykieta.telephony.records import Outcome

from .conftest import CALLS

B2BUA = CALLS / "b2bua_answered_ring3.pcap"  # a trunk leg, then the PBX's leg to 1201


def _packets() -> list[CapturedPacket]:
    with open_capture(B2BUA) as capture:
        return list(capture)


def test_stats_is_one_snapshot_of_every_counter(lab_settings: Settings) -> None:
    analyzer = SignallingAnalyzer(lab_settings)
    for packet in _packets():
        analyzer.receive(packet)
    during = analyzer.stats
    assert (during.pipeline.packets, during.pipeline.sip_messages) == (13, 13)
    assert (during.tracker.messages, during.tracker.legs) == (13, 2)
    assert (during.assembler.calls, during.assembler.legs_linked) == (0, 1)
    assert (during.open_legs, during.open_calls) == (2, 1)
    assert (during.unparsable, during.malformed_headers_kept) == (0, 0)
    analyzer.close()
    after = analyzer.stats
    assert (after.assembler.calls, after.open_legs, after.open_calls) == (1, 0, 0)
    assert (during.assembler.calls, during.open_calls) == (0, 1)  # a snapshot stays as it was


def test_legs_opened_and_the_leg_opened_last_follow_the_input(lab_settings: Settings) -> None:
    analyzer = SignallingAnalyzer(lab_settings)
    seen = []
    for packet in _packets()[:3]:
        analyzer.receive(packet)
        seen.append((analyzer.last_frame_was_signalling, analyzer.legs_opened,
                     analyzer.last_opened_leg))
    assert seen[0] == (True, 1, "1-4711@127.0.2.1")
    assert seen[2] == (True, 2, "ac91215480743f37c07adc8240f91c2a")


def test_preview_and_oldest_open_start_read_an_open_call(lab_settings: Settings) -> None:
    analyzer = SignallingAnalyzer(lab_settings)
    packets = _packets()
    assert analyzer.oldest_open_start() is None and analyzer.preview("1-4711@127.0.2.1") is None
    for packet in packets[:9]:  # answered, not hung up
        analyzer.receive(packet)
    record = analyzer.preview("ac91215480743f37c07adc8240f91c2a")
    assert record is not None and record.call_id == "1-4711@127.0.2.1"
    assert (record.outcome, record.answered_by) == (Outcome.ANSWERED, "1201")
    assert analyzer.oldest_open_start() == packets[0].timestamp
    assert analyzer.stats.open_calls == 1  # previewing finished nothing


def test_finish_ended_stores_what_has_ended_and_leaves_what_goes_on(
        lab_settings: Settings) -> None:
    packets = _packets()
    going_on = SignallingAnalyzer(lab_settings)
    for packet in packets[:9]:
        going_on.receive(packet)
    assert going_on.finish_ended(packets[8].timestamp) == []
    assert going_on.stats.open_calls == 1
    ended = SignallingAnalyzer(lab_settings)
    for packet in packets:
        assert ended.receive(packet) == []  # the settle time has not passed
    [call] = ended.finish_ended(packets[-1].timestamp)
    assert (call.call_id, call.outcome, call.rings) == ("1-4711@127.0.2.1", "answered", 3)


def test_sip_ports_are_the_configured_ones(lab_settings: Settings) -> None:
    assert lab_settings.capture.sip_ports is None
    assert SignallingAnalyzer(lab_settings).sip_ports is None  # any port, by content
    ports = replace(lab_settings, capture=replace(lab_settings.capture, sip_ports=(5060, 5080)))
    assert SignallingAnalyzer(ports).sip_ports == frozenset({5060, 5080})
