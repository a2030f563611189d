"""Exports of the call list and of the unit report: from the pages (CSV, XLSX) and the CLI.

Each file is downloaded, read back with the csv module or openpyxl, and compared with
``etykieta calls --format json`` / ``report units --format json`` of the same period.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from etykieta.storage import make_engine, make_sessionmaker
from etykieta.storage.audit import AuditAction, entries

from .conftest import Site, cli

WARSAW = ZoneInfo("Europe/Warsaw")
WEEK_PAGE = {"week": "2026-W48"}
WEEK = ("--since", "2026-11-23", "--until", "2026-11-30")
OWN_UNIT = "Wydział Komunikacji"
WHOLE_NUMBER = re.compile(r"\+48600\d{6}")


def calls_json(site: Site) -> list[dict]:
    return json.loads(cli(site.db_url, "calls", "--format", "json", *WEEK))


def sheet_rows(data: bytes, name: str) -> list[dict]:
    sheet = load_workbook(io.BytesIO(data))[name]
    header, *rows = list(sheet.values)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_an_admin_downloads_the_call_list_as_csv_and_xlsx(site: Site) -> None:
    browser = site.login("ada")
    expected = {c["call_id"]: c for c in calls_json(site)}
    answer = browser.get("/calls.csv", params=WEEK_PAGE)
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == \
        'attachment; filename="polaczenia-2026-11-23-2026-11-29.csv"'
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))  # excel-pl
    assert {r["call_id"]: r["caller"] for r in rows} == {k: c["caller"]
                                                        for k, c in expected.items()}
    workbook = browser.get("/calls.xlsx", params=WEEK_PAGE)
    assert workbook.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    got = {r["call_id"]: r for r in sheet_rows(workbook.content, "calls")}
    assert got.keys() == expected.keys()
    for call_id, call in expected.items():
        row = got[call_id]
        assert row["outcome"] == call["outcome"] and row["rings"] == call["rings"]
        started = datetime.fromisoformat(call["started_at"]).astimezone(WARSAW)
        assert row["started_at"] == started.replace(tzinfo=None, microsecond=row[
            "started_at"].microsecond)


def test_a_supervisors_exports_hold_their_unit_only_and_masked_numbers(site: Site) -> None:
    browser = site.login("marek")
    mine = sorted(c["call_id"] for c in calls_json(site) if c["unit"] == OWN_UNIT)
    text = browser.get("/calls.csv", params=WEEK_PAGE).content.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    assert sorted(r["call_id"] for r in rows) == mine
    assert not WHOLE_NUMBER.search(text)
    workbook = browser.get("/calls.xlsx", params=WEEK_PAGE).content
    cells = [str(v) for r in sheet_rows(workbook, "calls") for v in r.values()]
    assert not any(WHOLE_NUMBER.search(cell) for cell in cells)
    with make_sessionmaker(make_engine(site.db_url)).begin() as session:
        exports = entries(session, who="marek", action=AuditAction.EXPORT, limit=10)
    assert {(e.detail["what"], e.detail["format"], e.detail["rows"]) for e in exports} >= {
        ("calls", "csv", len(mine)), ("calls", "xlsx", len(mine))}


def test_the_unit_report_downloads_as_the_cli_writes_it(site: Site) -> None:
    report = json.loads(cli(site.db_url, "report", "units", "--format", "json", *WEEK,
                            "--as-of", "2026-11-27T15:00"))
    browser = site.login("ada")
    workbook = browser.get("/report/units.xlsx", params=WEEK_PAGE)
    assert workbook.status_code == 200
    units = {r["unit"]: r for r in sheet_rows(workbook.content, "units")}
    assert list(units) == [u["unit"] for u in report]
    for unit in report:
        row = units[unit["unit"]]
        assert (row["inbound_calls"], row["answered"], row["answered_within_target"]) == (
            unit["inbound_calls"], unit["answered"], unit["answered_within_target"])
    staff = sheet_rows(workbook.content, "staff")
    assert {r["extension"] for r in staff} == {p["extension"] for u in report
                                                for p in u["staff"]}
    text = browser.get("/report/units.csv", params=WEEK_PAGE).content.decode("utf-8")
    lines = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert [r["unit"] for r in lines][:len(report)] == [u["unit"] for u in report]
    supervisor = site.login("marek").get("/report/units.xlsx", params=WEEK_PAGE)
    assert list({r["unit"] for r in sheet_rows(supervisor.content, "units")}) == [OWN_UNIT]


def test_the_cli_writes_the_call_list_as_xlsx(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "calls.xlsx"
    assert cli(site.db_url, "calls", "--format", "xlsx", *WEEK, "--out", str(out)) == ""
    rows = sheet_rows(out.read_bytes(), "calls")
    expected = calls_json(site)
    assert [r["call_id"] for r in rows] == [c["call_id"] for c in expected]
    assert [r["caller"] for r in rows] == [c["caller"] for c in expected]  # whole: the CLI
