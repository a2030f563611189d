"""Recognised words with their times and confidences, in the shape Vosk returns them.

With ``SetWords(True)`` a Vosk recognizer answers each ``Result()``/``FinalResult()`` with
``{"result": [{"conf": …, "end": …, "start": …, "word": …}, …], "text": "…"}``, or with just
``{"text": ""}`` when it heard nothing. A recogniser's output may hold several such objects,
one after another or spread over several lines (see docs/field-notes.md, Vosk): all are
parsed, in order, times kept. Times are seconds from the recogniser's start, which is the start
of the judged window.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

UNKNOWN_TOKENS = frozenset({"[unk]", "<unk>"})
"""The unknown-word token, lower-cased: ``[unk]`` in some models, ``<UNK>`` in others."""

# What separates words in typed text besides whitespace (sentence punctuation, quotes).
_TEXT_SEPARATORS = re.compile(r"[\s,;:!?…\"„”“«»()]+")

VoskJson = str | bytes | Mapping[str, object] | Sequence[Mapping[str, object]]


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word; ``start``/``end`` in seconds (None for typed text), ``conf`` 0–1."""

    text: str
    start: float | None = None
    end: float | None = None
    conf: float = 1.0

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise ValueError(f"word {self.text!r}: give both start and end, or neither")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"word {self.text!r}: starts at {self.start} s, after its end")
        if not 0.0 <= self.conf <= 1.0:
            raise ValueError(f"word {self.text!r}: confidence {self.conf} is not within 0..1")

    @property
    def is_unknown(self) -> bool:
        """True for the model's unknown-word token: something was said, but not a known word."""
        return self.text.strip().lower() in UNKNOWN_TOKENS

    def to_vosk(self) -> dict[str, object]:
        """This word as an entry of Vosk's ``result`` list."""
        return {"conf": self.conf, "end": self.end, "start": self.start, "word": self.text}


@dataclass(frozen=True, slots=True)
class Transcript:
    """What a recogniser heard in one window: its words in order, and its text."""

    words: tuple[Word, ...] = ()
    text: str = ""

    @classmethod
    def from_vosk(cls, data: VoskJson) -> Transcript:
        """Parse Vosk's JSON (text, bytes, one decoded object or a list of them).

        Several result objects, concatenated or one per line, become one transcript.
        ``{"partial": …}`` objects are skipped (a later final result repeats their words);
        ``{"alternatives": …}`` is refused, because it carries no per-word confidence.
        Raises ``ValueError`` saying which object and word is wrong.
        """
        words: list[Word] = []
        texts: list[str] = []
        for number, result in enumerate(_result_objects(data), start=1):
            if "partial" in result:
                continue
            if "alternatives" in result:
                raise ValueError(
                    f"result {number}: 'alternatives' carry no word confidences "
                    "(recognise with SetMaxAlternatives(0) and SetWords(True))"
                )
            text = result.get("text", None)
            if text is not None and not isinstance(text, str):
                raise ValueError(f"result {number}: 'text' must be a string, got {text!r}")
            if "result" in result:
                entries = result["result"]
                if not isinstance(entries, list):
                    raise ValueError(f"result {number}: 'result' must be a list of words")
                parsed = [_parse_word(entry, number, i) for i, entry in enumerate(entries, 1)]
                words.extend(parsed)
                text = " ".join(w.text for w in parsed) if text is None else text
            elif text is None:
                raise ValueError(f"result {number}: neither 'result' nor 'text' in {result!r}")
            else:
                words.extend(cls.from_text(text).words)
            if text.strip():
                texts.append(text.strip())
        return cls(words=tuple(words), text=" ".join(texts))

    @classmethod
    def from_text(cls, text: str) -> Transcript:
        """Typed or stored plain text: words without times, each with confidence 1.0."""
        tokens = [token for token in _TEXT_SEPARATORS.split(text) if token]
        return cls(words=tuple(Word(token) for token in tokens), text=" ".join(text.split()))

    @property
    def timed(self) -> bool:
        """True if every word has a start and an end (a recogniser's result, not typed text)."""
        return bool(self.words) and all(word.start is not None for word in self.words)

    def to_vosk(self) -> dict[str, object]:
        """Vosk's shape again (``from_vosk`` reads it back; untimed words get null times)."""
        return {"result": [word.to_vosk() for word in self.words], "text": self.text}


def _result_objects(data: VoskJson) -> Iterator[Mapping[str, object]]:
    """Every result object in ``data``, in order."""
    if isinstance(data, Mapping):
        yield data
        return
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        for item in data:
            yield from _result_objects(item)
        return
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    decoder = json.JSONDecoder()
    position, found = 0, 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"not Vosk JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from exc
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"not Vosk JSON: expected an object, got {item!r}")
            found += 1
            yield item
    if not found:
        raise ValueError("not Vosk JSON: no result object in the input")


def _parse_word(entry: object, result: int, index: int) -> Word:
    where = f"result {result} word {index}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object, got {entry!r}")
    text = entry.get("word")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: 'word' must be a non-empty string, got {text!r}")
    for key in ("start", "end", "conf"):
        if key not in entry:
            raise ValueError(f"{where} ({text!r}): no '{key}'")
    start = None if entry["start"] is None else _number(entry["start"], where, "start")
    end = None if entry["end"] is None else _number(entry["end"], where, "end")
    try:
        return Word(text.strip(), start, end, _number(entry["conf"], where, "conf"))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _number(value: object, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: '{key}' must be a number, got {value!r}")
    return float(value)
