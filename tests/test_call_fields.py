"""What ``calls`` tells about each call besides its outcome: names, waiting time, CSV forms.

The waiting times are the lab scenarios' own timing (each ``*.expected.json`` description says
how long the caller rang before giving up, or that the phone refused at once). Captures that
need a display name the lab never sent are derived from the real direct_abandoned.pcap by
rewriting bytes of the same length, so every frame stays as the wire had it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from etykieta.cli import main
from etykieta.reports.calls_export import CSV_COLUMNS
from etykieta.storage import Call, make_engine

from .conftest import CALLS, LAB_CONFIG

# case → seconds the caller waited, as the scenario made it (None: the call was answered,
# or the capture shows no end to the waiting)
WAITED = {
    "direct_abandoned": 9.5,  # "gives up after 9.5 s of ringing (CANCEL)"
    "direct_no_answer": 30.0,  # "rings 30 s and then gives up with 480"
    "direct_rejected": 4.0,  # "rings 4 s and is declined by the user (603 Decline)"
    "direct_busy": 0.0,  # "100 then 486 Busy Here at once": from the INVITE, no 18x
    "direct_failed": 0.0,  # "503 Service Unavailable at once (no ringing)"
    "proxy_abandoned": 9.0,  # "hangs up after 9 s of ringing", at the caller's hop
    "proxy_busy": 0.0,  # "486 Busy Here at once"
    "b2bua_abandoned": 14.0,  # "hangs up after 14 s of ringing"
    "b2bua_no_answer": 20.0,  # "the PBX's 20 s Dial timeout … answers the caller 480"
    "direct_failed_noresponse": None,  # no response ever: no end to measure to
    "direct_unknown": None,  # "the capture stops 4 s later while it is still ringing"
    "direct_answered_ring2": None,  # answered: ring_seconds says how long it rang
    "direct_voicemail": None,
}
ABANDONED_FROM = '"Żaneta Kołodziej" <sip:'.encode()
PAI_SLOT = b"Max-Forwards: 70\r\nUser-Agent: etykieta-lab caller\r\n"


def cli(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(LAB_CONFIG), "--db", db_url, *args])
    return result.exit_code, result.stdout, result.stderr


def ingest(db_url: str, *captures: Path) -> None:
    code, _, err = cli(db_url, "ingest", *map(str, captures))
    assert code == 0, err


def calls_json(db_url: str) -> dict[str, dict[str, Any]]:
    """The JSON listing by the scenario's caller number."""
    code, out, err = cli(db_url, "calls", "--format", "json")
    assert code == 0, err
    return {row["caller"]: row for row in json.loads(out)}


def caller_of(case: str) -> str:
    return str(json.loads((CALLS / f"{case}.expected.json").read_text())["calls"][0]["caller"])


def derived(tmp_path: Path, name: str, *replacements: tuple[bytes, bytes]) -> Path:
    """direct_abandoned.pcap with byte runs replaced by runs of the same length."""
    data = (CALLS / "direct_abandoned.pcap").read_bytes()
    for old, new in replacements:
        assert len(new) == len(old) and old in data, (old, new)
        data = data.replace(old, new)
    path = tmp_path / f"{name}.pcap"
    path.write_bytes(data)
    return path


def from_named(display: str) -> tuple[bytes, bytes]:
    """From's display name replaced, padded with the spaces SIP allows before ``<``."""
    new = (f"{display} " if display else "").encode()
    return ABANDONED_FROM, new + b" " * (len(ABANDONED_FROM) - len(new) - 5) + b"<sip:"


def pai(name: str) -> tuple[bytes, bytes]:
    """A P-Asserted-Identity with ``name`` in place of Max-Forwards and User-Agent."""
    line = f'P-Asserted-Identity: "{name}" <tel:+48600100201>\r\n'.encode()
    return PAI_SLOT, line


def test_unanswered_calls_say_how_long_the_caller_waited(db_url: str) -> None:
    ingest(db_url, *(CALLS / f"{case}.pcap" for case in WAITED))
    rows = calls_json(db_url)
    got = {case: rows[caller_of(case)]["wait_seconds"] for case in WAITED}
    assert got == {case: pytest.approx(want, abs=0.1) if want is not None else None
                   for case, want in WAITED.items()}
    assert rows[caller_of("direct_abandoned")]["ring_seconds"] is None


def test_names_come_from_the_staff_list_and_from_the_caller_as_sent(db_url: str) -> None:
    ingest(db_url, *(CALLS / f"{case}.pcap" for case in (
        "direct_answered_ring2", "b2bua_linkedid", "direct_abandoned", "direct_busy",
        "direct_voicemail")))
    rows = calls_json(db_url)
    names = {case: (rows[caller_of(case)]["caller_name"], rows[caller_of(case)]["answered_by"],
                    rows[caller_of(case)]["answered_by_name"])
             for case in ("direct_answered_ring2", "b2bua_linkedid", "direct_abandoned",
                          "direct_busy", "direct_voicemail")}
    assert names == {
        "direct_answered_ring2": (None, "1201", "Anna Kowalska"),
        # sent as "Biuro \"Rachunkowe\" Sp. z o.o.": unquoted and unescaped
        "b2bua_linkedid": ('Biuro "Rachunkowe" Sp. z o.o.', "1202", "Piotr Nowak"),
        "direct_abandoned": ("Żaneta Kołodziej", None, None),
        "direct_busy": (None, None, None),  # no display name in From
        "direct_voicemail": (None, "1999", None),  # the voicemail box is nobody on the staff
    }


@pytest.mark.parametrize(("from_display", "asserted", "want"), [
    ('"Anonymous"', "Jan Kot", "Jan Kot"),  # From hides the name: the asserted identity's
    ("", "Jan Kot", "Jan Kot"),  # From has none
    ('"Anonymous"', None, "Anonymous"),  # nothing better came: as it came
    ('"Ewa Wiśniewska"', "Jan Kot", "Ewa Wiśniewska"),  # From's own name comes first
], ids=["anonymous_from", "no_name_in_from", "anonymous_only", "from_first"])
def test_the_caller_name_falls_back_to_p_asserted_identity(
        db_url: str, tmp_path: Path, from_display: str, asserted: str | None, want: str) -> None:
    edits = [from_named(from_display)] + ([pai(asserted)] if asserted else [])
    ingest(db_url, derived(tmp_path, "named", *edits))
    [row] = calls_json(db_url).values()
    assert row["caller_name"] == want
    assert row["caller"] == "+48600100201" and row["outcome"] == "abandoned"


def csv_rows(text: str, delimiter: str) -> list[list[str]]:
    assert text.startswith("\ufeff"), "no UTF-8 byte-order mark: Excel would garble ł and ż"
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter))


def test_csv_for_a_polish_excel_has_semicolons_and_decimal_commas(db_url: str) -> None:
    ingest(db_url, CALLS / "direct_abandoned.pcap", CALLS / "direct_answered_ring2.pcap")
    code, out, _ = cli(db_url, "calls", "--format", "csv", "--csv-dialect", "excel-pl")
    assert code == 0
    header, *body = csv_rows(out, ";")
    assert tuple(header) == CSV_COLUMNS
    assert header[-4:] == ["answered_by_name", "caller_name", "wait_seconds", "in_progress"]
    rows = {row[header.index("caller")]: dict(zip(header, row, strict=True)) for row in body}
    abandoned, answered = rows["+48600100201"], rows["+48600100200"]
    assert abandoned["caller_name"] == "Żaneta Kołodziej"
    assert abandoned["wait_seconds"].startswith("9,5") and "." not in abandoned["wait_seconds"]
    assert answered["ring_seconds"].startswith("7,5") and answered["wait_seconds"] == ""
    assert answered["answered_by_name"] == "Anna Kowalska"
    assert (answered["in_progress"], answered["within_target"]) == ("False", "True")


def test_standard_csv_keeps_commas_and_decimal_points(db_url: str) -> None:
    ingest(db_url, CALLS / "direct_abandoned.pcap")
    code, out, _ = cli(db_url, "calls", "--format", "csv")
    assert code == 0
    header, row = csv_rows(out, ",")
    values = dict(zip(header, row, strict=True))
    assert values["wait_seconds"].startswith("9.5")
    assert values["caller_name"] == "Żaneta Kołodziej"


def test_a_display_name_excel_would_run_as_a_formula_is_plain_text_for_excel(
        db_url: str, tmp_path: Path) -> None:
    formula = "=cmd|' /C calc'!A0"
    ingest(db_url, derived(tmp_path, "formula", from_named(f'"{formula}"')))
    [row] = calls_json(db_url).values()
    assert row["caller_name"] == formula  # kept as it came everywhere but in excel-pl
    _, out, _ = cli(db_url, "calls", "--format", "csv", "--csv-dialect", "excel-pl")
    header, values = csv_rows(out, ";")
    assert values[header.index("caller_name")] == "'" + formula
    assert values[header.index("caller")] == "+48600100201"  # a number is not a formula
    _, out, _ = cli(db_url, "calls", "--format", "csv")
    header, values = csv_rows(out, ",")
    assert values[header.index("caller_name")] == formula


def test_the_table_shows_names_next_to_numbers_and_the_wait(db_url: str) -> None:
    ingest(db_url, CALLS / "direct_abandoned.pcap", CALLS / "direct_answered_ring2.pcap")
    code, out, _ = cli(db_url, "calls")
    assert code == 0
    header, _, *lines = out.splitlines()
    assert "waited s" in header
    assert any("+48600100201 Żaneta Kołodziej" in line and " 9.5 " in line for line in lines)
    assert any("1201 Anna Kowalska" in line for line in lines)


def test_every_form_says_whether_the_call_was_still_going_on(db_url: str) -> None:
    """Whether the input ended mid-call is the stored flag; the listing only shows it."""
    ingest(db_url, CALLS / "direct_busy.pcap", CALLS / "direct_abandoned.pcap")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(Call).where(Call.caller == "600100202").values(in_progress=True))
    engine.dispose()
    rows = calls_json(db_url)
    assert (rows["600100202"]["in_progress"], rows["+48600100201"]["in_progress"]) == (
        True, False)
    _, out, _ = cli(db_url, "calls", "--format", "csv")
    header, *body = csv_rows(out, ",")
    assert {row[header.index("caller")]: row[header.index("in_progress")] for row in body} == {
        "600100202": "True", "+48600100201": "False"}
    _, out, _ = cli(db_url, "calls")
    [busy] = [line for line in out.splitlines() if "600100202" in line]
    assert "busy (in progress)" in busy
