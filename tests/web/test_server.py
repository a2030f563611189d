"""``etykieta serve`` as an admin runs it: a real uvicorn in a subprocess on 127.0.0.1.

The server is started by the CLI over the ``site`` database (the demo captures and users),
in a folder of its own so that it makes its session key there, and is asked over real HTTP.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ..conftest import LAB_CONFIG
from .conftest import PASSWORD, Site, csrf_of

pytestmark = pytest.mark.browser
ETYKIETA = [sys.executable, "-m", "etykieta.cli.main"]
LISTENING = re.compile(r"at http://127\.0\.0\.1:(\d+)/")


@contextmanager
def serving(site: Site, folder: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    server = subprocess.Popen(
        [*ETYKIETA, "--config", str(LAB_CONFIG), "--db", site.db_url, "serve",
         "--host", "127.0.0.1", *args],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = LISTENING.search(line)
        assert found, (line, server.stderr.read() if server.poll() is not None else "")
        port = int(found.group(1))
        _wait_for(port)
        yield server, port
    finally:
        server.terminate()
        server.wait(timeout=15)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_over_real_http_logs_in_and_guards_the_api(site: Site, tmp_path: Path) -> None:
    with serving(site, tmp_path, "--port", str(_free_port())) as (server, port):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, follow_redirects=False) as browser:
            first = browser.get("/")
            assert first.status_code == 303 and first.headers["location"] == "/login?next=%2F"
            assert "script-src 'self'" in first.headers["content-security-policy"]
            assert "server" not in first.headers
            token = csrf_of(browser.get("/login").text)
            answer = browser.post("/login", data={"username": "ada", "password": PASSWORD,
                                                  "csrf_token": token})
            assert answer.status_code == 303
            cookie = answer.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie
            assert "secure" not in cookie  # no https public_url in the lab config
            units = browser.get("/api/units", params={"since": "2026-11-23",
                                                      "until": "2026-11-30"})
            assert units.status_code == 200
            assert [u["unit"] for u in units.json()] == [u.name for u in site.settings.units]
        assert httpx.get(f"{base}/api/calls").status_code == 401
        assert httpx.get(f"{base}/api/calls", auth=("jan", PASSWORD)).status_code == 200
        assert httpx.get(f"{base}/api/units", auth=("jan", PASSWORD)).status_code == 403
    key = tmp_path / "var" / "web-secret"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) >= 32


def test_a_taken_port_is_an_error_or_with_next_free_port_the_next_one(
        site: Site, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = subprocess.run(
            [*ETYKIETA, "--config", str(LAB_CONFIG), "--db", site.db_url, "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2
        assert f"127.0.0.1: port {port} is already in use" in refused.stderr
        with serving(site, tmp_path, "--port", str(port), "--next-free-port") as (_, chosen):
            assert chosen > port
            assert httpx.get(f"http://127.0.0.1:{chosen}/login").status_code == 200
