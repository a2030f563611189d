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
    dispute: DisputeView | None = None
    """An employee's dispute of the verdict; when it was overridden, ``verdict`` is the
    supervisor's and the machine's is ``dispute.machine_verdict``."""


@dataclass(frozen=True, slots=True)
class DisputeEventView:
    """One step of a dispute: ``disputed``, ``confirmed`` or ``overridden``, by whom, when."""

    at: datetime
    who: str
    action: str
    verdict: str | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A disputed greeting verdict: ``open``, ``confirmed`` or ``overridden`` (to ``verdict``)."""

    status: str
    machine_verdict: str
    verdict: str | None
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    events: tuple[DisputeEventView, ...]


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
class MissingElements:
    """How many greetings lacked each element of T1's template (``greeting.missing``)."""

    unit: int = 0
    office: int = 0
    name: int = 0
    dzien_dobry: int = 0


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
    missing: MissingElements = MissingElements()
    """Greetings that lacked each element (T1)."""
    overridden: int = 0
    """Greetings whose verdict a supervisor overrode (counted above as the supervisor set it)."""


class ServiceLevel:
    """The headline of T3 both ways, for any counts that have ``inbound_calls``, ``answered``,
    ``answered_within_target`` and ``given_up_before_target``."""

    __slots__ = ()
    inbound_calls: int
    answered: int
    answered_within_target: int
    given_up_before_target: int

    @property
    def within_target_pct(self) -> float | None:
        """Of the answered calls, the share answered by the target ring (T3), in percent."""
        return _pct(self.answered_within_target, self.answered)

    @property
    def callers_counted(self) -> int:
        """The callers the service level is taken of: all but those who gave up in time."""
        return self.inbound_calls - self.given_up_before_target

    @property
    def callers_within_target_pct(self) -> float | None:
        """The caller's view (a contact centre's service level), in percent: answered by the
        target ring, of every inbound call but those given up before the target ring ended."""
        return _pct(self.answered_within_target, self.callers_counted)


@dataclass(frozen=True, slots=True)
class CallFigures(ServiceLevel):
    """The answer-time figures of a unit's or an employee's inbound calls of a period (T3), and
    the transfers of its calls of any direction (T5).

    ``given_up_before_target``: inbound calls the caller abandoned while the target ring was
    still sounding (``wait_seconds`` under :func:`~etykieta.telephony.rings.target_end_s`).
    ``rings`` pairs each ring number at answer with the calls answered on it, from ring 1 to
    the last one any call was answered on. The ring times are exact order statistics of the
    stored ``ring_seconds`` of the answered calls: the median (the mean of the two middle ones
    of an even count) and the 90th percentile by nearest rank (the ``ceil(0.9·n)``-th).
    """

    inbound_calls: int = 0
    answered: int = 0
    answered_within_target: int = 0
    abandoned: int = 0
    busy: int = 0
    no_answer: int = 0
    rejected: int = 0
    voicemail: int = 0
    failed: int = 0
    unknown: int = 0
    given_up_before_target: int = 0
    transfers: int = 0
    """Calls with a transfer."""
    failed_transfers: int = 0
    """Calls whose (last) transfer failed: the caller was left without a connection."""
    rings: tuple[tuple[int, int], ...] = ()
    ring_seconds_median: float | None = None
    ring_seconds_p90: float | None = None


@dataclass(frozen=True, slots=True)
class UnitCalls:
    """The :class:`CallFigures` of the calls whose ``unit`` (the unit called) is ``unit``."""

    unit: str | None
    first_call: FirstCall
    figures: CallFigures


@dataclass(frozen=True, slots=True)
class CallbackFigures:
    """Callback duties by status as of the instant they were read at (T6–T8)."""

    done: int = 0
    late: int = 0
    caller_called_again: int = 0
    pending: int = 0
    missed: int = 0

    @property
    def required(self) -> int:
        """Every duty, whatever its status."""
        return self.done + self.late + self.caller_called_again + self.pending + self.missed


@dataclass(frozen=True, slots=True)
class ReportScope:
    """What one per-unit report reads: its period ``[since, until)`` by ``started_at``, the
    instant callbacks are judged at, the T3 target's end in ring seconds, the unit (None: all)
    and the extensions of the employees it has rows for."""

    since: datetime
    until: datetime
    as_of: datetime
    target_end_s: float
    unit: str | None = None
    staff: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportCounts:
    """Everything a per-unit report adds up, as the read seam's aggregates returned it.

    ``staff_calls`` and ``staff_callbacks`` are keyed by extension and count the calls that
    rang or were answered there; the employees' greetings are the ``greetings`` groups of
    their extension.
    """

    unit_calls: tuple[UnitCalls, ...]
    unit_callbacks: tuple[UnitCallbackCounts, ...]
    greetings: tuple[GreetingCounts, ...]
    staff_calls: dict[str, CallFigures]
    staff_callbacks: dict[str, CallbackFigures]


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None
