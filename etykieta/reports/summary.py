"""Per-unit summary: the table ``make demo`` prints (T3 answer time, T5 transfers, T8 callbacks),
one row per :class:`~.units.UnitReport`.

Its ``answered`` counts inbound calls to the unit (the unit called); the greetings table of
:mod:`.greetings` counts answered inbound and internal calls by the unit of whoever answered.
Each is printed under a title line that says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .calls_export import format_table
from .units import NO_UNIT, UnitReport
from .views import ReportCounts

__all__ = ["NO_UNIT", "call_table_units", "in_table_order", "render_unit_summary",
           "unit_summary_title"]

_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def call_table_units(counts: ReportCounts, units: Sequence[str] = ()) -> list[str]:
    """The rows of the calls table: every configured unit, in config order, then any other a
    call of the period or a duty names, in the order of its first call (its calls before its
    duties)."""
    seen: dict[str, Any] = {}
    for first, name in ([((c.first_call, 0), NO_UNIT if c.unit is None else c.unit)
                         for c in counts.unit_calls]
                        + [((c.first_call, 1), c.unit) for c in counts.unit_callbacks]):
        seen[name] = min(seen.get(name, first), first)
    return in_table_order(seen, units)


def in_table_order(seen: Mapping[str, Any], units: Sequence[str]) -> list[str]:
    """The configured ``units`` in config order, then the others ``seen`` names in the order
    their values sort in (by their first call): the order the tables always listed units in."""
    listed = dict.fromkeys(units)
    return [*listed, *sorted((name for name in seen if name not in listed), key=seen.__getitem__)]


def unit_summary_title(target: int) -> str:
    """What the per-unit table counts, printed above it: its "answered" is not the greetings'."""
    return (f"inbound calls from outside, by the unit called (answered: by a person, voicemail "
            f"apart; {_ring(target)}: share of those answered by the {_ordinal(target)} ring, "
            "T3); failed transfers of any call of the unit (T5); callbacks the unit owes "
            "(T6–T8):")


def render_unit_summary(reports: Sequence[UnitReport], target: int) -> str:
    """The table under its title line: one row per report."""
    header = ("unit", "inbound", "answered", _ring(target), "abandoned", "voicemail",
              "busy/no ans.", "failed transfers", "callbacks open", "missed", "done", "late")
    table = [header]
    for r in reports:
        calls, duties = r.calls, r.callbacks
        pct = calls.within_target_pct
        table.append((r.unit, str(calls.inbound_calls), str(calls.answered),
                      "–" if pct is None else f"{pct:.0f}%", str(calls.abandoned),
                      str(calls.voicemail), str(calls.busy + calls.no_answer),
                      str(calls.failed_transfers), str(duties.pending), str(duties.missed),
                      str(duties.done + duties.caller_called_again), str(duties.late)))
    return f"{unit_summary_title(target)}\n{format_table(table)}"


def _ring(target: int) -> str:
    return f"≤{_ordinal(target)} ring"


def _ordinal(number: int) -> str:
    suffix = "th" if number % 100 in (11, 12, 13) else _SUFFIXES.get(number % 10, "th")
    return f"{number}{suffix}"
