"""Finding the greeting's elements, casual words and thanks in the words of one transcript.

How the elements of "Wydział …, [Urzędu Miejskiego,] imię nazwisko, dzień dobry" are found:

- unit: every distinctive word of one alias, in order, tolerant to inflection (`polish.same_lemma`);
  a generic head word ("wydział", "biuro", …) alone is not the unit.
- office: the organisation's name up to its place ("Urząd Miejski" of "Urząd Miejski w
  Wałbrzychu"), inflected or not; the place may follow.
- name: first and last name next to each other in either order (or the surname alone when
  the config says so), fuzzy on folded letters, a word split in two joined again.
- dzień dobry: one to three adjacent words that, joined, are close to "dziendobry"
  ("dzieńdobry", "dzie ń dobry", "dzie dobry").

Words under `MIN_WORD_CONF` never match. A matcher returns *occurrences*, the token indices an
element was found at; which occurrence counts, and whether a grammar-pass match is believed, is
`etykieta.speech.greeting.verdict`'s business.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ...config import NameForm, Staff, Unit
from . import polish
from .transcript import Transcript, Word

MIN_WORD_CONF = 0.5
"""Words the recogniser is less sure of than this do not count as greeting or casual words."""
MAX_GAP = 1
"""Words allowed between two words of one element ("wydział eee komunikacji")."""
MAX_WORD_PIECES = 2
"""Tokens one expected word may have been recognised as ("wiśniew ska")."""
MAX_DZIEN_DOBRY_PIECES = 3
"""Tokens "dzień dobry" may have been recognised as ("dzie ń dobry")."""

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


@dataclass(frozen=True, slots=True)
class Token:
    """A word of a transcript, folded, and whether it may be part of a match."""

    word: Word
    key: str  # the word folded
    usable: bool


Occurrence = tuple[int, ...]  # indices of the tokens an element was found in
Score = Callable[[str, str], float]


def tokenize(transcript: Transcript) -> list[Token]:
    """The words that fold to something, each marked usable if known and sure enough."""
    tokens = []
    for word in transcript.words:
        key = polish.fold_word(word.text)
        if key:
            tokens.append(Token(word, key, not word.is_unknown and word.conf >= MIN_WORD_CONF))
    return tokens


def _best_window(tokens: Sequence[Token], at: int, expected: str, score: Score,
                 threshold: float, max_size: int) -> tuple[float, int]:
    """(score, size) of the best run of up to ``max_size`` tokens at ``at`` that, joined, is
    ``expected``; size 0 if none reaches ``threshold``."""
    best, used = 0.0, 0
    for size in range(1, max_size + 1):
        span = tokens[at : at + size]
        if len(span) < size or not all(token.usable for token in span):
            break
        value = score("".join(token.key for token in span), expected)
        if value >= threshold and value > best:
            best, used = value, size
    return best, used


def _match_sequence(tokens: Sequence[Token], at: int, expected: Sequence[str], score: Score,
                    threshold: float) -> list[int] | None:
    """Token indices of ``expected`` starting at ``at``, at most `MAX_GAP` words apart."""
    if at >= len(tokens):
        return None
    _, used = _best_window(tokens, at, expected[0], score, threshold, MAX_WORD_PIECES)
    if not used:
        return None
    if len(expected) == 1:
        return list(range(at, at + used))
    for gap in range(MAX_GAP + 1):
        rest = _match_sequence(tokens, at + used + gap, expected[1:], score, threshold)
        if rest is not None:
            return list(range(at, rest[0])) + rest  # words in a gap belong to the phrase
    return None


def _find_sequences(tokens: Sequence[Token], expected: Sequence[str], score: Score,
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


def _extend(tokens: Sequence[Token], occurrence: Occurrence, accepts: Callable[[str], bool],
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


class Matcher(Protocol):
    """Finds one element in a token list; ``vocabulary`` is every folded word it may use."""

    vocabulary: frozenset[str]

    def find(self, tokens: Sequence[Token], *, loose: bool = False) -> list[Occurrence]: ...


def _is_head(key: str) -> bool:
    return any(polish.same_lemma(key, head) for head in GENERIC_HEADS)


class UnitMatcher:
    """The unit: the distinctive words of any alias, after at most one generic head word."""

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

    def find(self, tokens: Sequence[Token], *, loose: bool = False) -> list[Occurrence]:
        threshold = UNIT_WORD_SIMILARITY[loose]
        found = [
            _extend(tokens, occurrence, _is_head, left=True, limit=1)
            for pattern in self.patterns
            for occurrence in _find_sequences(
                tokens, pattern, polish.inflected_similarity, threshold
            )
        ]
        return _without_overlaps(found)


class OfficeMatcher:
    """The office: the organisation's name up to its place, and as much of the place as said."""

    def __init__(self, organisation: str) -> None:
        name_words = polish.words(organisation)
        place = next((i for i, w in enumerate(name_words) if w in STOP_WORDS), len(name_words))
        # "Urząd Miejski w Wałbrzychu": the kind of office is required, its place is not.
        self.core = name_words[: min(max(place, 1), 2)]
        self.tail = set(name_words[len(self.core) :])
        self.vocabulary = frozenset(name_words)

    def _in_tail(self, key: str) -> bool:
        return any(polish.same_lemma(key, word) for word in self.tail)

    def find(self, tokens: Sequence[Token], *, loose: bool = False) -> list[Occurrence]:
        if not self.core:
            return []
        threshold = UNIT_WORD_SIMILARITY[loose]
        found = _find_sequences(tokens, self.core, polish.inflected_similarity, threshold)
        limit = len(self.tail)
        return [_extend(tokens, occ, self._in_tail, left=False, limit=limit) for occ in found]


class NameMatcher:
    """The name of the person answering, in the configured `NameForm`."""

    def __init__(self, staff: Staff, form: NameForm) -> None:
        self.first = polish.words(staff.first_name)
        self.last = polish.words(staff.last_name)
        self.form = form
        self.vocabulary = frozenset(self.first + self.last)

    def _is_first(self, key: str) -> bool:
        return any(polish.similarity(key, w) >= NAME_WORD_SIMILARITY[0] for w in self.first)

    def find(self, tokens: Sequence[Token], *, loose: bool = False) -> list[Occurrence]:
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


def _is_panstwu(key: str) -> bool:
    return polish.similarity(key, "panstwu") >= DZIEN_DOBRY_SIMILARITY[0]


class DzienDobryMatcher:
    """The words "dzień dobry", however the recogniser cut them, and a "Państwu" after them."""

    vocabulary = DZIEN_DOBRY_WORDS

    def find(self, tokens: Sequence[Token], *, loose: bool = False) -> list[Occurrence]:
        threshold = DZIEN_DOBRY_SIMILARITY[loose]
        windows = [
            _best_window(tokens, at, DZIEN_DOBRY, polish.similarity, threshold,
                         MAX_DZIEN_DOBRY_PIECES)
            for at in range(len(tokens))
        ]
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


def casual_words(tokens: Sequence[Token], casual: Sequence[str]) -> tuple[str, ...]:
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


def thanked(tokens: Sequence[Token]) -> bool:
    """True if a usable token is a form of "dziękuję" or "dzięki" (rule T10)."""
    return any(
        token.usable and (token.key.startswith(THANKS_PREFIX) or token.key in THANKS_WORDS)
        for token in tokens
    )
