"""What every ``etykieta`` command shares: the config and database it runs on, time options.

Commands live in the modules of :mod:`etykieta.cli`; they reach the settings and the database
only through :class:`CliContext`, which loads each lazily.
A problem with either ends the command with one line on stderr and exit status 2.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from datetime import datetime, tzinfo

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings, load_settings
from ..errors import ConfigError
from ..monitor.speech import SpeechRunner
from ..speech.engine.recognizer import SpeechUnavailableError
from ..storage.db import (
    DatabaseUnavailableError,
    make_sessionmaker,
    needs_upgrade,
    open_engine,
    upgrade,
)
from ..telephony.numbers import Directory

SETUP_ERROR = 2  # exit status: the config or the database cannot be used


@dataclass
class CliContext:
    config_path: str | None
    db_url: str | None
    _settings: Settings | None = None
    _engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path, database_url=self.db_url)
            except ConfigError as exc:
                for problem in exc.problems:
                    click.echo(f"{exc.path}: {problem}", err=True)
                raise click.exceptions.Exit(SETUP_ERROR) from exc
        return self._settings

    @property
    def zone(self) -> tzinfo:
        """Office time (``[business_hours] timezone``): what the tables print, naive times mean."""
        return self.settings.business_hours.zone

    def engine(self, *, create: bool = False) -> Engine:
        """The database, connected once; with ``create`` a missing SQLite file is made.

        Only the commands that store calls create one (``ingest``, ``monitor``, ``db
        upgrade``): to every other command a database that does not exist is an error.
        """
        if self._engine is None:
            try:
                self._engine = open_engine(self.settings.database_url, create=create)
            except DatabaseUnavailableError as exc:
                click.echo(f"{exc} (URL from {self._url_source()})", err=True)
                raise click.exceptions.Exit(SETUP_ERROR) from exc
        return self._engine

    def sessions(self, *, migrate: bool = True, create: bool = False) -> sessionmaker[Session]:
        """Sessions on :meth:`engine`; a database of an older schema is migrated first."""
        fresh = self._engine is None
        engine = self.engine(create=create)
        if fresh and migrate and needs_upgrade(engine):
            upgrade(engine)
        return make_sessionmaker(engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _url_source(self) -> str:
        if self.db_url is not None:
            return "--db"
        return f"[database] url in {self.settings.source or 'the config'}"


def parse_time(value: str | None, name: str, zone: tzinfo) -> datetime | None:
    """An ISO 8601 option value; without an offset it is a time in ``zone`` (office time)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 date/time: {value!r}", param_hint=name) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def unit_name(settings: Settings, value: str | None, name: str = "--unit") -> str | None:
    """The unit's name for ``value``, which may be its name or any alias (case-insensitive)."""
    if value is None:
        return None
    unit = Directory(settings).unit_named(value)
    if unit is not None:
        return unit.name
    known = {alias.casefold(): alias for each in settings.units for alias in each.aliases}
    wanted = value.strip().casefold()
    close = ([alias for alias in known if wanted and wanted in alias]  # a part of a name
             or difflib.get_close_matches(wanted, list(known), n=1, cutoff=0.6))
    hint = (f"did you mean {known[close[0]]!r}?" if close
            else "the units are " + ", ".join(repr(u.name) for u in settings.units))
    raise click.BadParameter(f"no unit is called {value!r}; {hint}", param_hint=name)


def run_speech(state: CliContext, limit: int | None) -> None:
    """Judge queued greetings (``speech run``, ``ingest --transcribe``); exit 3 without a model."""
    runner = SpeechRunner(state.settings, state.sessions())
    try:
        click.echo(runner.run(limit).line())
    except (FileNotFoundError, SpeechUnavailableError) as exc:
        click.echo(f"speech: not run: {exc}", err=True)
        sys.exit(3)
