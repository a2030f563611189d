"""The ``etykieta calls`` listing: one object per call, as JSON, CSV or a table.

The JSON keys are a contract other tools rely on (issue #2's CLI contract): keys are added,
never renamed or dropped. CSV columns keep their order; new ones go at the end. CSV starts
with a UTF-8 byte-order mark so that Excel reads Polish letters; the ``excel-pl`` dialect also
uses what a Polish Excel expects: ``;`` between fields and a decimal comma.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]

from ..telephony.numbers import Directory
from .views import CallView, DisputeView

CSV_COLUMNS = (
    "call_id", "started_at", "direction", "caller", "dialed", "unit", "answered_by", "outcome",
    "ring_seconds", "rings", "within_target", "transfer_kind", "transfer_from",
    "transfer_target", "transfer_outcome", "transfer_reason", "callback_status",
    "callback_due_at", "callback_attempts", "callback_done_at", "greeting_verdict",
    "greeting_missing", "answered_by_name", "caller_name", "wait_seconds", "in_progress",
)
BOM = "\ufeff"
# A cell Excel would take for a formula (CSV injection): a display name comes off the network.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+([.,][0-9]+)?")


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """How a CSV file is written: field separator and decimal mark."""

    delimiter: str
    decimal: str
    guard_formulas: bool  # written for a spreadsheet: formula-like text is made plain text


CSV_DIALECTS = {
    "standard": CsvDialect(",", ".", guard_formulas=False),  # RFC 4180
    "excel-pl": CsvDialect(";", ",", guard_formulas=True),  # what a Polish Excel opens
}
DEFAULT_CSV_DIALECT = "standard"


QUEUED_REASON = "queued for speech recognition (etykieta speech run)"


def greeting_to_dict(call: CallView) -> dict[str, Any] | None:
    """The ``greeting`` object (T1, T2, T9, T10); while queued it reads ``not_checked``.

    A greeting not checked before (no model then) whose audio is queued again says so.
    """
    greeting = call.greeting
    if call.speech_waiting and (greeting is None or greeting.verdict == "not_checked"):
        return {"verdict": "not_checked", "missing": [], "transcript": None,
                "first_word_s": None, "syllables_per_s": None, "too_fast": None,
                "casual_words": [], "thanked": None, "order_ok": None,
                "reason": QUEUED_REASON,
                "dispute": dispute_to_dict(greeting.dispute if greeting else None)}
    if greeting is None:
        return None
    return {
        "verdict": greeting.verdict, "missing": list(greeting.missing),
        "transcript": greeting.transcript, "first_word_s": greeting.first_word_s,
        "syllables_per_s": greeting.syllables_per_s, "too_fast": greeting.too_fast,
        "casual_words": list(greeting.casual_words), "thanked": greeting.thanked,
        "order_ok": greeting.order_ok, "reason": greeting.reason,
        "dispute": dispute_to_dict(greeting.dispute),
    }


def dispute_to_dict(dispute: DisputeView | None) -> dict[str, Any] | None:
    """A disputed verdict (``greeting.dispute``): its status, the machine's verdict, and each
    step with who and when; ``greeting.verdict`` is then the one reports count."""
    if dispute is None:
        return None
    return {
        "status": dispute.status, "machine_verdict": dispute.machine_verdict,
        "verdict": dispute.verdict, "opened_by": dispute.opened_by,
        "opened_at": dispute.opened_at.isoformat(), "updated_at": dispute.updated_at.isoformat(),
        "history": [{"at": e.at.isoformat(), "who": e.who, "action": e.action,
                     "verdict": e.verdict, "comment": e.comment} for e in dispute.events],
    }


def call_to_dict(call: CallView, *, zone: tzinfo,
                 directory: Directory | None = None) -> dict[str, Any]:
    """One call as the JSON contract describes it; times in UTC, due times in office time.

    ``answered_by_name`` comes from ``[[staff]]`` through ``directory`` (None without one).
    """
    transfer, ob = call.transfer, call.callback
    return {
        "call_id": call.call_id,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat(),
        "direction": call.direction,
        "caller": call.caller,
        "caller_e164": call.caller_e164,
        "dialed": call.dialed,
        "unit": call.unit,
        "answered_by": call.answered_by,
        "outcome": call.outcome,
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ring_seconds": call.ring_seconds,
        "rings": call.rings,
        "within_target": call.within_target,
        "post_dial_delay_s": call.post_dial_delay_s,
        "final_status": call.final_status,
        "transfer": None if transfer is None else {
            "kind": transfer.kind, "from": transfer.from_extension, "target": transfer.target,
            "outcome": transfer.outcome, "reason": transfer.reason,
        },
        "callback": None if ob is None else {
            "status": ob.status,
            "reason": ob.reason,
            "unit": ob.unit,
            "due_at": ob.due_at.astimezone(zone).isoformat(),
            "attempts": ob.attempts,
            "done_at": ob.done_at.isoformat() if ob.done_at else None,
        },
        "greeting": greeting_to_dict(call),
        "answered_by_name": _staff_name(directory, call.answered_by),
        "caller_name": call.caller_name,
        "wait_seconds": call.wait_seconds,
        "in_progress": call.in_progress,
    }


def _staff_name(directory: Directory | None, extension: str | None) -> str | None:
    person = directory.staff_at(extension) if directory and extension else None
    return None if person is None else f"{person.first_name} {person.last_name}"


def render_json(calls: Sequence[CallView], *, zone: tzinfo,
                directory: Directory | None = None) -> str:
    return json.dumps([call_to_dict(c, zone=zone, directory=directory) for c in calls],
                      ensure_ascii=False, indent=2)


def _flat(call: CallView, zone: tzinfo, directory: Directory | None) -> dict[str, Any]:
    d = call_to_dict(call, zone=zone, directory=directory)
    transfer, callback = d.pop("transfer") or {}, d.pop("callback") or {}
    greeting = d.pop("greeting") or {}
    d["greeting_verdict"] = greeting.get("verdict")
    d["greeting_missing"] = " ".join(greeting.get("missing") or [])
    for key in ("kind", "from", "target", "outcome", "reason"):
        d[f"transfer_{key}"] = transfer.get(key)
    for key in ("status", "due_at", "attempts", "done_at"):
        d[f"callback_{key}"] = callback.get(key)
    return d


def render_csv(calls: Sequence[CallView], *, zone: tzinfo,
               directory: Directory | None = None,
               dialect: str = DEFAULT_CSV_DIALECT) -> str:
    """CSV_COLUMNS, one row per call, after a byte-order mark; ``dialect`` of CSV_DIALECTS."""
    form = CSV_DIALECTS[dialect]
    out = io.StringIO()
    out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            delimiter=form.delimiter, lineterminator="\n")
    writer.writeheader()
    for call in calls:
        row = _flat(call, zone, directory)
        writer.writerow({key: _cell(value, form) for key, value in row.items()})
    return out.getvalue()


def _cell(value: Any, form: CsvDialect) -> Any:
    if isinstance(value, float):
        return repr(value).replace(".", form.decimal)
    if (form.guard_formulas and isinstance(value, str) and value.startswith(_FORMULA_START)
            and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


def render_table(calls: Sequence[CallView], *, zone: tzinfo,
                 directory: Directory | None = None) -> str:
    """A fixed-width table for a terminal; times in office time, names next to numbers."""
    header = ("started (local)", "dir", "caller", "dialed", "unit", "answered by", "outcome",
              "ring s", "rings", "waited s", "transfer", "callback", "greeting")
    rows = [header]
    for call in calls:
        d = _flat(call, zone, directory)
        transfer = (f"{d['transfer_kind']}→{d['transfer_target']} {d['transfer_outcome']}"
                    if d["transfer_kind"] else "")
        rows.append((
            call.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), call.direction[:3],
            _with_name(call.caller, call.caller_name), call.dialed, call.unit or "",
            _with_name(call.answered_by or "", d["answered_by_name"]),
            call.outcome + (" (in progress)" if call.in_progress else ""),
            _seconds(call.ring_seconds), "" if call.rings is None else str(call.rings),
            _seconds(call.wait_seconds), transfer,
            d["callback_status"] or "", d["greeting_verdict"] or ""))
    return format_table(rows)


def _with_name(number: str, name: str | None) -> str:
    return f"{number} {name}" if name else number


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def format_table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_xlsx(calls: Sequence[CallView], *, zone: tzinfo,
                directory: Directory | None = None) -> bytes:
    """A workbook of CSV_COLUMNS on the sheet ``calls``: times as spreadsheet dates in office
    time, numbers as numbers, every text a plain string (never a formula)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "calls"
    sheet.append(list(CSV_COLUMNS))
    for call in calls:
        row = _flat(call, zone, directory)
        sheet.append([_xlsx_cell(key, row.get(key), zone) for key in CSV_COLUMNS])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(key: str, value: Any, zone: tzinfo) -> Any:
    if isinstance(value, str) and key in XLSX_TIMES:
        return datetime.fromisoformat(value).astimezone(zone).replace(tzinfo=None)
    return value


XLSX_TIMES = frozenset({"started_at", "callback_due_at", "callback_done_at"})
"""Columns a workbook holds as dates (office time: a spreadsheet has no time zones)."""
