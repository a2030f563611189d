"""``etykieta greeting check``: in-process through the main group, as an admin runs it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from etykieta.cli import main
from etykieta.cli.greeting import greeting

from .conftest import DATA, LAB_CONFIG

GREETING = DATA / "greeting"
CONTRACT_KEYS = {"verdict", "missing", "transcript", "first_word_s", "syllables_per_s",
                 "casual_words", "thanked"}

if "greeting" not in main.commands:  # until etykieta/cli.py registers it itself
    main.add_command(greeting)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(LAB_CONFIG), "greeting", "check", *args])
    return result.exit_code, result.stdout, result.stderr


def greeting_of(out: str) -> Any:
    data = json.loads(out)
    assert set(data) >= CONTRACT_KEYS
    return data


def test_check_judges_typed_text_for_the_extension() -> None:
    code, out, _ = run("--extension", "1201", "--text",
                       "Wydział Komunikacji, Anna Kowalska, dzień dobry")
    assert code == 0
    data = greeting_of(out)
    assert data["verdict"] == "complete" and data["missing"] == []
    assert data["transcript"] == "Wydział Komunikacji, Anna Kowalska, dzień dobry"
    assert data["first_word_s"] is None and data["syllables_per_s"] is None


def test_check_names_what_is_missing_for_another_person() -> None:
    code, out, _ = run("--extension", "1202", "--text",
                       "Wydział Komunikacji, Anna Kowalska, dzień dobry")
    assert code == 0
    assert greeting_of(out)["missing"] == ["name"]


def test_check_reads_the_recognisers_json_with_times() -> None:
    code, out, _ = run("--extension", "1201", "--words", str(GREETING / "twice_1201.json"))
    assert code == 0
    data = greeting_of(out)
    assert data["verdict"] == "complete" and data["order_ok"] is True
    assert data["first_word_s"] == 0.48 and data["casual_words"] == ["halo"]
    assert data["elements"]["dzien_dobry"]["start"] == 6.08


def test_check_prints_polish_letters_as_they_are() -> None:
    _, out, _ = run("--extension", "1201", "--words", str(GREETING / "complete_1201.json"))
    assert '"wydział komunikacji urzędu miejskiego anna kowalska dzień dobry"' in out


def test_check_weighs_the_grammar_pass_against_the_free_one() -> None:
    free = str(GREETING / "grammar_hallucination_free_1201.json")
    grammar = str(GREETING / "grammar_hallucination_grammar_1201.json")
    code, out, _ = run("--extension", "1201", "--words", free, "--grammar", grammar)
    assert code == 0
    assert greeting_of(out)["missing"] == ["dzien_dobry"]
    code, out, _ = run("--extension", "1301",
                       "--words", str(GREETING / "grammar_oov_surname_free_1301.json"),
                       "--grammar", str(GREETING / "grammar_oov_surname_grammar_1301.json"))
    assert code == 0
    data = greeting_of(out)
    assert data["verdict"] == "complete" and data["elements"]["name"]["source"] == "grammar"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--extension", "1201"], "give exactly one of --text and --words"),
        (["--extension", "1201", "--text", "x", "--words", str(GREETING / "empty.json")],
         "give exactly one of --text and --words"),
        (["--extension", "1201", "--text", "x", "--grammar", str(GREETING / "empty.json")],
         "--grammar needs --words"),
        (["--extension", "5555", "--text", "dzień dobry"],
         "5555 is neither a staff extension nor in a unit's range"),
        (["--extension", "1201", "--words", str(GREETING / "complete_1201_invalid.json")],
         "result 1 word 6 ('kowalska'): no 'conf'"),
        (["--extension", "1201", "--words", str(GREETING / "missing.json")], "does not exist"),
    ],
)
def test_check_refuses_bad_input_with_a_usage_error(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    assert message in " ".join(err.split())


def test_check_needs_the_main_groups_config() -> None:
    result = CliRunner().invoke(greeting, ["check", "--extension", "1201", "--text", "x"])
    assert result.exit_code == 2
    assert "etykieta greeting check" in result.stderr
