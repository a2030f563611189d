"""Dates, times and numbers in Polish format, for every face (the web pages, the e-mails)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

LOCALE = "pl"
NO_BREAK_SPACE = "\u00a0"


@dataclass(frozen=True, slots=True)
class Formats:
    """Dates, times and numbers as a Polish reader expects them, in office time.

    ``1 grudnia 2026``, ``07:30``, ``92,5 %`` (a no-break space before the sign), ``1 234``.
    """

    zone: tzinfo
    locale: str = LOCALE

    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, format="d MMMM y", locale=self.locale)

    def short_day(self, value: date | datetime) -> str:
        """``23.11.2026``: for tables."""
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return value.strftime("%d.%m.%Y")

    def month(self, value: date) -> str:
        """``Listopad 2026``: a calendar month, as a heading names it."""
        return format_date(value, format="LLLL y", locale=self.locale).capitalize()

    def time(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_time(value.astimezone(self.zone), format="HH:mm", locale=self.locale)

    def moment(self, value: datetime | None) -> str:
        """``23.11.2026 09:05``."""
        return "" if value is None else f"{self.short_day(value)} {self.time(value)}"

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def pct(self, value: float | None) -> str:
        """A share in percent with one decimal: ``92,5 %``; ``—`` when there is none."""
        if value is None:
            return "—"
        return f"{self.number(value, 1)}{NO_BREAK_SPACE}%"

    def seconds(self, value: float | None) -> str:
        return "—" if value is None else f"{self.number(value, 1)}{NO_BREAK_SPACE}s"

    def range(self, first: date, last: date) -> str:
        """``23–29 listopada 2026``, ``30 listopada – 6 grudnia 2026``, across years in full."""
        if first == last:
            return self.day(first)
        if (first.year, first.month) == (last.year, last.month):
            return f"{first.day}–{self.day(last)}"
        if first.year == last.year:
            start = format_date(first, format="d MMMM", locale=self.locale)
            return f"{start} – {self.day(last)}"
        return f"{self.day(first)} – {self.day(last)}"
