"""The outbox: every e-mail of the mail face, recorded before it is sent and after.

A message is named by its key (``staff_weekly/2026-W48/1201``, unique). The sender
:func:`claim`\\ s it — the row says ``sending``, with the Message-ID chosen then — before it hands
the message to SMTP, and records the server's answer after: :func:`mark_sent` (the reply and the
time) or :func:`mark_failed` (``temporary`` or ``permanent``, the error, the attempts so far).
A key ``sent`` is never claimed again, so a second run sends nothing.

A row left ``sending`` by a process that died is claimed again with the *same* Message-ID: the
server may have accepted it in the instant before the process died (between its ``250`` and
our commit), and a message sent twice with one Message-ID can be recognised as one by the
receiving systems, while a message never sent is lost for good. A row ``sending`` whose owner
may still be alive (the predicate the caller passes) is left alone: another sender is at it.

Claims are compare-and-set (an insert on the unique key — the loser gets ``IntegrityError`` at
the flush — or an update on the state and attempt count read), so two senders running at once
never both send one key. Nothing here reads the
clock or makes Message-IDs: they are passed in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .models import OutboxMessage


class State(enum.StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Failure(enum.StrEnum):
    TEMPORARY = "temporary"  # 4xx, no connection, a timeout: worth trying again
    PERMANENT = "permanent"  # 5xx: this address (or this sender, this login) is refused


@dataclass(frozen=True, slots=True)
class Item:
    """What the outbox records of a message or of a person left out."""

    key: str
    kind: str
    period: str
    extension: str
    name: str
    address: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    """A row of the outbox as ``report weekly --status`` shows it."""

    key: str
    kind: str
    period: str
    extension: str
    name: str
    address: str | None
    state: State
    message_id: str | None
    attempts: int
    failure: Failure | None
    error: str | None
    reply: str | None
    owner: str | None
    updated_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    """A message this sender may send now, under ``message_id``.

    ``resumed``: it was left ``sending`` by a sender that died, and goes again with the
    Message-ID it had then.
    """

    message_id: str
    attempt: int
    resumed: bool


OwnerAlive = Callable[[str, datetime], bool]
"""Whether the sender named ``owner`` that last touched a row at that time may still be at it."""


def entries(session: Session, keys: Collection[str]) -> dict[str, Entry]:
    """The rows of these keys (those that exist)."""
    if not keys:
        return {}
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.key.in_(list(keys))))
    return {row.key: _entry(row) for row in rows}


def listing(session: Session, period: str, kinds: Iterable[str]) -> list[Entry]:
    """Every row of ``period`` of these kinds, by kind, period, extension; a period's
    sub-periods too (``2026-W48:Wydział Komunikacji``, a unit's week, is of ``2026-W48``)."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(or_(OutboxMessage.period == period,
                   OutboxMessage.period.startswith(f"{period}:", autoescape=True)),
               OutboxMessage.kind.in_(list(kinds)))
        .order_by(OutboxMessage.kind, OutboxMessage.period, OutboxMessage.extension))
    return [_entry(row) for row in rows]


def claim(session: Session, item: Item, *, message_id: str, owner: str, now: datetime,
          owner_alive: OwnerAlive) -> Claim | None:
    """Record ``item`` as ``sending`` by ``owner``; None when it must not be sent now.

    Not sent: it was sent before, or another live sender holds it. ``message_id`` is used
    only the first time; every later attempt keeps the row's. Commit before sending.
    """
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.key == item.key))
    if row is None:  # another sender inserting it at once: IntegrityError at the flush
        session.add(OutboxMessage(
            key=item.key, kind=item.kind, period=item.period, extension=item.extension,
            name=item.name, address=item.address, state=State.SENDING.value,
            message_id=message_id, attempts=1, owner=owner, created_at=now, updated_at=now))
        session.flush()
        return Claim(message_id, 1, resumed=False)
    state = State(row.state)
    if state is State.SENT:
        return None
    if state is State.SENDING and row.owner is not None and owner_alive(row.owner,
                                                                         row.updated_at):
        return None
    chosen, attempt = row.message_id or message_id, row.attempts + 1
    taken = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.key == item.key, OutboxMessage.state == row.state,
               OutboxMessage.attempts == row.attempts)
        .values(state=State.SENDING.value, message_id=chosen, attempts=attempt,
                owner=owner, address=item.address, name=item.name, updated_at=now,
                failure=None, error=None)
        .execution_options(synchronize_session=False))
    if getattr(taken, "rowcount", 0) != 1:
        return None  # another sender changed it since we read it
    session.expire(row)
    return Claim(chosen, attempt, resumed=state is State.SENDING)


def mark_sent(session: Session, key: str, *, reply: str, now: datetime) -> None:
    """The server accepted the message (``reply`` is its answer to the end of DATA)."""
    _set(session, key, state=State.SENT.value, reply=reply, sent_at=now, updated_at=now,
         owner=None, failure=None, error=None)


def mark_failed(session: Session, key: str, *, failure: Failure, error: str,
                now: datetime) -> None:
    """The message was not accepted; a later run tries it again."""
    _set(session, key, state=State.FAILED.value, failure=failure.value, error=error,
         updated_at=now, owner=None)


def record_unsent(session: Session, item: Item, *, failure: Failure, error: str,
                  now: datetime) -> None:
    """A message not even handed over (no connection): ``failed``, one attempt more; a row
    already ``sent`` or held by a sender stays as it is."""
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.key == item.key))
    if row is None:
        session.add(OutboxMessage(
            key=item.key, kind=item.kind, period=item.period, extension=item.extension,
            name=item.name, address=item.address, state=State.FAILED.value, attempts=1,
            failure=failure.value, error=error, created_at=now, updated_at=now))
    elif row.state in (State.FAILED.value, State.SKIPPED.value):
        row.state, row.failure, row.error = State.FAILED.value, failure.value, error
        row.attempts, row.updated_at = row.attempts + 1, now


def record_skipped(session: Session, item: Item, *, why: str, now: datetime) -> None:
    """Someone who gets no message (``why``); a message already sent to them stays recorded."""
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.key == item.key))
    if row is None:
        session.add(OutboxMessage(
            key=item.key, kind=item.kind, period=item.period, extension=item.extension,
            name=item.name, address=None, state=State.SKIPPED.value, error=why,
            created_at=now, updated_at=now))
    elif row.state in (State.SKIPPED.value, State.FAILED.value) and (
            row.state != State.SKIPPED.value or row.error != why):
        row.state, row.error, row.failure, row.updated_at = State.SKIPPED.value, why, None, now


def _set(session: Session, key: str, **values: object) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.key == key).values(**values)
                    .execution_options(synchronize_session=False))


def _entry(row: OutboxMessage) -> Entry:
    return Entry(
        key=row.key, kind=row.kind, period=row.period, extension=row.extension, name=row.name,
        address=row.address, state=State(row.state), message_id=row.message_id,
        attempts=row.attempts, failure=Failure(row.failure) if row.failure else None,
        error=row.error, reply=row.reply, owner=row.owner, updated_at=row.updated_at,
        sent_at=row.sent_at)
