"""Callbacks are judged by the same code whichever path stored the call (issue 8, part 2).

The live monitor used to leave every callback ``missed`` with 0 attempts where ``ingest`` of
the same capture said done / late / caller_called_again. Now the writer both shells share
judges the callbacks a call can fulfil (or open) as it stores it: every lab capture gives the
same callback records through ``monitor --read`` as through ``ingest``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from etykieta.cli import main

from .conftest import BACKENDS, CALLS, LAB_CONFIG

CAPTURES = sorted(CALLS.glob("*.pcap"))
CALLBACK_CASES = sorted(CALLS.glob("callback_*.pcap"))
AS_OF = "2026-12-31T12:00:00+01:00"


def _cli(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["--config", str(LAB_CONFIG), "--db", db_url, *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _callbacks(db_url: str) -> dict[str, Any]:
    calls = json.loads(_cli(db_url, "calls", "--format", "json", "--as-of", AS_OF))
    return {c["call_id"]: c["callback"] for c in calls}


def _both(capture: Path, tmp_path: Path, db_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ingested = f"sqlite:///{tmp_path / 'ingested.db'}"
    _cli(ingested, "ingest", str(capture))
    _cli(db_url, "monitor", "--read", str(capture), "--no-speech")
    return _callbacks(db_url), _callbacks(ingested)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_the_monitor_judges_callbacks_as_ingest_does(capture: Path, tmp_path: Path) -> None:
    live, ingested = _both(capture, tmp_path, f"sqlite:///{tmp_path / 'live.db'}")
    assert live == ingested


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not configured")
@pytest.mark.parametrize("capture", CALLBACK_CASES, ids=lambda p: p.stem)
def test_the_monitor_judges_callbacks_as_ingest_does_on_postgresql(
        capture: Path, tmp_path: Path, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("the SQLite run is the test above")
    live, ingested = _both(capture, tmp_path, db_url)
    assert live == ingested


@pytest.mark.parametrize("capture", CALLBACK_CASES, ids=lambda p: p.stem)
def test_callback_records_say_what_the_scenarios_did(capture: Path, tmp_path: Path) -> None:
    """Not only equal: the monitor gives the statuses the callback captures were made for."""
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    _cli(db_url, "monitor", "--read", str(capture), "--no-speech")
    got = [(c["status"], c["attempts"]) for c in _callbacks(db_url).values() if c is not None]
    want = [(c["callback"]["status"], c["callback"]["attempts"])
            for c in json.loads(capture.with_suffix(".expected.json").read_text())["calls"]
            if c["callback"] is not None]
    assert got == want


def test_a_callback_stored_before_the_missed_call_still_counts(tmp_path: Path) -> None:
    """Files ingested out of order: the duty is judged against the calls already stored."""
    db_url = f"sqlite:///{tmp_path / 'late.db'}"
    from .test_rotated_captures import _cut

    missed, callback = _cut(CALLS / "callback_late.pcap", [4], tmp_path)
    _cli(db_url, "ingest", "--stream", "b", str(callback))
    _cli(db_url, "ingest", "--stream", "a", str(missed))
    [duty] = [c for c in _callbacks(db_url).values() if c is not None]
    assert (duty["status"], duty["attempts"]) == ("late", 1)


def test_deadlines_passing_turn_pending_callbacks_into_missed_ones(tmp_path: Path) -> None:
    """What the monitor does every minute: a duty past its deadline with no call back is
    missed (T8) in the database itself, not only when a listing asks as of a later time."""
    from datetime import timedelta

    from sqlalchemy import select

    from etykieta.storage import make_engine, make_sessionmaker
    from etykieta.storage.models import CallbackObligation
    from etykieta.storage.repository import expire_callbacks

    db_url = f"sqlite:///{tmp_path / 'due.db'}"
    _cli(db_url, "ingest", "--as-of", "2026-11-01T00:00:00+01:00", str(CALLS / "direct_busy.pcap"))
    engine = make_engine(db_url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            [duty] = session.scalars(select(CallbackObligation))
            assert duty.status == "pending"
            due = duty.due_at
        with sessions.begin() as session:
            assert expire_callbacks(session, due - timedelta(seconds=1)) == 0
        with sessions.begin() as session:
            assert expire_callbacks(session, due) == 1
        with sessions.begin() as session:
            assert session.scalars(select(CallbackObligation.status)).all() == ["missed"]
    finally:
        engine.dispose()
