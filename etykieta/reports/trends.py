"""Figures over time and over the office week: the 12-week trend, when callers wait (weekday ×
hour) and why transfers failed (T3, T5, T1).

The read seam (:mod:`etykieta.storage.trend_queries`) returns :class:`SlotCounts` — the inbound
calls of one slot, a week of the trend or one UTC hour of a period — and the greetings of each
week by answering extension; the builders here turn them into what a page shows, without the
database.

Weekday and hour are office time (``[business_hours] timezone``). The seam groups by UTC hour,
and :func:`local_slot` maps each hour to its local weekday and hour, so a week across a
daylight-saving change counts each call at the hour the office clock showed (the offsets of
Europe/Warsaw are whole hours; a zone with half-hour offsets would need finer slots). The
trend's weeks are given to the seam as their Monday midnights in office time
(:func:`week_boundaries`), so each week is exactly Monday to Monday on the office clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ..telephony.numbers import Directory
from .views import ServiceLevel

TREND_WEEKS = 12
HOUR_S = 3600
WEEKDAYS = 7


@dataclass(frozen=True, slots=True)
class SlotCounts(ServiceLevel):
    """The inbound calls of one slot: a week of the trend (``slot`` its index) or one UTC hour
    (``slot`` the hours since 1970-01-01 00:00 UTC). As :class:`~.views.CallFigures` counts
    them: ``given_up_before_target`` are the abandoned calls whose caller waited less than the
    target ring's end (T3)."""

    slot: int
    inbound_calls: int = 0
    answered: int = 0
    answered_within_target: int = 0
    given_up_before_target: int = 0
    abandoned: int = 0

    def __add__(self, other: SlotCounts) -> SlotCounts:
        return SlotCounts(self.slot, *(getattr(self, f.name) + getattr(other, f.name)
                                       for f in fields(SlotCounts) if f.name != "slot"))


@dataclass(frozen=True, slots=True)
class WeekGreetings:
    """The greetings of one week of the trend that ``answered_by`` answered for ``unit``."""

    slot: int
    answered_by: str | None
    unit: str | None
    judged: int
    complete: int


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """Calls whose (last) transfer failed for ``reason`` (T5)."""

    reason: str
    calls: int


@dataclass(frozen=True, slots=True)
class TrendWeek:
    """One ISO week of the trend."""

    monday: date
    calls: SlotCounts
    judged: int
    complete: int

    @property
    def week(self) -> int:
        return self.monday.isocalendar()[1]

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def complete_pct(self) -> float | None:
        return _pct(self.complete, self.judged)


@dataclass(frozen=True, slots=True)
class HeatCell:
    """The inbound calls of one weekday (0 = Monday) and hour of office time."""

    weekday: int
    hour: int
    calls: SlotCounts


@dataclass(frozen=True, slots=True)
class Heatmap:
    """When callers wait: the inbound calls of a period by weekday and office-time hour."""

    weekdays: tuple[int, ...]
    hours: tuple[int, ...]
    cells: dict[tuple[int, int], HeatCell]
    busiest: int
    """The most calls in any one cell: the scale of the shading."""

    def cell(self, weekday: int, hour: int) -> HeatCell:
        return self.cells.get((weekday, hour), HeatCell(weekday, hour, SlotCounts(0)))

    def level(self, cell: HeatCell) -> int:
        """0 (no call) to 5 (the busiest cell): the shade of a cell."""
        if not cell.calls.inbound_calls or not self.busiest:
            return 0
        return max(1, round(5 * cell.calls.inbound_calls / self.busiest))


def week_boundaries(last_day: date, zone: tzinfo, weeks: int = TREND_WEEKS
                    ) -> tuple[datetime, ...]:
    """The Monday midnights (office time) of the ``weeks`` ISO weeks that end with the week of
    ``last_day``, and the Monday after: ``weeks + 1`` instants."""
    monday = last_day - timedelta(days=last_day.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    return tuple(datetime.combine(first + timedelta(weeks=n), time(), zone)
                 for n in range(weeks + 1))


def build_trend(boundaries: Sequence[datetime], calls: Iterable[SlotCounts],
                greetings: Iterable[WeekGreetings], directory: Directory,
                unit: str | None = None) -> tuple[TrendWeek, ...]:
    """One :class:`TrendWeek` per week of ``boundaries``. With ``unit``, the greetings are the
    unit's as the per-unit report counts them (the answering extension's unit, else the unit
    called); without, every greeting given (an employee's, already chosen by the seam)."""
    by_slot = {c.slot: c for c in calls}
    judged = [0] * (len(boundaries) - 1)
    complete = [0] * (len(boundaries) - 1)
    for group in greetings:
        if unit is not None and _greeting_unit(group, directory) != unit:
            continue
        judged[group.slot] += group.judged
        complete[group.slot] += group.complete
    return tuple(TrendWeek(boundaries[n].date(), by_slot.get(n, SlotCounts(n)), judged[n],
                           complete[n]) for n in range(len(boundaries) - 1))


def _greeting_unit(group: WeekGreetings, directory: Directory) -> str | None:
    spoke = directory.unit_of(group.answered_by) if group.answered_by else None
    return spoke.name if spoke is not None else group.unit


def local_slot(utc_hour: int, zone: tzinfo) -> tuple[int, int]:
    """The office-time (weekday, hour) of the UTC hour ``utc_hour`` (hours since the epoch)."""
    local = datetime.fromtimestamp(utc_hour * HOUR_S, UTC).astimezone(zone)
    return local.weekday(), local.hour


def build_heatmap(hours: Iterable[SlotCounts], zone: tzinfo, *, office: tuple[int, int],
                  days: Iterable[int] = range(5)) -> Heatmap:
    """The calls of ``hours`` (by UTC hour) by office-time weekday and hour. The rows are the
    office days ``days`` and the columns the hours ``office`` (first, last) covers, each
    widened to any weekday or hour a call came in."""
    cells: dict[tuple[int, int], HeatCell] = {}
    for counts in hours:
        key = local_slot(counts.slot, zone)
        before = cells.get(key)
        total = counts if before is None else before.calls + counts
        cells[key] = HeatCell(*key, total)
    weekdays = sorted(set(days) | {w for w, _ in cells})
    first, last = office
    shown = [h for _, h in cells] + [first, last]
    return Heatmap(tuple(weekdays), tuple(range(min(shown), max(shown) + 1)), cells,
                   max((c.calls.inbound_calls for c in cells.values()), default=0))


def slot_intervals(since: datetime, until: datetime, zone: tzinfo, *, weekday: int | None,
                   hour: int | None) -> list[tuple[datetime, datetime]]:
    """The instants of ``[since, until)`` at which the office clock shows ``weekday`` (None:
    any) and ``hour`` (None: any), as UTC ``[start, end)`` intervals, adjacent ones merged:
    the calls behind one cell of the heatmap. The inverse of :func:`local_slot`."""
    start = int(since.timestamp()) // HOUR_S
    end = -(-int(until.timestamp()) // HOUR_S)
    found: list[tuple[datetime, datetime]] = []
    for utc_hour in range(start, end):
        day, clock_hour = local_slot(utc_hour, zone)
        if (weekday is not None and day != weekday) or (hour is not None and clock_hour != hour):
            continue
        lo = max(since, datetime.fromtimestamp(utc_hour * HOUR_S, UTC))
        hi = min(until, datetime.fromtimestamp((utc_hour + 1) * HOUR_S, UTC))
        if found and found[-1][1] == lo:
            found[-1] = (found[-1][0], hi)
        else:
            found.append((lo, hi))
    return found


def top_reasons(reasons: Iterable[ReasonCount]) -> tuple[ReasonCount, ...]:
    """Most frequent first; equal counts by name."""
    return tuple(sorted(reasons, key=lambda r: (-r.calls, r.reason)))


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None
