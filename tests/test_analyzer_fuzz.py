"""No input crashes ingestion: damaged frames of real captures go through the whole core.

Hypothesis mutates the frames of lab captures (flipped bytes, cut frames, shuffled order,
duplicated frames) and feeds them to the SignallingAnalyzer: it may find fewer or odder calls,
but it must never raise.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etykieta.config import Settings, load_settings
from etykieta.telephony.analyzer import SignallingAnalyzer
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import CapturedPacket

from .conftest import CALLS, LAB_CONFIG

SOURCES = ["direct_answered_ring1.pcap", "proxy_forked.pcap", "transport_tcp.pcap",
           "direct_abandoned.pcap"]
SETTINGS: Settings = load_settings(LAB_CONFIG)


def _frames() -> list[CapturedPacket]:
    frames: list[CapturedPacket] = []
    for name in SOURCES:
        with open_capture(CALLS / name) as capture:
            frames.extend(capture)
    return frames


FRAMES = _frames()


@st.composite
def damaged(draw: st.DrawFn) -> list[CapturedPacket]:
    frames = list(draw(st.permutations(FRAMES)) if draw(st.booleans()) else FRAMES)
    out: list[CapturedPacket] = []
    for frame in frames:
        data = bytearray(frame.data)
        action = draw(st.sampled_from(["keep", "flip", "cut", "dup", "junk"]))
        if action == "flip" and data:
            for _ in range(draw(st.integers(1, 8))):
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif action == "cut":
            data = data[: draw(st.integers(0, len(data)))]
        elif action == "junk":
            data[14:] = draw(st.binary(max_size=300))
        out.append(replace(frame, data=bytes(data)))
        if action == "dup":
            out.append(frame)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_frames_never_crash_the_core(frames: list[CapturedPacket]) -> None:
    analyzer = SignallingAnalyzer(SETTINGS)
    calls = [call for frame in frames for call in analyzer.receive(frame)]
    calls += analyzer.close()
    assert analyzer.tracker.open_legs == 0
    assert analyzer.assembler.open_calls == 0
    for call in calls:
        assert call.outcome in {"answered", "voicemail", "abandoned", "busy", "no_answer",
                                "rejected", "failed", "unknown"}


def test_the_undamaged_frames_give_their_calls() -> None:
    analyzer = SignallingAnalyzer(SETTINGS)
    calls = [call for frame in FRAMES for call in analyzer.receive(frame)] + analyzer.close()
    assert len(calls) == len(SOURCES)
