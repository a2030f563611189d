"""The greeting checker on Vosk-shaped results with the recognition errors seen in practice.

Fixtures in tests/data/greeting/ are recogniser output in Vosk's own layout, named after the
case and the answering extension of the lab config (1201 Anna Kowalska, Wydział Komunikacji;
1203 Ewa Wiśniewska; 1301 Jan Zieliński, Wydział Podatków i Opłat Lokalnych; 1401 Tomasz
Lewandowski, Biuro Obsługi Mieszkańców).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from etykieta.config import NameForm, Settings
from etykieta.speech.greeting.transcript import Transcript, Word
from etykieta.speech.greeting.verdict import (
    Element,
    GreetingResult,
    Source,
    Verdict,
    check_greeting,
)
from etykieta.telephony.numbers import Directory

from .conftest import DATA

GREETING = DATA / "greeting"
CONTRACT_KEYS = {"verdict", "missing", "transcript", "first_word_s", "syllables_per_s",
                 "casual_words", "thanked"}


def vosk(name: str) -> Transcript:
    return Transcript.from_vosk((GREETING / name).read_text(encoding="utf-8"))


def vosk_dict(name: str) -> Any:
    return json.loads((GREETING / name).read_text(encoding="utf-8"))


def judge(settings: Settings, extension: str, free: Transcript | str,
          grammar: Transcript | None = None, closing: Transcript | None = None,
          **greeting: Any) -> GreetingResult:
    directory = Directory(settings)
    transcript = Transcript.from_text(free) if isinstance(free, str) else free
    return check_greeting(
        transcript, grammar,
        staff=directory.staff_at(extension), unit=directory.unit_of(extension),
        organisation=settings.organisation.name,
        settings=dataclasses.replace(settings.greeting, **greeting), closing=closing,
    )


def element_text(result: GreetingResult, element: Element) -> str | None:
    match = result.elements[element]
    return None if match is None else " ".join(word.text for word in match.words)


# --- Transcript: Vosk's JSON ----------------------------------------------------------------

def test_from_vosk_reads_words_with_times_and_confidences() -> None:
    transcript = vosk("complete_1201.json")
    assert [w.text for w in transcript.words][:2] == ["wydział", "komunikacji"]
    assert transcript.words[0] == Word("wydział", 0.84, 1.26, 1.0)
    assert transcript.words[5].conf == 0.93
    assert transcript.text == ("wydział komunikacji urzędu miejskiego anna kowalska "
                               "dzień dobry")
    assert transcript.timed


def test_from_vosk_reads_every_result_object_of_the_output() -> None:
    transcript = vosk("split_dzien_n_dobry_1401.json")
    assert len(transcript.words) == 8
    assert transcript.text == "biuro obsługi mieszkańców tomasz lewandowski dzie ń dobry"
    starts = [w.start for w in transcript.words if w.start is not None]
    assert starts == sorted(starts) and starts[3] == 2.31


def test_from_vosk_takes_decoded_objects_and_lists_of_them() -> None:
    one = vosk_dict("complete_1201.json")
    assert Transcript.from_vosk(one) == vosk("complete_1201.json")
    assert Transcript.from_vosk([one, {"text": ""}]) == vosk("complete_1201.json")


def test_from_vosk_of_an_empty_final_result_has_no_words() -> None:
    assert vosk("empty.json") == Transcript((), "")


def test_from_vosk_skips_partial_results() -> None:
    text = '{"partial": "wydział"}\n' + (GREETING / "complete_1201.json").read_text()
    assert Transcript.from_vosk(text) == vosk("complete_1201.json")


def test_from_vosk_text_without_word_times_gives_untimed_words() -> None:
    transcript = Transcript.from_vosk('{"text": "dzień dobry"}')
    assert transcript.words == (Word("dzień"), Word("dobry"))
    assert not transcript.timed


def test_from_vosk_refuses_a_word_without_confidence() -> None:
    with pytest.raises(ValueError, match=r"^result 1 word 6 \('kowalska'\): no 'conf'$"):
        vosk("complete_1201_invalid.json")


def test_from_vosk_refuses_truncated_output() -> None:
    with pytest.raises(ValueError, match=r"^not Vosk JSON: Unterminated string .*\(line 47, "):
        vosk("split_dzien_n_dobry_1401_invalid.json")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "not Vosk JSON: no result object in the input"),
        ("[1]", "not Vosk JSON: expected an object, got 1"),
        ('{"result": {}}', "result 1: 'result' must be a list of words"),
        ('{"confidence": 1}', "result 1: neither 'result' nor 'text'"),
        ('{"alternatives": []}', "result 1: 'alternatives' carry no word confidences"),
        ('{"result": [{"word": "a", "start": 1, "end": 0.5, "conf": 1}]}',
         "result 1 word 1: word 'a': starts at 1.0 s, after its end"),
        ('{"result": [{"word": "a", "start": 0, "end": 1, "conf": 1.5}]}',
         "result 1 word 1: word 'a': confidence 1.5 is not within 0..1"),
        ('{"result": [{"word": "a", "start": "0", "end": 1, "conf": 1}]}',
         "result 1 word 1: 'start' must be a number, got '0'"),
        ('{"result": [{"word": "", "start": 0, "end": 1, "conf": 1}]}',
         "result 1 word 1: 'word' must be a non-empty string"),
    ],
)
def test_from_vosk_says_what_is_wrong(data: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Transcript.from_vosk(data)
    assert str(raised.value).startswith(message)


def test_from_text_gives_sure_untimed_words_split_at_punctuation() -> None:
    transcript = Transcript.from_text("Wydział Komunikacji,Anna  Kowalska. Dzień dobry!")
    assert [w.text for w in transcript.words] == ["Wydział", "Komunikacji", "Anna", "Kowalska.",
                                                  "Dzień", "dobry"]
    assert all(w.start is None and w.end is None and w.conf == 1.0 for w in transcript.words)
    assert transcript.text == "Wydział Komunikacji,Anna Kowalska. Dzień dobry!"


@pytest.mark.parametrize("transcript", [vosk("twice_1201.json"), Transcript.from_text("a b")])
def test_to_vosk_reads_back_the_same_transcript(transcript: Transcript) -> None:
    assert Transcript.from_vosk(json.dumps(transcript.to_vosk())) == transcript


# --- Elements and verdicts -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("fixture", "extension", "unit", "name", "dzien_dobry"),
    [
        ("complete_1201.json", "1201", "wydział komunikacji", "anna kowalska", "dzień dobry"),
        ("split_dzien_dobry_1201.json", "1201", "wydział komunikacji", "anna kowalska",
         "dzie dobry"),
        ("split_dzien_n_dobry_1401.json", "1401", "biuro obsługi mieszkańców",
         "tomasz lewandowski", "dzie ń dobry"),
        ("merged_no_diacritics_1201.json", "1201", "wydzial komunikacji", "anna kowalska",
         "dziendobry"),
        ("surname_common_word_1201.json", "1201", "wydział komunikacji", "anna kowalski",
         "dzień dobry"),
        ("inflected_unit_1301.json", "1301", "podatki i opłaty lokalne", "jan zieliński",
         "dzień dobry"),
    ],
)
def test_recognition_errors_still_give_a_complete_greeting(
    lab_settings: Settings, fixture: str, extension: str, unit: str, name: str, dzien_dobry: str
) -> None:
    result = judge(lab_settings, extension, vosk(fixture))
    assert result.verdict is Verdict.COMPLETE and result.missing == ()
    assert element_text(result, Element.UNIT) == unit
    assert element_text(result, Element.NAME) == name
    assert element_text(result, Element.DZIEN_DOBRY) == dzien_dobry
    assert result.order_ok is True


@pytest.mark.parametrize(
    "text",
    ["Komunikacja, Anna Kowalska, dzień dobry", "Wydziału Komunikacji Anna Kowalska dzień dobry",
     "Wydział Komunikacyjny, Anna Kowalska, dzień dobry"],
)
def test_the_unit_may_be_any_alias_in_any_case(lab_settings: Settings, text: str) -> None:
    assert judge(lab_settings, "1201", text).verdict is Verdict.COMPLETE


@pytest.mark.parametrize(
    ("extension", "text"),
    [("1201", "Wydział, Anna Kowalska, dzień dobry"),
     ("1401", "Biuro, Tomasz Lewandowski, dzień dobry"),
     ("1201", "Wydział Podatków, Anna Kowalska, dzień dobry")],
)
def test_a_generic_or_wrong_unit_is_not_the_unit(lab_settings: Settings, extension: str,
                                                 text: str) -> None:
    result = judge(lab_settings, extension, text)
    assert result.verdict is Verdict.PARTIAL
    assert result.missing == (Element.UNIT,)


@pytest.mark.parametrize(
    ("text", "words"),
    [("dzień dobry państwu", "dzień dobry państwu"), ("dzieńdobry", "dzieńdobry"),
     ("dzie ń dobry", "dzie ń dobry"), ("Dzien dobry.", "Dzien dobry."),
     ("no dzień dobry", "dzień dobry")],
)
def test_dzien_dobry_is_found_split_merged_and_without_diacritics(
    lab_settings: Settings, text: str, words: str
) -> None:
    result = judge(lab_settings, "1201", f"wydział komunikacji anna kowalska {text}")
    assert result.verdict is Verdict.COMPLETE
    assert element_text(result, Element.DZIEN_DOBRY) == words


@pytest.mark.parametrize("text", ["dobry", "dzień", "no dobra", "dobry wieczór", "jeden dobry"])
def test_part_of_dzien_dobry_is_not_dzien_dobry(lab_settings: Settings, text: str) -> None:
    result = judge(lab_settings, "1201", f"wydział komunikacji anna kowalska {text}")
    assert result.missing == (Element.DZIEN_DOBRY,)


@pytest.mark.parametrize("surname", ["kowalczyk", "kawalerka", "kolega", "nowak"])
def test_an_unrelated_word_in_place_of_the_surname_is_not_the_name(lab_settings: Settings,
                                                                   surname: str) -> None:
    result = judge(lab_settings, "1201", f"wydział komunikacji anna {surname} dzień dobry")
    assert result.missing == (Element.NAME,)


def test_a_surname_recognised_in_two_pieces_is_joined(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1203", "wydział komunikacji ewa wiśniew ska dzień dobry")
    assert element_text(result, Element.NAME) == "ewa wiśniew ska"


def test_the_full_name_needs_the_first_name_unless_configured(lab_settings: Settings) -> None:
    text = "wydział komunikacji kowalska dzień dobry"
    assert judge(lab_settings, "1201", text).missing == (Element.NAME,)
    surname = judge(lab_settings, "1201", text, name=NameForm.SURNAME)
    assert surname.verdict is Verdict.COMPLETE
    assert element_text(surname, Element.NAME) == "kowalska"


def test_surname_form_still_reports_the_first_name_said_with_it(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", vosk("complete_1201.json"), name=NameForm.SURNAME)
    assert element_text(result, Element.NAME) == "anna kowalska"


def test_the_name_may_be_said_surname_first(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", "wydział komunikacji kowalska anna dzień dobry")
    assert result.verdict is Verdict.COMPLETE


def test_the_office_is_reported_and_required_only_when_configured(lab_settings: Settings) -> None:
    with_office = vosk("complete_1201.json")
    without_office = vosk("split_dzien_dobry_1201.json")
    assert element_text(judge(lab_settings, "1201", with_office), Element.OFFICE) == (
        "urzędu miejskiego")
    assert judge(lab_settings, "1201", without_office).verdict is Verdict.COMPLETE
    assert judge(lab_settings, "1201", with_office, require_office=True).verdict is (
        Verdict.COMPLETE)
    required = judge(lab_settings, "1201", without_office, require_office=True)
    assert required.verdict is Verdict.PARTIAL and required.missing == (Element.OFFICE,)


def test_the_office_with_its_city_is_one_element(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", "Urząd Miejski w Wałbrzychu, Wydział Komunikacji, "
                   "Anna Kowalska, dzień dobry", require_office=True)
    assert result.verdict is Verdict.COMPLETE
    assert element_text(result, Element.OFFICE) == "Urząd Miejski w Wałbrzychu"


def test_an_office_word_alone_is_not_the_office(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", "urząd wydział komunikacji anna kowalska dzień dobry",
                   require_office=True)
    assert result.missing == (Element.OFFICE,)


def test_a_greeting_said_twice_is_judged_on_its_first_whole_rendition(
    lab_settings: Settings,
) -> None:
    result = judge(lab_settings, "1201", vosk("twice_1201.json"))
    assert result.verdict is Verdict.COMPLETE and result.order_ok is True
    unit, dzien_dobry = result.elements[Element.UNIT], result.elements[Element.DZIEN_DOBRY]
    assert unit is not None and dzien_dobry is not None
    assert unit.start == 3.9 and dzien_dobry.start == 6.08  # the second "dzień dobry"
    assert result.casual_words == ("halo",)
    assert result.first_word_s == 0.48


def test_words_out_of_template_order_are_complete_but_not_in_order(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1203", vosk("out_of_order_1203.json"))
    assert result.verdict is Verdict.COMPLETE
    assert result.order_ok is False
    assert element_text(result, Element.NAME) == "ewa wisniewska"


def test_low_confidence_speech_is_unclear(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", vosk("low_confidence_1201.json"))
    assert result.verdict is Verdict.UNCLEAR
    assert result.missing == ()
    assert result.mean_conf == pytest.approx(0.364, abs=0.001)
    assert result.reason == "mean word confidence 0.36 is too low to judge"


def test_a_word_under_the_confidence_floor_does_not_count(lab_settings: Settings) -> None:
    data = vosk_dict("complete_1201.json")
    data["result"][5]["conf"] = 0.45  # "kowalska"
    result = judge(lab_settings, "1201", Transcript.from_vosk(data))
    assert result.verdict is Verdict.PARTIAL and result.missing == (Element.NAME,)


def test_speech_without_one_sure_word_is_unclear(lab_settings: Settings) -> None:
    data = vosk_dict("casual_1201.json")
    for word in data["result"]:
        word["conf"] = 0.45
    result = judge(lab_settings, "1201", Transcript.from_vosk(data))
    assert result.verdict is Verdict.UNCLEAR
    assert result.reason == "no word recognised with confidence 0.5 or more"
    assert result.casual_words == ()


def test_no_words_at_all_is_unclear(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", vosk("empty.json"))
    assert result.verdict is Verdict.UNCLEAR
    assert result.reason == "no words recognised"
    assert result.first_word_s is None


def test_casual_words_and_phrases_are_listed_once_in_the_order_heard(
    lab_settings: Settings,
) -> None:
    result = judge(lab_settings, "1201", vosk("casual_1201.json"))
    assert result.verdict is Verdict.NO_GREETING
    assert result.missing == (Element.UNIT, Element.NAME, Element.DZIEN_DOBRY)
    assert result.casual_words == ("no", "dobra", "halo", "okej", "w porządku")


def test_casual_words_come_from_the_config(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", vosk("casual_1201.json"), casual_words=("słucham",))
    assert result.casual_words == ("słucham",)


def test_dzien_dobry_is_not_the_casual_dobra(lab_settings: Settings) -> None:
    assert judge(lab_settings, "1201", vosk("complete_1201.json")).casual_words == ()


def test_the_closing_dziekuje_is_looked_for_in_the_closing_window(lab_settings: Settings) -> None:
    closing = vosk("closing_thanks_1201.json")
    assert judge(lab_settings, "1201", vosk("complete_1201.json"), closing=closing).thanked
    assert not judge(lab_settings, "1201", vosk("complete_1201.json")).thanked
    assert judge(lab_settings, "1201", closing).thanked
    opening_thanks = Transcript.from_text("wydział komunikacji dziękujemy")
    assert not judge(lab_settings, "1201", opening_thanks, closing=vosk("empty.json")).thanked


@pytest.mark.parametrize("thanks", ["Dziękuję", "dziekuje", "dziękujemy", "dzięki"])
def test_every_form_of_thanks_counts(lab_settings: Settings, thanks: str) -> None:
    assert judge(lab_settings, "1201", f"{thanks} do widzenia").thanked


def test_speech_rate_is_measured_over_the_greeting(lab_settings: Settings) -> None:
    normal = judge(lab_settings, "1201", vosk("complete_1201.json"))
    # 21 syllables from 0.84 s ("wydział") to 5.41 s (end of "dobry").
    assert normal.syllables_per_s == pytest.approx(21 / (5.41 - 0.84), abs=0.01)
    assert not normal.too_fast
    fast = judge(lab_settings, "1201", vosk("too_fast_1201.json"))
    assert fast.syllables_per_s == 10.0 and fast.too_fast
    assert not judge(lab_settings, "1201", vosk("too_fast_1201.json"),
                     max_syllables_per_s=10.0).too_fast


def test_typed_text_has_no_times_to_measure(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", "Wydział Komunikacji, Anna Kowalska, dzień dobry")
    assert result.verdict is Verdict.COMPLETE
    assert result.first_word_s is None and result.syllables_per_s is None
    assert result.order_ok is True


def test_an_extension_without_a_person_is_judged_without_a_name(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1100", "wydział komunikacji dzień dobry")
    assert result.verdict is Verdict.COMPLETE
    assert result.reason == "no person at this extension: name not checked"


# --- The grammar pass ------------------------------------------------------------------------

def test_a_grammar_phrase_over_other_sure_words_is_not_counted(lab_settings: Settings) -> None:
    result = judge(lab_settings, "1201", vosk("grammar_hallucination_free_1201.json"),
                   vosk("grammar_hallucination_grammar_1201.json"))
    assert result.verdict is Verdict.PARTIAL
    assert result.missing == (Element.DZIEN_DOBRY,)
    assert result.elements[Element.DZIEN_DOBRY] is None


def test_a_grammar_phrase_where_the_free_pass_heard_nothing_is_not_counted(
    lab_settings: Settings,
) -> None:
    free = vosk("grammar_hallucination_free_1201.json")
    free = Transcript(free.words[:4], "wydział komunikacji anna kowalska")
    result = judge(lab_settings, "1201", free, vosk("grammar_hallucination_grammar_1201.json"))
    assert result.missing == (Element.DZIEN_DOBRY,)


def test_a_sure_grammar_surname_over_unsure_free_words_counts(lab_settings: Settings) -> None:
    free = vosk("grammar_oov_surname_free_1301.json")
    assert judge(lab_settings, "1301", free).missing == (Element.NAME,)
    result = judge(lab_settings, "1301", free, vosk("grammar_oov_surname_grammar_1301.json"))
    assert result.verdict is Verdict.COMPLETE
    name = result.elements[Element.NAME]
    assert name is not None and name.source is Source.GRAMMAR
    assert [w.text for w in name.words] == ["jan", "zieliński"]
    unit = result.elements[Element.UNIT]
    assert unit is not None and unit.source is Source.FREE  # the grammar's is not needed


def test_a_grammar_surname_under_the_sure_threshold_does_not_count(lab_settings: Settings) -> None:
    grammar = vosk_dict("grammar_oov_surname_grammar_1301.json")
    grammar["result"][3]["conf"] = 0.7  # "zieliński"
    result = judge(lab_settings, "1301", vosk("grammar_oov_surname_free_1301.json"),
                   Transcript.from_vosk(grammar))
    assert result.missing == (Element.NAME,)


@pytest.mark.parametrize("token", ["[unk]", "<UNK>"])
def test_the_unknown_token_in_the_grammar_pass_means_something_else(
    lab_settings: Settings, token: str
) -> None:
    grammar = vosk_dict("grammar_oov_surname_grammar_1301.json")
    grammar["result"][3]["word"] = token
    result = judge(lab_settings, "1301", vosk("grammar_oov_surname_free_1301.json"),
                   Transcript.from_vosk(grammar))
    assert result.missing == (Element.NAME,)


def test_a_grammar_match_with_a_similar_free_word_counts_whatever_its_confidence(
    lab_settings: Settings,
) -> None:
    free = vosk_dict("split_dzien_dobry_1201.json")
    free["result"][4]["conf"] = 0.3  # "dzie": too unsure alone, so "dobry" is all that is left
    grammar = vosk_dict("split_dzien_dobry_1201.json")
    grammar["result"][4].update(word="dzień", conf=0.8)
    alone = judge(lab_settings, "1201", Transcript.from_vosk(free))
    assert alone.missing == (Element.DZIEN_DOBRY,)
    result = judge(lab_settings, "1201", Transcript.from_vosk(free), Transcript.from_vosk(grammar))
    assert result.verdict is Verdict.COMPLETE
    dzien_dobry = result.elements[Element.DZIEN_DOBRY]
    assert dzien_dobry is not None and dzien_dobry.source is Source.GRAMMAR


def test_the_grammar_pass_alone_cannot_make_a_greeting(lab_settings: Settings) -> None:
    mumble = vosk("low_confidence_1201.json")
    start = mumble.words[0].start
    assert start is not None
    said = ["wydział", "komunikacji", "anna", "kowalska", "dzień", "dobry"]
    grammar = Transcript(
        tuple(Word(w, start + 0.3 * i, start + 0.3 * i + 0.25, 1.0) for i, w in enumerate(said)),
        " ".join(said),
    )
    result = judge(lab_settings, "1201", mumble, grammar)
    assert result.verdict is Verdict.UNCLEAR
    assert all(match is None for match in result.elements.values())


# --- The greeting object ---------------------------------------------------------------------

def test_the_greeting_object_has_the_contract_keys_and_is_json(lab_settings: Settings) -> None:
    data: Any = judge(lab_settings, "1201", vosk("complete_1201.json")).to_dict()
    assert set(data) >= CONTRACT_KEYS
    assert data["verdict"] == "complete" and data["missing"] == []
    assert data["first_word_s"] == 0.84 and data["thanked"] is False
    assert data["elements"]["name"]["words"][1] == {"conf": 0.93, "end": 4.36, "start": 3.78,
                                                    "word": "kowalska"}
    assert data["elements"]["name"]["source"] == "free"
    assert "reason" not in data
    assert json.loads(json.dumps(data)) == data


def test_the_missing_elements_are_named_as_in_the_contract(lab_settings: Settings) -> None:
    data = judge(lab_settings, "1201", vosk("casual_1201.json")).to_dict()
    assert data["missing"] == ["unit", "name", "dzien_dobry"]
    assert data["verdict"] == "no_greeting"


@pytest.mark.parametrize(
    "verdict",
    [Verdict.SILENT, Verdict.NO_AUDIO, Verdict.UNSUPPORTED_CODEC, Verdict.NOT_CHECKED],
)
def test_verdicts_without_speech_carry_their_reason(verdict: Verdict) -> None:
    data: Any = GreetingResult.without_speech(verdict, "codec G729").to_dict()
    assert data["verdict"] == verdict.value and data["reason"] == "codec G729"
    assert data["missing"] == [] and data["transcript"] == "" and data["casual_words"] == []
    assert data["first_word_s"] is None and data["thanked"] is None  # nobody listened
    assert set(data["elements"].values()) == {None}


@pytest.mark.parametrize("verdict", [Verdict.COMPLETE, Verdict.PARTIAL, Verdict.UNCLEAR])
def test_judged_verdicts_cannot_be_made_without_speech(verdict: Verdict) -> None:
    with pytest.raises(ValueError, match="needs a transcript"):
        GreetingResult.without_speech(verdict, "")
