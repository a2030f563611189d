"""Read ``etykieta.toml`` into :class:`~etykieta.config.model.Settings`, or say what is wrong.

Admins write the file by hand, so validation collects every problem, each as
``"line N: <key path>: <message>"``, and raises one :class:`~etykieta.errors.ConfigError`.
Tables are read by :mod:`.tables`, arrays by :mod:`.arrays`, cross-checks are in
:mod:`.validate`; :class:`~etykieta.config.locator.LineLocator` finds the lines.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import re
import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path

from ..errors import ConfigError
from . import tables
from .arrays import ARRAY_KEYS, read_arrays
from .locator import LineLocator
from .model import Settings
from .reader import Problems, Section, suggest, table
from .tables import TABLE_KEYS
from .validate import check_entries

__all__ = [
    "ARRAY_KEYS",
    "CONFIG_ENV",
    "EXAMPLE_RESOURCE",
    "LOCAL_CONFIG",
    "TABLE_KEYS",
    "TOP_LEVEL",
    "LineLocator",
    "check_config",
    "config_in_use",
    "example_config",
    "load_settings",
    "parse_settings",
]

CONFIG_ENV = "ETYKIETA_CONFIG"
LOCAL_CONFIG = "etykieta.toml"
EXAMPLE_RESOURCE = "example.toml"

TOP_LEVEL = (*TABLE_KEYS, *ARRAY_KEYS)

_SYNTAX_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


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
    problems = Problems(LineLocator(text))
    for key, value in raw.items():
        if key not in TOP_LEVEL:
            kind = "table" if isinstance(value, dict | list) else "key"
            problems.add(key, f"unknown {kind} {key!r}{suggest(key, TOP_LEVEL)}")
    sections = {
        name: Section(table(raw, name, problems), name, keys, problems)
        for name, keys in TABLE_KEYS.items()
    }
    parsed = read_arrays(raw, problems)
    check_entries(parsed, problems)
    # Read before the other tables, as it always was: problems on one line keep their order.
    callbacks = tables.callbacks(sections["callbacks"])
    settings = Settings(
        organisation=tables.organisation(sections["organisation"]),
        rings=tables.rings(sections["rings"]),
        database_url=tables.database_url(sections["database"]),
        pbx=tables.pbx(sections["pbx"]),
        capture=tables.capture(sections["capture"]),
        business_hours=tables.business_hours(sections["business_hours"]),
        callbacks=callbacks,
        speech=tables.speech(sections["speech"]),
        greeting=tables.greeting(sections["greeting"]),
        web=tables.web(sections["web"]),
        reports=tables.reports(sections["reports"]),
        smtp=tables.smtp(sections["smtp"]),
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


def config_in_use(path: str | os.PathLike[str] | None = None) -> str | None:
    """The file :func:`load_settings` reads for ``path``; None when it is the packaged example.

    ``path`` (the CLI's ``--config``), else ``$ETYKIETA_CONFIG``, else ``./etykieta.toml`` if
    it exists.
    """
    if path is None:
        path = os.environ.get(CONFIG_ENV) or None
    if path is None and Path(LOCAL_CONFIG).is_file():
        path = LOCAL_CONFIG
    return None if path is None else os.fspath(path)


def example_config() -> str:
    """Where the packaged example configuration is (what runs when no file is given)."""
    return str(_example())


def _example() -> Traversable:
    return importlib.resources.files("etykieta.config").joinpath(EXAMPLE_RESOURCE)


def _read(path: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(source, text) of the configuration to use; see :func:`load_settings` for the order."""
    source = config_in_use(path)
    if source is None:
        example = _example()
        return str(example), example.read_text(encoding="utf-8")
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
