"""Audio decoders for the codecs Etykieta can judge: G.711 A-law and μ-law, and G.722.

G.711 (ITU-T G.711, RFC 3551 §4.5.14) is decoded through 256-entry int16 tables computed at
import from the Recommendation's expansion rules; they give the same samples as sox's decoder
(checked code by code in the tests). G.722 (RFC 3551 §4.5.2) uses the ``G722`` package (import
name ``G722``, libg722 from the sippy project); its RTP clock runs at 8000 Hz while the audio is
sampled at 16 kHz, so one RTP tick is two samples. :func:`decoder_for` returns ``None`` for
anything else, and the caller reports the codec as unsupported.
"""

from __future__ import annotations

import array
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Protocol

import numpy as np
import numpy.typing as npt

PCM = npt.NDArray[np.int16]

G711_CLOCK_RATE = 8000
G722_CLOCK_RATE = 8000  # RFC 3551 §4.5.2: an historical error kept for compatibility
G722_SAMPLE_RATE = 16000
G722_BIT_RATE = 64000  # mode 1, the only one RTP carries (RFC 3551 §4.5.2)
G722_MODULE = "G722"


def _alaw_table() -> PCM:
    """A-law expansion (G.711 Table 1a/1b): even bits inverted, 3-bit segment, 4-bit step.

    The 13-bit decision value is scaled to 16 bits, so the largest magnitude is 32256.
    """
    code = np.arange(256, dtype=np.int32) ^ 0x55
    mantissa = code & 0x0F
    segment = (code >> 4) & 0x07
    magnitude = np.where(
        segment == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(segment - 1, 0),
    )
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


def _ulaw_table() -> PCM:
    """μ-law expansion (G.711 Table 2a/2b): bits inverted, bias 33 (132 at 16-bit scale).

    The 14-bit decision value is scaled to 16 bits, so the largest magnitude is 32124.
    """
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = ((((code & 0x0F) << 3) + 0x84) << ((code >> 4) & 0x07)) - 0x84
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


ALAW_TABLE: PCM = _alaw_table()
ULAW_TABLE: PCM = _ulaw_table()


class Decoder(Protocol):
    """Turns one RTP payload at a time into 16-bit linear PCM.

    ``samples_per_tick`` converts RTP timestamp units into samples (1 for G.711, 2 for G.722).
    Decoders may keep state between payloads (ADPCM does); call :meth:`reset` where the stream
    is discontinuous, e.g. at a new SSRC.
    """

    name: str
    clock_rate: int
    sample_rate: int
    samples_per_tick: int

    def decode(self, payload: bytes) -> PCM:
        """The samples of one payload, in order."""
        ...

    def silence(self, samples: int) -> PCM:
        """``samples`` samples of digital silence at :attr:`sample_rate`."""
        ...

    def reset(self) -> None:
        """Forget any state carried from previous payloads."""
        ...


def _silence(samples: int) -> PCM:
    return np.zeros(max(samples, 0), dtype=np.int16)


class G711Decoder:
    """Stateless G.711 decoding by table look-up."""

    clock_rate = G711_CLOCK_RATE
    sample_rate = G711_CLOCK_RATE
    samples_per_tick = 1

    def __init__(self, name: str, table: PCM) -> None:
        self.name = name
        self._table = table

    def decode(self, payload: bytes) -> PCM:
        """One sample per byte through the expansion table."""
        return self._table[np.frombuffer(payload, dtype=np.uint8)]

    def silence(self, samples: int) -> PCM:
        """Zeros (the decoded value of neither law's idle code, but what a gap should be)."""
        return _silence(samples)

    def reset(self) -> None:
        """G.711 has no state."""


class _G722Codec(Protocol):
    """The part of ``G722.G722`` used here: one object keeps one direction's ADPCM state."""

    def decode(self, data: bytes) -> array.array[int]:
        """16-bit samples in native byte order (``array.array('h')``)."""
        ...


class G722Decoder:
    """G.722 at 64 kbit/s to 16 kHz PCM; the ADPCM state runs on from payload to payload."""

    name = "G722"
    clock_rate = G722_CLOCK_RATE
    sample_rate = G722_SAMPLE_RATE
    samples_per_tick = G722_SAMPLE_RATE // G722_CLOCK_RATE

    def __init__(self, module: ModuleType) -> None:
        self._new: Callable[[], _G722Codec] = lambda: module.G722(G722_SAMPLE_RATE, G722_BIT_RATE)
        self._codec = self._new()

    def decode(self, payload: bytes) -> PCM:
        """Two samples per byte (RFC 3551 §4.5.2: 8 bits carry one 16 kHz sample pair)."""
        return np.frombuffer(self._codec.decode(bytes(payload)), dtype=np.int16).copy()

    def silence(self, samples: int) -> PCM:
        """Zeros."""
        return _silence(samples)

    def reset(self) -> None:
        """Start again from the codec's initial ADPCM state."""
        self._codec = self._new()


def g722_module() -> ModuleType | None:
    """The ``G722`` extension module, or None when it is not installed or does not load."""
    try:
        return importlib.import_module(G722_MODULE)
    except ImportError:
        return None


def decoder_for(encoding_name: str, clock_rate: int) -> Decoder | None:
    """A fresh decoder for an ``a=rtpmap`` encoding, or None if Etykieta cannot decode it."""
    name = encoding_name.upper()
    if name == "PCMA" and clock_rate == G711_CLOCK_RATE:
        return G711Decoder("PCMA", ALAW_TABLE)
    if name == "PCMU" and clock_rate == G711_CLOCK_RATE:
        return G711Decoder("PCMU", ULAW_TABLE)
    if name == "G722" and clock_rate == G722_CLOCK_RATE:
        module = g722_module()
        return G722Decoder(module) if module is not None else None
    return None


def codec_label(encoding_name: str, clock_rate: int) -> str:
    """How a codec is named in a verdict: ``G729/8000``, the ``a=rtpmap`` spelling."""
    return f"{encoding_name.upper()}/{clock_rate}"
