"""Typed reads from parsed TOML that report a bad value with its line instead of raising.

Admins write the file by hand, so every problem is collected in :class:`Problems`, each as
``"line N: <key path>: <message>"``; a bad value is replaced by its default so reading goes on.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from .locator import LineLocator

DIGITS = re.compile(r"[0-9]+")

_KINDS = ((int, "integer"), (float, "float"), (dt.date, "date"), (dt.time, "time"))

T = TypeVar("T")
U = TypeVar("U")


class Problems:
    """Problems found so far, located by key path, reported sorted by line."""

    def __init__(self, locator: LineLocator) -> None:
        self.locator = locator
        self._items: list[tuple[int, str]] = []

    def add(self, path: str, message: str) -> None:
        line = self.locator.line_of(path)
        self._items.append((line, f"line {line}: {path}: {message}"))

    def where(self, path: str, detail: str = "") -> str:
        """``"units[1], line 50"``: ``path`` and the line of ``path + detail``."""
        return f"{path}, line {self.locator.line_of(path + detail)}"

    def messages(self) -> list[str]:
        return [text for _, text in sorted(self._items, key=lambda item: item[0])]


def describe(value: object) -> str:
    """A TOML value as a problem names it: ``integer 1301``, ``string '15.30'``, ``an array``."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    for kind, name in _KINDS:
        if isinstance(value, kind):
            return f"{name} {value}"
    return "an array" if isinstance(value, list) else "a table"


def suggest(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or "" if none is close."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


class Section:
    """Typed reads from one TOML table; a bad value is reported and its default returned."""

    def __init__(
        self, data: Mapping[str, object], path: str, known: Iterable[str], problems: Problems
    ) -> None:
        self.data, self.path, self.problems = data, path, problems
        known = tuple(known)
        for key in data:
            if key not in known:
                self.problem(key, f"unknown key {key!r}{suggest(key, known)}")

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, message: str) -> None:
        self.problems.add(self.key_path(key), message)

    def require(self, key: str) -> bool:
        """True if ``key`` is written; else report it missing."""
        if key in self.data:
            return True
        self.problem(key, "required key is missing")
        return False

    def _typed(self, key: str, check: Callable[[object], bool], kind: str) -> object | None:
        value = self.data.get(key)
        if value is None or check(value):
            return value
        hint = f' (write it in quotes: "{value}")' if kind == "a string" and is_int(value) else ""
        self.problem(key, f"must be {kind}, got {describe(value)}{hint}")
        return None

    def _string(self, key: str) -> str | None:
        value = self._typed(key, _is_str, "a string")
        return value if isinstance(value, str) else None

    def text(self, key: str, default: str) -> str:
        value = self._string(key)
        return default if value is None else value

    def optional_text(self, key: str) -> str | None:
        value = self._string(key)
        if value == "":
            self.problem(key, "must not be empty (leave the key out instead)")
        return value or None

    def required_text(self, key: str) -> str | None:
        if not self.require(key):
            return None
        value = self._string(key)
        if value is not None and not value.strip():
            self.problem(key, "must not be empty")
            return None
        return value

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
        value = self._typed(key, is_int, "an integer")
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
                self.problem(key, f"item {index} must be {kind}, got {describe(item)}")
        return [item for item in value if check(item)]

    def texts(self, key: str) -> list[str] | None:
        value = self.items(key, _is_str, "strings")
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


def table(raw: Mapping[str, object], name: str, problems: Problems) -> Mapping[str, object]:
    """The ``[name]`` table of ``raw``; {} if it is absent or (reported) not a table."""
    value = raw.get(name, {})
    if isinstance(value, dict):
        return value
    problems.add(name, f"must be a table ([{name}]), got {describe(value)}")
    return {}


def array(raw: Mapping[str, object], name: str, problems: Problems) -> list[dict[str, object]]:
    """The ``[[name]]`` tables of ``raw``; [] if absent or (reported) not an array of tables."""
    value = raw.get(name, [])
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    problems.add(name, f"must be an array of tables ([[{name}]]), got {describe(value)}")
    return []
