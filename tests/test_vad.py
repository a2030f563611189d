"""Energy voice activity on real speech (espeak-ng's Polish voice), noise and silence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from etykieta.speech.audio.assembler import RtpStreamAssembler
from etykieta.speech.audio.vad import detect_voice, is_silent
from etykieta.speech.audio.wav import read_wav
from tests.rtp_streams import Sender, drop

AUDIO = Path(__file__).parent / "data" / "audio"
RATE = 8000


@pytest.fixture(scope="module")
def greeting() -> np.ndarray:
    return read_wav(AUDIO / "greeting_8k.wav")[0]


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    """2 s of sox ``synth whitenoise vol 0.01`` (about -53 dBFS)."""
    return read_wav(AUDIO / "noise_vol001_8k.wav")[0]


def pad(pcm: np.ndarray, before_s: float, total_s: float) -> np.ndarray:
    out = np.zeros(round(total_s * RATE), np.int16)
    out[round(before_s * RATE) : round(before_s * RATE) + len(pcm)] = pcm
    return out


def mix(*signals: np.ndarray) -> np.ndarray:
    total = sum(s.astype(np.int32) for s in signals)
    return np.clip(total, -32768, 32767).astype(np.int16)


def test_the_greeting_is_speech_from_where_it_starts(greeting: np.ndarray) -> None:
    activity = detect_voice(pad(greeting, 1.5, 10), RATE)
    assert not is_silent(activity)
    assert activity.first_speech_s == pytest.approx(1.5, abs=0.06)
    assert activity.speech_s == pytest.approx(3.4, abs=0.4)  # the sentence lasts 3.66 s
    assert activity.segments[-1][1] == pytest.approx(1.5 + 3.66, abs=0.3)
    assert activity.duration_s == 10


def test_digital_silence_is_silent() -> None:
    activity = detect_voice(np.zeros(10 * RATE, np.int16), RATE)
    assert is_silent(activity)
    assert (activity.speech_s, activity.first_speech_s, activity.segments) == (0, None, ())


@pytest.mark.parametrize("gain", [1, 30], ids=["vol-0.01", "30x-louder"])
def test_steady_noise_is_silent_at_any_level(noise: np.ndarray, gain: int) -> None:
    hiss = np.tile(noise, 5) * gain
    assert is_silent(detect_voice(hiss.astype(np.int16), RATE))


def test_speech_over_noise_is_still_speech(greeting: np.ndarray, noise: np.ndarray) -> None:
    line = np.tile(noise, 5)
    activity = detect_voice(mix(line, pad(greeting, 2.0, 10)), RATE)
    assert not is_silent(activity)
    assert activity.first_speech_s == pytest.approx(2.0, abs=0.1)


def test_quiet_speech_is_speech(greeting: np.ndarray) -> None:
    quiet = (greeting.astype(np.float64) * 0.05).astype(np.int16)  # -26 dB
    assert not is_silent(detect_voice(pad(quiet, 0.5, 10), RATE))


def test_a_click_is_not_speech() -> None:
    pcm = np.zeros(10 * RATE, np.int16)
    pcm[RATE : RATE + 40] = 20000  # 5 ms
    assert detect_voice(pcm, RATE).segments == ()


def test_a_short_word_is_below_the_silence_threshold(greeting: np.ndarray) -> None:
    activity = detect_voice(pad(greeting[: round(0.25 * RATE)], 1, 10), RATE)
    assert activity.speech_s > 0
    assert is_silent(activity)
    assert not is_silent(activity, min_speech_s=0.1)


def test_speech_heard_through_lossy_rtp_is_one_segment(greeting: np.ndarray) -> None:
    alaw = (AUDIO / "greeting.al").read_bytes()
    sent, _ = drop(Sender(payload_type=8).send(alaw, 100.5), 0.05)
    assembler = RtpStreamAssembler({8: ("PCMA", 8000)})
    for arrival, data in sent:
        assembler.push(arrival, data)
    activity = detect_voice(assembler.render(100.0, 10).pcm, RATE)
    assert activity.first_speech_s == pytest.approx(0.5, abs=0.06)
    assert len(activity.segments) <= 2  # 20 ms holes are bridged by the hangover


def test_invalid_sample_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="sample rate must be positive"):
        detect_voice(np.zeros(10, np.int16), 0)


def test_too_short_for_a_frame_is_silent() -> None:
    assert is_silent(detect_voice(np.full(100, 10000, np.int16), RATE))
