"""B2BUA legs that carry no usable caller number are still one call (issue #3, point 3).

Derived from the real sippy-B2BUA capture b2bua_answered_ring3.pcap: the phone leg's caller
number (PBX ↔ 127.0.3.1) is rewritten to digits of the same length, as a PBX that rewrites the
caller ID would send it. The call must still be counted once, answered by the phone, and the
low-confidence link must be counted.
"""

from __future__ import annotations

from dataclasses import replace

from etykieta.config import Settings
from etykieta.telephony.analyzer import SignallingAnalyzer
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import CapturedPacket
from etykieta.telephony.records import CallRecord

from .conftest import CALLS

CAPTURE = CALLS / "b2bua_answered_ring3.pcap"
CALLER = b"+48600700800"
PHONE = bytes([127, 0, 3, 1])


def _analyse(frames: list[CapturedPacket], settings: Settings
             ) -> tuple[list[CallRecord], SignallingAnalyzer]:
    analyzer = SignallingAnalyzer(settings)
    calls = [c for frame in frames for c in analyzer.receive(frame)] + analyzer.close()
    return calls, analyzer


def _frames(rewrite_phone_leg: bool) -> list[CapturedPacket]:
    with open_capture(CAPTURE) as capture:
        frames = list(capture)
    if not rewrite_phone_leg:
        return frames
    return [replace(f, data=f.data.replace(CALLER, b"+48111111111")) if PHONE in f.data else f
            for f in frames]


def test_the_b2bua_call_is_one_call_linked_by_number(lab_settings: Settings) -> None:
    calls, analyzer = _analyse(_frames(False), lab_settings)
    assert len(calls) == 1 and calls[0].link == "number"
    assert analyzer.assembler.stats.ambiguous_links == 0


def test_a_rewritten_caller_id_still_gives_one_call(lab_settings: Settings) -> None:
    calls, analyzer = _analyse(_frames(True), lab_settings)
    assert len(calls) == 1
    [call] = calls
    assert (call.caller, call.answered_by, call.rings) == ("+48600700800", "1201", 3)
    assert call.link == "ambiguous" and len(call.legs) == 2
    assert analyzer.assembler.stats.ambiguous_links == 1
