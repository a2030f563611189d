"""The ``[[units]]``, ``[[staff]]`` and ``[[non_person]]`` arrays, each entry read on its own.

Checks across entries (overlapping ranges, unknown units, …) are in :mod:`.validate`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from .model import ExtensionRange, NonPerson, NonPersonKind, Staff, Unit
from .reader import DIGITS, Problems, Section, array, suggest

# The keys of every [[array]] entry; a key not listed is reported as unknown.
ARRAY_KEYS: dict[str, tuple[str, ...]] = {
    "units": ("name", "aliases", "extensions", "supervisors"),
    "staff": ("extension", "first_name", "last_name", "unit", "email", "salutation"),
    "non_person": ("extension", "kind", "unit", "name"),
}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_SALUTATION = re.compile(r"(Pani|Pan)(\s+\S.*)?")

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True, slots=True)
class Parsed:
    """Units, staff and non-person extensions that parsed, each with its key path."""

    units: list[tuple[str, Unit]]
    staff: list[tuple[str, Staff]]
    non_person: list[tuple[str, NonPerson]]
    broken_units: set[str]  # names of units with a bad range: don't pile on their staff


def read_arrays(raw: Mapping[str, object], problems: Problems) -> Parsed:
    """Every entry of the three arrays that parsed; the others are reported."""
    broken: set[str] = set()
    return Parsed(
        units=_entries(raw, "units", problems, lambda section: _unit(section, broken)),
        staff=_entries(raw, "staff", problems, _staff),
        non_person=_entries(raw, "non_person", problems, _non_person),
        broken_units=broken,
    )


def _entries(
    raw: Mapping[str, object],
    name: str,
    problems: Problems,
    read: Callable[[Section], _T | None],
) -> list[tuple[str, _T]]:
    entries = []
    for index, data in enumerate(array(raw, name, problems)):
        path = f"{name}[{index}]"
        entry = read(Section(data, path, ARRAY_KEYS[name], problems))
        if entry is not None:
            entries.append((path, entry))
    return entries


def _digits(text: str) -> str:
    if not DIGITS.fullmatch(text):
        raise ValueError(f"{text!r} is not an extension (digits only)")
    return text


def _extension(section: Section) -> str | None:
    extension = section.required_text("extension")
    if extension is None:
        return None
    try:
        return _digits(extension)
    except ValueError as error:
        section.problem("extension", str(error))
        return None


def _unit(section: Section, broken: set[str]) -> Unit | None:
    name = section.required_text("name")
    aliases = [alias for alias in section.texts("aliases") or [] if alias.strip()]
    written = section.texts("extensions")
    if section.require("extensions") and written == []:
        section.problem("extensions", "must list at least one extension or range")
    ranges = section.parsed("extensions", ExtensionRange.parse, written or [])
    supervisors = section.parsed("supervisors", _digits, section.texts("supervisors") or [])
    if name is None:
        return None
    if written is None or len(ranges) != len(written):
        broken.add(name)
    return Unit(name, tuple(ranges), tuple(aliases), tuple(supervisors))


def _staff(section: Section) -> Staff | None:
    extension = _extension(section)
    first_name = section.required_text("first_name")
    last_name = section.required_text("last_name")
    unit = section.required_text("unit")
    email = section.optional_text("email")
    if email is not None and not _EMAIL.fullmatch(email):
        section.problem("email", f"{email!r} does not look like an e-mail address")
    salutation = section.optional_text("salutation")
    if salutation is not None and not _SALUTATION.fullmatch(salutation.strip()):
        section.problem("salutation", 'must start with "Pani" or "Pan" (e.g. "Pani Anna"), '
                        f"got {salutation!r}")
        salutation = None
    if extension is None or first_name is None or last_name is None or unit is None:
        return None
    return Staff(extension, first_name.strip(), last_name.strip(), unit, email,
                 salutation.strip() if salutation else None)


def _non_person(section: Section) -> NonPerson | None:
    extension = _extension(section)
    kind = section.required_text("kind")
    kinds = [item.value for item in NonPersonKind]
    if kind is not None and kind not in kinds:
        hint = suggest(kind, kinds)
        section.problem("kind", f"must be one of {', '.join(kinds)}, got {kind!r}{hint}")
        kind = None
    unit, name = section.optional_text("unit"), section.optional_text("name")
    if extension is None or kind is None:
        return None
    return NonPerson(extension, NonPersonKind(kind), unit, name)
