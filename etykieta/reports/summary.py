"""Per-unit summary: the table ``make demo`` prints (T3 answer time, T5 transfers, T8 callbacks).

Its ``answered`` counts inbound calls to the unit (the unit called); the greetings table of
:mod:`.greetings` counts answered inbound and internal calls by the unit of whoever answered.
Each is printed under a title line that says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..storage.models import Call
from .calls_export import callback_status, format_table

NO_UNIT = "(no unit)"
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


def build_unit_summary(calls: Iterable[Call], now: datetime,
                       units: Sequence[str] = ()) -> list[UnitSummary]:
    """One row per unit (every configured unit, in config order, then any other seen)."""
    rows: dict[str, UnitSummary] = {name: UnitSummary(name) for name in units}
    for call in calls:
        row = rows.setdefault(call.unit or NO_UNIT, UnitSummary(call.unit or NO_UNIT))
        if call.direction == "inbound":
            row.calls += 1
            row.answered += call.outcome == "answered"
            row.within_target += bool(call.within_target)
            row.abandoned += call.outcome == "abandoned"
            row.voicemail += call.outcome == "voicemail"
            row.busy_or_no_answer += call.outcome in ("busy", "no_answer")
        row.failed_transfers += sum(t.outcome == "failed" for t in call.transfers)
        if call.callback is not None:
            ob_row = rows.setdefault(call.callback.unit, UnitSummary(call.callback.unit))
            status = callback_status(call.callback, now)
            ob_row.callbacks_open += status == "pending"
            ob_row.callbacks_missed += status == "missed"
            ob_row.callbacks_done += status in ("done", "caller_called_again")
            ob_row.callbacks_late += status == "late"
    return list(rows.values())


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
