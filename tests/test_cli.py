"""The CLI contract: ingest summaries and exit codes, the calls listing, config check, db."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from etykieta.cli import main
from etykieta.config import example_config

from .conftest import CALLS, DATA, LAB_CONFIG

JSON_KEYS = {"call_id", "started_at", "direction", "caller", "dialed", "unit", "answered_by",
             "outcome", "ring_seconds", "rings", "within_target", "transfer", "callback",
             "answered_by_name", "caller_name", "wait_seconds", "in_progress"}


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
    run(db_url, "ingest", str(CALLS / "direct_busy.pcap"))  # its callback is due at 14:00
    _, out, _ = run(db_url, "calls", "--format", "csv", "--as-of", "2026-11-18T12:00")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["outcome"] == "busy" and rows[0]["callback_status"] == "pending"
    _, out, _ = run(db_url, "calls", "--format", "table", "--as-of", "2026-11-18T15:00")
    row = out.splitlines()[-1].split()
    assert "busy" in row and "missed" in row and "pending" not in row
    assert "Wydział Komunikacji" in out


def test_calls_takes_a_unit_by_any_alias(db_url: str) -> None:
    run(db_url, "ingest", str(CALLS / "direct_internal.pcap"), str(CALLS / "direct_busy.pcap"),
        str(CALLS / "direct_rejected.pcap"))
    for alias in ("Wydział Komunikacji", "komunikacji", "WYDZIAŁ KOMUNIKACYJNY"):
        code, out, err = run(db_url, "calls", "--format", "json", "--unit", alias)
        assert code == 0, err
        assert [(r["dialed"], r["unit"]) for r in json.loads(out)] == [
            ("1202", "Wydział Komunikacji")]
    _, out, _ = run(db_url, "calls", "--format", "json", "--unit", "Podatków")
    assert [r["dialed"] for r in json.loads(out)] == ["1302", "1301"]  # internal, rejected


@pytest.mark.parametrize(("command", "unit", "hint"), [
    ("calls", "Wydział Komunikacja", "did you mean 'Wydział Komunikacji'?"),
    ("summary", "podatki", "did you mean 'Podatków'?"),
    ("summary", "obsługi", "did you mean 'Biuro Obsługi Mieszkańców'?"),  # a part of the name
    ("calls", "Straż Miejska", "the units are 'Wydział Komunikacji', "
                               "'Wydział Podatków i Opłat Lokalnych', 'Biuro Obsługi Mieszkańców'"),
])
def test_an_unknown_unit_is_an_error_with_a_suggestion(db_url: str, command: str, unit: str,
                                                       hint: str) -> None:
    code, out, err = run(db_url, command, "--unit", unit)
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == (f"Error: Invalid value for --unit: no unit is called "
                                    f"{unit!r}; {hint}")


def test_times_without_an_offset_are_office_time(db_url: str) -> None:
    # direct_busy starts 09:00:00Z = 10:00 in Warsaw, b2bua_abandoned 09:10:00Z = 10:10
    run(db_url, "ingest", str(CALLS / "direct_busy.pcap"), str(CALLS / "b2bua_abandoned.pcap"))

    def callers(*args: str) -> list[str]:
        code, out, err = run(db_url, "calls", "--format", "json", *args)
        assert code == 0, err
        return [r["caller"] for r in json.loads(out)]

    assert callers("--since", "2026-11-18T10:05") == ["226543210"]
    assert callers("--until", "2026-11-18T10:05") == ["600100202"]
    assert callers("--since", "2026-11-18T09:05+00:00") == ["226543210"]
    assert callers("--since", "2026-11-18", "--until", "2026-11-18T10:00") == []
    # its callback is due 14:00:00.001 office time, 4 business hours after the 486
    busy = ["--unit", "Komunikacji", "--until", "2026-11-18T10:05"]
    for as_of, status in (("2026-11-18T13:59", "pending"), ("2026-11-18T14:01", "missed"),
                          ("2026-11-18T13:01Z", "missed")):
        code, out, _ = run(db_url, "calls", "--format", "json", *busy, "--as-of", as_of)
        assert json.loads(out)[0]["callback"]["status"] == status, as_of
    _, out, _ = run(db_url, "summary", "--until", "2026-11-18T10:05", "--as-of",
                    "2026-11-18T13:59")
    row = next(line for line in out.splitlines() if line.startswith("Wydział Komunikacji"))
    assert row.split()[2:] == ["1", "0", "–", "0", "0", "1", "0", "1", "0", "0", "0"]


def test_summary_lists_every_configured_unit(db_url: str) -> None:
    run(db_url, "ingest", str(CALLS / "direct_answered_ring1.pcap"))
    code, out, _ = run(db_url, "summary")
    assert code == 0
    assert "Biuro Obsługi Mieszkańców" in out
    row = next(line for line in out.splitlines() if line.startswith("Wydział Komunikacji"))
    assert row.split()[2:5] == ["1", "1", "100%"]


def test_summary_says_what_each_table_counts(db_url: str) -> None:
    # 1201 calls 1302 (Podatków), who answers: an internal call is not in the inbound table,
    # and is in the greetings table
    run(db_url, "ingest", str(CALLS / "direct_internal.pcap"))
    code, out, _ = run(db_url, "summary", "--unit", "Podatków")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "inbound calls from outside, by the unit called (answered: by a person, voicemail "
        "apart; ≤3rd ring: share of those answered by the 3rd ring, T3); failed transfers of "
        "any call of the unit (T5); callbacks the unit owes (T6–T8):")
    assert cells(lines[1])[:3] == ["unit", "inbound", "answered"]
    assert cells(lines[3])[:3] == ["Wydział Podatków i Opłat Lokalnych", "0", "0"]
    assert lines[5] == (
        "greetings of answered calls, by the unit of the person who answered (answered: inbound "
        "and internal calls a person picked up; T1 \"Wydział …, imię nazwisko, Dzień dobry\", "
        "T2 pace, T9 casual words, T10 thanks):")
    assert cells(lines[6])[:2] == ["unit", "answered"]
    assert cells(lines[8])[:2] == ["Wydział Podatków i Opłat Lokalnych", "1"]
    assert len(lines) == 9  # --unit: one row in each table


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def test_bad_option_values_are_reported(db_url: str) -> None:
    code, _, err = run(db_url, "calls", "--since", "yesterday")
    assert code == 2 and "not an ISO 8601" in err


def test_db_upgrade_then_nothing_to_do(db_url: str) -> None:
    code, out, _ = run(db_url, "db", "upgrade")
    assert code == 0 and "up to date" in out


def test_config_check_accepts_the_lab_config() -> None:
    result = CliRunner().invoke(main, ["config", "check", str(LAB_CONFIG)])
    assert result.exit_code == 0 and "OK" in result.stdout


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without etykieta.toml, and no $ETYKIETA_CONFIG."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ETYKIETA_CONFIG", raising=False)
    return tmp_path


BROKEN = '[organisation]\nname = "UM"\ncountry_code = "48"\n[rings]\non_s = 0\n'


def test_config_check_without_a_path_checks_the_config_in_use(elsewhere: Path) -> None:
    bad = elsewhere / "bad.toml"
    bad.write_text(BROKEN)
    result = CliRunner().invoke(main, ["--config", str(bad), "config", "check"])
    problem = "line 5: rings.on_s: must be > 0, got 0"
    assert (result.exit_code, result.stderr) == (2, f"{bad}: {problem}\n")
    result = CliRunner(env={"ETYKIETA_CONFIG": str(bad)}).invoke(main, ["config", "check"])
    assert (result.exit_code, result.stderr) == (2, f"{bad}: {problem}\n")
    result = CliRunner(env={"ETYKIETA_CONFIG": str(bad)}).invoke(
        main, ["config", "check", str(LAB_CONFIG)])
    assert (result.exit_code, result.stdout) == (0, f"{LAB_CONFIG}: OK\n")


def test_config_check_without_a_path_checks_the_local_etykieta_toml(elsewhere: Path) -> None:
    (elsewhere / "etykieta.toml").write_text(BROKEN)
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 2
    assert result.stderr == "etykieta.toml: line 5: rings.on_s: must be > 0, got 0\n"


def test_config_check_without_any_config_says_it_is_the_example(elsewhere: Path) -> None:
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 0
    assert result.stderr == ("no --config, $ETYKIETA_CONFIG or ./etykieta.toml: the commands "
                             "use the packaged example\n")
    assert result.stdout == f"{example_config()}: OK\n"


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


def test_ingest_says_what_it_kept_and_what_it_cannot_read(db_url: str) -> None:
    """Real devices' odd headers are kept and counted; SIP over SCTP is said, not hidden."""
    code, out, _ = run(db_url, "ingest", str(CALLS / "ipv6_unbracketed_uris.pcap"),
                       str(CALLS / "sctp_unsupported.pcap"))
    assert code == 0
    lines = {line.split(": ")[0].rsplit("/", 1)[-1]: line for line in out.splitlines()}
    assert lines["ipv6_unbracketed_uris.pcap"].endswith(
        "7 packets, 7 SIP messages, 1 calls (1 new), 0 unparsable messages, 0 malformed "
        "packets, 7 messages with malformed headers kept")
    assert lines["sctp_unsupported.pcap"].endswith(
        "0 calls (0 new), 0 unparsable messages, 0 malformed packets, 7 SCTP packets (SIP over "
        "SCTP not supported)")
