"""Who may log in to the web application: users, their passwords, failed logins.

Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106). A login that fails
is remembered for :data:`FAILURE_WINDOW`; once a name or an address has failed more than its
free attempts in that window, the next attempt waits, twice as long after each further
failure (:func:`login_wait`). Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .models import LoginFailure, User

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
MIN_PASSWORD_LENGTH = 10
FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES_PER_USER = 5
FREE_FAILURES_PER_ADDRESS = 20
"""An office behind one NAT address shares it: more attempts before an address is slowed."""
MAX_WAIT = timedelta(minutes=15)

_HASHER = PasswordHasher()


class Role(enum.StrEnum):
    """What a user may see: everything, the units given, or their own extension's calls."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as the CLI lists it and the web application checks it; never the hash."""

    id: int
    username: str
    role: Role
    units: tuple[str, ...]
    extension: str | None
    created_at: datetime
    disabled_at: datetime | None
    session_epoch: int

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class UserError(ValueError):
    """A user that cannot be added or changed as asked; the message says why."""


def normalise_username(username: str) -> str:
    """The stored form of a username (lower case); raise :class:`UserError` if it is not one."""
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise UserError(f"{username!r} is not a username: 1-64 letters, digits and . _ @ -, "
                        "starting with a letter or digit")
    return name


def check_password(password: str) -> None:
    """Raise :class:`UserError` for a password too short to keep."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_password(password)
    return _HASHER.hash(password)


def add_user(session: Session, username: str, password: str, *, role: Role,
             units: tuple[str, ...] = (), extension: str | None = None,
             now: datetime) -> tuple[UserView, bool]:
    """Add a user; ``(user, True)`` when a removed user of that name was added again.

    A supervisor needs units, a staff member an extension; each only those (the caller checks
    them against the config).
    """
    name = normalise_username(username)
    if role is Role.SUPERVISOR and not units:
        raise UserError("a supervisor needs at least one --unit")
    if role is not Role.SUPERVISOR and units:
        raise UserError(f"--unit is for supervisors, not for the role {role}")
    if role is Role.STAFF and not extension:
        raise UserError("a staff member needs --extension")
    if role is not Role.STAFF and extension:
        raise UserError(f"--extension is for staff, not for the role {role}")
    row = session.scalar(select(User).where(User.username == name))
    restored = row is not None
    if row is not None and row.disabled_at is None:
        raise UserError(f"user {name!r} already exists (etykieta users passwd changes the "
                        "password; remove and add again to change the role)")
    if row is None:
        row = User(username=name, session_epoch=0)
        session.add(row)
    row.password_hash = hash_password(password)
    row.role, row.units, row.extension = role.value, list(units), extension
    row.created_at, row.disabled_at = now, None
    row.session_epoch = (row.session_epoch or 0) + (1 if restored else 0)
    session.flush()
    return _view(row), restored


def find_user(session: Session, username: str) -> UserView | None:
    """The active user of that name (any case), if any."""
    row = _active_row(session, username)
    return None if row is None else _view(row)


def user_by_id(session: Session, user_id: int) -> UserView | None:
    """The active user with this id (a session's), if any."""
    row = session.get(User, user_id)
    return None if row is None or row.disabled_at is not None else _view(row)


def list_users(session: Session, *, removed: bool = False) -> list[UserView]:
    """Users by name; removed ones too with ``removed``."""
    stmt = select(User).order_by(User.username)
    if not removed:
        stmt = stmt.where(User.disabled_at.is_(None))
    return [_view(row) for row in session.scalars(stmt)]


def remove_user(session: Session, username: str, *, now: datetime) -> bool:
    """Disable the user (its sessions end); False if there is no active user of that name."""
    row = _active_row(session, username)
    if row is None:
        return False
    row.disabled_at = now
    row.session_epoch += 1
    return True


def set_password(session: Session, username: str, password: str) -> bool:
    """A new password (its sessions end); False if there is no active user of that name."""
    row = _active_row(session, username)
    if row is None:
        return False
    row.password_hash = hash_password(password)
    row.session_epoch += 1
    return True


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What a login came to: the user, or why not (``wait`` > 0: tried too soon)."""

    user: UserView | None
    wait: timedelta = timedelta(0)


def authenticate(session: Session, username: str, password: str, *, address: str,
                 now: datetime) -> LoginAttempt:
    """Check a login, slowed down after repeated failures of the name or the address.

    An attempt made while a wait is due is refused without looking at the password (and not
    counted again). A success clears that name's failures; an address keeps its own.
    """
    name = username.strip().lower()[:64]
    wait = login_wait(session, name, address, now=now)
    if wait > timedelta(0):
        return LoginAttempt(None, wait)
    row = _active_row(session, name)
    if row is None or not _verify(row.password_hash, password):
        if row is None:  # as long an answer as for a wrong password: no name is confirmed
            _verify(_dummy_hash(), password)
        session.add(LoginFailure(at=now, username=name, address=address[:64]))
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW))
        return LoginAttempt(None)
    if _HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = _HASHER.hash(password)
    session.execute(delete(LoginFailure).where(LoginFailure.username == name))
    return LoginAttempt(_view(row))


def login_wait(session: Session, username: str, address: str, *, now: datetime) -> timedelta:
    """How long the next attempt for this name or from this address must still wait.

    Past its free failures within :data:`FAILURE_WINDOW`, the n-th further failure makes the
    next attempt wait 2^(n-1) s after it, at most :data:`MAX_WAIT`.
    """
    since = now - FAILURE_WINDOW
    waits = []
    for column, key, free in ((LoginFailure.username, username, FREE_FAILURES_PER_USER),
                              (LoginFailure.address, address, FREE_FAILURES_PER_ADDRESS)):
        count, last = session.execute(
            select(func.count(), func.max(LoginFailure.at))
            .where(column == key, LoginFailure.at >= since)).one()
        if count >= free and last is not None:
            delay = min(timedelta(seconds=2 ** (count - free)), MAX_WAIT)
            waits.append(last + delay - now)
    return max([timedelta(0), *waits])


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash("not the password of anyone")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _active_row(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower(),
                                             User.disabled_at.is_(None)))


def _view(row: User) -> UserView:
    return UserView(id=row.id, username=row.username, role=Role(row.role),
                    units=tuple(row.units or ()), extension=row.extension,
                    created_at=row.created_at, disabled_at=row.disabled_at,
                    session_epoch=row.session_epoch)
