"""What every ``etykieta`` command shares: the config and database it runs on, time options.

Commands live in :mod:`etykieta.cli` and in the shells' own modules (``ingest``); they reach
the settings and the database only through :class:`CliContext`, which loads each lazily.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings, load_settings
from .errors import ConfigError
from .speech.recognizer import SpeechUnavailableError
from .speech.service import SpeechRunner
from .storage.db import make_engine, make_sessionmaker, needs_upgrade, upgrade


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
                raise click.exceptions.Exit(2) from exc
        return self._settings

    def sessions(self, *, migrate: bool = True) -> sessionmaker[Session]:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            if migrate and needs_upgrade(self._engine):
                upgrade(self._engine)
        return make_sessionmaker(self._engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 date/time: {value!r}", param_hint=name) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_speech(state: CliContext, limit: int | None) -> None:
    """Judge queued greetings (``speech run``, ``ingest --transcribe``); exit 3 without a model."""
    runner = SpeechRunner(state.settings, state.sessions())
    try:
        click.echo(runner.run(limit).line())
    except (FileNotFoundError, SpeechUnavailableError) as exc:
        click.echo(f"speech: not run: {exc}", err=True)
        sys.exit(3)
