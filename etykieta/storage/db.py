"""Engines, sessions and migrations. Nothing is created at import time: callers pass URLs in."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import EtykietaError

URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/NAME"
# Seconds libpq waits for a server that does not answer (a firewall dropping packets).
CONNECT_TIMEOUT_S = 10

_MISSING_DATABASE = re.compile(r'database "[^"]*" does not exist')
_LOGIN_REFUSED = ("password authentication failed", "role \"", "no pg_hba.conf entry",
                  "authentication failed", "no password supplied")
_UNREACHABLE = ("connection refused", "could not translate host name", "failed to resolve host",
                "timeout expired", "no route to host", "network is unreachable",
                "no such file or directory", "connection timed out")


class DatabaseUnavailableError(EtykietaError):
    """The database cannot be used: a bad URL, no server, a refused login, no such database.

    ``str()`` is one line for the user: which database, what is wrong, what to do.
    """

    def __init__(self, shown_url: str, problem: str, advice: str) -> None:
        self.shown_url = shown_url
        self.problem = problem
        self.advice = advice
        super().__init__(f"database {shown_url} {problem}: {advice}")


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and foreign keys.

    With ``create`` an SQLite file and its folder are made when missing (``ingest``,
    ``monitor``, ``db upgrade``); without it a missing file is a
    :class:`DatabaseUnavailableError`, so a command that only reads never leaves an empty
    database behind. So is a URL that cannot be parsed or names a database kind without a
    driver here. Nothing is connected yet: :func:`open_engine` checks that the database answers.
    """
    parsed = _parse_url(url)
    try:
        if parsed.get_backend_name() != "sqlite":
            connect_args = ({} if "connect_timeout" in parsed.query
                            else {"connect_timeout": CONNECT_TIMEOUT_S})
            return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
        _sqlite_file(parsed, create=create)
        engine = create_engine(parsed, connect_args={"timeout": 30})
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise DatabaseUnavailableError(
            _shown(parsed), f"names no database Etykieta can use ({exc})",
            f"write {URL_FORMS}") from exc

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the ingest writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def open_engine(url: str, *, create: bool) -> Engine:
    """:func:`make_engine`, then one connection: a database that does not answer, refuses the
    login or does not exist is a :class:`DatabaseUnavailableError` here, not a traceback later."""
    engine = make_engine(url, create=create)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        raise connection_error(engine.url, exc) from exc
    return engine


def connection_error(url: URL, exc: DBAPIError) -> DatabaseUnavailableError:
    """What a failed connection means for the user, from the driver's message.

    PostgreSQL's client library gives no SQLSTATE for a connection that failed, so the
    message is read (the server's English wording: ``lc_messages`` other than English falls
    through to the general "cannot connect").
    """
    shown = _shown(url)
    message = str(exc.orig) if exc.orig is not None else str(exc)
    reason = _reason(message)
    lowered = message.lower()
    if url.get_backend_name() == "sqlite":
        if "not a database" in lowered:
            return DatabaseUnavailableError(
                shown, f"cannot be read as an SQLite database ({reason})", "correct the path")
        return DatabaseUnavailableError(
            shown, f"cannot be opened ({reason})",
            "check that the path is a file this user may read and write")
    if _MISSING_DATABASE.search(message):
        return DatabaseUnavailableError(
            shown, "does not exist on the server",
            f"create it (createdb {url.database}) or correct its name")
    if any(marker in lowered for marker in _LOGIN_REFUSED):
        return DatabaseUnavailableError(
            shown, f"refused the login ({reason})",
            "correct the user name or password, or let the server admit this user")
    if any(marker in lowered for marker in _UNREACHABLE):
        return DatabaseUnavailableError(
            shown, f"is unreachable ({reason})", "start the server, or correct the host and port")
    return DatabaseUnavailableError(
        shown, f"cannot be connected to ({reason})", "check the server and the URL")


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseUnavailableError(
            repr(_mask_password(url)), "is not a URL that can be parsed",
            f"write {URL_FORMS}") from exc


def _sqlite_file(url: URL, *, create: bool) -> None:
    """Check (or make, with ``create``) the folder and file of an SQLite database."""
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri") == "true":
        return
    path = Path(database)
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailableError(
                _shown(url), f"cannot be created (folder {path.parent}: {exc.strerror or exc})",
                "correct the path or make the folder writable") from exc
    elif not path.exists():
        raise DatabaseUnavailableError(
            _shown(url), "does not exist",
            '"etykieta ingest" or "etykieta db upgrade" creates it; otherwise correct the path')


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _mask_password(url: str) -> str:
    return re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", url)


def _reason(message: str) -> str:
    """The telling part of a driver's message: its first line, after the last "failed: "."""
    first = message.strip().splitlines()[0] if message.strip() else message
    reason = first.rsplit("failed: ", 1)[-1]
    return reason.removeprefix("FATAL:").strip()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """Alembic's config pointing at the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(resources.files("etykieta.storage") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``etykieta db upgrade``; ``ingest`` does it too)."""
    command.upgrade(alembic_config(engine), revision)


def needs_upgrade(engine: Engine) -> bool:
    """True for a new database, or one behind the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return True
        current = MigrationContext.configure(conn).get_current_heads()
    return set(current) != set(script.get_heads())
