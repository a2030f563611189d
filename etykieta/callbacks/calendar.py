"""Business hours of a unit: when the callback clock runs and when it stops.

Opening hours are wall-clock times of the calendar's zone, laid out day by day, so 07:30 stays
07:30 on both sides of a DST change. Durations are elapsed time: each day's window is turned into
UTC instants before anything is added or subtracted (Python subtracts two datetimes that share a
``tzinfo`` by their wall clocks, which is wrong across a DST change).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Without any open day ahead the search for one must stop somewhere; ten years of closures is a
# configuration mistake, not a calendar.
MAX_SEARCH_DAYS = 3660

_Window = tuple[datetime, datetime]


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime: {name}={value.isoformat()}")


class BusinessCalendar:
    """Open hours of a unit: weekdays, a daily window, public holidays and extra closed dates."""

    def __init__(
        self,
        timezone: str,
        days: Sequence[str],
        open_at: time,
        close_at: time,
        holiday_country: str = "PL",
        closed: Sequence[date] = (),
    ) -> None:
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone: {timezone!r}") from exc
        unknown_days = [day for day in days if day not in DAY_NAMES]
        if unknown_days:
            raise ValueError(f"unknown day names: {unknown_days!r}; expected some of {DAY_NAMES}")
        if not days:
            raise ValueError("no open days: days is empty")
        if open_at.tzinfo is not None or close_at.tzinfo is not None:
            raise ValueError("open_at and close_at must be naive wall-clock times")
        if open_at >= close_at:
            raise ValueError(f"open_at {open_at} is not before close_at {close_at}")
        if holiday_country and holiday_country not in holidays.list_supported_countries():
            raise ValueError(f"holidays package has no calendar for country {holiday_country!r}")
        for day in closed:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"closed dates must be datetime.date, got {day!r}")
        self._weekdays = frozenset(DAY_NAMES.index(day) for day in days)
        self._open_at = open_at
        self._close_at = close_at
        self._country = holiday_country
        self._closed = frozenset(closed)
        self._holidays_by_year: dict[int, holidays.HolidayBase] = {}

    def __repr__(self) -> str:
        days = ",".join(DAY_NAMES[i] for i in sorted(self._weekdays))
        return (
            f"BusinessCalendar({self._zone.key!r}, {days} {self._open_at}-{self._close_at}, "
            f"holidays={self._country!r}, closed={len(self._closed)} dates)"
        )

    @property
    def zone(self) -> ZoneInfo:
        """The zone whose wall clock the opening hours are written in."""
        return self._zone

    def is_business_day(self, day: date) -> bool:
        """Whether the unit opens at all on ``day`` (a local calendar date)."""
        return (
            day.weekday() in self._weekdays
            and day not in self._closed
            and not self._is_holiday(day)
        )

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls inside an open window (opening included, closing excluded)."""
        _require_aware(at, "at")
        window = self._window(at.astimezone(self._zone).date())
        return window is not None and window[0] <= at < window[1]

    def next_opening(self, at: datetime) -> datetime:
        """The earliest open instant at or after ``at``: ``at`` itself when the unit is open."""
        _require_aware(at, "at")
        opens, _ = next(self._windows_from(at))
        return max(opens, at.astimezone(UTC)).astimezone(self._zone)

    def add_business_time(self, start: datetime, hours: float) -> datetime:
        """The instant ``hours`` of open time after ``start``, in the calendar's zone.

        The clock starts at ``start`` if the unit is open then, else at the next opening. When
        the time runs out exactly at a closing time, the result is that closing time.
        """
        _require_aware(start, "start")
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
        start = start.astimezone(UTC)  # aware arithmetic in a DST zone would use wall clocks
        remaining = timedelta(hours=hours)
        for opens, closes in self._windows_from(start):
            clock = max(opens, start)
            if remaining <= closes - clock:
                return (clock + remaining).astimezone(self._zone)
            remaining -= closes - clock
        raise AssertionError("unreachable: _windows_from never ends")  # pragma: no cover

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        """Seconds of open time from ``a`` to ``b``; negative when ``b`` precedes ``a``."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b < a:
            return -self.business_seconds_between(b, a)
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta()
        for opens, closes in self._windows_from(a):
            if opens >= b:
                break
            total += max(min(closes, b) - max(opens, a), timedelta())
        return total.total_seconds()

    def _windows_from(self, at: datetime) -> Iterator[_Window]:
        """Open windows, in order, from the first one that has not closed by ``at``."""
        day = at.astimezone(self._zone).date()
        days_without_window = 0
        while True:
            window = self._window(day)
            if window is None:
                days_without_window += 1
                if days_without_window > MAX_SEARCH_DAYS:
                    raise ValueError(
                        f"{self!r} has no open day within {MAX_SEARCH_DAYS} days of {day}"
                    )
            else:
                days_without_window = 0
                if window[1] > at:
                    yield window
            day += timedelta(days=1)

    def _window(self, day: date) -> _Window | None:
        """The open window of ``day`` as UTC instants, or ``None`` when closed all day."""
        if not self.is_business_day(day):
            return None
        opens = datetime.combine(day, self._open_at, tzinfo=self._zone).astimezone(UTC)
        closes = datetime.combine(day, self._close_at, tzinfo=self._zone).astimezone(UTC)
        # Wall-clock times skipped in spring read as an hour later (PEP 495), so a window like
        # 02:30–03:00 would close before it opens: it does not happen that day.
        return (opens, closes) if opens < closes else None

    def _is_holiday(self, day: date) -> bool:
        if not self._country:
            return False
        year_holidays = self._holidays_by_year.get(day.year)
        if year_holidays is None:
            year_holidays = holidays.country_holidays(self._country, years=day.year, expand=False)
            self._holidays_by_year[day.year] = year_holidays
        return day in year_holidays
