"""A call placed right now by real SIP stacks (sipp as phone and caller), captured by tcpdump
on loopback and ingested: the committed captures are reproducible, not museum pieces.

Needs root (tcpdump) and the Debian packages `make test` installs; traffic stays on
127.0.1.0/24 like the rest of lab A (tests/lab/lab.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from etykieta.cli import main

from .conftest import LAB_CONFIG

sys.path.insert(0, str(Path(__file__).parent / "lab"))
lab = pytest.importorskip("lab")

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="tcpdump needs root"),
    pytest.mark.skipif(not (shutil.which("sipp") and shutil.which("tcpdump")),
                       reason="sipp and tcpdump come from `make test` (sip-tester, tcpdump)"),
]


def test_a_live_sipp_call_is_measured(tmp_path: Path) -> None:
    pcap = tmp_path / "live.pcap"
    lab.record_pair(pcap, lab.phone_sipp("1202", ring_ms=7500),
                    lab.caller_sipp("+48600100299", "1202"), lab.local("2026-11-18 10:00"))
    db = f"sqlite:///{tmp_path / 'live.db'}"
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(LAB_CONFIG), "--db", db, "ingest", str(pcap)])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(main, ["--config", str(LAB_CONFIG), "--db", db, "calls",
                                  "--format", "json"])
    [call] = json.loads(result.stdout)
    assert (call["caller"], call["dialed"], call["outcome"]) == ("+48600100299", "1202",
                                                                  "answered")
    assert call["answered_by"] == "1202" and call["rings"] == 2
    assert 7.1 <= call["ring_seconds"] <= 7.9
    assert call["started_at"].startswith("2026-11-18T09:00:00")
