"""G.711 tables against sox, G.722 through the ``G722`` package, and the decoder registry."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from etykieta.speech.audio.assembler import aligned_correlation
from etykieta.speech.audio.codecs import (
    ALAW_TABLE,
    ULAW_TABLE,
    G711Decoder,
    decoder_for,
    g722_module,
)
from etykieta.speech.audio.wav import read_wav

AUDIO = Path(__file__).parent / "data" / "audio"
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox")
needs_g722 = pytest.mark.skipif(g722_module() is None, reason="needs the G722 package")


def snr_db(reference: np.ndarray, decoded: np.ndarray) -> float:
    error = reference.astype(np.float64) - decoded
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / np.sum(error**2)))


@pytest.mark.parametrize(
    ("table", "fixture"),
    [(ALAW_TABLE, "g711_alaw_all_codes.sox.s16"), (ULAW_TABLE, "g711_ulaw_all_codes.sox.s16")],
    ids=["alaw", "ulaw"],
)
def test_g711_tables_match_sox_on_every_code(table: np.ndarray, fixture: str) -> None:
    sox = np.fromfile(AUDIO / fixture, dtype="<i2")
    assert table.dtype == np.int16
    assert np.array_equal(table, sox)


def test_g711_tables_have_the_recommendations_end_points() -> None:
    # A-law: 0xD5/0x55 are the smallest magnitudes (+-8), 0xAA/0x2A the largest (+-32256).
    assert (ALAW_TABLE[0xD5], ALAW_TABLE[0x55], ALAW_TABLE[0xAA], ALAW_TABLE[0x2A]) == (
        8,
        -8,
        32256,
        -32256,
    )
    # mu-law: 0xFF and 0x7F are both zero, 0x80/0x00 are +-32124.
    assert (ULAW_TABLE[0xFF], ULAW_TABLE[0x7F], ULAW_TABLE[0x80], ULAW_TABLE[0x00]) == (
        0,
        0,
        32124,
        -32124,
    )


@pytest.mark.parametrize(("name", "fixture"), [("PCMA", "greeting.al"), ("PCMU", "greeting.ul")])
def test_g711_decodes_sox_encoded_speech_to_the_source(name: str, fixture: str) -> None:
    source, rate = read_wav(AUDIO / "greeting_8k.wav")
    decoder = decoder_for(name, 8000)
    assert decoder is not None
    decoded = decoder.decode((AUDIO / fixture).read_bytes())
    assert rate == decoder.sample_rate == 8000
    assert len(decoded) == len(source)
    assert snr_db(source, decoded) > 30  # G.711 gives ~38 dB on speech


@needs_sox
@pytest.mark.parametrize(("name", "sox_type"), [("PCMA", "al"), ("PCMU", "ul")])
def test_g711_decode_of_a_tone_is_byte_exact_with_sox(
    name: str, sox_type: str, tmp_path: Path
) -> None:
    tone, encoded, decoded = tmp_path / "tone.wav", tmp_path / "tone.raw", tmp_path / "tone.s16"
    synth = ["synth", "1", "sine", "300-3000", "vol", "0.7"]
    fmt = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
    subprocess.run(["sox", "-D", "-n", *fmt, str(tone), *synth], check=True)
    subprocess.run(["sox", "-D", str(tone), "-t", sox_type, str(encoded)], check=True)
    subprocess.run(
        [
            "sox",
            "-D",
            "-t",
            sox_type,
            "-r",
            "8000",
            "-c",
            "1",
            str(encoded),
            "-t",
            "s16",
            "-L",
            str(decoded),
        ],
        check=True,
    )
    decoder = decoder_for(name, 8000)
    assert decoder is not None
    ours = decoder.decode(encoded.read_bytes())
    assert ours.astype("<i2").tobytes() == decoded.read_bytes()


@needs_g722
def test_g722_round_trip_through_the_package_keeps_the_speech() -> None:
    module = g722_module()
    source, rate = read_wav(AUDIO / "greeting_16k.wav")
    encoder = module.G722(16000, 64000)  # type: ignore[union-attr]
    encoded = bytes(encoder.encode(source))
    assert len(encoded) == len(source) // 2  # 64 kbit/s: one byte per two 16 kHz samples
    decoder = decoder_for("G722", 8000)
    assert decoder is not None
    assert (decoder.name, decoder.sample_rate, decoder.clock_rate) == ("G722", 16000, 8000)
    assert decoder.samples_per_tick == 2
    decoded = np.concatenate(
        [decoder.decode(encoded[i : i + 160]) for i in range(0, len(encoded), 160)]
    )
    assert decoded.dtype == np.int16
    assert rate == 16000
    assert aligned_correlation(decoded, source) > 0.95


@needs_g722
def test_g722_reset_restarts_the_adpcm_state() -> None:
    decoder = decoder_for("G722", 8000)
    assert decoder is not None
    payload = bytes(range(160))
    first = decoder.decode(payload)
    assert not np.array_equal(decoder.decode(payload), first)  # the state moved on
    decoder.reset()
    assert np.array_equal(decoder.decode(payload), first)


@pytest.mark.parametrize(
    ("encoding", "clock_rate", "name"),
    [
        ("PCMA", 8000, "PCMA"),
        ("pcmu", 8000, "PCMU"),
        ("PCMU", 16000, None),
        ("G729", 8000, None),
        ("opus", 48000, None),
        ("G722", 16000, None),
        ("telephone-event", 8000, None),
    ],
)
def test_decoder_for_knows_only_what_it_can_decode(
    encoding: str, clock_rate: int, name: str | None
) -> None:
    decoder = decoder_for(encoding, clock_rate)
    assert (decoder.name if decoder is not None else None) == name


def test_g711_silence_is_zeros_of_the_asked_length() -> None:
    decoder = G711Decoder("PCMA", ALAW_TABLE)
    silence = decoder.silence(160)
    assert silence.dtype == np.int16
    assert len(silence) == 160
    assert not silence.any()
    assert len(decoder.silence(-5)) == 0
