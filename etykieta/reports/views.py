"""What reports read: frozen views of stored calls and of their per-unit aggregates.

The read seam, :mod:`etykieta.storage.queries`, fills them with SQL; the builders and renderers
of this package take nothing else, so no report ever holds an ORM row or loads every call of
a period to count it. They are defined here, next to what reads them, because ``reports``
imports nothing of the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FirstCall = tuple[datetime, int]
"""Start time and id of the first call of a group, in the listing's order: where a unit that
the config does not list is placed among the rows of a table (the order it was first seen in)."""


@dataclass(frozen=True, slots=True)
class TransferView:
    """A call's last transfer attempt (T4–T6)."""

    kind: str
    from_extension: str | None
    target: str | None
    outcome: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class CallbackView:
    """The callback duty a call opened (T6–T8), its status as of the instant it was read at."""

    status: str
    reason: str
    unit: str
    due_at: datetime
    attempts: int
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class GreetingView:
    """A stored greeting verdict (T1, T2, T9, T10)."""

    verdict: str
    reason: str | None
    missing: tuple[str, ...]
    transcript: str | None
    first_word_s: float | None
    syllables_per_s: float | None
    too_fast: bool | None
    casual_words: tuple[str, ...]
    thanked: bool | None
    order_ok: bool | None


@dataclass(frozen=True, slots=True)
class CallView:
    """One stored call with its last transfer, its callback duty and its greeting."""

    id: int
    call_id: str
    started_at: datetime
    ended_at: datetime
    direction: str
    caller: str
    caller_e164: str
    dialed: str
    unit: str | None
    answered_by: str | None
    outcome: str
    answered_at: datetime | None
    ring_seconds: float | None
    rings: int | None
    within_target: bool | None
    post_dial_delay_s: float | None
    final_status: int | None
    caller_name: str | None
    wait_seconds: float | None
    in_progress: bool
    transfer: TransferView | None
    callback: CallbackView | None
    greeting: GreetingView | None
    speech_waiting: bool
    """A speech job is queued or running for the call: its greeting will be judged (again)."""

    @property
    def key(self) -> FirstCall:
        """Where the call stands in a listing (start, then id): ``after`` for the next page."""
        return self.started_at, self.id


@dataclass(frozen=True, slots=True)
class UnitCallCounts:
    """The calls of a period whose ``unit`` (the unit called) is ``unit`` (None: no unit)."""

    unit: str | None
    first_call: FirstCall
    inbound: int
    answered: int
    within_target: int
    """Inbound calls answered by the target ring (T3), by a person or by voicemail."""
    abandoned: int
    voicemail: int
    busy: int
    no_answer: int
    rejected: int
    failed: int
    unknown: int
    failed_transfers: int
    """Transfer attempts that failed, of the unit's calls of any direction (T5)."""


@dataclass(frozen=True, slots=True)
class UnitCallbackCounts:
    """The callback duties ``unit`` owes for the calls of a period, by status (T6–T8)."""

    unit: str
    first_call: FirstCall
    """Of the calls of the period that opened one of them."""
    pending: int
    missed: int
    done: int
    late: int
    caller_called_again: int


@dataclass(frozen=True, slots=True)
class GreetingCounts:
    """The greetings of the answered inbound and internal calls of a period that one extension
    (``answered_by``) answered for one unit called (``unit``).

    A per-unit table adds these up by the unit of the extension; a per-employee one reads them
    by extension.
    """

    answered_by: str | None
    unit: str | None
    first_call: FirstCall
    answered: int
    complete: int
    partial: int
    no_greeting: int
    silent: int
    unclear: int
    no_audio: int
    unsupported_codec: int
    not_checked: int
    """``not_checked``, a verdict not listed above, or no greeting stored at all."""
    too_fast: int
    """T2."""
    casual: int
    """Calls with a casual word in the opening window (T9)."""
    thanked: int
    """T10."""
    closings_heard: int
    """Calls whose closing was listened to (``thanked`` is known)."""
