"""Polish text helpers: folding, inflection-tolerant matching, fuzzy names, syllables."""

from __future__ import annotations

import pytest

from etykieta.speech.greeting import polish


def test_fold_lowers_folds_diacritics_and_drops_punctuation() -> None:
    assert polish.fold("Wydział Komunikacji, Dzień dobry!") == "wydzial komunikacji dzien dobry"
    assert polish.fold("ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż") == "acelnoszz acelnoszz"
    assert polish.fold("  Urząd\tMiejski \n") == "urzad miejski"


def test_fold_word_joins_what_punctuation_split() -> None:
    assert polish.fold_word("O.K.") == "ok"
    assert polish.fold_word("Kowalska,") == "kowalska"
    assert polish.fold_word("[unk]") == "unk"


def test_words_are_the_folded_words() -> None:
    assert polish.words("Podatków i Opłat Lokalnych") == ["podatkow", "i", "oplat", "lokalnych"]


@pytest.mark.parametrize(
    ("word", "stem"),
    [("wydziału", "wydzial"), ("komunikacji", "komunikac"), ("miejskiego", "miejsk"),
     ("podatków", "podatk"), ("stanu", "stan"), ("bom", "bom"), ("urząd", "urzad")],
)
def test_stem_drops_one_ending_and_keeps_four_letters(word: str, stem: str) -> None:
    assert polish.stem(word) == stem


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("wydział", "wydziału"),
        ("wydział", "wydziale"),
        ("komunikacji", "komunikacja"),
        ("komunikacji", "komunikacyjny"),
        ("Komunikacji", "KOMUNIKACJĘ"),
        ("urząd", "urzędu"),
        ("urząd", "urzad"),
        ("miejski", "miejskiego"),
        ("podatków", "podatki"),
        ("opłat", "opłaty"),
        ("lokalnych", "lokalne"),
        ("mieszkańców", "mieszkańcy"),
        ("obsługi", "obsługa"),
        ("cywilnego", "cywilny"),
        ("biuro", "biurze"),
    ],
)
def test_forms_of_one_word_are_the_same_lemma(a: str, b: str) -> None:
    assert polish.same_lemma(a, b)
    assert polish.same_lemma(b, a)
    assert polish.inflected_similarity(a, b) == 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("komunikacji", "komunikat"),
        ("podatków", "dodatków"),
        ("bom", "bo"),
        ("urząd", "uraz"),
        ("wydział", "wydawał"),
        ("stan", "stanowisko"),
        ("miejski", "mieszkańców"),
        ("wydział", ""),
    ],
)
def test_different_words_are_not_the_same_lemma(a: str, b: str) -> None:
    assert not polish.same_lemma(a, b)
    assert polish.inflected_similarity(a, b) < 0.9


def test_a_surname_heard_as_a_similar_word_is_similar() -> None:
    assert polish.similarity("Kowalska", "kowalski") == pytest.approx(0.875)
    assert polish.similarity("Kowalska", "kowalską") == 1.0
    assert polish.similarity("Lewandowski", "lewandowska") > 0.9


@pytest.mark.parametrize("heard", ["kowalczyk", "kawalerka", "kolacja", "kolega"])
def test_an_unrelated_word_is_not_similar_enough_to_a_surname(heard: str) -> None:
    assert polish.similarity(heard, "kowalska") < 0.75


def test_short_words_are_equal_or_not_similar_at_all() -> None:
    assert polish.similarity("Ewa", "ewa") == 1.0
    assert polish.similarity("anna", "ania") == 0.0
    assert polish.similarity("jan", "jak") == 0.0
    assert polish.similarity("", "") == 0.0


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("dzień", 1),
        ("dobry", 2),
        ("wydział", 2),
        # ko-mu-ni-ka-cji: the final "i" follows "j", not a vowel, so it is a nucleus.
        ("komunikacji", 5),
        ("dziękuję", 3),
        ("miejskiego", 3),
        ("biuro", 2),
        ("państwu", 2),
        ("Joanna", 3),
        ("nauka", 3),
        ("ń", 0),
        ("Wydział Komunikacji, Anna Kowalska, dzień dobry", 15),
    ],
)
def test_syllables_count_vowels_except_i_before_a_vowel(text: str, count: int) -> None:
    assert polish.syllables(text) == count
