"""Energy-based voice activity on 16-bit PCM: enough to tell ``silent`` from speech.

Frames of 20 ms are compared with an adaptive noise floor: it starts at a low percentile of the
window's frame energies (so a line's steady hiss or hum is the floor, not speech), falls at once
to quieter frames and rises slowly, so a change of background is absorbed within seconds while
a syllable is not. Speech frames must also pass an absolute level, below which nothing heard on
a telephone line is a voice. Gaps up to the hangover are bridged (pauses between words), and
bursts shorter than a syllable are dropped (clicks, DTMF edges).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FRAME_S = 0.02
FULL_SCALE = 32768.0
MARGIN_DB = 12.0  # above the noise floor
MIN_SPEECH_DBFS = -50.0  # quieter frames are never speech (G.711 idle codes are ~-72 dBFS)
FLOOR_PERCENTILE = 10.0
FLOOR_RISE_DB_PER_S = 3.0
LOWEST_DBFS = -100.0  # digital silence is clamped here instead of -inf
HANGOVER_S = 0.2  # pauses shorter than this stay inside a segment
MIN_SEGMENT_S = 0.06  # bursts of fewer voiced frames are not speech
SILENT_BELOW_S = 0.3


@dataclass(frozen=True, slots=True)
class VoiceActivity:
    """Where speech was heard in a window; times in seconds from the window's start."""

    speech_s: float
    first_speech_s: float | None
    segments: tuple[tuple[float, float], ...]
    duration_s: float


def frame_energies(pcm: npt.NDArray[np.int16], sample_rate: int) -> npt.NDArray[np.float64]:
    """Mean power of each whole 20 ms frame in dB relative to full scale."""
    frame = round(sample_rate * FRAME_S)
    frames = len(pcm) // frame
    if not frames:
        return np.zeros(0)
    samples = pcm[: frames * frame].astype(np.float64).reshape(frames, frame) / FULL_SCALE
    power = np.mean(samples * samples, axis=1)
    return np.maximum(10 * np.log10(np.maximum(power, 1e-30)), LOWEST_DBFS)


def _voiced(energies: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Frames louder than the running noise floor by the margin (and than the absolute level)."""
    floor = float(np.percentile(energies, FLOOR_PERCENTILE))
    rise = FLOOR_RISE_DB_PER_S * FRAME_S
    voiced = np.zeros(len(energies), dtype=bool)
    for index, energy in enumerate(energies.tolist()):
        floor = energy if energy < floor else floor + min(rise, energy - floor)
        voiced[index] = energy > max(floor + MARGIN_DB, MIN_SPEECH_DBFS)
    return voiced


def detect_voice(pcm: npt.NDArray[np.int16], sample_rate: int) -> VoiceActivity:
    """Find the speech segments of a mono window."""
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    duration = len(pcm) / sample_rate
    energies = frame_energies(pcm, sample_rate)
    voiced_frames = np.flatnonzero(_voiced(energies)) if len(energies) else np.zeros(0, int)
    bridge = round(HANGOVER_S / FRAME_S)
    shortest = round(MIN_SEGMENT_S / FRAME_S)
    segments: list[tuple[float, float]] = []
    groups = np.split(voiced_frames, np.flatnonzero(np.diff(voiced_frames) > bridge + 1) + 1)
    for group in groups:
        if len(group) >= shortest:
            segments.append((float(group[0]) * FRAME_S, (float(group[-1]) + 1) * FRAME_S))
    return VoiceActivity(
        speech_s=sum(end - start for start, end in segments),
        first_speech_s=segments[0][0] if segments else None,
        segments=tuple(segments),
        duration_s=duration,
    )


def is_silent(activity: VoiceActivity, min_speech_s: float = SILENT_BELOW_S) -> bool:
    """Whether a window holds too little speech to count as a greeting attempt."""
    return activity.speech_s < min_speech_s
