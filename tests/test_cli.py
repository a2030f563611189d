"""The CLI contract: ingest summaries and exit codes, the calls listing, config check, db."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from etykieta.cli import main

from .conftest import CALLS, DATA, LAB_CONFIG

JSON_KEYS = {"call_id", "started_at", "direction", "caller", "dialed", "unit", "answered_by",
             "outcome", "ring_seconds", "rings", "within_target", "transfer", "callback"}


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(LAB_CONFIG), "--db", db_url, *args])
    return result.exit_code, result.stdout, result.stderr


def test_ingest_prints_one_summary_line_per_file(db_url: str) -> None:
    code, out, _ = run(db_url, "ingest", str(CALLS / "direct_busy.pcap"),
                       str(CALLS / "direct_answered_ring1.pcap"))
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("direct_busy.pcap: 4 packets, 4 SIP messages, 1 calls (1 new), "
                             "0 unparsable messages, 0 malformed packets")


def test_ingest_of_a_missing_file_fails_clearly_and_still_ingests_the_rest(db_url: str) -> None:
    code, out, err = run(db_url, "ingest", "/nonexistent/x.pcap", str(CALLS / "direct_busy.pcap"))
    assert code == 1
    assert "/nonexistent/x.pcap: no such file" in err
    assert "direct_busy.pcap: 4 packets" in out


def test_ingest_of_a_file_that_is_not_a_capture_fails(db_url: str, tmp_path: Path) -> None:
    bogus = tmp_path / "config.toml"
    bogus.write_text("[organisation]\n")
    code, _, err = run(db_url, "ingest", str(bogus))
    assert code == 1
    assert "not a capture" in err


def test_calls_json_has_the_contract_keys(db_url: str) -> None:
    run(db_url, "ingest", str(CALLS / "direct_answered_ring1.pcap"),
        str(CALLS / "direct_busy.pcap"))
    code, out, _ = run(db_url, "calls", "--format", "json", "--as-of", "2026-11-18T09:30:00Z")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 2 and all(set(row) >= JSON_KEYS for row in rows)
    answered = next(r for r in rows if r["outcome"] == "answered")
    assert answered["rings"] == 1 and answered["within_target"] is True
    assert answered["started_at"].endswith("+00:00")
    busy = next(r for r in rows if r["outcome"] == "busy")
    assert busy["callback"]["status"] == "pending"
    code, out, _ = run(db_url, "calls", "--format", "json", "--as-of", "2026-11-19T09:30:00Z")
    assert next(r for r in json.loads(out) if r["outcome"] == "busy")["callback"]["status"] == (
        "missed")


def test_calls_filters_by_unit_and_period(db_url: str) -> None:
    run(db_url, "ingest", str(CALLS / "direct_internal.pcap"), str(CALLS / "direct_busy.pcap"))
    _, out, _ = run(db_url, "calls", "--format", "json", "--unit", "Wydział Komunikacji")
    assert [r["dialed"] for r in json.loads(out)] == ["1202"]
    _, out, _ = run(db_url, "calls", "--format", "json", "--since", "2030-01-01")
    assert json.loads(out) == []


def test_calls_csv_and_table(db_url: str) -> None:
    run(db_url, "ingest", str(CALLS / "direct_busy.pcap"))
    _, out, _ = run(db_url, "calls", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["outcome"] == "busy" and rows[0]["callback_status"] in ("pending", "missed")
    _, out, _ = run(db_url, "calls", "--format", "table")
    assert "busy" in out and "Wydział Komunikacji" in out


def test_summary_lists_every_configured_unit(db_url: str) -> None:
    run(db_url, "ingest", str(CALLS / "direct_answered_ring1.pcap"))
    code, out, _ = run(db_url, "summary")
    assert code == 0
    assert "Biuro Obsługi Mieszkańców" in out
    row = next(line for line in out.splitlines() if line.startswith("Wydział Komunikacji"))
    assert row.split()[2:5] == ["1", "1", "100%"]


def test_bad_option_values_are_reported(db_url: str) -> None:
    code, _, err = run(db_url, "calls", "--since", "yesterday")
    assert code == 2 and "not an ISO 8601" in err


def test_db_upgrade_then_nothing_to_do(db_url: str) -> None:
    code, out, _ = run(db_url, "db", "upgrade")
    assert code == 0 and "up to date" in out


def test_config_check_accepts_the_lab_config() -> None:
    result = CliRunner().invoke(main, ["config", "check", str(LAB_CONFIG)])
    assert result.exit_code == 0 and "OK" in result.stdout


BAD_CONFIGS = sorted(p for p in (DATA / "config").glob("*.toml") if p.stem != "base")


@pytest.mark.parametrize("bad", BAD_CONFIGS, ids=lambda p: p.stem)
def test_config_check_reports_problems_with_line_numbers(bad: Path) -> None:
    result = CliRunner().invoke(main, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "line " in result.stderr


def test_a_bad_config_stops_other_commands_with_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "etykieta.toml"
    bad.write_text('[organisation]\nname = "UM"\ncountry_code = "48"\n[rings]\non_s = 0\n')
    result = CliRunner().invoke(main, ["--config", str(bad), "calls"])
    assert result.exit_code == 2
    assert "line 5: rings.on_s" in result.stderr
