"""Disputed greeting verdicts: the employee says the machine misheard, the supervisor decides.

A greeting verdict comes from speech recognition and can be wrong (T1), so the employee whose
call it is may dispute it with a comment; the supervisor of the unit then confirms the verdict
or overrides it with their own. Reports count an overridden verdict as the supervisor set it
(:func:`effective_verdict`, used by :func:`~.queries.greeting_counts` and the listing) and say
how many were overridden. Every step is a `DisputeEvent` row with who and when, and an entry
of the audit log. The dispute hangs on the call, not on the greeting row, so a greeting judged
again keeps it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, or_, select
from sqlalchemy.orm import Session, selectinload

from ..errors import EtykietaError
from ..reports.views import CallView, DisputeEventView, DisputeView
from .audit import AuditAction, record
from .models import Call, Dispute, DisputeEvent, Greeting

COMMENT_MAX = 2000
SETTABLE_VERDICTS = ("complete", "partial", "no_greeting", "silent", "unclear")
"""What a supervisor may set: verdicts about what was said (not about the audio's absence)."""
DISPUTABLE_VERDICTS = ("complete", "partial", "no_greeting", "silent", "unclear")
"""Verdicts an employee may dispute: the ones recognition decided."""


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    OVERRIDDEN = "overridden"


class DisputeAction(enum.StrEnum):
    DISPUTED = "disputed"
    CONFIRMED = "confirmed"
    OVERRIDDEN = "overridden"


class DisputeError(EtykietaError):
    """A dispute step that the call's state does not allow (said to the user, not a crash)."""


def effective_verdict() -> ColumnElement[str]:
    """The verdict reports count: the supervisor's where they overrode the greeting's, over
    LEFT JOINs of `Greeting` and `Dispute` on the call."""
    return case((Dispute.status == DisputeStatus.OVERRIDDEN.value, Dispute.verdict),
                else_=Greeting.verdict)


def machine_missing_counts() -> ColumnElement[bool]:
    """Whether the greeting's ``missing`` elements still count: not when a supervisor overrode
    the verdict to one that is not ``partial`` (a complete greeting lacks nothing)."""
    return or_(Dispute.id.is_(None), Dispute.status != DisputeStatus.OVERRIDDEN.value,
               Dispute.verdict == "partial")


def overridden() -> ColumnElement[bool]:
    return and_(Dispute.id.is_not(None), Dispute.status == DisputeStatus.OVERRIDDEN.value)


def file_dispute(session: Session, call_pk: int, *, who: str, comment: str, at: datetime,
                 address: str | None = None) -> DisputeView:
    """The employee's dispute of the call's greeting verdict; one per call."""
    call = session.get(Call, call_pk, options=[selectinload(Call.dispute)])
    if call is None or call.greeting is None:
        raise DisputeError("the call has no greeting verdict to dispute")
    if call.greeting.verdict not in DISPUTABLE_VERDICTS:
        raise DisputeError(f"a verdict {call.greeting.verdict!r} cannot be disputed")
    if call.dispute is not None:
        raise DisputeError("the verdict of this call is already disputed")
    comment = _comment(comment)
    if not comment:
        raise DisputeError("a dispute needs a comment")
    dispute = Dispute(status=DisputeStatus.OPEN.value, machine_verdict=call.greeting.verdict,
                      verdict=None, opened_by=who, opened_at=at, updated_at=at)
    dispute.events.append(DisputeEvent(at=at, who=who, action=DisputeAction.DISPUTED.value,
                                       verdict=call.greeting.verdict, comment=comment))
    call.dispute = dispute
    record(session, who, AuditAction.DISPUTE, at=at, address=address, call=call.call_id,
           call_pk=call_pk, verdict=call.greeting.verdict, comment=comment)
    session.flush()
    return _view(dispute)


def decide_dispute(session: Session, call_pk: int, *, who: str, verdict: str | None,
                   comment: str = "", at: datetime, address: str | None = None) -> DisputeView:
    """The supervisor's decision: ``verdict`` None (or the machine's) confirms it, another
    overrides it. A decision may be changed later; each one is kept."""
    dispute = session.scalars(select(Dispute).where(Dispute.call_pk == call_pk)
                              .options(selectinload(Dispute.events))).one_or_none()
    if dispute is None:
        raise DisputeError("the verdict of this call is not disputed")
    if verdict is not None and verdict not in SETTABLE_VERDICTS:
        raise DisputeError(f"{verdict!r} is not a verdict a supervisor may set")
    confirm = verdict is None or verdict == dispute.machine_verdict
    action = DisputeAction.CONFIRMED if confirm else DisputeAction.OVERRIDDEN
    dispute.status = (DisputeStatus.CONFIRMED if confirm else DisputeStatus.OVERRIDDEN).value
    dispute.verdict = None if confirm else verdict
    dispute.updated_at = at
    dispute.events.append(DisputeEvent(at=at, who=who, action=action.value,
                                       verdict=dispute.machine_verdict if confirm else verdict,
                                       comment=_comment(comment) or None))
    call_id = session.scalar(select(Call.call_id).where(Call.id == call_pk))
    record(session, who, AuditAction.DISPUTE_CONFIRMED if confirm else AuditAction.OVERRIDE,
           at=at, address=address, call=call_id, call_pk=call_pk,
           machine_verdict=dispute.machine_verdict, verdict=dispute.verdict,
           comment=_comment(comment) or None)
    session.flush()
    return _view(dispute)


def disputes_of(session: Session, call_pks: Sequence[int]) -> dict[int, DisputeView]:
    """The disputes of these calls with their steps, by call: one statement (and one for the
    steps), whatever the number of calls."""
    if not call_pks:
        return {}
    rows = session.scalars(select(Dispute).where(Dispute.call_pk.in_(list(call_pks)))
                           .options(selectinload(Dispute.events)))
    return {row.call_pk: _view(row) for row in rows}


def with_disputes(session: Session, calls: list[CallView]) -> list[CallView]:
    """``calls`` with each disputed greeting's dispute attached, and its verdict and missing
    elements the ones reports count (:func:`effective_verdict`, :func:`machine_missing_counts`)."""
    found = disputes_of(session, [call.id for call in calls if call.greeting is not None])
    if not found:
        return calls
    shown: list[CallView] = []
    for call in calls:
        dispute = found.get(call.id)
        if call.greeting is None or dispute is None:
            shown.append(call)
            continue
        greeting = replace(call.greeting, dispute=dispute)
        if dispute.status == DisputeStatus.OVERRIDDEN and dispute.verdict is not None:
            greeting = replace(greeting, verdict=dispute.verdict, missing=(
                greeting.missing if dispute.verdict == "partial" else ()))
        shown.append(replace(call, greeting=greeting))
    return shown


def _comment(text: str) -> str:
    return " ".join(text.split())[:COMMENT_MAX]


def _view(row: Dispute) -> DisputeView:
    return DisputeView(
        status=row.status, machine_verdict=row.machine_verdict, verdict=row.verdict,
        opened_by=row.opened_by, opened_at=row.opened_at, updated_at=row.updated_at,
        events=tuple(DisputeEventView(e.at, e.who, e.action, e.verdict, e.comment)
                     for e in row.events))
