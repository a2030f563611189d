"""A busy generated office day (benchmarks/make_day_capture.py) gives exactly its planned calls.

The generator writes SIP as sipp does (checked byte-for-byte against tshark in the benchmark)
with concurrent calls from one trunk/SBC address, outbound calls to it while inbound ones
arrive, retransmissions and RTP: the correlation heuristics must not merge distinct calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from etykieta.config import load_settings
from etykieta.telephony.analyzer import SignallingAnalyzer
from etykieta.telephony.capture.pcap_file import open_capture

GENERATOR = Path(__file__).parent.parent / "benchmarks" / "make_day_capture.py"


def test_every_planned_call_is_found_once_with_its_outcome(tmp_path: Path) -> None:
    pcap = tmp_path / "day.pcap"
    subprocess.run([sys.executable, str(GENERATOR), "--calls", "400", "--talk-seconds", "2",
                    "--seed", "7", str(pcap)], check=True, capture_output=True)
    plan = json.loads(pcap.with_suffix(".expected.json").read_text())
    analyzer = SignallingAnalyzer(load_settings(pcap.with_suffix(".toml")))
    with open_capture(pcap) as capture:
        calls = [c for packet in capture for c in analyzer.receive(packet)]
    calls += analyzer.close()
    found = {c.call_id: [c.direction, c.outcome, c.rings] for c in calls}
    planned = dict(plan["by_call_id"])
    assert len(calls) == len(planned) == plan["calls"]
    assert {cid: (found.get(cid), want) for cid, want in planned.items()
            if found.get(cid) != want} == {}
    assert analyzer.assembler.stats.ambiguous_links == 0
