"""Per-unit summary: the table ``make demo`` prints (T3 answer time, T5 transfers, T8 callbacks).

Its ``answered`` counts inbound calls to the unit (the unit called); the greetings table of
:mod:`.greetings` counts answered inbound and internal calls by the unit of whoever answered.
Each is printed under a title line that says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .calls_export import format_table
from .views import FirstCall, UnitCallbackCounts, UnitCallCounts

NO_UNIT = "(no unit)"
Row = TypeVar("Row")
_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


@dataclass(slots=True)
class UnitSummary:
    unit: str
    calls: int = 0  # inbound calls to the unit
    answered: int = 0  # of those
    within_target: int = 0
    abandoned: int = 0
    voicemail: int = 0
    busy_or_no_answer: int = 0
    failed_transfers: int = 0
    callbacks_open: int = 0
    callbacks_missed: int = 0
    callbacks_done: int = 0
    callbacks_late: int = 0

    @property
    def within_target_pct(self) -> float | None:
        """Share of answered calls answered by the target ring (T3), in percent."""
        return 100.0 * self.within_target / self.answered if self.answered else None


def build_unit_summary(calls: Iterable[UnitCallCounts], callbacks: Iterable[UnitCallbackCounts],
                       units: Sequence[str] = ()) -> list[UnitSummary]:
    """One row per unit: every configured unit, in config order, then any other a call of the
    period or a duty names, in the order of its first call (its calls before its duties)."""
    rows: dict[str, UnitSummary] = {name: UnitSummary(name) for name in units}
    seen: dict[str, tuple[FirstCall, int]] = {}
    for counts in calls:
        name = counts.unit or NO_UNIT
        row = _row(rows, seen, name, (counts.first_call, 0))
        row.calls += counts.inbound
        row.answered += counts.answered
        row.within_target += counts.within_target
        row.abandoned += counts.abandoned
        row.voicemail += counts.voicemail
        row.busy_or_no_answer += counts.busy + counts.no_answer
        row.failed_transfers += counts.failed_transfers
    for duties in callbacks:
        row = _row(rows, seen, duties.unit, (duties.first_call, 1))
        row.callbacks_open += duties.pending
        row.callbacks_missed += duties.missed
        row.callbacks_done += duties.done + duties.caller_called_again
        row.callbacks_late += duties.late
    return in_table_order(rows, units, seen)


def in_table_order(rows: dict[str, Row], units: Sequence[str], seen: Mapping[str, Any]
                   ) -> list[Row]:
    """The configured ``units`` in config order, then the others in the order ``seen`` sorts
    them (by their first call): the order the tables always listed units in."""
    listed = dict.fromkeys(units)
    others = sorted((name for name in rows if name not in listed), key=seen.__getitem__)
    return [rows[name] for name in (*listed, *others)]


def _row(rows: dict[str, UnitSummary], seen: dict[str, tuple[FirstCall, int]], name: str,
         first: tuple[FirstCall, int]) -> UnitSummary:
    seen[name] = min(seen.get(name, first), first)
    return rows.setdefault(name, UnitSummary(name))


def unit_summary_title(target: int) -> str:
    """What the per-unit table counts, printed above it: its "answered" is not the greetings'."""
    return (f"inbound calls from outside, by the unit called (answered: by a person, voicemail "
            f"apart; {_ring(target)}: share of those answered by the {_ordinal(target)} ring, "
            "T3); failed transfers of any call of the unit (T5); callbacks the unit owes "
            "(T6–T8):")


def render_unit_summary(rows: Sequence[UnitSummary], target: int) -> str:
    """The table under its title line."""
    header = ("unit", "inbound", "answered", _ring(target), "abandoned", "voicemail",
              "busy/no ans.", "failed transfers", "callbacks open", "missed", "done", "late")
    table = [header]
    for r in rows:
        pct = r.within_target_pct
        table.append((r.unit, str(r.calls), str(r.answered),
                      "–" if pct is None else f"{pct:.0f}%", str(r.abandoned), str(r.voicemail),
                      str(r.busy_or_no_answer), str(r.failed_transfers), str(r.callbacks_open),
                      str(r.callbacks_missed), str(r.callbacks_done), str(r.callbacks_late)))
    return f"{unit_summary_title(target)}\n{format_table(table)}"


def _ring(target: int) -> str:
    return f"≤{_ordinal(target)} ring"


def _ordinal(number: int) -> str:
    suffix = "th" if number % 100 in (11, 12, 13) else _SUFFIXES.get(number % 10, "th")
    return f"{number}{suffix}"
