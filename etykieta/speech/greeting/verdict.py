"""The greeting check (rules T1, T2, T9, T10): transcripts in, a `GreetingResult` out.

Pure: no audio, model, files or clock. The audio layer decides `Verdict.SILENT`,
`Verdict.NO_AUDIO`, `Verdict.UNSUPPORTED_CODEC` and `Verdict.NOT_CHECKED` itself
(`GreetingResult.without_speech`); `check_greeting` judges what the recogniser heard.

The elements of "Wydział …, [Urzędu Miejskiego,] imię nazwisko, dzień dobry" are found by the
matchers of `etykieta.speech.greeting.match`. The grammar pass only adds an element where the
free transcript supports it: a looser match of the same element overlapping it in time, or every
grammar word at `GRAMMAR_ALONE_CONF` over free-transcript speech that says nothing else with
confidence, and only when the free transcript found some element of its own (a grammar is not
a detector: see docs/field-notes.md, Vosk).
"""

from __future__ import annotations

import enum
import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...config import GreetingSettings, Staff, Unit
from . import polish
from .match import (
    DZIEN_DOBRY,
    DZIEN_DOBRY_SIMILARITY,
    DZIEN_DOBRY_WORDS,
    GENERIC_HEADS,
    MAX_GAP,
    MIN_WORD_CONF,
    NAME_WORD_SIMILARITY,
    STOP_WORDS,
    THANKS_PREFIX,
    THANKS_WORDS,
    UNIT_WORD_SIMILARITY,
    DzienDobryMatcher,
    Matcher,
    NameMatcher,
    Occurrence,
    OfficeMatcher,
    Score,
    Token,
    UnitMatcher,
    casual_words,
    thanked,
    tokenize,
)
from .transcript import Transcript, Word

__all__ = [  # the matching constants and types are re-exported: they were defined here
    "CONFIDENT_CONF", "DZIEN_DOBRY", "DZIEN_DOBRY_SIMILARITY", "DZIEN_DOBRY_WORDS",
    "GENERIC_HEADS", "GRAMMAR_ALONE_CONF", "MAX_GAP", "MAX_OCCURRENCES", "MIN_WORD_CONF",
    "NAME_WORD_SIMILARITY", "SPEECHLESS_VERDICTS", "STOP_WORDS", "TEMPLATE_ORDER", "THANKS_PREFIX",
    "THANKS_WORDS", "TIME_SLACK_S", "UNCLEAR_MEAN_CONF", "UNIT_WORD_SIMILARITY", "Element",
    "ElementMatch", "GreetingResult", "Occurrence", "Score", "Source", "Verdict", "check_greeting",
]

UNCLEAR_MEAN_CONF = 0.4
"""Below this mean word confidence an incomplete greeting is `Verdict.UNCLEAR`, not judged."""
GRAMMAR_ALONE_CONF = 0.9
"""A grammar word at least this sure may stand without a similar free-transcript word."""
CONFIDENT_CONF = 0.8
"""A free-transcript word this sure that is not part of the element contradicts the grammar."""
TIME_SLACK_S = 0.1
"""Two passes place word boundaries this far apart; spans overlap within it."""
MAX_OCCURRENCES = 8
"""Occurrences per element tried when looking for the template order."""


class Verdict(enum.StrEnum):
    """The outcome of the greeting check of one answered call."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    NO_GREETING = "no_greeting"
    UNCLEAR = "unclear"
    SILENT = "silent"
    NO_AUDIO = "no_audio"
    UNSUPPORTED_CODEC = "unsupported_codec"
    NOT_CHECKED = "not_checked"


SPEECHLESS_VERDICTS = frozenset(
    {Verdict.SILENT, Verdict.NO_AUDIO, Verdict.UNSUPPORTED_CODEC, Verdict.NOT_CHECKED}
)


class Element(enum.StrEnum):
    """A part of the greeting template; the values are the names used in ``missing``."""

    UNIT = "unit"
    OFFICE = "office"
    NAME = "name"
    DZIEN_DOBRY = "dzien_dobry"


TEMPLATE_ORDER = (Element.UNIT, Element.NAME, Element.DZIEN_DOBRY)
"""The order of the handbook's example greeting; reported, not required (office may go anywhere)."""


class Source(enum.StrEnum):
    """Which recognition pass an element was found in."""

    FREE = "free"
    GRAMMAR = "grammar"


@dataclass(frozen=True, slots=True)
class ElementMatch:
    """The words an element was recognised in, and the pass that found them."""

    words: tuple[Word, ...]
    source: Source

    @property
    def start(self) -> float | None:
        """Start of the first word, in seconds from the window start (None for typed text)."""
        return self.words[0].start

    @property
    def end(self) -> float | None:
        """End of the last word."""
        return self.words[-1].end

    @property
    def span(self) -> tuple[float, float] | None:
        """(first start, last end) in seconds, if every word has times."""
        starts = [word.start for word in self.words if word.start is not None]
        ends = [word.end for word in self.words if word.end is not None]
        if len(starts) < len(self.words) or len(ends) < len(self.words):
            return None
        return min(starts), max(ends)

    def to_dict(self) -> dict[str, object]:
        """The JSON form: source, text, start, end and the words (Vosk's keys)."""
        return {
            "source": self.source.value,
            "text": " ".join(word.text for word in self.words),
            "start": self.start,
            "end": self.end,
            "words": [word.to_vosk() for word in self.words],
        }


def _no_elements() -> dict[Element, ElementMatch | None]:
    return dict.fromkeys(Element)


@dataclass(frozen=True, slots=True)
class GreetingResult:
    """The greeting verdict of one call, with the evidence a supervisor can check."""

    verdict: Verdict
    missing: tuple[Element, ...] = ()
    elements: dict[Element, ElementMatch | None] = field(default_factory=_no_elements)
    transcript: str = ""
    first_word_s: float | None = None
    syllables_per_s: float | None = None
    too_fast: bool = False
    casual_words: tuple[str, ...] = ()
    thanked: bool | None = False
    """Whether "dziękuję" was heard at the end (T10); None when nobody listened."""
    order_ok: bool | None = None
    mean_conf: float | None = None
    reason: str | None = None

    @classmethod
    def without_speech(cls, verdict: Verdict, reason: str) -> GreetingResult:
        """A verdict the audio layer reached before any transcript (silent, no_audio, …)."""
        if verdict not in SPEECHLESS_VERDICTS:
            raise ValueError(f"verdict {verdict.value!r} needs a transcript: use check_greeting")
        return cls(verdict=verdict, reason=reason, thanked=None)

    def to_dict(self) -> dict[str, object]:
        """The ``greeting`` object of a call record (``calls --format json``)."""
        data: dict[str, object] = {
            "verdict": self.verdict.value,
            "missing": [element.value for element in self.missing],
            "transcript": self.transcript,
            "first_word_s": self.first_word_s,
            "syllables_per_s": self.syllables_per_s,
            "casual_words": list(self.casual_words),
            "thanked": self.thanked,
            "too_fast": self.too_fast,
            "order_ok": self.order_ok,
            "mean_conf": self.mean_conf,
            "elements": {
                element.value: None if match is None else match.to_dict()
                for element, match in self.elements.items()
            },
        }
        if self.reason is not None:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True, slots=True)
class _Candidate:
    match: ElementMatch
    order_key: float  # start time, or token index for typed text


def _candidate(tokens: Sequence[Token], occurrence: Occurrence, source: Source) -> _Candidate:
    """The words at ``occurrence``, ordered by their start (by token index for typed text)."""
    words = tuple(tokens[i].word for i in occurrence)
    start = words[0].start
    return _Candidate(ElementMatch(words, source),
                      float(occurrence[0]) if start is None else start)


def _overlapping(tokens: Sequence[Token], start: float, end: float) -> list[Token]:
    return [
        token for token in tokens
        if token.word.start is not None and token.word.end is not None
        and token.word.start < end + TIME_SLACK_S and token.word.end > start - TIME_SLACK_S
        and not token.word.is_unknown
    ]


def _contradicts(token: Token, matcher: Matcher) -> bool:
    """A sure free-transcript word that is no word of the element: something else was said."""
    if token.word.conf < CONFIDENT_CONF or len(token.key) < 3:
        return False
    loose = UNIT_WORD_SIMILARITY[1]
    return not any(polish.inflected_similarity(token.key, w) >= loose for w in matcher.vocabulary)


def _grammar_confirmed(match: ElementMatch, matcher: Matcher, free: Sequence[Token],
                       *, free_found_any: bool) -> bool:
    """True if the free transcript supports ``match``, a grammar-pass match."""
    span = match.span
    if span is None:
        return False  # typed text has no times to compare
    heard = _overlapping(free, *span)
    if not heard:
        return False  # the grammar "heard" a phrase where the free pass heard nothing
    # Any confidence will do as support: the free pass heard something like the element.
    support = [Token(token.word, token.key, True) for token in heard]
    if matcher.find(support, loose=True):
        return True
    return (
        free_found_any
        and all(word.conf >= GRAMMAR_ALONE_CONF for word in match.words)
        and not any(_contradicts(token, matcher) for token in heard)
    )


def _spans_overlap(a: ElementMatch, b: ElementMatch) -> bool:
    span_a, span_b = a.span, b.span
    if span_a is None or span_b is None:
        return False
    return span_a[0] < span_b[1] + TIME_SLACK_S and span_b[0] < span_a[1] + TIME_SLACK_S


def _candidates(matcher: Matcher, free: Sequence[Token], free_found: Sequence[Occurrence],
                grammar: Sequence[Token] | None, *, free_found_any: bool) -> list[_Candidate]:
    """The element's occurrences ``free_found`` in ``free``, and the supported ones in
    ``grammar`` where the free pass has none; in the order said."""
    found = [_candidate(free, occurrence, Source.FREE) for occurrence in free_found]
    grammar_tokens = grammar or []
    for occurrence in matcher.find(grammar_tokens):
        candidate = _candidate(grammar_tokens, occurrence, Source.GRAMMAR)
        if not _grammar_confirmed(candidate.match, matcher, free, free_found_any=free_found_any):
            continue
        if not any(_spans_overlap(candidate.match, known.match) for known in found):
            found.append(candidate)
    return sorted(found, key=lambda candidate: candidate.order_key)


def _choose(candidates: dict[Element, list[_Candidate]]) -> tuple[dict[Element, _Candidate],
                                                                  bool | None]:
    """One occurrence per element, in the template order if any choice allows it.

    Returns the choice and whether it is in order (None when fewer than two of the ordered
    elements were heard). A greeting said twice is judged on its first complete rendition.
    """
    chosen = {element: found[0] for element, found in candidates.items() if found}
    ordered = [element for element in TEMPLATE_ORDER if candidates.get(element)]
    if len(ordered) < 2:
        return chosen, None
    lists = [candidates[element][:MAX_OCCURRENCES] for element in ordered]
    for combination in itertools.product(*lists):
        keys = [candidate.order_key for candidate in combination]
        if all(a < b for a, b in itertools.pairwise(keys)):
            chosen.update(zip(ordered, combination, strict=True))
            return chosen, True
    return chosen, False


def _speech_rate(chosen: Sequence[ElementMatch], free: Transcript) -> float | None:
    """Syllables per second of everything said from the first to the last greeting word."""
    spans = [match.span for match in chosen]
    if not spans or any(span is None for span in spans):
        return None
    start = min(span[0] for span in spans if span is not None)
    end = max(span[1] for span in spans if span is not None)
    if end <= start:
        return None
    said = [
        word.text for word in free.words
        if word.start is not None and word.end is not None and not word.is_unknown
        and start - TIME_SLACK_S <= (word.start + word.end) / 2 <= end + TIME_SLACK_S
    ]
    return round(polish.syllables(" ".join(said)) / (end - start), 2)


def _verdict(missing: Sequence[Element], found_any: bool, mean_conf: float | None,
             tokens: Sequence[Token]) -> tuple[Verdict, str | None]:
    """The verdict, and why it is unclear if it is.

    A greeting whose every element was heard clearly is complete whatever else was mumbled;
    anything less is only judged when the recogniser was sure enough of what it heard.
    """
    if not missing:
        return Verdict.COMPLETE, None
    if mean_conf is None:
        return Verdict.UNCLEAR, "no words recognised"
    if mean_conf < UNCLEAR_MEAN_CONF:
        return Verdict.UNCLEAR, f"mean word confidence {mean_conf:.2f} is too low to judge"
    if not any(token.usable for token in tokens):
        return Verdict.UNCLEAR, f"no word recognised with confidence {MIN_WORD_CONF} or more"
    return (Verdict.PARTIAL if found_any else Verdict.NO_GREETING), None


def check_greeting(
    free: Transcript,
    grammar: Transcript | None,
    *,
    staff: Staff | None,
    unit: Unit | None,
    organisation: str,
    settings: GreetingSettings,
    closing: Transcript | None = None,
) -> GreetingResult:
    """Judge the greeting in ``free`` (and ``grammar``, the directory-biased pass, if run).

    ``staff``/``unit`` are those of the answering extension; an element with nothing to
    compare with (no person at a shared extension) is not required, and ``reason`` says so.
    ``closing`` is the call's last seconds, where rule T10's "dziękuję" is looked for;
    without it, ``thanked`` says whether it was heard in ``free``.
    """
    free_tokens = tokenize(free)
    grammar_tokens = None if grammar is None else tokenize(grammar)
    matchers: dict[Element, Matcher] = {Element.OFFICE: OfficeMatcher(organisation),
                                        Element.DZIEN_DOBRY: DzienDobryMatcher()}
    notes = []
    if unit is not None:
        matchers[Element.UNIT] = UnitMatcher(unit)
    else:
        notes.append("no unit for this extension: unit not checked")
    if staff is not None:
        matchers[Element.NAME] = NameMatcher(staff, settings.name)
    else:
        notes.append("no person at this extension: name not checked")
    required = [e for e in Element if e in matchers and (e is not Element.OFFICE
                                                         or settings.require_office)]

    free_found = {element: matcher.find(free_tokens) for element, matcher in matchers.items()}
    free_found_any = any(free_found.values())
    candidates = {
        element: _candidates(matcher, free_tokens, free_found[element], grammar_tokens,
                             free_found_any=free_found_any)
        for element, matcher in matchers.items()
    }
    chosen, order_ok = _choose(candidates)
    elements = _no_elements()
    elements.update({element: candidate.match for element, candidate in chosen.items()})
    missing = tuple(element for element in required if element not in chosen)

    spoken = [token.word for token in free_tokens if not token.word.is_unknown]
    mean_conf = round(statistics.fmean(w.conf for w in spoken), 3) if spoken else None
    verdict, unclear = _verdict(missing, bool(chosen), mean_conf, free_tokens)
    if unclear is not None:
        missing = ()
        notes.insert(0, unclear)

    rate = _speech_rate([candidate.match for candidate in chosen.values()], free)
    first = next((word.start for word in spoken if word.start is not None), None)
    return GreetingResult(
        verdict=verdict,
        missing=missing,
        elements=elements,
        transcript=free.text,
        first_word_s=first,
        syllables_per_s=rate,
        too_fast=rate is not None and rate > settings.max_syllables_per_s,
        casual_words=casual_words(free_tokens, settings.casual_words),
        thanked=thanked(tokenize(closing) if closing is not None else free_tokens),
        order_ok=order_ok,
        mean_conf=mean_conf,
        reason="; ".join(notes) or None,
    )


def closing_thanked(closing: Transcript) -> bool:
    """Whether "dziękuję" was heard in a call's closing window (T10)."""
    return thanked(tokenize(closing))
