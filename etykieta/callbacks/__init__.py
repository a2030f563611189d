"""Callback obligations (rules T6–T8): business-hours deadlines and their evaluation.

Pure code: no database, no clock, no I/O. The current time is always passed in.
"""

from etykieta.callbacks.calendar import BusinessCalendar
from etykieta.callbacks.rules import (
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
