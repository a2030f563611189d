"""The period a page shows: whole days in office time, the current ISO week unless asked.

A page takes ``?since=2026-11-23&until=2026-11-29`` (both days included, as a person reads a
range; ``until`` may be left out), ``?week=2026-W48`` or ``?month=2026-11``; the period is then
the instants from the first day's midnight to the midnight after the last, in
``[business_hours] timezone``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

WEEK = timedelta(days=7)
MAX_DAYS = 366 * 2


class PeriodError(ValueError):
    """A period asked for in a form that cannot be read; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Period:
    """The days ``first``..``last`` (both included) in ``zone``."""

    first: date
    last: date
    zone: tzinfo

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone)

    @property
    def until(self) -> datetime:
        """The midnight after ``last``: the end, excluded."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone)

    @property
    def week(self) -> int | None:
        """The ISO week number when the period is exactly one ISO week."""
        year, week, weekday = self.first.isocalendar()
        return week if weekday == 1 and self.last == self.first + timedelta(days=6) else None

    @property
    def month(self) -> tuple[int, int] | None:
        """(year, month) when the period is exactly one calendar month."""
        if self.first.day != 1 or (self.first.year, self.first.month) != (
                self.last.year, self.last.month):
            return None
        return (self.first.year, self.first.month) if (
            self.last + timedelta(days=1)).day == 1 else None

    def shifted(self, weeks: int) -> Period:
        """The same span ``weeks`` weeks later (earlier when negative), as whole weeks; a
        calendar month moves by whole months (the month before November is October)."""
        if (month := self.month) is not None:
            return month_of(_add_months(date(*month, 1), weeks), self.zone)
        if self.week is not None:
            return Period(self.first + weeks * WEEK, self.last + weeks * WEEK, self.zone)
        span = (self.last - self.first) + timedelta(days=1)
        return Period(self.first + weeks * span, self.last + weeks * span, self.zone)

    def query(self) -> dict[str, str]:
        """What a link to this period puts in its query string."""
        if (month := self.month) is not None:
            return {"month": f"{month[0]}-{month[1]:02d}"}
        if self.week is not None:
            year, week, _ = self.first.isocalendar()
            return {"week": f"{year}-W{week:02d}"}
        return {"since": self.first.isoformat(), "until": self.last.isoformat()}


    def as_week(self) -> Period:
        """The ISO week of the period's last day (the period picker's "week")."""
        return week_of(self.last, self.zone)

    def as_month(self) -> Period:
        """The calendar month of the period's last day (the period picker's "month")."""
        return month_of(self.last, self.zone)


def week_of(day: date, zone: tzinfo) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6), zone)


def month_of(day: date, zone: tzinfo) -> Period:
    first = day.replace(day=1)
    return Period(first, _add_months(first, 1) - timedelta(days=1), zone)


def _add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after ``first``'s (``first`` is a 1st)."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_from(query: dict[str, str], *, now: datetime, zone: tzinfo) -> Period:
    """The period a query string asks for; the current ISO week of ``now`` when it asks none."""
    if week := query.get("week", "").strip():
        try:
            monday = date.fromisoformat(f"{week}-1")
        except ValueError as exc:
            raise PeriodError(f"not an ISO week such as 2026-W48: {week!r}") from exc
        return week_of(monday, zone)
    if month := query.get("month", "").strip():
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError as exc:
            raise PeriodError(f"not a month such as 2026-11: {month!r}") from exc
        return month_of(first, zone)
    since, until = query.get("since", "").strip(), query.get("until", "").strip()
    if not since and not until:
        return week_of(now.astimezone(zone).date(), zone)
    first = _day(since, "since") if since else _day(until, "until")
    last = _day(until, "until") if until else now.astimezone(zone).date()
    if last < first:
        raise PeriodError("the period ends before it begins")
    if (last - first).days > MAX_DAYS:
        raise PeriodError(f"a period is at most {MAX_DAYS} days")
    return Period(first, last, zone)


def instant(value: str | None, zone: tzinfo) -> datetime | None:
    """An API's ISO 8601 ``since``/``until``, as the CLI reads them: office time without an
    offset (``2026-11-23`` is that day's midnight in Warsaw)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PeriodError(f"not an ISO 8601 date/time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise PeriodError(f"{name}: not a date such as 2026-11-23: {value!r}") from exc
