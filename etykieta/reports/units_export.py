"""``etykieta report units``: the per-unit report as JSON, CSV, XLSX or a table.

The JSON keys are a contract (issue 10) other tools and the web API rely on: keys are added,
never renamed or dropped. One object per unit: its call figures at the top, ``rings``,
``callbacks`` and ``greetings`` (with ``missing``) nested, and ``staff``, a list of the same
figures per employee. CSV has one row per unit, the JSON keys flattened (``callbacks_missed``,
``greetings_missing_name``, ``rings_1``, …; the ring columns last, as many as the longest
ring any call was answered on, at least two past the target), written as ``calls`` writes its
CSV (a byte-order mark, ``--csv-dialect``). XLSX holds the same rows on the sheet ``units``
and one row per employee on the sheet ``staff``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]

from .calls_export import BOM, CSV_DIALECTS, DEFAULT_CSV_DIALECT, format_table
from .calls_export import _cell as csv_cell
from .units import GreetingFigures, StaffReport, UnitReport
from .views import CallbackFigures, CallFigures

CALL_KEYS = (
    "inbound_calls", "answered", "answered_within_target", "within_target_pct",
    "callers_within_target_pct", "given_up_before_target", "rings", "ring_seconds_median",
    "ring_seconds_p90", "abandoned", "busy", "no_answer", "rejected", "voicemail", "failed",
    "unknown", "transfers", "failed_transfers",
)
CALLBACK_KEYS = ("required", "done", "late", "caller_called_again", "pending", "missed")
GREETING_KEYS = (
    "answered", "judged", "complete", "complete_pct", "partial", "no_greeting", "silent",
    "unclear", "no_audio", "unsupported_codec", "not_checked", "too_fast", "casual_words",
    "thanked", "closings_heard", "overridden",
)
MISSING_KEYS = ("unit", "office", "name", "dzien_dobry")
PERSON_KEYS = ("extension", "first_name", "last_name")


def figures_to_dict(calls: CallFigures, callbacks: CallbackFigures,
                    greetings: GreetingFigures) -> dict[str, Any]:
    """The figures a unit and an employee share, as the JSON contract names them."""
    return {
        **{key: {str(ring): n for ring, n in calls.rings} if key == "rings"
           else getattr(calls, key) for key in CALL_KEYS},
        "callbacks": {key: getattr(callbacks, key) for key in CALLBACK_KEYS},
        "greetings": {**{key: getattr(greetings, key) for key in GREETING_KEYS},
                      "missing": {key: getattr(greetings.missing, key) for key in MISSING_KEYS}},
    }


def staff_to_dict(person: StaffReport) -> dict[str, Any]:
    return {**{key: getattr(person, key) for key in PERSON_KEYS},
            **figures_to_dict(person.calls, person.callbacks, person.greetings)}


def unit_to_dict(report: UnitReport, *, zone: tzinfo) -> dict[str, Any]:
    """One unit as the JSON contract describes it; the period's ends in office time."""
    return {"unit": report.unit, "since": report.period.since.astimezone(zone).isoformat(),
            "until": report.period.until.astimezone(zone).isoformat(),
            **figures_to_dict(report.calls, report.callbacks, report.greetings),
            "staff": [staff_to_dict(person) for person in report.staff]}


def render_json(reports: Sequence[UnitReport], *, zone: tzinfo) -> str:
    return json.dumps([unit_to_dict(r, zone=zone) for r in reports], ensure_ascii=False,
                      indent=2)


def _flat(figures: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in figures.items():
        if key == "staff":
            continue
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}_"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _columns(rows: Sequence[dict[str, Any]], target: int, lead: Sequence[str]) -> list[str]:
    """``lead``, then the flattened figure keys in contract order, then ``rings_1``…"""
    highest = max([target + 2, *(int(k[len("rings_"):]) for row in rows for k in row
                                 if k.startswith("rings_"))])
    empty = _flat(figures_to_dict(CallFigures(), CallbackFigures(), GreetingFigures()))
    return [*lead, *empty, *(f"rings_{n}" for n in range(1, highest + 1))]


def _unit_rows(reports: Sequence[UnitReport], zone: tzinfo) -> list[dict[str, Any]]:
    return [_flat(unit_to_dict(r, zone=zone)) for r in reports]


def _staff_rows(reports: Sequence[UnitReport]) -> list[dict[str, Any]]:
    return [{"unit": r.unit, **_flat(staff_to_dict(person))}
            for r in reports for person in r.staff]


def render_csv(reports: Sequence[UnitReport], *, zone: tzinfo, target: int,
               dialect: str = DEFAULT_CSV_DIALECT) -> str:
    """One row per unit after a byte-order mark; ``dialect`` of ``CSV_DIALECTS``."""
    form = CSV_DIALECTS[dialect]
    rows = _unit_rows(reports, zone)
    out = io.StringIO()
    out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=_columns(rows, target, ("unit", "since", "until")),
                            restval=0, delimiter=form.delimiter, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_cell(value, form) for key, value in row.items()})
    return out.getvalue()


def render_xlsx(reports: Sequence[UnitReport], *, zone: tzinfo, target: int) -> bytes:
    """A workbook: the CSV's rows on the sheet ``units``, one per employee on ``staff``."""
    book = Workbook()
    units = book.active
    units.title = "units"
    unit_rows = _unit_rows(reports, zone)
    _fill(units, _columns(unit_rows, target, ("unit", "since", "until")), unit_rows)
    staff_rows = _staff_rows(reports)
    _fill(book.create_sheet("staff"), _columns(staff_rows, target, ("unit", *PERSON_KEYS)),
          staff_rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fill(sheet: Any, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    sheet.append(list(columns))
    for row in rows:
        sheet.append([row.get(key, 0) for key in columns])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a name, never a formula
    sheet.freeze_panes = "B2"


def render_table(reports: Sequence[UnitReport], *, target: int) -> str:
    """Two fixed-width tables for a terminal: the units, then their employees."""
    ring = f"≤ring {target}"
    units = [("unit", "inbound", "answered", ring, "callers' view", "median s", "p90 s",
              "abandoned", "gave up early", "busy/no ans.", "failed transfers",
              "callbacks", "missed", "late", "judged", "complete")]
    for r in reports:
        c, b, g = r.calls, r.callbacks, r.greetings
        units.append((r.unit, str(c.inbound_calls), str(c.answered),
                      _pct(c.within_target_pct), _pct(c.callers_within_target_pct),
                      _seconds(c.ring_seconds_median), _seconds(c.ring_seconds_p90),
                      str(c.abandoned), str(c.given_up_before_target),
                      str(c.busy + c.no_answer), str(c.failed_transfers), str(b.required),
                      str(b.missed), str(b.late), str(g.judged), _pct(g.complete_pct)))
    people = [("unit", "extension", "name", "inbound", "answered", ring, "median s", "p90 s",
               "abandoned", "callbacks", "missed", "greeted", "judged", "complete")]
    for r in reports:
        for p in r.staff:
            c, b, g = p.calls, p.callbacks, p.greetings
            people.append((r.unit, p.extension, f"{p.first_name} {p.last_name}",
                           str(c.inbound_calls), str(c.answered), _pct(c.within_target_pct),
                           _seconds(c.ring_seconds_median), _seconds(c.ring_seconds_p90),
                           str(c.abandoned), str(b.required), str(b.missed), str(g.answered),
                           str(g.judged), _pct(g.complete_pct)))
    tables = [format_table(units)]
    if len(people) > 1:
        tables.append(format_table(people))
    return "\n\n".join(tables)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"
