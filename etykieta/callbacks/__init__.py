"""Callback obligations (rules T6–T8): business-hours deadlines and their evaluation.

Pure code: no database, no clock, no I/O. The current time is always passed in.
``opening`` says which finished call opens a duty and when it falls due, ``follow_ups``
which later calls bear on it, ``rules.evaluate`` what they add up to.
"""

from .calendar import BusinessCalendar
from .rules import (
    CallbackState,
    CallbackStatus,
    FollowUp,
    Obligation,
    evaluate,
)

__all__ = [
    "BusinessCalendar",
    "CallbackState",
    "CallbackStatus",
    "FollowUp",
    "Obligation",
    "evaluate",
]
