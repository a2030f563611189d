"""Which finished calls open a callback obligation, and when it falls due (T6, T8)."""

from __future__ import annotations

from ..config import BusinessHours, CallbackPolicy
from ..telephony.numbers import Directory
from ..telephony.records import CallRecord
from .calendar import BusinessCalendar
from .rules import E164_PATTERN, Obligation, ObligationReason

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# T8: a call that no staff member answered is the unit's to return (voicemail included).
MISSED_OUTCOMES = frozenset({"abandoned", "busy", "no_answer", "rejected", "voicemail"})


def calendar_for(hours: BusinessHours) -> BusinessCalendar:
    """The business calendar the config's ``[business_hours]`` describes."""
    return BusinessCalendar(
        timezone=hours.timezone,
        days=[DAY_NAMES[day] for day in sorted(hours.days)],
        open_at=hours.open,
        close_at=hours.close,
        holiday_country=hours.holidays,
        closed=sorted(hours.closed),
    )


def obligation_for(record: CallRecord, *, directory: Directory, calendar: BusinessCalendar,
                   policy: CallbackPolicy) -> Obligation | None:
    """The obligation a finished call opens, if any.

    T8: an external call not answered by staff is the dialled unit's to return. T6: a transfer
    that failed leaves the caller waiting for the target's unit to call back. A caller whose
    number is hidden cannot be called back, so no obligation is opened for it.
    """
    if record.direction != "inbound" or not E164_PATTERN.fullmatch(record.caller_e164):
        return None
    transfer = record.transfer
    unit: str | None
    reason: ObligationReason
    if record.outcome in MISSED_OUTCOMES:
        opened_at, unit, reason = record.ended_at, record.unit, "missed_call"
    elif transfer is not None and transfer.outcome == "failed":
        target_unit = directory.unit_of(transfer.target) if transfer.target else None
        unit = target_unit.name if target_unit else record.unit
        opened_at, reason = transfer.failed_at or transfer.at, "failed_transfer"
    else:
        return None
    if unit is None:
        return None
    due_at = calendar.add_business_time(opened_at, policy.due_within_business_hours)
    return Obligation(opened_at=opened_at, due_at=due_at, number=record.caller_e164, unit=unit,
                      reason=reason)
