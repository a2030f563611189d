"""The configuration: loading, every validation rule with its line, number lookups, rings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.resources
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etykieta.callbacks.opening import calendar_for
from etykieta.config import (
    ExtensionRange,
    LineLocator,
    NameForm,
    NonPersonKind,
    RingCadence,
    Settings,
    check_config,
    load_settings,
    parse_settings,
)
from etykieta.config.loader import ARRAY_KEYS, CONFIG_ENV, TABLE_KEYS
from etykieta.errors import ConfigError
from etykieta.telephony.numbers import Directory

DATA = Path(__file__).parent / "data"
CASES = DATA / "config"
BASE = CASES / "base.toml"
LAB = DATA / "lab.toml"
EXAMPLE = importlib.resources.files("etykieta.config").joinpath("example.toml")
WARSAW = ZoneInfo("Europe/Warsaw")

KNOWN_UNITS = (
    "'Wydział Komunikacji', 'Wydział Podatków i Opłat Lokalnych', 'Biuro Obsługi Mieszkańców'"
)

# Each file in tests/data/config/ is base.toml with one kind of mistake, named after it.
INVALID = {
    "syntax_error": ["line 11: syntax: Invalid value (column 9)"],
    "unknown_key": ["line 11: rings.tagret: unknown key 'tagret' (did you mean 'target'?)"],
    "unknown_table": [
        "line 21: buisness_hours: unknown table 'buisness_hours' (did you mean 'business_hours'?)"
    ],
    "missing_required_key": ["line 4: organisation.country_code: required key is missing"],
    "rings_on_zero": ["line 9: rings.on_s: must be > 0, got 0"],
    "extension_not_quoted": [
        "line 71: staff[2].extension: must be a string, got integer 1301 "
        '(write it in quotes: "1301")'
    ],
    "reversed_range": ["line 50: units[1].extensions: range 1399-1301 is reversed"],
    "mixed_digit_range": [
        "line 50: units[1].extensions: range 1301-13999 mixes 4- and 5-digit extensions"
    ],
    "overlapping_ranges": [
        "line 55: units[2].extensions: range 1390-1499 overlaps range 1301-1399 of unit "
        "'Wydział Podatków i Opłat Lokalnych' (units[1], line 50)"
    ],
    "duplicate_unit_name": [
        "line 53: units[2].name: unit name 'Wydział Komunikacji' is already used "
        "(units[0], line 39)",
        "line 80: staff[3].unit: unknown unit 'Biuro Obsługi Mieszkańców' "
        "(known: 'Wydział Komunikacji', 'Wydział Podatków i Opłat Lokalnych')",
    ],
    "duplicate_alias": [
        "line 54: units[2].aliases: alias 'Komunikacji' is also an alias of unit "
        "'Wydział Komunikacji' (units[0])"
    ],
    "duplicate_staff_extension": [
        "line 65: staff[1].extension: extension 1201 is listed twice (also staff[0], line 57)"
    ],
    "staff_outside_unit": [
        "line 71: staff[2].extension: extension 1250 is outside every range of unit "
        "'Wydział Podatków i Opłat Lokalnych' (1301-1399)"
    ],
    "unknown_unit": [f"line 80: staff[3].unit: unknown unit 'Wydział X' (known: {KNOWN_UNITS})"],
    "unit_alias_as_unit": [
        "line 80: staff[3].unit: 'BOM' is an alias: use the unit's name 'Biuro Obsługi Mieszkańców'"
    ],
    "non_person_is_staff": [
        "line 83: non_person[0].extension: extension 1201 is also the staff extension of "
        "Anna Kowalska (staff[0], line 57)"
    ],
    "non_person_kind": [
        "line 84: non_person[0].kind: must be one of voicemail, ivr, queue, fax, conference, "
        "other, got 'voicmail' (did you mean 'voicemail'?)"
    ],
    "supervisor_not_staff": ["line 46: units[0].supervisors: supervisor 1298 is not in [[staff]]"],
    "bad_email": ["line 62: staff[0].email: 'anna.kowalska' does not look like an e-mail address"],
    "close_before_open": ["line 25: business_hours.close: must be after open (16:00), got 15:30"],
    "bad_time": [
        'line 25: business_hours.close: must be a time "HH:MM" such as "07:30", '
        "got string '15.30'"
    ],
    "unknown_timezone": [
        "line 22: business_hours.timezone: unknown time zone 'Europe/Warszawa' "
        "(did you mean 'Europe/Warsaw'?)"
    ],
    "unknown_holidays_country": [
        "line 26: business_hours.holidays: the holidays package does not know 'XX'"
    ],
    "unknown_day": [
        "line 23: business_hours.days: unknown day 'pt', use mon, tue, wed, thu, fri, sat, sun"
    ],
    "bad_closed_date": [
        "line 27: business_hours.closed: string '2026-12-32' is not a date \"YYYY-MM-DD\""
    ],
    "bad_sip_port": ["line 19: capture.sip_ports: port 70000 is outside 1..65535"],
    "bad_address": ["line 16: pbx.addresses: '127.0.2.300' is not an IP address"],
    "bad_did_prefix": ["line 14: pbx.did_prefixes: 'O74886' must be digits with an optional '+'"],
    "greeting_name": ['line 36: greeting.name: must be "full" or "surname", got \'nickname\''],
    "speech_workers_zero": ["line 33: speech.workers: must be >= 1, got 0"],
    "speech_recognizer_calls_zero": ["line 33: speech.recognizer_calls: must be >= 1, got 0"],
    "bad_interface": [
        "line 19: capture.interface: must be an interface name such as \"eth0\" or \"any\", "
        "got 'eth 0'"
    ],
    "callbacks_negative": ["line 30: callbacks.due_within_business_hours: must be > 0, got -1"],
    "misspelt_unit_key": [
        "line 48: units[1].extensions: required key is missing",
        "line 50: units[1].extentions: unknown key 'extentions' (did you mean 'extensions'?)",
    ],
    "no_days": ["line 23: business_hours.days: must name at least one day"],
    "missing_last_name": ["line 76: staff[3].last_name: required key is missing"],
    "non_person_unknown_unit": [
        "line 85: non_person[0].unit: unknown unit 'Wydział Komunikacj' "
        f"(did you mean 'Wydział Komunikacji'?) (known: {KNOWN_UNITS})"
    ],
    "several_mistakes": [
        "line 9: rings.on_s: must be > 0, got 0",
        "line 50: units[1].extensions: range 1399-1301 is reversed",
        f"line 80: staff[3].unit: unknown unit 'Wydział X' (known: {KNOWN_UNITS})",
    ],
}


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


@pytest.fixture
def base() -> Settings:
    return load_settings(BASE)


@pytest.fixture
def directory(base: Settings) -> Directory:
    return Directory(base)


# --- loading ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [BASE, LAB, Path(str(EXAMPLE))], ids=["base", "lab", "example"])
def test_valid_configs_have_no_problems(path: Path) -> None:
    assert check_config(path) == []
    assert load_settings(path).source == str(path)


def test_lab_config_loads_with_its_values() -> None:
    lab = load_settings(LAB)
    assert lab.organisation.country_code == "48"
    assert lab.organisation.national_number_length == 9
    assert lab.database_url == "sqlite:///var/lab.db"
    assert lab.business_hours.days == frozenset(range(5))
    assert lab.business_hours.closed == frozenset({dt.date(2026, 12, 31)})
    assert lab.capture.sip_ports is None
    assert lab.units[0].aliases == ("Wydział Komunikacji", "Komunikacji", "Wydział Komunikacyjny")
    assert lab.units[0].extensions == (
        ExtensionRange("1201", "1299"),
        ExtensionRange("1100", "1100"),
    )
    assert lab.non_person[1].kind is NonPersonKind.IVR
    assert lab.greeting.name is NameForm.FULL
    assert lab.speech.model_path is None


def test_example_is_a_superset_of_the_lab_config() -> None:
    lab, example = load_settings(LAB), load_settings(Path(str(EXAMPLE)))
    assert example.organisation == lab.organisation
    assert example.rings == lab.rings
    assert example.pbx == lab.pbx
    hours = dataclasses.replace(example.business_hours, closed=lab.business_hours.closed)
    assert hours == lab.business_hours
    assert lab.business_hours.closed <= example.business_hours.closed
    units = {unit.name: unit for unit in example.units}
    for unit in lab.units:
        assert units[unit.name].extensions == unit.extensions
        assert set(unit.aliases) <= set(units[unit.name].aliases)
        assert set(unit.supervisors) <= set(units[unit.name].supervisors)
    def person(p: object) -> tuple[object, ...]:  # the example may add e-mails, salutations
        return tuple(getattr(p, key) for key in ("extension", "first_name", "last_name", "unit"))

    assert {person(p) for p in lab.staff} <= {person(p) for p in example.staff}
    assert set(lab.non_person) <= set(example.non_person)
    assert len(example.units) >= 8


def test_example_explains_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    keys = {key for keys in (*TABLE_KEYS.values(), *ARRAY_KEYS.values()) for key in keys}
    missing = [key for key in keys if not re.search(rf"^(# )?{key} =", text, re.MULTILINE)]
    assert missing == []


def test_defaults_apply_to_a_minimal_config() -> None:
    settings = parse_settings('[organisation]\nname = "UM"\ncountry_code = "48"\n')
    assert settings.rings == RingCadence(1.0, 4.0, 3)
    assert settings.database_url == "sqlite:///var/etykieta.db"
    assert settings.business_hours.open == dt.time(7, 30)
    assert settings.business_hours.holidays == "PL"
    assert settings.callbacks.due_within_business_hours == 4.0
    assert settings.greeting.casual_words[:2] == ("aha", "dobra")
    assert settings.pbx.link_header == "X-Linkedid"
    assert settings.source is None


def test_toml_dates_and_times_are_accepted_as_written() -> None:
    text = BASE.read_text().replace('open = "07:30"', "open = 08:00:00")
    text = text.replace('closed = ["2026-12-31"]', "closed = [2026-12-31]")
    hours = parse_settings(text).business_hours
    assert hours.open == dt.time(8, 0)
    assert hours.closed == frozenset({dt.date(2026, 12, 31)})


def test_path_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(LAB))
    assert load_settings(BASE).source == str(BASE)


def test_environment_variable_names_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "etykieta.toml").write_text(BASE.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CONFIG_ENV, str(LAB))
    assert load_settings().source == str(LAB)


def test_local_etykieta_toml_is_used_when_present(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "etykieta.toml").write_text(BASE.read_text(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings().organisation.name == "Urząd Miejski w Testowie"


def test_packaged_example_is_the_last_resort(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.source is not None and settings.source.endswith("example.toml")
    assert check_config() == []


def test_database_url_override_keeps_a_relative_sqlite_path(base: Settings) -> None:
    assert base.database_url == "sqlite:///var/etykieta.db"
    assert load_settings(BASE, database_url="sqlite:///demo.db").database_url == "sqlite:///demo.db"


def test_byte_order_mark_from_windows_editors_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.read_bytes())
    assert check_config(path) == []


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert check_config(missing) == ["cannot read the file: No such file or directory"]
    with pytest.raises(ConfigError) as raised:
        load_settings(missing)
    assert raised.value.path == str(missing)


# --- validation: one invalid twin of base.toml per rule ------------------------------------


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_config_reports_line_and_key(case: str) -> None:
    path = CASES / f"{case}.toml"
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert raised.value.problems == INVALID[case]
    assert raised.value.path == str(path)
    assert check_config(path) == INVALID[case]


def test_every_case_file_is_tested_and_a_twin_of_base() -> None:
    base = BASE.read_text(encoding="utf-8").splitlines()
    cases = {path.stem for path in CASES.glob("*.toml")} - {"base"}
    assert cases == set(INVALID)
    for case in cases:
        lines = (CASES / f"{case}.toml").read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(base), case  # same lines, so line numbers stay comparable
        changed = [n for n, (a, b) in enumerate(zip(base, lines, strict=True)) if a != b and n > 1]
        assert 1 <= len(changed) <= 3, case


def test_non_person_extension_listed_twice() -> None:
    text = BASE.read_text(encoding="utf-8") + '\n[[non_person]]\nextension = "1999"\nkind = "fax"\n'
    with pytest.raises(ConfigError) as raised:
        parse_settings(text)
    assert raised.value.problems == [
        "line 88: non_person[1].extension: extension 1999 is listed twice "
        "(also non_person[0], line 82)"
    ]


def test_wrong_shapes_of_tables_and_arrays() -> None:
    text = '[organisation]\nname = "UM"\ncountry_code = "48"\nrings = 3\n[units]\nname = "A"\n'
    with pytest.raises(ConfigError) as raised:
        parse_settings(text)
    assert raised.value.problems == [
        "line 4: organisation.rings: unknown key 'rings'",
        "line 5: units: must be an array of tables ([[units]]), got a table",
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("off_s = -1", "line 10: rings.off_s: must be >= 0, got -1"),
        ("off_s = nan", "line 10: rings.off_s: must be a finite number, got nan"),
        ('off_s = "4"', "line 10: rings.off_s: must be a number, got string '4'"),
        ("off_s = true", "line 10: rings.off_s: must be a number, got boolean true"),
    ],
)
def test_numbers_must_be_finite_numbers_in_range(line: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(BASE.read_text(encoding="utf-8").replace("off_s = 4.0", line))
    assert raised.value.problems == [problem]


def test_syntax_error_at_the_end_of_the_file() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings('[organisation]\nname = "UM"\nextensions = [\n', "x.toml")
    assert raised.value.problems == ["line 3: syntax: Invalid value (at the end of the file)"]


def test_missing_organisation_table() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings("[rings]\ntarget = 3\n")
    assert raised.value.problems == [
        "line 1: organisation: required table [organisation] with name and country_code is missing"
    ]


# --- the line locator ---------------------------------------------------------------------

LOCATOR_TEXT = '''\
[organisation]
name = "x [not a header]"  # [nor this]
[[units]]
name = "A"
extensions = [
    "1201-1299",  # ] a bracket in a comment
    "1100",
]
[[units]]
name = "B"
notes = """
[[units]]
fake = 1
"""
"quoted" = 1
a . b = 2
[ business_hours ]
open = "07:30"
'''


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("organisation", 1),
        ("organisation.name", 2),
        ("units[0]", 3),
        ("units[0].extensions", 5),
        ("units[0].extensions[1]", 5),
        ("units[1]", 9),
        ("units[1].name", 10),
        ("units[1].fake", 9),
        ("units[1].quoted", 15),
        ("units[1].a.b", 16),
        ("business_hours.open", 18),
        ("business_hours.close", 17),
        ("greeting.name", 1),
    ],
)
def test_line_locator_finds_keys_tables_and_array_entries(path: str, line: int) -> None:
    assert LineLocator(LOCATOR_TEXT).line_of(path) == line


# --- extension ranges and the directory ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1250-1210", "range 1250-1210 is reversed"),
        ("120-1299", "range 120-1299 mixes 3- and 4-digit extensions"),
        ("12a1", "'12a1' is not an extension (digits) or a range like 1201-1299"),
        ("", "'' is not an extension (digits) or a range like 1201-1299"),
    ],
)
def test_extension_range_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ExtensionRange.parse(text)


def test_extension_range_contains_only_same_length_numbers() -> None:
    rng = ExtensionRange.parse("1201-1299")
    assert "1201" in rng and "1299" in rng and "1250" in rng
    assert "1200" not in rng and "12010" not in rng and "130" not in rng


@pytest.mark.parametrize(
    ("extension", "unit"),
    [
        ("1201", "Wydział Komunikacji"),  # staff
        ("1250", "Wydział Komunikacji"),  # range only
        ("1100", "Wydział Komunikacji"),  # single extension
        ("1999", "Wydział Komunikacji"),  # non-person with a unit, outside every range
        ("1499", "Biuro Obsługi Mieszkańców"),
        ("1400", None),
        ("1500", None),
        ("12010", None),
    ],
)
def test_unit_of(directory: Directory, extension: str, unit: str | None) -> None:
    found = directory.unit_of(extension)
    assert (found.name if found else None) == unit


def test_staff_and_non_person_lookups(directory: Directory) -> None:
    person = directory.staff_at("1201")
    assert person is not None and person.full_name == "Anna Kowalska"
    assert directory.staff_at("1250") is None
    voicemail = directory.non_person_at("1999")
    assert voicemail is not None and voicemail.kind is NonPersonKind.VOICEMAIL
    assert directory.non_person_at("1201") is None
    assert [p.extension for p in directory.staff_in("Wydział Komunikacji")] == ["1201", "1299"]
    bom = directory.unit_named("bom")
    assert bom is not None and bom.name == "Biuro Obsługi Mieszkańców"


@pytest.mark.parametrize(
    ("number", "expected"),
    [("1250", True), ("1999", True), ("12 01", True), ("1400", False), ("+1201", False),
     ("anonymous", False)],
)  # fmt: skip
def test_is_extension(directory: Directory, number: str, expected: bool) -> None:
    assert directory.is_extension(number) is expected


@pytest.mark.parametrize(
    ("number", "extension"),
    [
        ("1201", "1201"),
        ("+48748861201", "1201"),  # DID with "+"
        ("+48 74 886 12 01", "1201"),
        ("0748861201", "1201"),  # DID with the trunk "0"
        ("0048748861201", "1201"),  # matched through its E.164 form
        ("748861201", "1201"),
        ("+48748865555", None),  # a DID prefix, but 5555 is nobody's
        ("+4874886", None),
        ("+48600100200", None),
        ("anonymous", None),
    ],
)
def test_extension_of(directory: Directory, number: str, extension: str | None) -> None:
    assert directory.extension_of(number) == extension


@pytest.mark.parametrize(
    ("number", "normalised"),
    [
        ("+48 600 100 200", "+48600100200"),
        ("0048600100200", "+48600100200"),
        ("600100200", "+48600100200"),
        ("600-100-200", "+48600100200"),
        ("0600100200", "+48600100200"),  # outside-line prefix "0"
        ("00048600100200", "+48600100200"),  # outside line, then international
        ("48600100200", "+48600100200"),
        ("+49 30 1234567", "+49301234567"),
        ("+48748861201", "+48748861201"),  # a DID is still a number in E.164
        ("1201", "1201"),
        ("112", "112"),
        ("0112", "112"),
        ("anonymous", "anonymous"),
        ("Anonymous", "anonymous"),
    ],
)
def test_normalise_with_outside_line_prefix(
    directory: Directory, number: str, normalised: str
) -> None:
    assert directory.normalise(number) == normalised


@pytest.mark.parametrize(
    ("number", "normalised"),
    [
        ("+48 600 100 200", "+48600100200"),
        ("0048600100200", "+48600100200"),
        ("600100200", "+48600100200"),
        ("0600100200", "0600100200"),  # no outside-line prefix: left as digits
        ("1999", "1999"),
    ],
)
def test_normalise_without_outside_line_prefix(number: str, normalised: str) -> None:
    assert Directory(load_settings(LAB)).normalise(number) == normalised


# --- business hours -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (dt.datetime(2026, 11, 25, 10, 0, tzinfo=WARSAW), True),  # Wednesday
        (dt.datetime(2026, 11, 25, 7, 29, tzinfo=WARSAW), False),
        (dt.datetime(2026, 11, 25, 7, 30, tzinfo=WARSAW), True),
        (dt.datetime(2026, 11, 25, 15, 30, tzinfo=WARSAW), False),  # close is exclusive
        (dt.datetime(2026, 11, 25, 6, 45, tzinfo=dt.UTC), True),  # 07:45 in Warsaw
        (dt.datetime(2026, 11, 28, 10, 0, tzinfo=WARSAW), False),  # Saturday
        (dt.datetime(2026, 11, 11, 10, 0, tzinfo=WARSAW), False),  # Independence Day
        (dt.datetime(2026, 12, 31, 10, 0, tzinfo=WARSAW), False),  # [business_hours] closed
    ],
)
def test_business_hours_make_the_callback_calendar(base: Settings, moment: dt.datetime,
                                                   is_open: bool) -> None:
    assert calendar_for(base.business_hours).is_open(moment) is is_open


def test_business_hours_need_an_aware_time(base: Settings) -> None:
    with pytest.raises(ValueError, match="naive"):
        calendar_for(base.business_hours).is_open(dt.datetime(2026, 11, 25, 10, 0))


@functools.cache
def _base_directory() -> Directory:
    return Directory(load_settings(BASE))


@given(st.from_regex(r"\+?[0-9][0-9 -]{0,15}", fullmatch=True))
def test_normalise_is_idempotent_and_numeric(number: str) -> None:
    once = _base_directory().normalise(number)
    assert _base_directory().normalise(once) == once
    assert re.fullmatch(r"\+?[0-9]+", once)
