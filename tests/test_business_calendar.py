"""BusinessCalendar: the clock behind callback deadlines (T6–T8)."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from etykieta.callbacks import BusinessCalendar

WARSAW = ZoneInfo("Europe/Warsaw")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
CALLBACK_HOURS = 4


def warsaw(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


@pytest.fixture
def city_hall() -> BusinessCalendar:
    return BusinessCalendar("Europe/Warsaw", WEEKDAYS, time(7, 30), time(15, 30))


@pytest.fixture
def city_hall_new_year_eve_closed() -> BusinessCalendar:
    return BusinessCalendar(
        "Europe/Warsaw", WEEKDAYS, time(7, 30), time(15, 30), closed=(date(2026, 12, 31),)
    )


def test_christmas_eve_is_a_polish_public_holiday_per_the_package() -> None:
    assert date(2026, 12, 24) in holidays.country_holidays("PL", years=2026)


@pytest.mark.parametrize(
    ("missed", "due"),
    [
        pytest.param(warsaw(2026, 11, 20, 15), warsaw(2026, 11, 23, 11), id="friday-over-weekend"),
        pytest.param(
            warsaw(2026, 11, 10, 15), warsaw(2026, 11, 12, 11), id="over-independence-day"
        ),
        pytest.param(warsaw(2026, 11, 16, 18), warsaw(2026, 11, 17, 11, 30), id="after-hours"),
        pytest.param(warsaw(2026, 12, 23, 15), warsaw(2026, 12, 28, 11), id="over-christmas"),
        pytest.param(warsaw(2026, 11, 22, 10), warsaw(2026, 11, 23, 11, 30), id="sunday"),
        pytest.param(warsaw(2026, 11, 17, 7), warsaw(2026, 11, 17, 11, 30), id="before-opening"),
        pytest.param(warsaw(2026, 11, 17, 9), warsaw(2026, 11, 17, 13), id="same-day"),
        pytest.param(warsaw(2026, 11, 17, 11, 30), warsaw(2026, 11, 17, 15, 30), id="to-closing"),
        pytest.param(warsaw(2026, 3, 27, 14), warsaw(2026, 3, 30, 10), id="over-spring-dst-change"),
        pytest.param(
            warsaw(2026, 10, 23, 14), warsaw(2026, 10, 26, 10), id="over-autumn-dst-change"
        ),
    ],
)
def test_callback_due_four_business_hours_after_miss(
    city_hall: BusinessCalendar, missed: datetime, due: datetime
) -> None:
    result = city_hall.add_business_time(missed, CALLBACK_HOURS)

    assert result == due
    assert result.utcoffset() == due.utcoffset()
    assert result.tzinfo == WARSAW


def test_friday_miss_due_monday_at_eleven_winter_time(city_hall: BusinessCalendar) -> None:
    result = city_hall.add_business_time(warsaw(2026, 11, 20, 15), CALLBACK_HOURS)

    assert result.isoformat() == "2026-11-23T11:00:00+01:00"


def test_extra_closed_date_and_new_year_push_due_to_monday(
    city_hall_new_year_eve_closed: BusinessCalendar,
) -> None:
    result = city_hall_new_year_eve_closed.add_business_time(
        warsaw(2026, 12, 30, 14), CALLBACK_HOURS
    )

    assert result.isoformat() == "2027-01-04T10:00:00+01:00"


def test_input_in_utc_gives_result_in_calendar_zone(city_hall: BusinessCalendar) -> None:
    missed = datetime(2026, 11, 20, 14, tzinfo=UTC)  # 15:00 in Warsaw

    assert city_hall.add_business_time(missed, CALLBACK_HOURS) == warsaw(2026, 11, 23, 11)


def test_zero_hours_starts_the_clock_at_next_opening(city_hall: BusinessCalendar) -> None:
    assert city_hall.add_business_time(warsaw(2026, 11, 20, 18), 0) == warsaw(2026, 11, 23, 7, 30)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(
            datetime(2026, 11, 17, 7, 29, 59, tzinfo=WARSAW), False, id="just-before-opening"
        ),
        pytest.param(warsaw(2026, 11, 17, 7, 30), True, id="at-opening"),
        pytest.param(
            datetime(2026, 11, 17, 15, 29, 59, tzinfo=WARSAW), True, id="just-before-closing"
        ),
        pytest.param(warsaw(2026, 11, 17, 15, 30), False, id="at-closing"),
        pytest.param(warsaw(2026, 11, 21, 10), False, id="saturday"),
        pytest.param(warsaw(2026, 11, 11, 10), False, id="independence-day"),
        pytest.param(warsaw(2026, 12, 24, 10), False, id="christmas-eve"),
        pytest.param(datetime(2026, 11, 17, 6, 45, tzinfo=UTC), True, id="utc-input"),
    ],
)
def test_is_open(city_hall: BusinessCalendar, at: datetime, expected: bool) -> None:
    assert city_hall.is_open(at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(warsaw(2026, 11, 17, 10), warsaw(2026, 11, 17, 10), id="open-now"),
        pytest.param(warsaw(2026, 11, 17, 6), warsaw(2026, 11, 17, 7, 30), id="early-morning"),
        pytest.param(warsaw(2026, 11, 10, 16), warsaw(2026, 11, 12, 7, 30), id="holiday-next"),
        pytest.param(warsaw(2026, 3, 28, 12), warsaw(2026, 3, 30, 7, 30), id="dst-weekend"),
    ],
)
def test_next_opening(city_hall: BusinessCalendar, at: datetime, expected: datetime) -> None:
    result = city_hall.next_opening(at)

    assert result == expected
    assert result.utcoffset() == expected.utcoffset()


def test_no_holidays_when_country_is_empty() -> None:
    calendar = BusinessCalendar("Europe/Warsaw", WEEKDAYS, time(7, 30), time(15, 30), "")

    assert calendar.is_open(warsaw(2026, 11, 11, 10))


def test_business_seconds_over_weekend(city_hall: BusinessCalendar) -> None:
    seconds = city_hall.business_seconds_between(warsaw(2026, 11, 20, 15), warsaw(2026, 11, 23, 11))

    assert seconds == 4 * 3600


def test_business_seconds_is_negative_when_reversed(city_hall: BusinessCalendar) -> None:
    seconds = city_hall.business_seconds_between(warsaw(2026, 11, 23, 11), warsaw(2026, 11, 20, 15))

    assert seconds == -4 * 3600


@pytest.mark.parametrize(
    ("day", "elapsed_hours"),
    [
        pytest.param(date(2026, 3, 28), 3, id="ordinary-day"),
        pytest.param(date(2026, 3, 29), 2, id="spring-forward-loses-an-hour"),
        pytest.param(date(2026, 10, 25), 4, id="fall-back-gains-an-hour"),
    ],
)
def test_window_spanning_dst_change_counts_elapsed_time(day: date, elapsed_hours: int) -> None:
    # A night shift 01:00–04:00 wall clock contains the 02:00/03:00 switch.
    night = BusinessCalendar("Europe/Warsaw", ("sat", "sun"), time(1), time(4), "")
    start = datetime.combine(day, time(0), tzinfo=WARSAW)

    assert night.business_seconds_between(start, start + timedelta(hours=12)) == (
        elapsed_hours * 3600
    )


def test_spring_forward_night_shift_ends_at_four_local() -> None:
    night = BusinessCalendar("Europe/Warsaw", ("sun",), time(1), time(4), "")

    result = night.add_business_time(warsaw(2026, 3, 29, 0), 2)

    assert result.isoformat() == "2026-03-29T04:00:00+02:00"


def test_window_ending_inside_skipped_spring_hour_is_closed_that_day() -> None:
    # 02:30 does not exist on 2026-03-29 and reads as 03:30 (PEP 495), after the 03:00 close.
    gap = BusinessCalendar("Europe/Warsaw", ("sun",), time(2, 30), time(3), "")

    assert gap.add_business_time(warsaw(2026, 3, 28, 12), 0.25).isoformat() == (
        "2026-04-05T02:45:00+02:00"
    )
    assert gap.business_seconds_between(warsaw(2026, 3, 29), warsaw(2026, 3, 30)) == 0


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.is_open(datetime(2026, 11, 17, 10)), id="is_open"),
        pytest.param(lambda c: c.next_opening(datetime(2026, 11, 17, 10)), id="next_opening"),
        pytest.param(lambda c: c.add_business_time(datetime(2026, 11, 17, 10), 4), id="add"),
        pytest.param(
            lambda c: c.business_seconds_between(warsaw(2026, 11, 17), datetime(2026, 11, 18)),
            id="between",
        ),
    ],
)
def test_naive_datetime_is_rejected(
    city_hall: BusinessCalendar, call: Callable[[BusinessCalendar], object]
) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        call(city_hall)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"timezone": "Europe/Warszawa"}, "unknown timezone", id="timezone"),
        pytest.param({"days": ("mon", "pon")}, "unknown day names", id="day-name"),
        pytest.param({"days": ()}, "no open days", id="no-days"),
        pytest.param({"open_at": time(16)}, "is not before close_at", id="hours"),
        pytest.param({"holiday_country": "XX"}, "no calendar for country", id="country"),
        pytest.param({"closed": ("2026-12-31",)}, "must be datetime.date", id="closed-str"),
    ],
)
def test_invalid_configuration_is_rejected(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "timezone": "Europe/Warsaw",
        "days": WEEKDAYS,
        "open_at": time(7, 30),
        "close_at": time(15, 30),
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**arguments)  # type: ignore[arg-type]


def test_negative_hours_are_rejected(city_hall: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="finite number >= 0"):
        city_hall.add_business_time(warsaw(2026, 11, 17, 10), -1)


# Properties. Instants run across 2026–2027 (both DST changes, Christmas, New Year) and are drawn
# in Warsaw time, including the wall-clock hour that does not exist in spring, and in UTC.
instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([WARSAW, UTC]),
)
business_hours = st.floats(min_value=0, max_value=200, allow_nan=False)
CITY_HALL = BusinessCalendar(
    "Europe/Warsaw", WEEKDAYS, time(7, 30), time(15, 30), closed=(date(2026, 12, 31),)
)
# Weekend nights whose window holds the DST switch: 2 h long on 2026-03-29, 4 h on 2026-10-25.
NIGHT_SHIFT = BusinessCalendar("Europe/Warsaw", ("sat", "sun"), time(1), time(4), "")
calendars = st.sampled_from([CITY_HALL, NIGHT_SHIFT])


@given(calendar=calendars, start=instants, hours=business_hours)
def test_due_is_not_before_start(calendar: BusinessCalendar, start: datetime, hours: float) -> None:
    # As instants: Python compares two datetimes of the same tzinfo by their wall clocks, so
    # 01:00+01:00 would read as earlier than the spring gap's 02:00 fold=1 — the same instant
    # (PEP 495: in the gap, fold=1 takes the offset after the change).
    assert calendar.add_business_time(start, hours).astimezone(UTC) >= start.astimezone(UTC)


def test_a_start_in_the_spring_gap_is_due_at_the_same_instant() -> None:
    """The case hypothesis found: Sunday 2026-03-29 02:00 (fold=1) does not exist in Warsaw;
    it is 00:00 UTC, inside the night shift's window, so nothing added is due right then."""
    start = datetime(2026, 3, 29, 2, 0, fold=1, tzinfo=WARSAW)
    due = NIGHT_SHIFT.add_business_time(start, 0.0)
    assert due.astimezone(UTC) == start.astimezone(UTC) == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)


@given(calendar=calendars, start=instants, hours=business_hours)
def test_business_seconds_measure_back_the_added_time(
    calendar: BusinessCalendar, start: datetime, hours: float
) -> None:
    due = calendar.add_business_time(start, hours)

    assert abs(calendar.business_seconds_between(start, due) - hours * 3600) <= 1


@given(calendar=calendars, first=instants, second=instants, hours=business_hours)
def test_due_is_monotone_in_start(
    calendar: BusinessCalendar, first: datetime, second: datetime, hours: float
) -> None:
    earlier, later = sorted((first, second))

    assert calendar.add_business_time(earlier, hours) <= calendar.add_business_time(later, hours)


@given(start=instants, hours=business_hours)
def test_due_is_open_or_a_closing_time(start: datetime, hours: float) -> None:
    due = CITY_HALL.add_business_time(start, hours)

    assert CITY_HALL.is_open(due) or due.timetz().replace(tzinfo=None) == time(15, 30)
