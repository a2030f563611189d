"""A database or config that cannot be used ends a command with one line on stderr, exit 2.

Against the real PostgreSQL of the test run (a port nothing listens on, a database and a role
that do not exist) and real SQLite files; a command that only reads never creates a database.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from etykieta.cli import main

from .conftest import CALLS, LAB_CONFIG, PG_URL

READ_ONLY = [
    ("calls",),
    ("calls", "--format", "json"),
    ("summary",),
    ("speech", "status"),
    ("audio", "1-1@127.0.0.1", "--out", "heard.wav"),
]
CREATING = [
    ("ingest", str(CALLS / "direct_busy.pcap")),
    ("db", "upgrade"),
    ("monitor", "--read", str(CALLS / "direct_busy.pcap"), "--no-speech"),
]
ids = " ".join
needs_pg = pytest.mark.skipif(not PG_URL, reason="no PostgreSQL (ETYKIETA_TEST_DATABASE_URL)")


def invoke(db_url: str, *args: str, config: Path = LAB_CONFIG) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), "--db", db_url, *args])


def assert_one_line(result: Result, line: str) -> None:
    """Exit 2, exactly ``line`` on stderr, and no traceback behind it."""
    assert result.stderr == line + "\n"
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)


def pg_url(*, port: int | None = None, database: str | None = None,
           username: str | None = None, password: str | None = None) -> str:
    """The test server's URL with one part changed."""
    url = make_url(PG_URL)
    url = url.set(port=port or url.port, database=database or url.database,
                  username=username or url.username, password=password or url.password)
    return url.render_as_string(hide_password=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- SQLite ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", READ_ONLY, ids=ids)
def test_a_read_only_command_on_a_missing_sqlite_file_fails_and_creates_nothing(
        tmp_path: Path, command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "nonexistent" / "dir"
    url = f"sqlite:///{folder / 'x.db'}"
    assert_one_line(invoke(url, *command),
                    f'database {url} does not exist: "etykieta ingest" or "etykieta db '
                    'upgrade" creates it; otherwise correct the path (URL from --db)')
    assert not folder.parent.exists()


@pytest.mark.parametrize("command", CREATING, ids=ids)
def test_ingest_monitor_and_db_upgrade_create_a_missing_sqlite_file(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    database = tmp_path / "new" / "dir" / "x.db"
    result = invoke(f"sqlite:///{database}", *command)
    assert result.exit_code == 0, result.stderr
    assert database.is_file()
    result = invoke(f"sqlite:///{database}", "calls", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""


def test_an_existing_empty_sqlite_file_is_read_as_an_empty_database(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    database.touch()
    result = invoke(f"sqlite:///{database}", "calls", "--format", "json")
    assert result.exit_code == 0 and result.stdout.strip() == "[]"


def test_a_file_that_is_not_sqlite_is_named_as_such(tmp_path: Path) -> None:
    database = tmp_path / "notes.db"
    database.write_text("not a database, just notes\n" * 100)
    url = f"sqlite:///{database}"
    assert_one_line(invoke(url, "summary"),
                    f"database {url} cannot be read as an SQLite database (file is not a "
                    "database): correct the path (URL from --db)")


def test_a_folder_given_as_the_sqlite_file_cannot_be_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"
    assert_one_line(invoke(url, "calls"),
                    f"database {url} cannot be opened (unable to open database file): check "
                    "that the path is a file this user may read and write (URL from --db)")


def test_a_folder_that_cannot_be_made_is_reported_by_a_creating_command(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    url = f"sqlite:///{blocker / 'sub' / 'x.db'}"
    assert_one_line(invoke(url, "db", "upgrade"),
                    f"database {url} cannot be created (folder {blocker / 'sub'}: Not a "
                    "directory): correct the path or make the folder writable (URL from --db)")


def test_the_line_names_the_config_when_the_url_came_from_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    config = tmp_path / "etykieta.toml"
    config.write_text(LAB_CONFIG.read_text().replace('url = "sqlite:///var/lab.db"',
                                                     f'url = "sqlite:///{missing}"'))
    result = CliRunner().invoke(main, ["--config", str(config), "summary"])
    assert_one_line(result, f'database sqlite:///{missing} does not exist: "etykieta ingest" or '
                            '"etykieta db upgrade" creates it; otherwise correct the path (URL '
                            f"from [database] url in {config})")


# -- URLs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["not a url", "postgresql+psycopg://u:***@db:port/x"])
def test_a_url_that_cannot_be_parsed_is_one_line(url: str) -> None:
    assert_one_line(invoke(url.replace("***", "secret"), "calls"),
                    f"database {url!r} is not a URL that can be parsed: write sqlite:///PATH or "
                    "postgresql+psycopg://USER@HOST:PORT/NAME (URL from --db)")


def test_a_url_of_an_unknown_database_kind_is_one_line() -> None:
    assert_one_line(invoke("oracle2://db/x", "summary"),
                    "database oracle2://db/x names no database Etykieta can use (Can't load "
                    "plugin: sqlalchemy.dialects:oracle2): write sqlite:///PATH or "
                    "postgresql+psycopg://USER@HOST:PORT/NAME (URL from --db)")


# -- PostgreSQL --------------------------------------------------------------------------------

@needs_pg
@pytest.mark.parametrize("command", [*READ_ONLY, *CREATING], ids=ids)
def test_an_unreachable_server_is_one_line(command: tuple[str, ...]) -> None:
    url = pg_url(port=closed_port())
    shown = make_url(url).render_as_string(hide_password=True)
    assert_one_line(invoke(url, *command),
                    f"database {shown} is unreachable (Connection refused): start the server, "
                    "or correct the host and port (URL from --db)")


@needs_pg
@pytest.mark.parametrize("command", [*READ_ONLY, *CREATING], ids=ids)
def test_a_database_missing_on_the_server_is_one_line(command: tuple[str, ...]) -> None:
    url = pg_url(database="etykieta_no_such_db")
    shown = make_url(url).render_as_string(hide_password=True)
    assert_one_line(invoke(url, *command),
                    f"database {shown} does not exist on the server: create it (createdb "
                    "etykieta_no_such_db) or correct its name (URL from --db)")


@needs_pg
def test_a_refused_login_is_one_line() -> None:
    """A server that trusts 127.0.0.1 says the role does not exist; one that checks passwords
    (Debian's stock scram) says the password failed: either is the server's own reason."""
    url = pg_url(username="etykieta_no_such_role")
    shown = make_url(url).render_as_string(hide_password=True)
    result = invoke(url, "summary")
    reasons = ('role "etykieta_no_such_role" does not exist',
               'password authentication failed for user "etykieta_no_such_role"',
               "fe_sendauth: no password supplied")
    lines = [f"database {shown} refused the login ({reason}): correct the user name or "
             "password, or let the server admit this user (URL from --db)" for reason in reasons]
    assert result.stderr.removesuffix("\n") in lines
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)


@needs_pg
def test_a_password_in_the_url_is_not_printed() -> None:
    url = pg_url(port=closed_port(), password="s3cret-pw")
    result = invoke(url, "calls")
    assert result.exit_code == 2
    assert "s3cret-pw" not in result.stderr and ":***@" in result.stderr
