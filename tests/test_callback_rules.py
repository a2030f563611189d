"""evaluate(): whether the unit returned a missed call or failed transfer (T6–T8)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from etykieta.callbacks import (
    BusinessCalendar,
    CallbackState,
    CallbackStatus,
    FollowUp,
    Obligation,
    evaluate,
)
from etykieta.callbacks.follow_ups import CallFacts, follow_ups, status_as_of

WARSAW = ZoneInfo("Europe/Warsaw")
CALLER = "+48612345678"
UNIT = "Wydział Komunikacji"

# A call missed on Monday 2026-11-16 at 18:00, after hours: four business hours later is
# Tuesday 11:30 (see test_business_calendar.py).
OPENED = datetime(2026, 11, 16, 18, 0, tzinfo=WARSAW)
DUE = datetime(2026, 11, 17, 11, 30, tzinfo=WARSAW)


def tue(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 17, hour, minute, second, tzinfo=WARSAW)


def callback(started: datetime, answered_after_s: int | None = None) -> FollowUp:
    """An outbound call from the unit to the caller; answered after so many seconds, or not."""
    if answered_after_s is None:
        return FollowUp(started, "callback", answered=False)
    return FollowUp(started, "callback", True, started + timedelta(seconds=answered_after_s))


def caller_again(started: datetime, answered_after_s: int | None = None) -> FollowUp:
    """An inbound call from the caller; answered by any staff member, or not."""
    if answered_after_s is None:
        return FollowUp(started, "caller_again", answered=False)
    return FollowUp(started, "caller_again", True, started + timedelta(seconds=answered_after_s))


@pytest.fixture
def missed_call() -> Obligation:
    return Obligation(OPENED, DUE, CALLER, UNIT, "missed_call")


CASES = [
    # T8: nothing has happened yet.
    pytest.param([], tue(9), CallbackState(CallbackStatus.PENDING, 0, None), id="pending-no-calls"),
    pytest.param([], DUE, CallbackState(CallbackStatus.MISSED, 0, None), id="missed-at-due"),
    pytest.param([], tue(15), CallbackState(CallbackStatus.MISSED, 0, None), id="missed-after-due"),
    # T6/T8: the first answered callback closes it, on time or late.
    pytest.param(
        [callback(tue(8, 5), 12)],
        tue(15),
        CallbackState(CallbackStatus.DONE, 1, tue(8, 5, 12)),
        id="done-first-try",
    ),
    pytest.param(
        [callback(tue(11, 29, 50), 10)],
        tue(15),
        CallbackState(CallbackStatus.DONE, 1, DUE),
        id="done-answered-exactly-at-due",
    ),
    pytest.param(
        [callback(tue(11, 29, 50), 11)],
        tue(15),
        CallbackState(CallbackStatus.LATE, 1, tue(11, 30, 1)),
        id="late-answered-a-second-after-due",
    ),
    pytest.param(
        [callback(tue(14, 10), 8)],
        tue(15),
        CallbackState(CallbackStatus.LATE, 1, tue(14, 10, 8)),
        id="late",
    ),
    # T7: unanswered callbacks are attempts and keep the obligation open.
    pytest.param(
        [callback(tue(8)), callback(tue(9, 15)), callback(tue(10, 40), 20)],
        tue(15),
        CallbackState(CallbackStatus.DONE, 3, tue(10, 40, 20)),
        id="done-on-third-attempt",
    ),
    pytest.param(
        [callback(tue(8)), callback(tue(9, 15))],
        tue(10),
        CallbackState(CallbackStatus.PENDING, 2, None),
        id="pending-after-two-unanswered",
    ),
    pytest.param(
        [callback(tue(8)), callback(tue(9, 15)), callback(tue(11))],
        tue(12),
        CallbackState(CallbackStatus.MISSED, 3, None),
        id="missed-after-three-unanswered",
    ),
    pytest.param(
        [callback(tue(8)), callback(tue(13), 30)],
        tue(15),
        CallbackState(CallbackStatus.LATE, 2, tue(13, 0, 30)),
        id="late-after-unanswered-on-time-attempt",
    ),
    # T8: the caller had to call again and got through.
    pytest.param(
        [caller_again(tue(7, 45), 9)],
        tue(15),
        CallbackState(CallbackStatus.CALLER_CALLED_AGAIN, 0, tue(7, 45, 9)),
        id="caller-called-again",
    ),
    pytest.param(
        [callback(tue(7, 35)), caller_again(tue(9), 15), callback(tue(10), 5)],
        tue(15),
        CallbackState(CallbackStatus.CALLER_CALLED_AGAIN, 1, tue(9, 0, 15)),
        id="caller-got-through-after-an-unanswered-callback",
    ),
    pytest.param(
        [caller_again(tue(8)), caller_again(tue(8, 20))],
        tue(9),
        CallbackState(CallbackStatus.PENDING, 0, None),
        id="unanswered-caller-again-changes-nothing",
    ),
    pytest.param(
        [caller_again(tue(8)), caller_again(tue(12))],
        tue(13),
        CallbackState(CallbackStatus.MISSED, 0, None),
        id="unanswered-caller-again-after-due-is-missed",
    ),
    # Whatever comes after the closing call does not change the outcome or the attempts.
    pytest.param(
        [callback(tue(8), 10), caller_again(tue(9), 5), callback(tue(10), 5)],
        tue(15),
        CallbackState(CallbackStatus.DONE, 1, tue(8, 0, 10)),
        id="calls-after-done-ignored",
    ),
    # Calls before the obligation opened are not follow-ups of it.
    pytest.param(
        [callback(datetime(2026, 11, 16, 14, tzinfo=WARSAW), 10)],
        tue(9),
        CallbackState(CallbackStatus.PENDING, 0, None),
        id="callback-before-opened-ignored",
    ),
    pytest.param(
        [caller_again(datetime(2026, 11, 16, 17, 59, 59, tzinfo=WARSAW), 3)],
        tue(12),
        CallbackState(CallbackStatus.MISSED, 0, None),
        id="caller-again-before-opened-ignored",
    ),
    pytest.param(
        [callback(OPENED, 10)],
        tue(12),
        CallbackState(CallbackStatus.DONE, 1, OPENED + timedelta(seconds=10)),
        id="callback-at-opened-counts",
    ),
    # Time order, not input order; at the same instant the unit's callback comes first.
    pytest.param(
        [callback(tue(10), 10), callback(tue(8)), caller_again(tue(9), 5)],
        tue(15),
        CallbackState(CallbackStatus.CALLER_CALLED_AGAIN, 1, tue(9, 0, 5)),
        id="unsorted-input",
    ),
    pytest.param(
        [caller_again(tue(9), 2), callback(tue(9), 20)],
        tue(15),
        CallbackState(CallbackStatus.DONE, 1, tue(9, 0, 20)),
        id="simultaneous-callback-wins",
    ),
]


@pytest.mark.parametrize(("follow_ups", "now", "expected"), CASES)
def test_evaluate(
    missed_call: Obligation, follow_ups: list[FollowUp], now: datetime, expected: CallbackState
) -> None:
    assert evaluate(missed_call, follow_ups, now) == expected


def test_evaluate_accepts_a_one_shot_iterable(missed_call: Obligation) -> None:
    follow_ups = iter([callback(tue(8)), callback(tue(9), 4)])

    assert evaluate(missed_call, follow_ups, tue(15)).status is CallbackStatus.DONE


def test_failed_transfer_with_deadline_from_calendar_is_done() -> None:
    # T6: a transfer fails on Friday at 15:00; the promised callback is due Monday 11:00.
    calendar = BusinessCalendar(
        "Europe/Warsaw", ("mon", "tue", "wed", "thu", "fri"), time(7, 30), time(15, 30)
    )
    opened = datetime(2026, 11, 20, 15, 0, tzinfo=WARSAW)
    obligation = Obligation(
        opened, calendar.add_business_time(opened, 4), CALLER, UNIT, "failed_transfer"
    )
    monday = datetime(2026, 11, 23, 10, 55, tzinfo=WARSAW)

    state = evaluate(
        obligation, [callback(opened + timedelta(minutes=20)), callback(monday, 7)], monday
    )

    assert state == CallbackState(CallbackStatus.DONE, 2, monday + timedelta(seconds=7))


def test_status_values_are_stable_strings() -> None:
    assert [status.value for status in CallbackStatus] == [
        "done",
        "late",
        "caller_called_again",
        "pending",
        "missed",
    ]


def test_naive_now_is_rejected(missed_call: Obligation) -> None:
    with pytest.raises(ValueError, match="naive datetime: now"):
        evaluate(missed_call, [], datetime(2026, 11, 17, 9))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            (datetime(2026, 11, 16, 18), DUE, CALLER, UNIT, "missed_call"),
            "naive datetime: opened_at",
            id="naive-opened",
        ),
        pytest.param(
            (OPENED, datetime(2026, 11, 17, 11, 30), CALLER, UNIT, "missed_call"),
            "naive datetime: due_at",
            id="naive-due",
        ),
        pytest.param(
            (DUE, OPENED, CALLER, UNIT, "missed_call"), "precedes opened_at", id="due-before-open"
        ),
        pytest.param(
            (OPENED, DUE, "0612345678", UNIT, "missed_call"), "not E.164", id="national-number"
        ),
        pytest.param((OPENED, DUE, "+48", UNIT, "missed_call"), "not E.164", id="too-short"),
        pytest.param(
            (OPENED, DUE, "+4861234567890123", UNIT, "missed_call"), "not E.164", id="too-long"
        ),
        pytest.param(
            (OPENED, DUE, CALLER, UNIT, "voicemail"), "unknown obligation reason", id="reason"
        ),
    ],
)
def test_invalid_obligation_is_rejected(arguments: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Obligation(*arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            (datetime(2026, 11, 17, 9), "callback", False, None),
            "naive datetime: started_at",
            id="naive-started",
        ),
        pytest.param(
            (tue(9), "callback", True, datetime(2026, 11, 17, 9, 0, 5)),
            "naive datetime: answered_at",
            id="naive-answered",
        ),
        pytest.param((tue(9), "transfer", False, None), "unknown follow-up kind", id="kind"),
        pytest.param(
            (tue(9), "callback", True, None), "exactly when answered", id="answered-without-time"
        ),
        pytest.param(
            (tue(9), "callback", False, tue(9, 0, 5)), "exactly when answered", id="time-unanswered"
        ),
        pytest.param(
            (tue(9), "callback", True, tue(8, 59)), "precedes", id="answered-before-start"
        ),
    ],
)
def test_invalid_follow_up_is_rejected(arguments: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FollowUp(*arguments)  # type: ignore[arg-type]


# -- which calls bear on a duty (callbacks/follow_ups.py) ----------------------------------
def _facts(id: int, direction: str, caller: str, dialed: str, unit: str | None, outcome: str,
           minutes: int) -> CallFacts:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return CallFacts(id, direction, caller, dialed, unit, outcome, start,
                     start + timedelta(seconds=5) if outcome == "answered" else None)


def test_follow_ups_are_calls_from_the_unit_to_the_caller_and_the_caller_answered_again() -> None:
    duty = Obligation(opened_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
                      due_at=datetime(2026, 11, 20, 13, 0, tzinfo=UTC), number="+48600100201",
                      unit="Wydział Komunikacji", reason="missed_call")
    calls = [
        _facts(1, "inbound", "+48600100201", "1201", "Wydział Komunikacji", "busy", 0),  # its own
        _facts(2, "outbound", "1202", "+48600100201", "Wydział Komunikacji", "no_answer", 10),
        _facts(3, "outbound", "1301", "+48600100201", "Wydział Podatków", "answered", 20),
        _facts(4, "inbound", "+48600100201", "1201", "Wydział Komunikacji", "abandoned", 30),
        _facts(5, "inbound", "+48600100201", "1202", "Wydział Komunikacji", "answered", 40),
        _facts(6, "outbound", "1202", "+48600100999", "Wydział Komunikacji", "answered", 50),
    ]
    found = follow_ups(duty, calls, opened_by=1)
    assert [(f.kind, f.answered) for f in found] == [("callback", False),
                                                     ("caller_again", True)]
    assert evaluate(duty, found, duty.due_at).status is CallbackStatus.CALLER_CALLED_AGAIN


def test_an_open_duty_reads_pending_until_due_then_missed() -> None:
    due = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert status_as_of("pending", due, due - timedelta(seconds=1)) == "pending"
    assert status_as_of("pending", due, due) == "missed"
    assert status_as_of("missed", due, due - timedelta(hours=1)) == "pending"
    assert status_as_of("done", due, due + timedelta(days=3)) == "done"
