"""Polish text for the greeting check: folding, inflection-tolerant word matching, syllables.

Recognisers and people spell the same word differently ("dzień"/"dzien", "Wydziału"/"wydział"),
so words are compared *folded*: lower-case, Polish diacritics replaced by their base letters,
punctuation removed. Inflection is handled crudely but predictably: a folded word loses one
inflectional ending (never below `MIN_STEM` letters), and two words are the same lemma when their
stems are equal, one stem extends the other by a short derivational suffix
("komunikac"/"komunikacyjn"), or they differ only by the a/e vowel alternation ("urząd"/"urzędu").
Everything else is left to rapidfuzz's similarity on folded letters.
"""

from __future__ import annotations

import unicodedata

from rapidfuzz import fuzz

POLISH_FOLD = str.maketrans("ąćęłńóśźż", "acelnoszz")
MIN_STEM = 4
"""Letters a stem keeps at least; shorter words are compared whole."""
MAX_DERIVATION = 4
"""Letters by which one stem may extend the other and still be the same lemma."""
MIN_FUZZY_LENGTH = 5
"""Shorter words are never matched by similarity alone ("bo" is not "BOM")."""
VOWELS = frozenset("aeiouy")

# Folded inflectional endings of nouns and adjectives, longest first, so "miejskiego" loses
# "iego" rather than "o". The "j…" endings are those of the -cja/-sja/-zja nouns.
ENDINGS = tuple(
    sorted(
        {
            "iego", "iemu", "jach", "jami",
            "ach", "ami", "owi", "ego", "emu", "ych", "ymi", "ich", "imi", "iej", "iem", "jom",
            "om", "ow", "em", "ie", "ia", "iu", "ej", "ym", "im", "ja", "ji", "je",
            "a", "e", "i", "o", "u", "y",
        },
        key=len,
        reverse=True,
    )
)


def fold(text: str) -> str:
    """Lower-case, fold diacritics, turn punctuation into spaces, collapse whitespace.

    >>> fold("Wydział Komunikacji, Dzień dobry!")
    'wydzial komunikacji dzien dobry'
    """
    lowered = text.lower().translate(POLISH_FOLD)
    # Other Latin diacritics (é, ü, …) decompose; "ł" does not, hence the table above.
    decomposed = unicodedata.normalize("NFKD", lowered)
    kept = (
        ch if ch.isalnum() else " "
        for ch in decomposed
        if not unicodedata.combining(ch)
    )
    return " ".join("".join(kept).split())


def fold_word(word: str) -> str:
    """One folded token: like `fold`, but punctuation is dropped ("o.k." → "ok")."""
    return fold(word).replace(" ", "")


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return fold(text).split()


def stem(word: str) -> str:
    """``word`` folded, less its longest inflectional ending that leaves `MIN_STEM` letters."""
    folded = fold_word(word)
    for ending in ENDINGS:
        if folded.endswith(ending) and len(folded) - len(ending) >= MIN_STEM:
            return folded[: -len(ending)]
    return folded


def same_lemma(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` look like forms of one word ("wydział"/"wydziału", "urząd"/"urzędu").

    >>> same_lemma("komunikacji", "komunikacyjny"), same_lemma("komunikacji", "komunikat")
    (True, False)
    """
    fa, fb = fold_word(a), fold_word(b)
    if not fa or not fb:
        return False
    if fa == fb:
        return True
    sa, sb = stem(fa), stem(fb)
    short, long = sorted((sa, sb), key=len)
    if len(short) < MIN_STEM:
        return False
    if long.startswith(short) and len(long) - len(short) <= MAX_DERIVATION:
        return True
    # Vowel alternation in the stem: urząd/urzędu, miasto/mieście keep their consonants.
    return sa.replace("e", "a") == sb.replace("e", "a")


def similarity(a: str, b: str) -> float:
    """rapidfuzz's normalised similarity (0–1) of the folded words; 0 for a word under 5 letters.

    Short words get no benefit of the doubt: one letter is a third of "bom".
    """
    fa, fb = fold_word(a), fold_word(b)
    if fa == fb:
        return 1.0 if fa else 0.0
    if min(len(fa), len(fb)) < MIN_FUZZY_LENGTH:
        return 0.0
    return fuzz.ratio(fa, fb) / 100.0


def inflected_similarity(a: str, b: str) -> float:
    """1.0 for two forms of one lemma, else `similarity` (for unit and office names)."""
    return 1.0 if same_lemma(a, b) else similarity(a, b)


def syllables(text: str) -> int:
    """Syllables of Polish ``text``: one per vowel letter, except "i" before a vowel.

    "i" before a vowel only softens the consonant before it ("dzień" = 1, "wydział" = 2,
    "dziękuję" = 3). Adjacent vowels are separate syllables in Polish ("na-u-ka", "Jo-an-na",
    "Ma-te-usz"); only loanword diphthongs ("au-to", "Eu-ro-pa") are overcounted.
    """
    count = 0
    for word in words(text):
        for index, letter in enumerate(word):
            if letter not in VOWELS:
                continue
            following = word[index + 1] if index + 1 < len(word) else ""
            if letter == "i" and following in VOWELS:
                continue
            count += 1
    return count
