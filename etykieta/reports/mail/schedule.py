"""When weekly e-mails are due: ISO weeks in office time, and ``[reports] weekly_at``.

Pure: the instant is passed in. A week is named as ISO 8601 writes it (``2026-W48``) and runs
from Monday 00:00 to the next Monday 00:00 in the office's zone (a DST change inside it makes
it an hour shorter or longer, never a day off).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

from ...config import WeeklyAt

WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")


def week_monday(week: str) -> date:
    """The Monday of ``"2026-W48"``; ``ValueError`` saying what is wrong."""
    match = WEEK.fullmatch(week.strip())
    if match is None:
        raise ValueError(f"{week!r} is not an ISO week such as 2026-W48")
    try:
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"{week!r}: year {match.group(1)} has no week {match.group(2)}") from exc


def week_name(day: date) -> str:
    """The ISO week ``day`` falls in: ``"2026-W48"``."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def week_end(week: str, zone: tzinfo) -> datetime:
    """When ``week`` is over: the next Monday 00:00 in ``zone``."""
    return datetime.combine(week_monday(week) + timedelta(days=7), time(), tzinfo=zone)


def last_complete_week(now: datetime, zone: tzinfo) -> str:
    """The newest ISO week (office time) that is over at ``now``."""
    today = now.astimezone(zone).date()
    return week_name(today - timedelta(days=today.weekday() + 7))


def weekly_due(now: datetime, zone: tzinfo, at: WeeklyAt) -> tuple[str, datetime]:
    """The week whose e-mails are due at ``now``, and since when: at the newest ``at`` (a
    weekday and a time in office time) not after ``now``, the last week complete then."""
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - at.weekday) % 7)
    due = datetime.combine(day, at.time, tzinfo=zone)
    if due > now:
        day -= timedelta(days=7)
        due = datetime.combine(day, at.time, tzinfo=zone)
    return last_complete_week(due, zone), due
