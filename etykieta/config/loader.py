"""Read ``etykieta.toml`` into :class:`~etykieta.config.model.Settings`, or say what is wrong.

Admins write the file by hand, so validation collects every problem, each as
``"line N: <key path>: <message>"``, and raises one :class:`~etykieta.errors.ConfigError`.
``tomllib`` keeps no line numbers; :class:`LineLocator` finds them in the text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import importlib.resources
import ipaddress
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

import holidays

from etykieta.config.model import (
    DEFAULT_CASUAL_WORDS,
    DEFAULT_DATABASE_URL,
    WEEKDAY_NAMES,
    BusinessHours,
    CallbackPolicy,
    CaptureSettings,
    ExtensionRange,
    GreetingSettings,
    NameForm,
    NonPerson,
    NonPersonKind,
    Organisation,
    PbxSettings,
    RingCadence,
    Settings,
    SpeechSettings,
    Staff,
    Unit,
)
from etykieta.errors import ConfigError

CONFIG_ENV = "ETYKIETA_CONFIG"
LOCAL_CONFIG = "etykieta.toml"
EXAMPLE_RESOURCE = "example.toml"

# The keys of every table; a key not listed is reported as unknown.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "organisation": ("name", "country_code", "national_number_length"),
    "rings": ("on_s", "off_s", "target"),
    "database": ("url",),
    "pbx": ("did_prefixes", "outside_line_prefix", "link_header", "link_window_s", "addresses"),
    "capture": ("sip_ports",),
    "business_hours": ("timezone", "days", "open", "close", "holidays", "closed"),
    "callbacks": ("due_within_business_hours",),
    "speech": ("model_path", "window_s", "closing_window_s", "keep_audio", "workers"),
    "greeting": ("require_office", "name", "casual_words", "max_syllables_per_s"),
}
ARRAY_KEYS: dict[str, tuple[str, ...]] = {
    "units": ("name", "aliases", "extensions", "supervisors"),
    "staff": ("extension", "first_name", "last_name", "unit", "email"),
    "non_person": ("extension", "kind", "unit", "name"),
}
TOP_LEVEL = (*TABLE_KEYS, *ARRAY_KEYS)

_SYNTAX_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY_LINE = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=(.*)$")
_LAST_COMPONENT = re.compile(r"(\[\d+\]|\.[^.\[\]]+)$")
_DIGITS = re.compile(r"[0-9]+")
_COUNTRY_CODE = re.compile(r"[0-9]{1,3}")
_DID_PREFIX = re.compile(r"\+?[0-9]+")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_DB_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://.*")
_HEADER_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")

T = TypeVar("T")
U = TypeVar("U")


class LineLocator:
    """Line numbers of ``[table]`` / ``[[array]]`` headers and ``key =`` lines in TOML text.

    Paths look like ``rings``, ``rings.on_s``, ``units[2]`` or ``units[2].extensions``;
    array headers are counted from 0. A multi-line value is found at its key's line.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[str, int] = {}
        counts: dict[str, int] = {}
        table = ""
        depth, open_string = 0, ""
        for number, line in enumerate(text.splitlines(), start=1):
            if depth or open_string:  # inside a multi-line array or string
                depth, open_string = _scan_value(line, depth, open_string)
                continue
            header = _HEADER.match(line)
            if header:
                name = _dotted(header.group(2))
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    self._lines.setdefault(name, number)
                    table = f"{name}[{index}]"
                else:
                    table = name
                self._lines.setdefault(table, number)
                continue
            key_line = _KEY_LINE.match(line)
            if key_line:
                key = _dotted(key_line.group(1))
                self._lines.setdefault(f"{table}.{key}" if table else key, number)
                depth, open_string = _scan_value(key_line.group(2), 0, "")

    def line_of(self, path: str) -> int:
        """The line of ``path``, else of its nearest enclosing table; 1 if none is written."""
        while path:
            if path in self._lines:
                return self._lines[path]
            shorter = _LAST_COMPONENT.sub("", path)
            if shorter == path:
                break
            path = shorter
        return 1


def _dotted(key: str) -> str:
    parts = re.findall(_KEY_PART, key)
    return ".".join(part[1:-1] if part[0] in "\"'" else part for part in parts)


def _scan_value(text: str, depth: int, open_string: str) -> tuple[int, str]:
    """Bracket depth and unclosed multi-line string delimiter after ``text``."""
    i = 0
    while i < len(text):
        if open_string:
            end = text.find(open_string, i)
            if end < 0:
                return depth, open_string
            i, open_string = end + len(open_string), ""
            continue
        char = text[i]
        if text.startswith(('"""', "'''"), i):
            open_string, i = text[i : i + 3], i + 3
        elif char in "\"'":
            i = _end_of_string(text, i)
        elif char == "#":
            break
        else:
            depth += (char in "[{") - (char in "]}")
            i += 1
    return depth, open_string


def _end_of_string(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text) and text[i] != quote:
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i + 1


class _Problems:
    """Problems found so far, located by key path, reported sorted by line."""

    def __init__(self, locator: LineLocator) -> None:
        self.locator = locator
        self._items: list[tuple[int, str]] = []

    def add(self, path: str, message: str) -> None:
        line = self.locator.line_of(path)
        self._items.append((line, f"line {line}: {path}: {message}"))

    def line(self, path: str) -> int:
        return self.locator.line_of(path)

    def messages(self) -> list[str]:
        return [text for _, text in sorted(self._items, key=lambda item: item[0])]


_KINDS = ((int, "integer"), (float, "float"), (dt.date, "date"), (dt.time, "time"))


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    for kind, name in _KINDS:
        if isinstance(value, kind):
            return f"{name} {value}"
    return "an array" if isinstance(value, list) else "a table"


def _suggest(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Section:
    """Typed reads from one TOML table; a bad value is reported and its default returned."""

    def __init__(
        self, data: Mapping[str, object], path: str, known: Iterable[str], problems: _Problems
    ) -> None:
        self.data, self.path, self.problems = data, path, problems
        known = tuple(known)
        for key in data:
            if key not in known:
                self.problem(key, f"unknown key {key!r}{_suggest(key, known)}")

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, message: str) -> None:
        self.problems.add(self.key_path(key), message)

    def _typed(self, key: str, check: Callable[[object], bool], kind: str) -> object | None:
        value = self.data.get(key)
        if value is None or check(value):
            return value
        hint = f' (write it in quotes: "{value}")' if kind == "a string" and _is_int(value) else ""
        self.problem(key, f"must be {kind}, got {_describe(value)}{hint}")
        return None

    def text(self, key: str, default: str) -> str:
        value = self._typed(key, lambda v: isinstance(v, str), "a string")
        return value if isinstance(value, str) else default

    def optional_text(self, key: str) -> str | None:
        value = self._typed(key, lambda v: isinstance(v, str), "a string")
        if value == "":
            self.problem(key, "must not be empty (leave the key out instead)")
        return value if isinstance(value, str) and value else None

    def required_text(self, key: str) -> str | None:
        if key not in self.data:
            self.problem(key, "required key is missing")
            return None
        value = self._typed(key, lambda v: isinstance(v, str), "a string")
        if isinstance(value, str) and not value.strip():
            self.problem(key, "must not be empty")
            return None
        return value if isinstance(value, str) else None

    def real(self, key: str, default: float, *, minimum: float, strict: bool) -> float:
        value = self._typed(key, _is_real, "a number")
        if not isinstance(value, int | float):
            return default
        if not math.isfinite(value):
            self.problem(key, f"must be a finite number, got {value}")
            return default
        if value < minimum or (strict and value == minimum):
            self.problem(key, f"must be {'>' if strict else '>='} {minimum:g}, got {value}")
            return default
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        value = self._typed(key, _is_int, "an integer")
        if not isinstance(value, int):
            return default
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.problem(key, f"must be {bounds}, got {value}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._typed(key, lambda v: isinstance(v, bool), "true or false")
        return value if isinstance(value, bool) else default

    def items(self, key: str, check: Callable[[object], bool], kind: str) -> list[object] | None:
        """The array at ``key`` (None if absent or not an array), items checked against kind."""
        value = self._typed(key, lambda v: isinstance(v, list), f"an array of {kind}")
        if not isinstance(value, list):
            return None
        for index, item in enumerate(value):
            if not check(item):
                self.problem(key, f"item {index} must be {kind}, got {_describe(item)}")
        return [item for item in value if check(item)]

    def texts(self, key: str) -> list[str] | None:
        value = self.items(key, lambda v: isinstance(v, str), "strings")
        return None if value is None else [str(item) for item in value]

    def parsed(self, key: str, parse: Callable[[U], T], items: Iterable[U]) -> list[T]:
        """``parse`` applied to each item; a ``ValueError`` becomes a problem at ``key``."""
        result = []
        for item in items:
            try:
                result.append(parse(item))
            except ValueError as error:
                self.problem(key, str(error))
        return result


def _section(raw: Mapping[str, object], name: str, problems: _Problems) -> Mapping[str, object]:
    value = raw.get(name, {})
    if isinstance(value, dict):
        return value
    problems.add(name, f"must be a table ([{name}]), got {_describe(value)}")
    return {}


def _array(raw: Mapping[str, object], name: str, problems: _Problems) -> list[dict[str, object]]:
    value = raw.get(name, [])
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    problems.add(name, f"must be an array of tables ([[{name}]]), got {_describe(value)}")
    return []


def _digits(text: str) -> str:
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"{text!r} is not an extension (digits only)")
    return text


def _organisation(section: _Section) -> Organisation:
    if not section.data:
        message = "required table [organisation] with name and country_code is missing"
        section.problems.add(section.path, message)
        return Organisation("", "")
    name = section.required_text("name")
    country_code = section.required_text("country_code")
    if country_code is not None and not _COUNTRY_CODE.fullmatch(country_code):
        section.problem("country_code", f'must be 1-3 digits such as "48", got {country_code!r}')
    length = section.integer("national_number_length", 9, minimum=4, maximum=14)
    return Organisation(name or "", country_code or "", length)


def _rings(section: _Section) -> RingCadence:
    return RingCadence(
        on_s=section.real("on_s", 1.0, minimum=0, strict=True),
        off_s=section.real("off_s", 4.0, minimum=0, strict=False),
        target=section.integer("target", 3, minimum=1),
    )


def _database_url(section: _Section) -> str:
    url = section.text("url", DEFAULT_DATABASE_URL)
    if not _DB_URL.fullmatch(url):
        section.problem("url", f"must be a database URL like {DEFAULT_DATABASE_URL}, got {url!r}")
        return DEFAULT_DATABASE_URL
    return url


def _pbx(section: _Section) -> PbxSettings:
    prefixes = section.texts("did_prefixes") or []
    for prefix in prefixes:
        if not _DID_PREFIX.fullmatch(prefix):
            section.problem("did_prefixes", f"{prefix!r} must be digits with an optional '+'")
    outside = section.text("outside_line_prefix", "")
    if outside and not _DIGITS.fullmatch(outside):
        section.problem("outside_line_prefix", f"must be digits or empty, got {outside!r}")
    header = section.text("link_header", "X-Linkedid")
    if not _HEADER_TOKEN.fullmatch(header):
        section.problem("link_header", f"must be a SIP header name, got {header!r}")
    addresses = section.texts("addresses") or []
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            section.problem("addresses", f"{address!r} is not an IP address")
    return PbxSettings(
        did_prefixes=tuple(prefixes),
        outside_line_prefix=outside,
        link_header=header,
        link_window_s=section.real("link_window_s", 10.0, minimum=0, strict=True),
        addresses=tuple(addresses),
    )


def _capture(section: _Section) -> CaptureSettings:
    ports = section.items("sip_ports", _is_int, "integers")
    if ports is None:
        return CaptureSettings()
    valid = tuple(port for port in ports if isinstance(port, int) and 1 <= port <= 65535)
    for port in ports:
        if port not in valid:
            section.problem("sip_ports", f"port {port} is outside 1..65535")
    if not ports:
        section.problem("sip_ports", "must not be empty (leave the key out to accept any port)")
    return CaptureSettings(valid or None)


def _clock(section: _Section, key: str, default: dt.time) -> dt.time:
    value = section.data.get(key)
    if isinstance(value, dt.time):  # TOML local time: open = 07:30:00
        return value
    if isinstance(value, str) and (match := _HHMM.fullmatch(value)):
        return dt.time(int(match.group(1)), int(match.group(2)))
    if value is not None:
        section.problem(key, f'must be a time "HH:MM" such as "07:30", got {_describe(value)}')
    return default


def _day(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value  # TOML local date: closed = [2026-12-31]
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f'{_describe(value)} is not a date "YYYY-MM-DD"')


def _business_hours(section: _Section) -> BusinessHours:
    zone = section.text("timezone", "Europe/Warsaw")
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = _suggest(zone, zoneinfo.available_timezones())
        section.problem("timezone", f"unknown time zone {zone!r}{hint}")
        zone = "Europe/Warsaw"
    written = section.texts("days")
    day_names = [name.lower() for name in (WEEKDAY_NAMES[:5] if written is None else written)]
    for name in day_names:
        if name not in WEEKDAY_NAMES:
            section.problem("days", f"unknown day {name!r}, use {', '.join(WEEKDAY_NAMES)}")
    if not day_names:
        section.problem("days", "must name at least one day")
    opens = _clock(section, "open", dt.time(7, 30))
    closes = _clock(section, "close", dt.time(15, 30))
    if opens >= closes:
        section.problem("close", f"must be after open ({opens:%H:%M}), got {closes:%H:%M}")
    country = section.text("holidays", "PL")
    if country and country not in holidays.list_supported_countries():
        hint = _suggest(country.upper(), holidays.list_supported_countries())
        section.problem("holidays", f"the holidays package does not know {country!r}{hint}")
        country = ""
    closed = section.items("closed", lambda v: True, "dates")
    return BusinessHours(
        timezone=zone,
        days=frozenset(WEEKDAY_NAMES.index(name) for name in day_names if name in WEEKDAY_NAMES),
        open=opens,
        close=closes,
        holidays=country,
        closed=frozenset(section.parsed("closed", _day, closed or [])),
    )


def _speech(section: _Section) -> SpeechSettings:
    return SpeechSettings(
        model_path=section.optional_text("model_path"),
        window_s=section.real("window_s", 10.0, minimum=0, strict=True),
        closing_window_s=section.real("closing_window_s", 10.0, minimum=0, strict=True),
        keep_audio=section.flag("keep_audio", False),
        workers=section.integer("workers", 2, minimum=1),
    )


def _greeting(section: _Section) -> GreetingSettings:
    form = section.text("name", NameForm.FULL.value)
    if form not in {item.value for item in NameForm}:
        section.problem("name", f'must be "full" or "surname", got {form!r}')
        form = NameForm.FULL.value
    words = section.texts("casual_words")
    for word in words or []:
        if not word.strip():
            section.problem("casual_words", "must not contain an empty word")
    return GreetingSettings(
        require_office=section.flag("require_office", False),
        name=NameForm(form),
        casual_words=DEFAULT_CASUAL_WORDS
        if words is None
        else tuple(w for w in words if w.strip()),
        max_syllables_per_s=section.real("max_syllables_per_s", 6.0, minimum=0, strict=True),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Parsed:
    """Units, staff and non-person extensions that parsed, each with its key path."""

    units: list[tuple[str, Unit]]
    staff: list[tuple[str, Staff]]
    non_person: list[tuple[str, NonPerson]]
    broken_units: set[str]  # names of units with a bad range: don't pile on their staff


def _extension(section: _Section) -> str | None:
    extension = section.required_text("extension")
    if extension is not None and not _DIGITS.fullmatch(extension):
        section.problem("extension", f"{extension!r} is not an extension (digits only)")
        return None
    return extension


def _unit(section: _Section, broken: set[str]) -> Unit | None:
    name = section.required_text("name")
    aliases = [alias for alias in section.texts("aliases") or [] if alias.strip()]
    written = section.texts("extensions")
    if "extensions" not in section.data:
        section.problem("extensions", "required key is missing")
    elif written == []:
        section.problem("extensions", "must list at least one extension or range")
    ranges = section.parsed("extensions", ExtensionRange.parse, written or [])
    supervisors = section.parsed("supervisors", _digits, section.texts("supervisors") or [])
    if name is None:
        return None
    if written is None or len(ranges) != len(written):
        broken.add(name)
    return Unit(name, tuple(ranges), tuple(aliases), tuple(supervisors))


def _staff(section: _Section) -> Staff | None:
    extension = _extension(section)
    first_name = section.required_text("first_name")
    last_name = section.required_text("last_name")
    unit = section.required_text("unit")
    email = section.optional_text("email")
    if email is not None and not _EMAIL.fullmatch(email):
        section.problem("email", f"{email!r} does not look like an e-mail address")
    if extension is None or first_name is None or last_name is None or unit is None:
        return None
    return Staff(extension, first_name.strip(), last_name.strip(), unit, email)


def _non_person(section: _Section) -> NonPerson | None:
    extension = _extension(section)
    kind = section.required_text("kind")
    kinds = [item.value for item in NonPersonKind]
    if kind is not None and kind not in kinds:
        hint = _suggest(kind, kinds)
        section.problem("kind", f"must be one of {', '.join(kinds)}, got {kind!r}{hint}")
        kind = None
    unit, name = section.optional_text("unit"), section.optional_text("name")
    if extension is None or kind is None:
        return None
    return NonPerson(extension, NonPersonKind(kind), unit, name)


def _people(raw: Mapping[str, object], problems: _Problems) -> _Parsed:
    parsed = _Parsed([], [], [], set())
    for index, data in enumerate(_array(raw, "units", problems)):
        path = f"units[{index}]"
        unit = _unit(_Section(data, path, ARRAY_KEYS["units"], problems), parsed.broken_units)
        if unit is not None:
            parsed.units.append((path, unit))
    for index, data in enumerate(_array(raw, "staff", problems)):
        path = f"staff[{index}]"
        person = _staff(_Section(data, path, ARRAY_KEYS["staff"], problems))
        if person is not None:
            parsed.staff.append((path, person))
    for index, data in enumerate(_array(raw, "non_person", problems)):
        path = f"non_person[{index}]"
        item = _non_person(_Section(data, path, ARRAY_KEYS["non_person"], problems))
        if item is not None:
            parsed.non_person.append((path, item))
    return parsed


def _check_units(parsed: _Parsed, problems: _Problems) -> None:
    names: dict[str, str] = {}
    aliases: dict[str, tuple[str, str]] = {}
    ranges: list[tuple[str, Unit, ExtensionRange]] = []
    for path, unit in parsed.units:
        first = names.setdefault(unit.name.casefold(), path)
        if first != path:
            where = f"{first}, line {problems.line(first)}"
            problems.add(f"{path}.name", f"unit name {unit.name!r} is already used ({where})")
            continue
        for alias in unit.aliases:
            owner = aliases.setdefault(alias.casefold(), (unit.name, path))
            if owner[0] != unit.name:
                problems.add(
                    f"{path}.aliases",
                    f"alias {alias!r} is also an alias of unit {owner[0]!r} ({owner[1]})",
                )
        for rng in unit.extensions:
            for other_path, other, other_rng in ranges:
                if other is not unit and rng.overlaps(other_rng):
                    where = f"{other_path}, line {problems.line(other_path + '.extensions')}"
                    problems.add(
                        f"{path}.extensions",
                        f"range {rng} overlaps range {other_rng} of unit {other.name!r} ({where})",
                    )
            ranges.append((path, unit, rng))


def _check_references(parsed: _Parsed, problems: _Problems) -> None:
    units: dict[str, Unit] = {}
    for _, unit in parsed.units:
        units.setdefault(unit.name, unit)  # a duplicate name is reported by _check_units
    alias_of = {alias.casefold(): unit.name for unit in units.values() for alias in unit.aliases}

    def unknown_unit(name: str) -> str:
        if name.casefold() in alias_of:
            return f"{name!r} is an alias: use the unit's name {alias_of[name.casefold()]!r}"
        known = ", ".join(repr(known) for known in units) or "none defined"
        return f"unknown unit {name!r}{_suggest(name, units)} (known: {known})"

    staff_paths: dict[str, str] = {}
    for path, person in parsed.staff:
        first = staff_paths.setdefault(person.extension, path)
        if first != path:
            where = f"{first}, line {problems.line(first)}"
            message = f"extension {person.extension} is listed twice (also {where})"
            problems.add(f"{path}.extension", message)
        home = units.get(person.unit)
        if home is None:
            problems.add(f"{path}.unit", unknown_unit(person.unit))
        elif not home.has_extension(person.extension) and home.name not in parsed.broken_units:
            spans = ", ".join(str(rng) for rng in home.extensions)
            problems.add(
                f"{path}.extension",
                f"extension {person.extension} is outside every range of unit "
                f"{home.name!r} ({spans})",
            )
    staff = {person.extension: person for _, person in parsed.staff}
    seen: dict[str, str] = {}
    for path, item in parsed.non_person:
        if item.extension in staff:
            owner, where = staff[item.extension], staff_paths[item.extension]
            problems.add(
                f"{path}.extension",
                f"extension {item.extension} is also the staff extension of {owner.full_name} "
                f"({where}, line {problems.line(where)})",
            )
        first = seen.setdefault(item.extension, path)
        if first != path:
            where = f"{first}, line {problems.line(first)}"
            message = f"extension {item.extension} is listed twice (also {where})"
            problems.add(f"{path}.extension", message)
        if item.unit is not None and item.unit not in units:
            problems.add(f"{path}.unit", unknown_unit(item.unit))
    for path, unit in parsed.units:
        for supervisor in unit.supervisors:
            if supervisor not in staff:
                problems.add(f"{path}.supervisors", f"supervisor {supervisor} is not in [[staff]]")


def _syntax_problem(error: tomllib.TOMLDecodeError, text: str) -> str:
    message = str(error)
    position = _SYNTAX_POSITION.search(message)
    reason = message[: position.start()] if position else message
    if position and position.group(1):
        return f"line {position.group(1)}: syntax: {reason} (column {position.group(2)})"
    return f"line {max(1, len(text.splitlines()))}: syntax: {reason} (at the end of the file)"


def _parse(text: str, source: str | None) -> tuple[Settings | None, list[str]]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return None, [_syntax_problem(error, text)]
    problems = _Problems(LineLocator(text))
    for key, value in raw.items():
        if key not in TOP_LEVEL:
            kind = "table" if isinstance(value, dict | list) else "key"
            problems.add(key, f"unknown {kind} {key!r}{_suggest(key, TOP_LEVEL)}")
    tables = {
        name: _Section(_section(raw, name, problems), name, keys, problems)
        for name, keys in TABLE_KEYS.items()
    }
    parsed = _people(raw, problems)
    _check_units(parsed, problems)
    _check_references(parsed, problems)
    due = tables["callbacks"].real("due_within_business_hours", 4.0, minimum=0, strict=True)
    settings = Settings(
        organisation=_organisation(tables["organisation"]),
        rings=_rings(tables["rings"]),
        database_url=_database_url(tables["database"]),
        pbx=_pbx(tables["pbx"]),
        capture=_capture(tables["capture"]),
        business_hours=_business_hours(tables["business_hours"]),
        callbacks=CallbackPolicy(due),
        speech=_speech(tables["speech"]),
        greeting=_greeting(tables["greeting"]),
        units=tuple(unit for _, unit in parsed.units),
        staff=tuple(person for _, person in parsed.staff),
        non_person=tuple(item for _, item in parsed.non_person),
        source=source,
    )
    messages = problems.messages()
    return (None, messages) if messages else (settings, [])


def parse_settings(text: str, source: str | None = None) -> Settings:
    """Settings from TOML text; raise :class:`ConfigError` listing every problem."""
    settings, problems = _parse(text, source)
    if settings is None:
        raise ConfigError(source or "<config>", problems)
    return settings


def _read(path: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(source, text) of the configuration to use; see :func:`load_settings` for the order."""
    if path is None:
        path = os.environ.get(CONFIG_ENV) or None
    if path is None and Path(LOCAL_CONFIG).is_file():
        path = LOCAL_CONFIG
    if path is None:
        example = importlib.resources.files("etykieta.config").joinpath(EXAMPLE_RESOURCE)
        return str(example), example.read_text(encoding="utf-8")
    source = os.fspath(path)
    try:
        # utf-8-sig: Windows editors like to start the file with a byte-order mark.
        return source, Path(source).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigError(source, [f"cannot read the file: {error.strerror or error}"]) from error
    except UnicodeDecodeError as error:
        raise ConfigError(source, [f"not UTF-8 text: {error}"]) from error


def load_settings(
    path: str | os.PathLike[str] | None = None, *, database_url: str | None = None
) -> Settings:
    """Load and validate the configuration.

    The file is ``path``, else ``$ETYKIETA_CONFIG``, else ``./etykieta.toml`` if it exists,
    else the packaged example. ``database_url`` (the CLI's ``--db``) overrides
    ``[database] url``; a relative SQLite path stays relative to the current directory.
    """
    source, text = _read(path)
    settings = parse_settings(text, source)
    if database_url is not None:
        settings = dataclasses.replace(settings, database_url=database_url)
    return settings


def check_config(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Every problem of the configuration :func:`load_settings` would use; [] if it is valid."""
    try:
        source, text = _read(path)
    except ConfigError as error:
        return error.problems
    return _parse(text, source)[1]
