"""The web application over real captures: one database per backend, users of every role.

``site`` ingests the lab's demo captures (the same ones ``make demo`` serves: an office day of
27 calls on 2026-11-24, the PBX, transfer and audio calls of 18–19 November) through the real
CLI once per backend, adds one user of each role, and builds the application with the clock
fixed on Friday 27 November 2026, 15:00 in Warsaw. Tests drive it in-process with Starlette's
TestClient (httpx over the ASGI interface); ``site.login(name)`` gives a logged-in client.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.testclient import TestClient

from etykieta.cli import main
from etykieta.config import Settings, load_settings
from etykieta.reports.web import create_app
from etykieta.storage import make_engine, make_sessionmaker

from ..conftest import BACKENDS, CALLS, LAB_CONFIG, empty_database

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
"""Friday of ISO week 48, 15:00 in Warsaw: the office day of the demo is that week's Tuesday."""
PASSWORD = "correct horse battery"
SECRET = "a test secret of the session cookies, 32+ characters"
DEMO_CAPTURES = sorted(
    p for pattern in ("demo_*.pcap", "b2bua_*.pcap", "transfer_*.pcap", "audio_*.pcap")
    for p in CALLS.glob(pattern))
USERS = {
    # name: the arguments of `etykieta users add`
    "ada": ("--role", "admin"),
    "marek": ("--role", "supervisor", "--unit", "Wydział Komunikacji"),
    "anna": ("--role", "staff", "--extension", "1201"),
    "jan": ("--role", "staff", "--extension", "1301"),
}
"""Ada Admin; Marek Kamiński, supervisor of Wydział Komunikacji; Anna Kowalska (1201) of that
unit; Jan Zieliński (1301) of Wydział Podatków i Opłat Lokalnych."""
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cli(db_url: str, *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(main, ["--config", str(LAB_CONFIG), "--db", db_url, *args],
                                input=stdin)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result.stdout


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Site:
    db_url: str
    settings: Settings
    app: Starlette

    def client(self, address: str = "testclient") -> TestClient:
        """An anonymous browser at ``address`` (cookies kept, redirects not followed)."""
        return TestClient(self.app, base_url="http://testserver", follow_redirects=False,
                          client=(address, 50000))

    def login(self, username: str, password: str = PASSWORD, *,
              address: str = "testclient") -> TestClient:
        browser = self.client(address)
        token = csrf_of(browser.get("/login").text)
        answer = browser.post("/login", data={"username": username, "password": password,
                                              "csrf_token": token})
        assert answer.status_code == 303, (answer.status_code, answer.text[:500])
        return browser

    def csrf(self, browser: TestClient, page: str = "/") -> str:
        """The CSRF token a logged-in browser's pages carry."""
        return csrf_of(browser.get(page, follow_redirects=True).text)


@pytest.fixture(scope="session", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    """The demo captures ingested, four users, the application (shared by the tests of a
    backend: tests that change something change only what they made themselves)."""
    with empty_database(request.param, tmp_path_factory.mktemp("web")) as db_url:
        cli(db_url, "db", "upgrade")
        cli(db_url, "ingest", *map(str, DEMO_CAPTURES))
        for name, args in USERS.items():
            cli(db_url, "users", "add", name, *args, "--password-stdin", stdin=PASSWORD + "\n")
        settings = load_settings(LAB_CONFIG)
        engine = make_engine(db_url)
        app = create_app(settings, make_sessionmaker(engine), secret=SECRET, clock=lambda: NOW)
        yield Site(db_url, settings, app)
        engine.dispose()
