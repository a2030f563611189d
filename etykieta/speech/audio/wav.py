"""16-bit PCM mono WAV files (RIFF WAVE, ``WAVE_FORMAT_PCM``) through the stdlib ``wave`` module.

:func:`wav_bytes` builds a file in memory; :func:`write_wav` and :func:`read_wav` take a path or
an open binary file, so the caller decides where the bytes go; :func:`pcm_samples` reads the
frames without the file around them.
"""

from __future__ import annotations

import io
import os
import wave
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

SAMPLE_WIDTH = 2  # bytes: 16-bit linear PCM
CHANNELS = 1

Target = str | os.PathLike[str] | BinaryIO


def _openable(target: Target) -> str | BinaryIO:
    """``wave.open`` takes a str path or a file object (a PathLike only from Python 3.12 on)."""
    return os.fspath(target) if isinstance(target, os.PathLike) else target


def write_wav(target: Target, pcm: npt.NDArray[np.int16], sample_rate: int) -> None:
    """Write ``pcm`` as a 16-bit mono WAV file at ``sample_rate`` Hz."""
    if pcm.ndim != 1:
        raise ValueError(f"PCM must be one channel (1-D), got shape {pcm.shape}")
    if pcm.dtype != np.int16:
        raise ValueError(f"PCM must be int16, got {pcm.dtype}")
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    with wave.open(_openable(target), "wb") as out:
        out.setnchannels(CHANNELS)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(sample_rate)
        out.writeframes(pcm.astype("<i2", copy=False).tobytes())


def wav_bytes(pcm: npt.NDArray[np.int16], sample_rate: int) -> bytes:
    """The bytes of the WAV file :func:`write_wav` would write."""
    buffer = io.BytesIO()
    write_wav(buffer, pcm, sample_rate)
    return buffer.getvalue()


def read_wav(source: Target) -> tuple[npt.NDArray[np.int16], int]:
    """Read a 16-bit mono PCM WAV file: ``(samples, sample_rate)``."""
    try:
        with wave.open(_openable(source), "rb") as wav:
            if wav.getsampwidth() != SAMPLE_WIDTH:
                raise ValueError(f"WAV samples are {8 * wav.getsampwidth()}-bit, not 16-bit")
            if wav.getnchannels() != CHANNELS:
                raise ValueError(f"WAV has {wav.getnchannels()} channels, not 1")
            frames = wav.readframes(wav.getnframes())
            rate = wav.getframerate()
    except (wave.Error, EOFError) as error:
        raise ValueError(f"not a PCM WAV file: {error}") from None
    return pcm_samples(frames), rate


def pcm_samples(pcm: bytes) -> npt.NDArray[np.int16]:
    """The samples of raw 16-bit little-endian PCM (a WAV file's frames, a stored window)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16)
