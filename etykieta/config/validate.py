"""Checks across entries: unit names and aliases, overlapping ranges, staff and supervisors.

Each entry was read on its own by :mod:`.arrays`; these checks see them all together and
name the other entry, with its line, in every problem.
"""

from __future__ import annotations

from .arrays import Parsed
from .model import ExtensionRange, Unit
from .reader import Problems, suggest


def check_entries(parsed: Parsed, problems: Problems) -> None:
    """Report what contradicts across units, staff and non-person extensions."""
    _check_units(parsed, problems)
    units: dict[str, Unit] = {}
    for _, unit in parsed.units:
        units.setdefault(unit.name, unit)  # a duplicate name is reported by _check_units
    staff_paths = _check_staff(parsed, units, problems)
    _check_non_person(parsed, units, staff_paths, problems)
    for path, unit in parsed.units:
        for supervisor in unit.supervisors:
            if supervisor not in staff_paths:
                problems.add(f"{path}.supervisors", f"supervisor {supervisor} is not in [[staff]]")


def _check_units(parsed: Parsed, problems: Problems) -> None:
    names: dict[str, str] = {}
    aliases: dict[str, tuple[str, str]] = {}
    ranges: list[tuple[str, Unit, ExtensionRange]] = []
    for path, unit in parsed.units:
        first = names.setdefault(unit.name.casefold(), path)
        if first != path:
            where = problems.where(first)
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
                    where = problems.where(other_path, ".extensions")
                    problems.add(
                        f"{path}.extensions",
                        f"range {rng} overlaps range {other_rng} of unit {other.name!r} ({where})",
                    )
            ranges.append((path, unit, rng))


def _check_staff(parsed: Parsed, units: dict[str, Unit], problems: Problems) -> dict[str, str]:
    """Check each person's extension and unit; return the first path of each extension."""
    paths: dict[str, str] = {}
    for path, person in parsed.staff:
        _check_listed_once(paths, person.extension, path, problems)
        home = units.get(person.unit)
        if home is None:
            problems.add(f"{path}.unit", _unknown_unit(person.unit, units))
        elif not home.has_extension(person.extension) and home.name not in parsed.broken_units:
            spans = ", ".join(str(rng) for rng in home.extensions)
            problems.add(
                f"{path}.extension",
                f"extension {person.extension} is outside every range of unit "
                f"{home.name!r} ({spans})",
            )
    return paths


def _check_non_person(
    parsed: Parsed, units: dict[str, Unit], staff_paths: dict[str, str], problems: Problems
) -> None:
    staff = {person.extension: person for _, person in parsed.staff}
    seen: dict[str, str] = {}
    for path, item in parsed.non_person:
        if item.extension in staff:
            owner, where = staff[item.extension], problems.where(staff_paths[item.extension])
            problems.add(
                f"{path}.extension",
                f"extension {item.extension} is also the staff extension of {owner.full_name} "
                f"({where})",
            )
        _check_listed_once(seen, item.extension, path, problems)
        if item.unit is not None and item.unit not in units:
            problems.add(f"{path}.unit", _unknown_unit(item.unit, units))


def _check_listed_once(seen: dict[str, str], extension: str, path: str, problems: Problems) -> None:
    first = seen.setdefault(extension, path)
    if first != path:
        message = f"extension {extension} is listed twice (also {problems.where(first)})"
        problems.add(f"{path}.extension", message)


def _unknown_unit(name: str, units: dict[str, Unit]) -> str:
    alias_of = {alias.casefold(): unit.name for unit in units.values() for alias in unit.aliases}
    if name.casefold() in alias_of:
        return f"{name!r} is an alias: use the unit's name {alias_of[name.casefold()]!r}"
    known = ", ".join(repr(known) for known in units) or "none defined"
    return f"unknown unit {name!r}{suggest(name, units)} (known: {known})"
