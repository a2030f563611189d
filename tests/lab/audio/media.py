"""What the audio lab's phones and callers say: espeak-ng recordings and what sipp streams.

The *sources* are what a person said, as 8 kHz 16-bit mono WAV files in
``tests/data/audio_src/`` (espeak-ng's Polish voice, resampled by sox without dither). They
are committed; :func:`make_sources` remakes them (``--sources``) or only the missing ones.

A *timeline* places sources at offsets in a stretch of silence (or low noise);
:func:`encode` turns it into the raw bytes sipp's ``rtp_stream`` plays: headerless A-law or
μ-law made by ``sox -D`` (no dither, so the bytes are a pure function of the samples), or
pseudo-random G.729-sized frames. sipp 3.6.1 plays a ``rtp_stream`` file byte for byte,
header included, so the files must have no WAV header.
"""

from __future__ import annotations

import array
import random
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
AUDIO_SRC = REPO / "tests" / "data" / "audio_src"
RATE = 8000
SAMPLE_WIDTH = 2
ESPEAK_VOICE = "pl"
ESPEAK_SPEED = 150          # words per minute (espeak-ng's default is 175)
SPEECH_THRESHOLD = 500      # |sample| above this (−36 dBFS) counts as speech onset/offset

# name → text; each becomes tests/data/audio_src/<name>.wav
PHRASES: dict[str, str] = {
    "greeting_pl": "Wydział Komunikacji, Anna Kowalska, dzień dobry.",
    "followup_pl": "W czym mogę pomóc?",
    "thanks_pl": "Dziękuję, do widzenia.",
    "casual_pl": "Halo, no słucham.",
    "caller_pl": "Dzień dobry, dzwonię w sprawie rejestracji samochodu.",
    "caller_halo_pl": "Halo? Halo, czy ktoś mnie słyszy?",
}


class MediaError(RuntimeError):
    """A tool failed while making audio."""


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise MediaError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")


def source_path(name: str) -> Path:
    """Where the source recording ``name`` lives."""
    return AUDIO_SRC / f"{name}.wav"


def make_sources(*, force: bool = False) -> list[Path]:
    """Speak every phrase with espeak-ng and resample it to 8 kHz 16-bit mono (sox, no dither).

    Existing files are kept unless ``force``: the committed captures were made from them.
    """
    AUDIO_SRC.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory(prefix="etylab-audio-") as tmp:
        for name, text in PHRASES.items():
            out = source_path(name)
            if out.exists() and not force:
                continue
            raw = Path(tmp) / f"{name}.wav"
            _run(["espeak-ng", "-v", ESPEAK_VOICE, "-s", str(ESPEAK_SPEED), "-w", str(raw), text])
            _run(["sox", "-D", str(raw), "-r", str(RATE), "-c", "1", "-b", "16",
                  "-e", "signed-integer", str(out)])
            made.append(out)
    return made


def read_source(name: str) -> array.array[int]:
    """The 16-bit samples of a source recording (checked to be 8 kHz mono 16-bit)."""
    with wave.open(str(source_path(name)), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (RATE, 1, SAMPLE_WIDTH):
            raise MediaError(f"{source_path(name)} is not 8 kHz mono 16-bit")
        samples = array.array("h", wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def speech_bounds(name: str) -> tuple[float, float]:
    """Seconds from the start of a source to its first and after its last loud sample."""
    samples = read_source(name)
    loud = [i for i, s in enumerate(samples) if abs(s) > SPEECH_THRESHOLD]
    if not loud:
        raise MediaError(f"{name}: no speech above the threshold")
    return loud[0] / RATE, (loud[-1] + 1) / RATE


def duration(name: str) -> float:
    """Length of a source recording in seconds."""
    return len(read_source(name)) / RATE


@dataclass(frozen=True)
class Segment:
    """A source recording placed ``at_s`` seconds into a timeline."""

    source: str
    at_s: float

    def as_json(self) -> dict[str, object]:
        start, end = speech_bounds(self.source)
        return {"source": f"audio_src/{self.source}.wav", "text": PHRASES[self.source],
                "at_s": self.at_s, "speech_s": [round(self.at_s + start, 3),
                                                round(self.at_s + end, 3)]}


@dataclass(frozen=True)
class Timeline:
    """``length_s`` seconds of audio: digital silence (or low noise) with segments laid on it."""

    length_s: float
    segments: tuple[Segment, ...] = ()
    noise_rms: float = 0.0     # Gaussian noise, in 16-bit units; 0 = digital silence
    noise_seed: int = 1

    def samples(self) -> array.array[int]:
        """Mix the timeline into 16-bit samples (segments overwrite the background)."""
        count = round(self.length_s * RATE)
        if self.noise_rms:
            rng = random.Random(self.noise_seed)
            out = array.array("h", (max(-32768, min(32767, round(rng.gauss(0, self.noise_rms))))
                                    for _ in range(count)))
        else:
            out = array.array("h", bytes(2 * count))
        for seg in self.segments:
            src = read_source(seg.source)
            first = round(seg.at_s * RATE)
            if first + len(src) > count:
                raise MediaError(
                    f"{seg.source} at {seg.at_s} s overruns a {self.length_s} s timeline")
            out[first:first + len(src)] = src
        return out


def encode(timeline: Timeline, codec: str, out: Path) -> Path:
    """Write ``timeline`` as the raw payload bytes of ``codec`` (PCMA, PCMU or G729)."""
    if codec == "G729":
        # Not real G.729 (no encoder here): 10 bytes per 10 ms frame of fixed pseudo-random
        # bytes. The point is that the codec is not decodable by the product.
        frames = round(timeline.length_s * 100)
        out.write_bytes(random.Random(729).randbytes(10 * frames))
        return out
    kind = {"PCMA": "al", "PCMU": "ul"}[codec]
    samples = timeline.samples()
    if sys.byteorder == "big":
        samples.byteswap()
    with tempfile.TemporaryDirectory(prefix="etylab-audio-") as tmp:
        pcm = Path(tmp) / "timeline.s16"
        pcm.write_bytes(samples.tobytes())
        _run(["sox", "-D", "-t", "s16", "-r", str(RATE), "-c", "1", "-L", str(pcm),
              "-t", kind, str(out)])
    return out
