"""Every lab capture, ingested end to end, gives the calls its scenario made.

The captures in tests/data/calls/ were made by real SIP stacks (sipp, Kamailio, a B2BUA) on
loopback by the scripts in tests/lab/; each ``*.expected.json`` was written from the scenario,
not from Etykieta's output. Callback statuses are judged as of the capture's last packet.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from etykieta.config import Settings
from etykieta.ingest import Ingestor
from etykieta.reports.calls_export import call_to_dict
from etykieta.storage import make_sessionmaker
from etykieta.storage.queries import list_calls
from etykieta.telephony.capture.pcap_file import open_capture

from .conftest import CALLS

EXPECTED = sorted(CALLS.glob("*.expected.json"))
SLACK = timedelta(seconds=60)
SIMPLE_KEYS = ("direction", "caller", "dialed", "unit", "answered_by", "outcome", "rings")


def _last_packet_time(path: Path) -> datetime:
    with open_capture(path) as capture:
        last = max(p.timestamp for p in capture)
    return datetime.fromtimestamp(last, UTC)


def _ingest(expected_file: Path, settings: Settings, engine: Engine) -> list[dict[str, Any]]:
    spec = json.loads(expected_file.read_text())
    capture = expected_file.parent / spec["capture"]
    as_of = _last_packet_time(capture)
    ingestor = Ingestor(settings, make_sessionmaker(engine))
    ingestor.ingest_file(capture)
    ingestor.refresh_callbacks(as_of)
    zone = ZoneInfo(settings.business_hours.timezone)
    with make_sessionmaker(engine).begin() as session:
        return [call_to_dict(c, zone=zone) for c in list_calls(session, as_of=as_of)]


def _mismatches(got: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    bad: dict[str, Any] = {}
    for key in SIMPLE_KEYS:
        if key in want and got[key] != want[key]:
            bad[key] = (got[key], want[key])
    if want.get("ring_seconds") is not None:
        low, high = want["ring_seconds"]
        if got["ring_seconds"] is None or not low <= got["ring_seconds"] <= high:
            bad["ring_seconds"] = (got["ring_seconds"], want["ring_seconds"])
    elif "ring_seconds" in want and got["ring_seconds"] is not None:
        bad["ring_seconds"] = (got["ring_seconds"], None)
    if "transfer" in want:
        t_want, t_got = want["transfer"], got["transfer"]
        if (t_want is None) != (t_got is None) or (
                t_want and any(t_got.get(k) != v for k, v in t_want.items())):
            bad["transfer"] = (t_got, t_want)
    if "callback" in want:
        c_want, c_got = want["callback"], got["callback"]
        if (c_want is None) != (c_got is None):
            bad["callback"] = (c_got, c_want)
        elif c_want:
            for key in ("status", "attempts"):
                if key in c_want and c_got[key] != c_want[key]:
                    bad[f"callback.{key}"] = (c_got[key], c_want[key])
            # the lab knows when it placed the call, to the minute; the clock starts at its end
            if "due_at" in c_want and abs(datetime.fromisoformat(c_got["due_at"])
                                          - datetime.fromisoformat(c_want["due_at"])) > SLACK:
                bad["callback.due_at"] = (c_got["due_at"], c_want["due_at"])
    return bad


@pytest.mark.parametrize("expected_file", EXPECTED, ids=[p.name.split(".")[0] for p in EXPECTED])
def test_capture_gives_the_calls_its_scenario_made(
        expected_file: Path, lab_settings: Settings, engine: Engine) -> None:
    want = json.loads(expected_file.read_text())["calls"]
    got = _ingest(expected_file, lab_settings, engine)
    assert len(got) == len(want), [(c["caller"], c["dialed"], c["outcome"]) for c in got]
    problems = {i: bad for i, (g, w) in enumerate(zip(got, want, strict=True))
                if (bad := _mismatches(g, w))}
    assert not problems


def test_the_lab_covers_every_outcome_and_ring_number() -> None:
    calls = [c for f in EXPECTED for c in json.loads(f.read_text())["calls"]]
    outcomes = {c["outcome"] for c in calls}
    assert outcomes >= {"answered", "voicemail", "abandoned", "busy", "no_answer", "rejected",
                        "failed", "unknown"}
    assert {c["rings"] for c in calls if c.get("rings")} >= {1, 2, 3, 4, 5}
