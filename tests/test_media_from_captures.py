"""The employee's audio, end to end from captures made by sipp with real RTP (tests/lab/audio).

What the collector renders for the answering leg must be what the phone said (normalised
cross-correlation >= 0.9 after alignment with the source recording), never the caller's side,
also with loss and reordering injected in the kernel; silence must be silent, a phone that sends
no RTP gives no packets, and G.729 is named as unsupported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from etykieta.config import Settings
from etykieta.speech.audio.assembler import aligned_correlation
from etykieta.speech.audio.collector import CallAudio, MediaCollector
from etykieta.speech.audio.vad import detect_voice, is_silent
from etykieta.speech.audio.wav import read_wav
from etykieta.telephony.analyzer import SignallingAnalyzer
from etykieta.telephony.capture.pcap_file import open_capture

from .conftest import CALLS, DATA

WINDOW_S = 10.0


def _audio_of(case: str, settings: Settings) -> tuple[CallAudio, dict[str, Any]]:
    spec = json.loads((CALLS / f"{case}.expected.json").read_text())
    collector = MediaCollector(WINDOW_S, WINDOW_S)
    analyzer = SignallingAnalyzer(settings, media=collector)
    with open_capture(CALLS / spec["capture"]) as capture:
        records = [r for packet in capture for r in analyzer.receive(packet)]
    records += analyzer.close()
    assert len(records) == 1
    audio = collector.take(records[0])
    assert audio is not None
    assert collector.open_streams == 0
    return audio, spec["audio"]


def _source(relative: str) -> Any:
    pcm, rate = read_wav(DATA / relative)
    assert rate == 8000
    return pcm


@pytest.mark.parametrize(("case", "codec"), [("audio_pcma_greeting", "PCMA"),
                                              ("audio_pcmu_greeting", "PCMU"),
                                              ("audio_loss_reorder", "PCMA")])
def test_the_opening_window_is_what_the_employee_said(case: str, codec: str,
                                                      lab_settings: Settings) -> None:
    audio, facts = _audio_of(case, lab_settings)
    opening = audio.opening
    assert opening is not None and opening.codec == codec and opening.packets > 0
    assert len(opening.pcm) == int(WINDOW_S * opening.sample_rate)
    assert aligned_correlation(opening.pcm, _source(facts["source"])) >= 0.9
    caller_words = _source(facts["caller_rtp"]["segments"][0]["source"])
    assert aligned_correlation(opening.pcm, caller_words) < 0.5  # not the caller's side
    low, high = facts["starts_after_answer_s"]
    first = detect_voice(opening.pcm, opening.sample_rate).first_speech_s
    assert first is not None and low - 0.1 <= first <= high + 0.1


def _seq_rule(rule: str) -> Callable[[int], bool]:
    """A scenario's rule on RTP sequence numbers, ``seq % 32 == 5 or seq % 64 == 40``."""
    terms = [(int(m), int(r)) for m, r in re.findall(r"seq % (\d+) == (\d+)", rule)]
    assert terms, rule
    return lambda seq: any(seq % modulus == rest for modulus, rest in terms)


def _zero_runs(pcm: Any) -> list[tuple[int, int]]:
    """(first sample, length) of each stretch of exact zeros: A-law decodes to none of them."""
    zero = np.concatenate(([0], (np.asarray(pcm) == 0).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(zero))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def test_loss_is_silence_of_the_right_length(lab_settings: Settings) -> None:
    audio, facts = _audio_of("audio_loss_reorder", lab_settings)
    opening = audio.opening
    assert opening is not None and opening.codec == "PCMA"
    lost, late = (_seq_rule(facts["impairment"][key]) for key in ("lost_seq", "late_seq"))
    # the phone's stream numbers its 20 ms packets from 0: the window holds the first
    # `packets` sequence numbers that got through, and the lost ones among them
    arrived = [seq for seq in range(2 * opening.packets) if not lost(seq)][: opening.packets]
    missing = [seq for seq in range(arrived[-1]) if lost(seq)]
    assert opening.lost_packets == len(missing) > 0
    assert opening.reordered == sum(map(late, arrived)) > 0
    samples = opening.sample_rate // 50
    runs = _zero_runs(opening.pcm)
    lead = runs[0][1] if runs and runs[0][0] == 0 else 0  # from the answer to the first packet
    assert lead < samples
    # each lost packet is silence of exactly its 20 ms, where its audio belonged; nothing else
    assert [run for run in runs if run[0] > 0] == [(lead + seq * samples, samples)
                                                   for seq in missing]


def test_the_closing_window_holds_the_thanks(lab_settings: Settings) -> None:
    audio, facts = _audio_of("audio_closing_thanks", lab_settings)
    closing = audio.closing
    assert closing is not None and closing.packets > 0
    assert aligned_correlation(closing.pcm, _source(facts["closing"]["source"])) >= 0.9
    assert aligned_correlation(closing.pcm, _source(facts["source"])) < 0.5


def test_a_silent_phone_is_silent(lab_settings: Settings) -> None:
    audio, _ = _audio_of("audio_silent", lab_settings)
    assert audio.opening is not None and audio.opening.packets > 0
    assert is_silent(detect_voice(audio.opening.pcm, audio.opening.sample_rate))


def test_a_phone_that_sends_no_rtp_gives_no_packets(lab_settings: Settings) -> None:
    audio, _ = _audio_of("audio_no_rtp", lab_settings)
    assert audio.opening is not None and audio.opening.packets == 0


def test_g729_is_named_as_unsupported(lab_settings: Settings) -> None:
    audio, _ = _audio_of("audio_g729_unsupported", lab_settings)
    assert audio.opening is not None
    assert audio.opening.unsupported_codec is not None
    assert "G729" in audio.opening.unsupported_codec
