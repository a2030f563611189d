"""What the mail face sends: one message to one person, built from the reports layer.

The builders (:mod:`.weekly`, :mod:`.reminders`) make :class:`Outgoing` values — pure data,
the same figures as the dashboard; the sender (:mod:`.send`) turns each into a MIME message
(:func:`~.mime.to_email`), records it in the outbox (``storage.outbox``) before and after
handing it to SMTP, and never sends one ``key`` twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(enum.StrEnum):
    """What a message is, part of its key: a person gets at most one of each per week (or per
    callback duty, for reminders)."""

    STAFF_WEEKLY = "staff_weekly"  # an employee's own week
    UNIT_WEEKLY = "unit_weekly"  # the unit's week, to one of its supervisors
    CALLBACK_REMINDER = "callback_reminder"  # a callback duty about to become overdue (T6–T8)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message; ``content_id`` set: an inline image the HTML shows as
    ``<img src="cid:...">``."""

    filename: str
    content_type: str  # "image/png", "application/vnd.openxmlformats-…"
    data: bytes
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    extension: str  # the [[staff]] extension of the person
    name: str  # "Anna Kowalska"
    email: str  # from [[staff]] email


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message, ready to be sent.

    ``key`` names it for ever: ``(kind, period, recipient)`` — e.g. ``staff_weekly/2026-W48/1201``
    or ``callback_reminder/<obligation id>/1201`` — and is what makes a second run send nothing.
    ``text`` and ``html`` are the two parts of multipart/alternative (the HTML self-contained:
    inline styles, images by ``cid:`` only).
    """

    kind: Kind
    period: str  # "2026-W48", or the obligation's id for a reminder
    recipient: Recipient
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.kind.value}/{self.period}/{self.recipient.extension}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """Someone who gets no message of that kind this period, and why (``report weekly
    --status`` lists them): ``no e-mail address in [[staff]]``, ``no calls that week``."""

    kind: Kind
    period: str
    extension: str
    name: str
    why: str


@dataclass(frozen=True, slots=True)
class Batch:
    """What one run of a builder found to send, and whom it leaves out."""

    messages: tuple[Outgoing, ...]
    skipped: tuple[Skipped, ...] = ()
