"""The audit log: who logged in, exported, overrode a verdict or changed a user, and when."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry

CLI = "cli"
"""``who`` of what was done on the command line."""


class AuditAction(enum.StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"
    EXPORT = "export"
    OVERRIDE = "override"
    DISPUTE = "dispute"
    DISPUTE_CONFIRMED = "dispute_confirmed"
    USER_ADDED = "user_added"
    USER_REMOVED = "user_removed"
    PASSWORD_CHANGED = "password_changed"


@dataclass(frozen=True, slots=True)
class AuditView:
    at: datetime
    who: str
    action: AuditAction
    address: str | None
    detail: dict[str, Any]


def record(session: Session, who: str, action: AuditAction, *, at: datetime,
           address: str | None = None, **detail: Any) -> None:
    """Write one entry; ``detail`` is JSON (what was exported, which call, …)."""
    session.add(AuditEntry(at=at, who=who[:64], action=action.value,
                           address=None if address is None else address[:64], detail=detail))


def entries(session: Session, *, who: str | None = None, action: AuditAction | None = None,
            limit: int = 100) -> list[AuditView]:
    """The newest entries first, of one user or one action if given."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if who is not None:
        stmt = stmt.where(AuditEntry.who == who)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action.value)
    return [AuditView(row.at, row.who, AuditAction(row.action), row.address, dict(row.detail))
            for row in session.scalars(stmt)]
