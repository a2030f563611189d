"""Calls placed right now by real SIP stacks, captured by tcpdump on loopback and ingested:
the committed captures are reproducible, not museum pieces.

* sipp as phone and caller, directly (lab A, tests/lab/lab.py; 127.0.1.0/24);
* the same call through Kamailio as a stateful proxy, and through the sippy B2BUA PBX
  (lab B, tests/lab/pbx/; 127.0.2.0/23, UDP 25000-25999), with a shorter ring and talk than
  the committed `proxy_answered_ring2` / `b2bua_answered_ring3` captures.

Needs root (tcpdump) and what `make test` installs: the Debian packages (sip-tester,
tcpdump, tshark, kamailio) and `sippy` from the `test` extra. Every process runs under
`timeout` and is killed when its call ends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from etykieta.cli import main

from .conftest import LAB_CONFIG

sys.path.insert(0, str(Path(__file__).parent / "lab"))
sys.path.insert(0, str(Path(__file__).parent / "lab" / "pbx"))
lab = pytest.importorskip("lab")
labpbx = pytest.importorskip("labpbx")
pbx_cases = pytest.importorskip("cases")

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


# ------------------------------------------------------------- lab B: a proxy, a B2BUA PBX

LIVE_RING_MS = 1500  # ring 1, well inside its 5 s cycle
LIVE_TALK_MS = 300  # the caller hangs up soon after the answer


def _require_pbx_tools(*tools: str) -> None:
    missing = [tool for tool in ("tshark", "editcap", *tools) if not shutil.which(tool)]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (`make test` runs "
                    "scripts/install-deps.sh)")


def _require_sippy() -> None:
    """The PBX runs under the repo's venv Python (labpbx.PYTHON), which needs `sippy`."""
    try:
        found = subprocess.run([labpbx.PYTHON, "-c", "import sippy"], capture_output=True,
                               timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        found = False
    if not found:
        pytest.skip(f"sippy is not importable by {labpbx.PYTHON}: `make test` installs it "
                    "(pyproject.toml, the `test` extra)")


def _record_live(name: str, run: Any, pcap: Path) -> Any:
    """Record lab B's case ``name`` with a short ring and talk into ``pcap``; return the case."""
    [case] = [c for c in pbx_cases.CASES if c.name == name]
    case = dataclasses.replace(case, run=functools.partial(run, ring_ms=LIVE_RING_MS,
                                                          talk_ms=LIVE_TALK_MS))
    labpbx.record(case, pcap)
    return case


def _ingest(tmp_path: Path, pcap: Path) -> list[dict[str, Any]]:
    db = f"sqlite:///{tmp_path / 'live.db'}"
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(LAB_CONFIG), "--db", db, "ingest", str(pcap)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--config", str(LAB_CONFIG), "--db", db, "calls",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _addr(ip_port: tuple[str, int]) -> str:
    return f"{ip_port[0]}:{ip_port[1]}"


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def _assert_timed_on_callers_side(call: dict[str, Any], case: Any, msgs: list[Any]) -> None:
    """Start, ring and answer are the caller-facing leg's, as the trunk saw them.

    The other hop (proxy -> phone, or the B2BUA's phone leg) is only 0.1-1 ms apart, so the
    instants are compared to the microsecond (the capture's resolution).
    """
    first = next(m for m in msgs if m.method == "INVITE")
    trunk = first.src
    assert trunk == f"{labpbx.TRUNK_IP}:{labpbx.TRUNK_PORT}"
    to_trunk = [m for m in msgs if m.call_id == first.call_id and m.dst == trunk
                and m.cseq_method == "INVITE"]
    ringing = next(m.epoch for m in to_trunk if m.status == 180)
    answer = next(m.epoch for m in to_trunk if m.status == 200)
    assert call["call_id"] == first.call_id
    assert abs(_epoch(call["started_at"]) - first.epoch) < 2e-6
    assert abs(first.epoch - lab.local(case.start).timestamp()) < 2e-6
    assert abs(_epoch(call["answered_at"]) - answer) < 2e-6
    assert abs(call["ring_seconds"] - (answer - ringing)) <= 0.0005 + 2e-6  # rounded to ms
    assert call["rings"] == 1
    low = LIVE_RING_MS / 1000 - lab.RING_TOLERANCE_S
    assert low <= call["ring_seconds"] <= LIVE_RING_MS / 1000 + lab.RING_TOLERANCE_S


def _via_counts(pcap: Path, call_id: str) -> dict[str, int]:
    """Number of Via header values of each INVITE of ``call_id``, by its destination."""
    out = lab.run(["tshark", "-r", str(pcap), "-Y", f'sip.Method == "INVITE" and '
                   f'sip.Call-ID == "{call_id}"', "-T", "fields", "-E", "separator=\t",
                   "-E", "occurrence=a", "-E", "aggregator=|", "-e", "ip.dst",
                   "-e", "udp.dstport", "-e", "sip.Via"])
    counts = {}
    for line in out.splitlines():
        ip, port, vias = line.split("\t")
        counts[f"{ip}:{port}"] = sum(len(v.split(",")) for v in vias.split("|"))
    return counts


def test_a_live_call_through_kamailio_is_one_call(tmp_path: Path) -> None:
    """A stateful proxy shows every message twice (same Call-ID, one more Via): one call."""
    _require_pbx_tools("kamailio")
    pcap = tmp_path / "proxy.pcap"
    case = _record_live("proxy_answered_ring2", pbx_cases.run_proxy_answered, pcap)
    msgs = labpbx.wire(pcap)
    invite = next(m for m in msgs if m.method == "INVITE")
    assert _via_counts(pcap, invite.call_id) == {_addr(labpbx.PROXY): 1,
                                                  _addr(labpbx.PHONES["1201"]): 2}
    assert {m.call_id for m in msgs if m.method == "INVITE"} == {invite.call_id}

    [call] = _ingest(tmp_path, pcap)
    assert (call["caller"], call["dialed"], call["outcome"]) == ("+48600100200", "1201",
                                                                  "answered")
    assert call["answered_by"] == "1201"
    _assert_timed_on_callers_side(call, case, msgs)


def test_a_live_call_through_the_sippy_b2bua_is_one_call(tmp_path: Path) -> None:
    """A B2BUA's two legs (two Call-IDs) are one call, answered by the phone's extension."""
    _require_pbx_tools()
    _require_sippy()
    pcap = tmp_path / "b2bua.pcap"
    case = _record_live("b2bua_answered_ring3", pbx_cases.run_b2bua_answered, pcap)
    msgs = labpbx.wire(pcap)
    invites = [m for m in msgs if m.method == "INVITE"]
    assert len({m.call_id for m in invites}) == 2
    assert list(dict.fromkeys(m.dst for m in invites)) == [_addr(labpbx.PBX),
                                                           _addr(labpbx.PHONES["1201"])]

    [call] = _ingest(tmp_path, pcap)
    assert (call["caller"], call["dialed"], call["outcome"]) == ("+48600700800",
                                                                  "+48748861201", "answered")
    assert call["answered_by"] == "1201" and call["unit"] == labpbx.UNIT
    _assert_timed_on_callers_side(call, case, msgs)
