"""The greeting check (rules T1, T2, T9, T10): transcripts in, a `GreetingResult` out.

Pure: no audio, model, files or clock. The audio layer decides `Verdict.SILENT`,
`Verdict.NO_AUDIO`, `Verdict.UNSUPPORTED_CODEC` and `Verdict.NOT_CHECKED` itself
(`GreetingResult.without_speech`); `check_greeting` judges what the recogniser heard.

How the elements of "Wydział …, [Urzędu Miejskiego,] imię nazwisko, dzień dobry" are found:

- unit: every distinctive word of one alias, in order, tolerant to inflection (`polish.same_lemma`);
  a generic head word ("wydział", "biuro", …) alone is not the unit.
- office: the organisation's name up to its place ("Urząd Miejski" of "Urząd Miejski w
  Wałbrzychu"), inflected or not; the place may follow.
- name: first and last name next to each other in either order (or the surname alone when
  the config says so), fuzzy on folded letters, a word split in two joined again.
- dzień dobry: one to three adjacent words that, joined, are close to "dziendobry"
  ("dzieńdobry", "dzie ń dobry", "dzie dobry").

Words under `MIN_WORD_CONF` never match. The grammar pass only adds an element where the free
transcript supports it: a looser match of the same element overlapping it in time, or every
grammar word at `GRAMMAR_ALONE_CONF` over free-transcript speech that says nothing else with
confidence, and only when the free transcript found some element of its own (a grammar is not
a detector: see shared/FIELD-NOTES.md, Vosk).
"""

from __future__ import annotations

import enum
import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from etykieta.config import GreetingSettings, NameForm, Staff, Unit
from etykieta.speech import polish
from etykieta.speech.transcript import Transcript, Word

MIN_WORD_CONF = 0.5
"""Words the recogniser is less sure of than this do not count as greeting or casual words."""
UNCLEAR_MEAN_CONF = 0.4
"""Below this mean word confidence an incomplete greeting is `Verdict.UNCLEAR`, not judged."""
GRAMMAR_ALONE_CONF = 0.9
"""A grammar word at least this sure may stand without a similar free-transcript word."""
CONFIDENT_CONF = 0.8
"""A free-transcript word this sure that is not part of the element contradicts the grammar."""
TIME_SLACK_S = 0.1
"""Two passes place word boundaries this far apart; spans overlap within it."""
MAX_GAP = 1
"""Words allowed between two words of one element ("wydział eee komunikacji")."""
MAX_OCCURRENCES = 8
"""Occurrences per element tried when looking for the template order."""

# (strict, loose) thresholds; loose is only used to confirm a grammar-pass match.
UNIT_WORD_SIMILARITY = (0.9, 0.75)
NAME_WORD_SIMILARITY = (0.8, 0.6)
DZIEN_DOBRY_SIMILARITY = (0.82, 0.7)

GENERIC_HEADS = ("wydzial", "biuro", "referat", "dzial", "urzad", "oddzial", "sekcja", "zespol")
STOP_WORDS = frozenset({"i", "oraz", "w", "we", "z", "ze", "do", "ds", "dla", "na", "spraw"})
DZIEN_DOBRY = "dziendobry"
DZIEN_DOBRY_WORDS = frozenset({"dzien", "dobry", "panstwu"})
THANKS_PREFIX = "dziekuj"  # dziękuję, dziękujemy, dziekuje
THANKS_WORDS = frozenset({"dzieki"})


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
    thanked: bool = False
    order_ok: bool | None = None
    mean_conf: float | None = None
    reason: str | None = None

    @classmethod
    def without_speech(cls, verdict: Verdict, reason: str) -> GreetingResult:
        """A verdict the audio layer reached before any transcript (silent, no_audio, …)."""
        if verdict not in SPEECHLESS_VERDICTS:
            raise ValueError(f"verdict {verdict.value!r} needs a transcript: use check_greeting")
        return cls(verdict=verdict, reason=reason)

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
class _Token:
    word: Word
    key: str  # the word folded
    usable: bool  # may be part of a match


Occurrence = tuple[int, ...]  # indices of the tokens an element was found in
Score = Callable[[str, str], float]


def _tokens(transcript: Transcript) -> list[_Token]:
    """The words that fold to something, each marked usable if known and sure enough."""
    tokens = []
    for word in transcript.words:
        key = polish.fold_word(word.text)
        if key:
            tokens.append(_Token(word, key, not word.is_unknown and word.conf >= MIN_WORD_CONF))
    return tokens


def _match_word(tokens: Sequence[_Token], at: int, expected: str, score: Score,
                threshold: float) -> int:
    """How many tokens (1, or 2 for a word the recogniser split) match ``expected`` at ``at``."""
    best, used = 0.0, 0
    for count in (1, 2):
        span = tokens[at : at + count]
        if len(span) < count or not all(token.usable for token in span):
            break
        value = score("".join(token.key for token in span), expected)
        if value >= threshold and value > best:
            best, used = value, count
    return used


def _match_sequence(tokens: Sequence[_Token], at: int, expected: Sequence[str], score: Score,
                    threshold: float) -> list[int] | None:
    """Token indices of ``expected`` starting at ``at``, at most `MAX_GAP` words apart."""
    if at >= len(tokens):
        return None
    used = _match_word(tokens, at, expected[0], score, threshold)
    if not used:
        return None
    if len(expected) == 1:
        return list(range(at, at + used))
    for gap in range(MAX_GAP + 1):
        rest = _match_sequence(tokens, at + used + gap, expected[1:], score, threshold)
        if rest is not None:
            return list(range(at, rest[0])) + rest  # words in a gap belong to the phrase
    return None


def _find_sequences(tokens: Sequence[_Token], expected: Sequence[str], score: Score,
                    threshold: float) -> list[Occurrence]:
    occurrences: list[Occurrence] = []
    at = 0
    while at < len(tokens):
        found = _match_sequence(tokens, at, expected, score, threshold)
        if found is None:
            at += 1
        else:
            occurrences.append(tuple(found))
            at = found[-1] + 1
    return occurrences


def _extend(tokens: Sequence[_Token], occurrence: Occurrence, accepts: Callable[[str], bool],
            *, left: bool, limit: int) -> Occurrence:
    """``occurrence`` with up to ``limit`` adjacent usable tokens that ``accepts`` takes."""
    indices = list(occurrence)
    for _ in range(limit):
        nxt = indices[0] - 1 if left else indices[-1] + 1
        if not 0 <= nxt < len(tokens) or not tokens[nxt].usable or not accepts(tokens[nxt].key):
            break
        if left:
            indices.insert(0, nxt)
        else:
            indices.append(nxt)
    return tuple(indices)


def _without_overlaps(occurrences: list[Occurrence]) -> list[Occurrence]:
    """Longest first among occurrences that share tokens; in token order."""
    kept: list[Occurrence] = []
    taken: set[int] = set()
    for occurrence in sorted(occurrences, key=lambda occ: (-len(occ), occ[0])):
        if taken.isdisjoint(occurrence):
            kept.append(occurrence)
            taken.update(occurrence)
    return sorted(kept)


class _Matcher(Protocol):
    """Finds one element in a token list; ``vocabulary`` is every folded word it may use."""

    vocabulary: frozenset[str]

    def find(self, tokens: Sequence[_Token], *, loose: bool = False) -> list[Occurrence]: ...


def _is_head(key: str) -> bool:
    return any(polish.same_lemma(key, head) for head in GENERIC_HEADS)


class _UnitMatcher:
    def __init__(self, unit: Unit) -> None:
        self.patterns: list[list[str]] = []
        vocabulary: set[str] = set(GENERIC_HEADS)
        for alias in unit.aliases:
            alias_words = polish.words(alias)
            vocabulary.update(alias_words)
            distinctive = [w for w in alias_words if w not in STOP_WORDS and not _is_head(w)]
            if distinctive:
                self.patterns.append(distinctive)
        self.vocabulary = frozenset(vocabulary)

    def find(self, tokens: Sequence[_Token], *, loose: bool = False) -> list[Occurrence]:
        threshold = UNIT_WORD_SIMILARITY[loose]
        found = [
            _extend(tokens, occurrence, _is_head, left=True, limit=1)
            for pattern in self.patterns
            for occurrence in _find_sequences(
                tokens, pattern, polish.inflected_similarity, threshold
            )
        ]
        return _without_overlaps(found)


class _OfficeMatcher:
    def __init__(self, organisation: str) -> None:
        name_words = polish.words(organisation)
        place = next((i for i, w in enumerate(name_words) if w in STOP_WORDS), len(name_words))
        # "Urząd Miejski w Wałbrzychu": the kind of office is required, its place is not.
        self.core = name_words[: min(max(place, 1), 2)]
        self.tail = set(name_words[len(self.core) :])
        self.vocabulary = frozenset(name_words)

    def _in_tail(self, key: str) -> bool:
        return any(polish.same_lemma(key, word) for word in self.tail)

    def find(self, tokens: Sequence[_Token], *, loose: bool = False) -> list[Occurrence]:
        if not self.core:
            return []
        threshold = UNIT_WORD_SIMILARITY[loose]
        found = _find_sequences(tokens, self.core, polish.inflected_similarity, threshold)
        limit = len(self.tail)
        return [_extend(tokens, occ, self._in_tail, left=False, limit=limit) for occ in found]


class _NameMatcher:
    def __init__(self, staff: Staff, form: NameForm) -> None:
        self.first = polish.words(staff.first_name)
        self.last = polish.words(staff.last_name)
        self.form = form
        self.vocabulary = frozenset(self.first + self.last)

    def _is_first(self, key: str) -> bool:
        return any(polish.similarity(key, w) >= NAME_WORD_SIMILARITY[0] for w in self.first)

    def find(self, tokens: Sequence[_Token], *, loose: bool = False) -> list[Occurrence]:
        threshold = NAME_WORD_SIMILARITY[loose]
        score = polish.similarity
        if self.form is NameForm.SURNAME:
            found = [
                _extend(tokens, occ, self._is_first, left=True, limit=len(self.first))
                for occ in _find_sequences(tokens, self.last, score, threshold)
            ]
        else:
            found = [
                *_find_sequences(tokens, self.first + self.last, score, threshold),
                *_find_sequences(tokens, self.last + self.first, score, threshold),
            ]
        return _without_overlaps(found)


class _DzienDobryMatcher:
    vocabulary = DZIEN_DOBRY_WORDS

    @staticmethod
    def _best_window(tokens: Sequence[_Token], at: int, threshold: float) -> tuple[float, int]:
        """(similarity, size) of the best one-to-three-word window at ``at``; size 0 if none."""
        best, count = 0.0, 0
        for size in (1, 2, 3):
            span = tokens[at : at + size]
            if len(span) < size or not all(token.usable for token in span):
                break
            value = polish.similarity("".join(token.key for token in span), DZIEN_DOBRY)
            if value >= threshold and value > best:
                best, count = value, size
        return best, count

    def find(self, tokens: Sequence[_Token], *, loose: bool = False) -> list[Occurrence]:
        threshold = DZIEN_DOBRY_SIMILARITY[loose]
        windows = [self._best_window(tokens, at, threshold) for at in range(len(tokens))]
        found: list[Occurrence] = []
        at = 0
        while at < len(tokens):
            value, count = windows[at]
            # "no dzień dobry" is close to "dziendobry" too: leave "no" out when that is closer.
            if not count or (count > 1 and windows[at + 1][0] >= value):
                at += 1
                continue
            occurrence = _extend(tokens, tuple(range(at, at + count)), _is_panstwu, left=False,
                                 limit=1)
            found.append(occurrence)
            at = occurrence[-1] + 1
        return found


def _is_panstwu(key: str) -> bool:
    return polish.similarity(key, "panstwu") >= DZIEN_DOBRY_SIMILARITY[0]


@dataclass(frozen=True, slots=True)
class _Candidate:
    match: ElementMatch
    order_key: float  # start time, or token index for typed text


def _overlapping(tokens: Sequence[_Token], start: float, end: float) -> list[_Token]:
    return [
        token for token in tokens
        if token.word.start is not None and token.word.end is not None
        and token.word.start < end + TIME_SLACK_S and token.word.end > start - TIME_SLACK_S
        and not token.word.is_unknown
    ]


def _contradicts(token: _Token, matcher: _Matcher) -> bool:
    """A sure free-transcript word that is no word of the element: something else was said."""
    if token.word.conf < CONFIDENT_CONF or len(token.key) < 3:
        return False
    loose = UNIT_WORD_SIMILARITY[1]
    return not any(polish.inflected_similarity(token.key, w) >= loose for w in matcher.vocabulary)


def _grammar_confirmed(words: Sequence[Word], matcher: _Matcher, free: Sequence[_Token],
                       *, free_found_any: bool) -> bool:
    """True if the free transcript supports a grammar-pass match of ``words``."""
    span = ElementMatch(tuple(words), Source.GRAMMAR).span
    if span is None:
        return False  # typed text has no times to compare
    heard = _overlapping(free, *span)
    if not heard:
        return False  # the grammar "heard" a phrase where the free pass heard nothing
    # Any confidence will do as support: the free pass heard something like the element.
    support = [_Token(token.word, token.key, True) for token in heard]
    if matcher.find(support, loose=True):
        return True
    return (
        free_found_any
        and all(word.conf >= GRAMMAR_ALONE_CONF for word in words)
        and not any(_contradicts(token, matcher) for token in heard)
    )


def _candidates(matcher: _Matcher, free: Sequence[_Token], grammar: Sequence[_Token] | None,
                *, free_found_any: bool) -> list[_Candidate]:
    found = [
        _Candidate(
            ElementMatch(tuple(free[i].word for i in occurrence), Source.FREE),
            _order_key(free[occurrence[0]].word, occurrence[0]),
        )
        for occurrence in matcher.find(free)
    ]
    grammar_tokens = grammar or []
    for occurrence in matcher.find(grammar_tokens):
        words = tuple(grammar_tokens[i].word for i in occurrence)
        if not _grammar_confirmed(words, matcher, free, free_found_any=free_found_any):
            continue
        match = ElementMatch(words, Source.GRAMMAR)
        if not any(_spans_overlap(match, known.match) for known in found):
            found.append(_Candidate(match, _order_key(words[0], occurrence[0])))
    return sorted(found, key=lambda candidate: candidate.order_key)


def _order_key(word: Word, index: int) -> float:
    return float(index) if word.start is None else word.start


def _spans_overlap(a: ElementMatch, b: ElementMatch) -> bool:
    span_a, span_b = a.span, b.span
    if span_a is None or span_b is None:
        return False
    return span_a[0] < span_b[1] + TIME_SLACK_S and span_b[0] < span_a[1] + TIME_SLACK_S


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


def _casual_words(tokens: Sequence[_Token], casual: Sequence[str]) -> tuple[str, ...]:
    """The configured casual words and phrases heard, each once, in the order first heard."""
    phrases = [(phrase, polish.words(phrase)) for phrase in casual]
    heard: dict[str, int] = {}
    for at in range(len(tokens)):
        for phrase, expected in phrases:
            span = tokens[at : at + len(expected)]
            if (
                phrase not in heard and expected and len(span) == len(expected)
                and all(token.usable and token.key == key for token, key in zip(span, expected,
                                                                                 strict=True))
            ):
                heard[phrase] = at
    return tuple(heard)


def _thanked(tokens: Sequence[_Token]) -> bool:
    return any(
        token.usable and (token.key.startswith(THANKS_PREFIX) or token.key in THANKS_WORDS)
        for token in tokens
    )


def _verdict(missing: Sequence[Element], found_any: bool, mean_conf: float | None,
             tokens: Sequence[_Token]) -> tuple[Verdict, str | None]:
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
    free_tokens = _tokens(free)
    grammar_tokens = None if grammar is None else _tokens(grammar)
    matchers: dict[Element, _Matcher] = {Element.OFFICE: _OfficeMatcher(organisation),
                                         Element.DZIEN_DOBRY: _DzienDobryMatcher()}
    notes = []
    if unit is not None:
        matchers[Element.UNIT] = _UnitMatcher(unit)
    else:
        notes.append("no unit for this extension: unit not checked")
    if staff is not None:
        matchers[Element.NAME] = _NameMatcher(staff, settings.name)
    else:
        notes.append("no person at this extension: name not checked")
    required = [e for e in Element if e in matchers and (e is not Element.OFFICE
                                                         or settings.require_office)]

    free_found_any = any(matcher.find(free_tokens) for matcher in matchers.values())
    candidates = {
        element: _candidates(matcher, free_tokens, grammar_tokens, free_found_any=free_found_any)
        for element, matcher in matchers.items()
    }
    chosen, order_ok = _choose(candidates)
    elements = _no_elements()
    elements.update({element: candidate.match for element, candidate in chosen.items()})
    missing = tuple(element for element in required if element not in chosen)

    spoken = [word for word in free.words if not word.is_unknown and polish.fold_word(word.text)]
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
        casual_words=_casual_words(free_tokens, settings.casual_words),
        thanked=_thanked(_tokens(closing) if closing is not None else free_tokens),
        order_ok=order_ok,
        mean_conf=mean_conf,
        reason="; ".join(notes) or None,
    )
