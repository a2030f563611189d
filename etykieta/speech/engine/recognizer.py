"""The Vosk adapter: one model per process, telephone audio in, a `Transcript` out.

Facts this module is built on are measured in ``docs/field-notes.md`` (Vosk section):

- Vosk upsamples 8 kHz input only if the model's ``conf/mfcc.conf`` allows it, so audio is
  resampled here, with soxr, to the rate the model was trained on.
- A malformed grammar string (``'not json'``, ``'[]'``) segfaults the process: a grammar reaches
  Vosk only after `validate_grammar` has re-serialised it.
- A recognizer keeps its graph cache; freed memory stays in the process until ``malloc_trim(0)``.
  A recognizer is freed and the heap trimmed when it is done with.
- The unknown-word token is ``[unk]`` in some models and ``<UNK>`` in others: the model is asked.
- A fresh recognizer spends most of its first seconds of speech expanding its share of the
  decoding graph (HCLr∘Gr, composed on the fly and cached per recognizer: measured with the
  Korean model, 1.7 CPU-s for a 4.3 s greeting, 0.19 s for the same audio on the same recognizer
  again). So only the speech of a window is decoded (`Window.spans`), the windows of one call
  share one recognizer (`transcribe_windows`), and the free pass may keep its recognizer for
  several calls (`RecognizerLease`): after ``FinalResult`` Vosk starts a new feature pipeline
  and decoder, so only the graph cache carries over to the next call.

``vosk`` and ``soxr`` are imported when a model is loaded, so the package works without them;
`VoskEngine.load` then raises `SpeechUnavailableError` with the reason.
"""

from __future__ import annotations

import ctypes
import functools
import json
import math
import platform
import time
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ...errors import EtykietaError
from ..audio.wav import read_wav
from ..greeting.transcript import Transcript
from .model_conf import (
    DEFAULT_FRAME_SHIFT_MS,
    model_frame_s,
    model_sample_rate,
)

POLISH_PROBE_WORDS = ("dzień", "dobry", "dziękuję")
"""Words every Polish model knows and T1 and T10 rest on: a model lacking any of them is not one
the greeting check can use (e.g. the Korean test model)."""
UNKNOWN_TOKEN_SPELLINGS = ("[unk]", "<UNK>")
"""Spellings of the unknown-word token, in the order the model is asked about them."""
CHUNK_SECONDS = 0.25
"""Audio fed to the recognizer per `AcceptWaveform` call (0.02 s to whole windows measured the
same within noise: the cost is in decoding, not in the calls)."""
FRAME_EPSILON = 1e-6
"""Tolerance when a span time is put on the frame grid (0.3 / 0.03 is 9.999999999999998)."""
VOSK_LOG_LEVEL = -1
"""Vosk's verbosity: -1 hides its info log; warnings (e.g. a grammar word missing from the
vocabulary, which `build_grammar` prevents) still reach stderr."""

Pcm = npt.NDArray[np.int16] | bytes
Span = tuple[float, float]
"""(start, end) in seconds from the start of a window."""
_Pieces = list[tuple[float, npt.NDArray[np.int16]]]
"""The audio of a window to decode: (start in the window, samples at the model's rate)."""


class SpeechUnavailableError(EtykietaError):  # noqa: N818 - names a state, not a fault
    """Speech recognition cannot run here; ``reason`` says why (no vosk, no model, bad model)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class EngineReport:
    """What ``etykieta speech check`` prints: is the model usable, and how fast is it here."""

    model_path: str
    load_s: float
    sample_rate: int
    unknown_token: str | None
    sample_path: str
    audio_s: float
    transcribe_s: float
    transcript: Transcript
    missing_words: tuple[str, ...]
    missing_polish: tuple[str, ...] = ()
    """The `POLISH_PROBE_WORDS` the model lacks: any means it is not a Polish model."""

    @property
    def polish(self) -> bool:
        return not self.missing_polish

    @property
    def real_time_factor(self) -> float:
        """Seconds of computing per second of audio (below 1: faster than real time)."""
        return self.transcribe_s / self.audio_s if self.audio_s else 0.0


@dataclass(frozen=True, slots=True)
class Window:
    """16-bit mono PCM at ``rate``, and the spans of it that are worth decoding.

    ``spans`` are in order and do not overlap; None decodes the whole window, ``()`` nothing.
    Word times are seconds from the window's start whatever was left out.
    """

    pcm: Pcm
    rate: int
    spans: tuple[Span, ...] | None = None


def validate_grammar(grammar: str) -> str:
    """Return ``grammar`` re-serialised by json.dumps; raise ValueError if Vosk could crash on it.

    Vosk accepts a JSON list of phrases; anything else ('not json', '[]') segfaults it
    (docs/field-notes.md). Phrases are whitespace-normalised; ``ensure_ascii=False`` because
    Vosk reads ``\\uXXXX`` escapes literally (measured: every escaped Korean word was "missing
    in vocabulary").
    """
    try:
        phrases = json.loads(grammar)
    except json.JSONDecodeError as exc:
        raise ValueError(f"grammar is not JSON: {exc}") from None
    if not isinstance(phrases, list) or not phrases:
        raise ValueError("grammar must be a non-empty JSON list of phrases")
    normalised = []
    for phrase in phrases:
        if not isinstance(phrase, str):
            raise ValueError(f"grammar phrase is not a string: {phrase!r}")
        words = phrase.split()
        if not words:
            raise ValueError("grammar phrase is empty")
        normalised.append(" ".join(words))
    return json.dumps(normalised, ensure_ascii=False)


def trim_memory() -> None:
    """Give freed heap memory back to the OS (glibc only); Vosk's freed caches stay otherwise."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    return ctypes.CDLL("libc.so.6") if platform.libc_ver()[0] == "glibc" else None


class VoskEngine:
    """A loaded Vosk model. Create with `VoskEngine.load`; use from one process."""

    def __init__(
        self,
        model: Any,
        model_path: Path,
        sample_rate: int,
        unknown_token: str | None,
        load_s: float,
        frame_s: float = DEFAULT_FRAME_SHIFT_MS / 1000,
    ) -> None:
        self._model = model
        self.model_path = model_path
        self.sample_rate = sample_rate
        self.unknown_token = unknown_token
        self.load_s = load_s
        self.frame_s = frame_s
        """Decoder frame length: spans are widened to whole frames (see `model_frame_s`)."""
        self.recognizers_made = 0
        """Vosk recognizers made so far, for any pass, leases' included."""

    @classmethod
    def load(cls, model_path: str | Path) -> VoskEngine:
        """Load the model at ``model_path``; `SpeechUnavailableError` says why it cannot be."""
        path = Path(model_path)
        if not path.is_dir():
            raise SpeechUnavailableError(f"Vosk model directory not found: {path}")
        for needed in ("am", "conf"):
            if not (path / needed).is_dir():
                raise SpeechUnavailableError(f"{path} is not a Vosk model (no {needed}/ directory)")
        try:
            sample_rate, frame_s = model_sample_rate(path), model_frame_s(path)
        except OSError as exc:
            raise SpeechUnavailableError(f"cannot read the Vosk model's config: {exc}") from exc
        vosk, _ = _speech_modules()
        vosk.SetLogLevel(VOSK_LOG_LEVEL)
        started = time.perf_counter()
        try:
            model = vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise SpeechUnavailableError(f"Vosk could not load the model at {path}: {exc}") from exc
        load_s = time.perf_counter() - started
        known = [t for t in UNKNOWN_TOKEN_SPELLINGS if model.vosk_model_find_word(t) != -1]
        unknown = known[0] if known else None
        return cls(model, path, sample_rate, unknown, load_s, frame_s)

    def knows(self, word: str) -> bool:
        """Whether ``word``, spelled exactly so, is in the model's vocabulary."""
        return bool(self._model.vosk_model_find_word(word) != -1)

    def missing_words(self, words: Iterable[str]) -> list[str]:
        """The words the model lacks, lower-cased, each once, in the order first seen.

        Each item may be a phrase; it is split on whitespace.
        """
        missing: dict[str, None] = {}
        for phrase in words:
            for word in phrase.lower().split():
                if word not in missing and not self.knows(word):
                    missing[word] = None
        return list(missing)

    def build_grammar(self, phrases: Iterable[str]) -> str:
        """A Vosk grammar of ``phrases`` reduced to known words, plus the unknown-word token.

        A phrase keeps its in-vocabulary words in order; one with none is dropped. Raises
        ValueError if nothing would be left (not even an unknown-word token).
        """
        kept: dict[str, None] = {}
        for phrase in phrases:
            known = [w for w in phrase.lower().split() if self.knows(w)]
            if known:
                kept[" ".join(known)] = None
        if self.unknown_token is not None:
            kept[self.unknown_token] = None
        if not kept:
            raise ValueError("no phrase of the grammar is in the model's vocabulary")
        return validate_grammar(json.dumps(list(kept), ensure_ascii=False))

    def transcribe(self, pcm: Pcm, rate: int, *, grammar: str | None = None) -> Transcript:
        """Recognise ``pcm`` (16-bit mono at ``rate``); word times are seconds from its start.

        With ``grammar`` (see `build_grammar`) the recognizer only chooses among its phrases.
        Raises ValueError for malformed audio or a grammar Vosk could crash on.
        """
        return self.transcribe_windows([Window(pcm, rate)], grammar=grammar)[0]

    def transcribe_windows(
        self, windows: Sequence[Window], *, grammar: str | None = None
    ) -> tuple[Transcript, ...]:
        """Recognise the spans of each window in turn with one recognizer; a transcript each.

        Each window ends its own utterance (``FinalResult``), so its words are its own; the
        recognizer's graph cache carries over, which is what makes a second window cheap. No
        recognizer is made when no window has anything to decode. Raises ValueError as
        `transcribe` does, or for spans that are out of order.
        """
        checked = validate_grammar(grammar) if grammar is not None else None
        return self._decode(windows, checked)

    def transcribe_unvalidated(
        self, pcm: Pcm, rate: int, *, grammar: str | None = None
    ) -> Transcript:
        """`transcribe` without checking the grammar: a malformed one kills the process.

        Only for tests that must crash a worker on purpose; everything else calls `transcribe`.
        """
        return self._decode([Window(pcm, rate)], grammar)[0]

    def lease(self, calls: int = 1) -> RecognizerLease:
        """A free-pass recognizer kept for ``calls`` calls (see `RecognizerLease`)."""
        return RecognizerLease(self, calls)

    def check(self, sample_wav: str | Path, vocabulary: Iterable[str] = ()) -> EngineReport:
        """Transcribe ``sample_wav`` with timing; list the ``vocabulary`` words the model lacks."""
        samples, rate = read_wav(str(sample_wav))  # wave.open takes no Path on 3.11
        started = time.perf_counter()
        transcript = self.transcribe(samples, rate)
        transcribe_s = time.perf_counter() - started
        return EngineReport(
            model_path=str(self.model_path),
            load_s=self.load_s,
            sample_rate=self.sample_rate,
            unknown_token=self.unknown_token,
            sample_path=str(sample_wav),
            audio_s=len(samples) / rate,
            transcribe_s=transcribe_s,
            transcript=transcript,
            missing_words=tuple(self.missing_words(vocabulary)),
            missing_polish=tuple(self.missing_words(POLISH_PROBE_WORDS)),
        )

    def _decode(self, windows: Sequence[Window], grammar: str | None) -> tuple[Transcript, ...]:
        pieces = self._pieces_of(windows)
        if not any(pieces):
            return tuple(Transcript() for _ in windows)
        recognizer = self._new_recognizer(grammar)
        try:
            return self._decode_on(recognizer, pieces, 0)[0]
        finally:
            del recognizer
            trim_memory()

    def _new_recognizer(self, grammar: str | None) -> Any:
        vosk, _ = _speech_modules()
        if grammar is None:
            recognizer = vosk.KaldiRecognizer(self._model, float(self.sample_rate))
        else:
            recognizer = vosk.KaldiRecognizer(self._model, float(self.sample_rate), grammar)
        recognizer.SetWords(True)
        self.recognizers_made += 1
        return recognizer

    def _decode_on(
        self, recognizer: Any, pieces: Sequence[_Pieces], fed: int
    ) -> tuple[tuple[Transcript, ...], int]:
        """Each window's pieces as one utterance; the transcripts, and the samples fed in all.

        ``fed`` samples were given to the recognizer before: its word times count from its
        start, across utterances.
        """
        transcripts = []
        for window_pieces in pieces:
            if not window_pieces:
                transcripts.append(Transcript())
                continue
            results, placed = [], []
            for window_s, samples in window_pieces:
                placed.append((fed / self.sample_rate, window_s))
                results += self._feed(recognizer, samples)
                fed += len(samples)
            results.append(recognizer.FinalResult())
            transcripts.append(_to_window_times(_merge(results), placed))
        return tuple(transcripts), fed

    def _feed(self, recognizer: Any, samples: npt.NDArray[np.int16]) -> list[str]:
        """Give ``samples`` to the recognizer; return the results of utterances it ended."""
        results = []
        data = samples.astype("<i2").tobytes()
        step = 2 * max(1, int(self.sample_rate * CHUNK_SECONDS))
        for offset in range(0, len(data), step):
            if recognizer.AcceptWaveform(data[offset : offset + step]):
                results.append(recognizer.Result())
        return results

    def _pieces_of(self, windows: Sequence[Window]) -> list[_Pieces]:
        """Every window's pieces: bad input fails here, before Vosk sees any of it."""
        return [self._pieces(window) for window in windows]

    def _pieces(self, window: Window) -> _Pieces:
        """The window's spans at the model's rate, widened to whole decoder frames, each with
        its start in the window."""
        samples = self._at_model_rate(_as_samples(window.pcm), window.rate)
        if window.spans is None:
            return [(0.0, samples)] if samples.size else []
        pieces: _Pieces = []
        previous_end, frames_end = 0.0, 0
        for start, end in window.spans:
            if not 0.0 <= previous_end <= start < end:
                raise ValueError(
                    f"spans must be in order, not overlapping, from 0 s: got {window.spans}"
                )
            previous_end = end
            first = max(frames_end, math.floor(start / self.frame_s + FRAME_EPSILON))
            frames_end = math.ceil(end / self.frame_s - FRAME_EPSILON)
            cut = samples[self._at(first) : self._at(frames_end)]
            if cut.size:
                pieces.append((round(first * self.frame_s, 6), cut))
        return pieces

    def _at(self, frame: int) -> int:
        return round(frame * self.frame_s * self.sample_rate)

    def _at_model_rate(self, samples: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        if rate == self.sample_rate or samples.size == 0:
            return samples
        _, soxr = _speech_modules()
        resampled: npt.NDArray[np.int16] = soxr.resample(samples, rate, self.sample_rate)
        return resampled


class RecognizerLease:
    """The free pass's recognizer, kept across calls and replaced after ``calls`` of them.

    A kept recognizer skips most of the graph expansion a fresh one does for every call, and
    holds the memory of what it expanded (both measured in benchmarks/README.md). Nothing else
    of a call reaches the next one: after ``FinalResult`` Vosk starts a new feature pipeline
    and decoder, so a call gets the transcripts a fresh recognizer would give it, with word
    times from each window's start. Use from one thread, as a context manager or with `close`.
    """

    def __init__(self, engine: VoskEngine, calls: int = 1) -> None:
        if calls < 1:
            raise ValueError(f"a recognizer decodes at least one call, got {calls}")
        self.engine = engine
        self.calls = calls
        self.made = 0
        """Recognizers this lease has made."""
        self.last_call = 0
        """Which call the last `transcribe_windows` was on its recognizer: 1 on a fresh one, up
        to ``calls``; 0 if it had nothing to decode (it then counts for nothing)."""
        self._recognizer: Any = None
        self._calls_on_it = 0
        self._fed = 0
        """Samples given to the current recognizer: its word times count from its start."""

    def __enter__(self) -> RecognizerLease:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def transcribe_windows(self, windows: Sequence[Window]) -> tuple[Transcript, ...]:
        """Free transcripts of one call's windows, as `VoskEngine.transcribe_windows` gives them.

        The recognizer is freed after its ``calls``-th call, or at once if Vosk fails during
        one (its state is then unknown). Raises ValueError for malformed audio or spans.
        """
        pieces = self.engine._pieces_of(windows)
        self.last_call = 0
        if not any(pieces):
            return tuple(Transcript() for _ in windows)
        if self._recognizer is None:
            self._recognizer = self.engine._new_recognizer(None)
            self.made += 1
            self._calls_on_it = self._fed = 0
        try:
            transcripts, self._fed = self.engine._decode_on(self._recognizer, pieces, self._fed)
        except BaseException:
            self.close()
            raise
        self._calls_on_it += 1
        self.last_call = self._calls_on_it
        if self._calls_on_it >= self.calls:
            self.close()
        return transcripts

    def close(self) -> None:
        """Free the recognizer and trim the heap; the next call gets a fresh recognizer."""
        if self._recognizer is not None:
            self._recognizer = None
            trim_memory()


def _speech_modules() -> tuple[Any, Any]:
    """``(vosk, soxr)``, imported on first use; `SpeechUnavailableError` names a missing one."""
    try:
        import soxr  # type: ignore[import-untyped]
        import vosk  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SpeechUnavailableError(
            f"speech recognition needs the '{exc.name}' package (pip install vosk soxr)"
        ) from exc
    return vosk, soxr


def _as_samples(pcm: Pcm) -> npt.NDArray[np.int16]:
    if isinstance(pcm, bytes | bytearray | memoryview):
        data = bytes(pcm)
        if len(data) % 2:
            raise ValueError(f"16-bit PCM needs an even number of bytes, got {len(data)}")
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16 or pcm.ndim != 1:
        raise ValueError("PCM must be bytes or a one-dimensional int16 numpy array")
    return pcm


def _merge(results: list[str]) -> Transcript:
    """One transcript from every Result()/FinalResult() of a recognizer, in order."""
    return Transcript.from_vosk("\n".join(results))


def _to_window_times(transcript: Transcript, placed: Sequence[tuple[float, float]]) -> Transcript:
    """``transcript`` with recognizer times moved back into the window its pieces came from.

    ``placed`` holds each piece's start in the recognizer's stream and in the window. A time
    falls in the last piece that started before it; the mapping only grows, so a word that
    straddles two pieces still starts before it ends.
    """
    stream_starts = [stream_s for stream_s, _ in placed]

    def moved(at: float | None) -> float | None:
        if at is None:
            return None
        stream_s, window_s = placed[max(0, bisect_right(stream_starts, at) - 1)]
        return round(window_s + at - stream_s, 6)

    words = tuple(
        replace(word, start=moved(word.start), end=moved(word.end)) for word in transcript.words
    )
    return Transcript(words=words, text=transcript.text)
