"""Who is at a number: extension lookups and E.164 normalisation of external numbers.

Build one :class:`Directory` per :class:`~etykieta.config.model.Settings` and reuse it: single
extensions live in dicts, unit ranges in lists sorted per digit count and searched by bisection.
"""

from __future__ import annotations

import bisect
import re

from ..config.model import NonPerson, Settings, Staff, Unit

# What people and PBXs put between digits: "+48 600-100-200", "(74) 886 12 01", "600.100.200".
_SEPARATORS = re.compile(r"[\s\-./()]")
_NUMERIC = re.compile(r"\+?[0-9]+")
INTERNATIONAL_PREFIX = "00"


def clean_number(number: str) -> str:
    """Strip separators; keep a leading "+". Non-numeric users come back lower-cased."""
    stripped = number.strip()
    cleaned = _SEPARATORS.sub("", stripped)
    if _is_numeric(cleaned):
        return cleaned
    return stripped.lower()


def _is_numeric(cleaned: str) -> bool:
    return bool(_NUMERIC.fullmatch(cleaned)) and cleaned.isascii()


class Directory:
    """Fast answers to "whose extension is this?" and "what is this number in E.164?"."""

    __slots__ = (
        "_country_code",
        "_did_prefixes",
        "_national_length",
        "_non_person",
        "_outside_prefix",
        "_range_lows",
        "_ranges",
        "_staff",
        "_units",
    )

    def __init__(self, settings: Settings) -> None:
        self._units = {unit.name: unit for unit in settings.units}
        self._staff = {person.extension: person for person in settings.staff}
        self._non_person = {item.extension: item for item in settings.non_person}
        # Per digit count: ranges sorted by their low end, as (low, high, unit name).
        self._ranges: dict[int, list[tuple[str, str, str]]] = {}
        for unit in settings.units:
            for rng in unit.extensions:
                self._ranges.setdefault(len(rng.low), []).append((rng.low, rng.high, unit.name))
        for ranges in self._ranges.values():
            ranges.sort()
        self._range_lows = {n: [low for low, _, _ in rs] for n, rs in self._ranges.items()}
        org = settings.organisation
        self._country_code = org.country_code
        self._national_length = org.national_number_length
        self._outside_prefix = settings.pbx.outside_line_prefix
        # Longest first, so "+4874886" wins over a shorter prefix that also matches.
        prefixes = {clean_number(p) for p in settings.pbx.did_prefixes if p.strip()}
        self._did_prefixes = tuple(sorted(prefixes, key=len, reverse=True))

    @property
    def units(self) -> tuple[Unit, ...]:
        """Every unit, in configuration order."""
        return tuple(self._units.values())

    def unit_named(self, name: str) -> Unit | None:
        """The unit with this name or alias (case-insensitive), if any."""
        wanted = name.strip().casefold()
        for unit in self._units.values():
            if any(alias.casefold() == wanted for alias in unit.aliases):
                return unit
        return None

    def staff_in(self, unit: Unit | str) -> tuple[Staff, ...]:
        """Staff of a unit (by object or name), in configuration order."""
        name = unit if isinstance(unit, str) else unit.name
        return tuple(person for person in self._staff.values() if person.unit == name)

    def staff_at(self, extension: str) -> Staff | None:
        """The person at ``extension``, if any."""
        return self._staff.get(extension)

    def non_person_at(self, extension: str) -> NonPerson | None:
        """The voicemail, IVR, queue, … at ``extension``, if any."""
        return self._non_person.get(extension)

    def unit_of(self, extension: str) -> Unit | None:
        """The unit of ``extension``: its person's unit, its non-person's unit, or its range's."""
        person = self._staff.get(extension)
        if person is not None:
            return self._units.get(person.unit)
        item = self._non_person.get(extension)
        if item is not None and item.unit is not None:
            return self._units.get(item.unit)
        name = self._range_unit(extension)
        return None if name is None else self._units[name]

    def is_extension(self, number: str) -> bool:
        """True if ``number`` is in a unit's range, a staff or a non-person extension."""
        cleaned = clean_number(number)
        return (
            cleaned in self._staff
            or cleaned in self._non_person
            or self._range_unit(cleaned) is not None
        )

    def extension_of(self, number: str) -> str | None:
        """The extension ``number`` reaches: itself, or what follows a DID prefix; else None."""
        cleaned = clean_number(number)
        if not _is_numeric(cleaned):
            return None
        if self.is_extension(cleaned):
            return cleaned
        candidates = (cleaned, self.normalise(cleaned))
        for prefix in self._did_prefixes:
            for candidate in candidates:
                rest = candidate[len(prefix) :]
                if candidate.startswith(prefix) and rest and self.is_extension(rest):
                    return rest
        return None

    def normalise(self, number: str) -> str:
        """E.164 ("+48…") for an external number; extensions and non-numeric users as they are.

        ``"00CC…"`` becomes ``"+CC…"``, the outside-line prefix is dropped, a national number
        (``national_number_length`` digits) gets the country code, and a number that already
        starts with the country code and is longer than a national number gets a "+".
        Numbers that fit none of these (short codes such as 112) come back as plain digits.
        """
        cleaned = clean_number(number)
        if not _is_numeric(cleaned) or self.is_extension(cleaned):
            return cleaned
        if cleaned.startswith("+"):
            return cleaned
        prefix = self._outside_prefix
        if prefix and cleaned.startswith(prefix) and len(cleaned) > len(prefix):
            # Try the outside line first, so with prefix "0" both "0600100200" and
            # "00048600100200" work; "0048600100200" still reads as international below.
            rest = cleaned[len(prefix) :]
            return self._external(rest) or self._external(cleaned) or rest
        return self._external(cleaned) or cleaned

    def _external(self, digits: str) -> str | None:
        if digits.startswith(INTERNATIONAL_PREFIX) and len(digits) > len(INTERNATIONAL_PREFIX):
            return "+" + digits[len(INTERNATIONAL_PREFIX) :]
        if len(digits) == self._national_length:
            return f"+{self._country_code}{digits}"
        if digits.startswith(self._country_code) and len(digits) > self._national_length:
            return "+" + digits
        return None

    def _range_unit(self, extension: str) -> str | None:
        lows = self._range_lows.get(len(extension))
        if lows is None or not extension.isdigit():
            return None
        index = bisect.bisect_right(lows, extension) - 1
        if index < 0:
            return None
        low, high, name = self._ranges[len(extension)][index]
        return name if low <= extension <= high else None
