"""``etykieta monitor`` on the loopback interface while sipp places a real call with RTP.

The monitor runs as an admin would run it (a subprocess with tcpdump underneath, the Korean
Vosk model from PyPI standing in for the Polish one). The call lasts 24 s; its greeting must
be judged while it still goes on — at answer + window_s plus recognition time — and its
closing window checked after the hang-up. SIGTERM then stops the monitor cleanly.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from etykieta.storage import make_engine, make_sessionmaker
from etykieta.storage.models import Call, Greeting

AUDIO_LAB = Path(__file__).parent / "lab" / "audio"
sys.path.insert(0, str(AUDIO_LAB.parent))
sys.path.insert(0, str(AUDIO_LAB))
audio_lab = pytest.importorskip("audio_lab")
media = pytest.importorskip("media")

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="tcpdump needs root"),
    pytest.mark.skipif(not (shutil.which("sipp") and shutil.which("tcpdump")),
                       reason="sipp and tcpdump come from `make test` (sip-tester, tcpdump)"),
]
ETYKIETA = Path(sys.executable).parent / "etykieta"
TALK_S = 24.0
JUDGED = {"complete", "partial", "no_greeting", "unclear"}


def _call() -> object:
    """+48600100499 calls 1201: the greeting, then silence, "dziękuję, do widzenia" at 20 s."""
    return audio_lab.AudioCase(
        "monitor_live", "a long call for the live monitor", "+48600100499", "1201",
        audio_lab.greeting_timeline(TALK_S + 1, closing_at=20.0),
        media.Timeline(TALK_S + 1, (media.Segment("caller_pl", 7.0),)), talk_s=TALK_S)


def _rows(db_url: str) -> tuple[list[Greeting], list[Call]]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            greetings = list(session.scalars(select(Greeting)))
            calls = list(session.scalars(select(Call)))
            session.expunge_all()
            return greetings, calls
    finally:
        engine.dispose()


def _wait_for(what: str, check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def test_a_greeting_is_judged_while_the_call_goes_on(tmp_path: Path, model_config: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    subprocess.run([ETYKIETA, "--config", model_config, "--db", db_url, "db", "upgrade"],
                   check=True, capture_output=True)
    monitor = subprocess.Popen(
        [ETYKIETA, "--config", model_config, "--db", db_url, "monitor", "--interface", "lo",
         "--filter", audio_lab.BPF, "--journal", tmp_path / "journal"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert monitor.stderr is not None
        ready = monitor.stderr.readline()
        assert "monitor: capturing from live:lo" in ready, ready + monitor.stderr.read()
        call_ended = threading.Event()

        def place_call() -> None:
            try:
                audio_lab.run_call(_call())
            finally:
                call_ended.set()

        caller = threading.Thread(target=place_call)
        caller.start()
        _wait_for("the greeting verdict", lambda: _rows(db_url)[0] or call_ended.is_set(),
                  TALK_S + 10)
        judged_at = datetime.now(UTC)
        assert not call_ended.is_set(), "the call ended before its greeting was judged"
        [greeting], calls = _rows(db_url)
        assert calls == [] and greeting.call_pk is None  # the call is still going on
        assert greeting.verdict in JUDGED and greeting.thanked is None
        assert greeting.answered_at is not None
        latency = (judged_at - greeting.answered_at).total_seconds()
        assert 10.0 <= latency <= TALK_S  # the 10 s window, then recognition
        caller.join()

        _wait_for("the stored call with its closing checked",
                  lambda: (rows := _rows(db_url))[1] and rows[0][0].thanked is not None, 40)
        [greeting], [call] = _rows(db_url)
        assert greeting.call_pk == call.id and call.answered_by == "1201"
        assert call.caller == "+48600100499" and call.outcome == "answered"
        assert greeting.details.get("closing") is not None
    finally:
        monitor.send_signal(signal.SIGTERM)
        out, err = monitor.communicate(timeout=30)
    assert monitor.returncode == 0, err
    assert "1 calls (1 new)" in out and "1 queued at answer + window" in out
    assert "1 greetings judged, 1 closings checked, 0 recognition jobs failed" in out
