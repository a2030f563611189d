"""``etykieta users``: who may log in to the web application (``etykieta serve``)."""

from __future__ import annotations

import sys

import click

from ..clock import utc_now
from ..reports.calls_export import format_table
from ..storage.audit import CLI, AuditAction, record
from ..storage.users import (
    Role,
    UserError,
    UserView,
    add_user,
    check_password,
    list_users,
    remove_user,
    set_password,
)
from ..telephony.numbers import Directory
from .context import CliContext, unit_name

PASSWORD_HELP = "Read the password from standard input (its first line; at least 10 characters)."


@click.group()
def users() -> None:
    """Users of the web application: admin, supervisor (of units) or staff (one extension)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True,
              help="admin: everything; supervisor: the --unit(s) given; staff: --extension.")
@click.option("--unit", "units", multiple=True,
              help="A unit a supervisor sees (its name or an alias); repeat for several.")
@click.option("--extension", help="The staff member's extension, as in [[staff]].")
@click.option("--password-stdin", is_flag=True, help=PASSWORD_HELP)
@click.pass_obj
def users_add(state: CliContext, username: str, role: str, units: tuple[str, ...],
              extension: str | None, password_stdin: bool) -> None:
    """Add a user who logs in with USERNAME and the password read from standard input."""
    settings = state.settings
    names = tuple(dict.fromkeys(name for unit in units
                                if (name := unit_name(settings, unit)) is not None))
    if extension is not None and Directory(settings).staff_at(extension.strip()) is None:
        known = ", ".join(p.extension for p in settings.staff) or "none"
        raise click.BadParameter(f"no [[staff]] entry has extension {extension!r} "
                                 f"(known: {known})", param_hint="--extension")
    password = _password(password_stdin)
    now = utc_now()
    try:
        with state.sessions().begin() as session:
            user, again = add_user(session, username, password, role=Role(role), units=names,
                                   extension=extension and extension.strip(), now=now)
            record(session, CLI, AuditAction.USER_ADDED, at=now, username=user.username,
                   role=user.role.value, units=list(user.units), extension=user.extension)
    except UserError as exc:
        raise click.UsageError(str(exc)) from exc
    note = " (removed before, added again)" if again else ""
    click.echo(f"user {user.username} added{note}: {_scope(user, Directory(settings))}")


@users.command("list")
@click.option("--removed", is_flag=True, help="Also the users removed.")
@click.pass_obj
def users_list(state: CliContext, removed: bool) -> None:
    """The users, their roles and what each sees."""
    directory, zone = Directory(state.settings), state.zone
    with state.sessions().begin() as session:
        rows = list_users(session, removed=removed)
    if not rows:
        click.echo("no users yet: etykieta users add USERNAME --role admin --password-stdin")
        return
    table = [("username", "role", "sees", "added", "removed")]
    for user in rows:
        table.append((user.username, user.role.value, _scope(user, directory),
                      f"{user.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
                      "" if user.disabled_at is None
                      else f"{user.disabled_at.astimezone(zone):%Y-%m-%d %H:%M}"))
    click.echo(format_table(table))


@users.command("remove")
@click.argument("username")
@click.pass_obj
def users_remove(state: CliContext, username: str) -> None:
    """Remove a user: they can no longer log in, and their open sessions end."""
    now = utc_now()
    with state.sessions().begin() as session:
        removed = remove_user(session, username, now=now)
        if removed:
            record(session, CLI, AuditAction.USER_REMOVED, at=now, username=username.lower())
    if not removed:
        raise click.UsageError(f"there is no user {username!r} (etykieta users list)")
    click.echo(f"user {username.lower()} removed")


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help=PASSWORD_HELP)
@click.pass_obj
def users_passwd(state: CliContext, username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME; their open sessions end."""
    password = _password(password_stdin)
    now = utc_now()
    with state.sessions().begin() as session:
        changed = set_password(session, username, password)
        if changed:
            record(session, CLI, AuditAction.PASSWORD_CHANGED, at=now,
                   username=username.lower())
    if not changed:
        raise click.UsageError(f"there is no user {username!r} (etykieta users list)")
    click.echo(f"password of {username.lower()} changed")


def _password(from_stdin: bool) -> str:
    """The first line of standard input, without its line ending."""
    if not from_stdin:
        raise click.UsageError("give the password on standard input with --password-stdin "
                               "(so it stays out of the shell history and the process list)")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_password(password)
    except UserError as exc:
        raise click.UsageError(str(exc)) from exc
    return password


def _scope(user: UserView, directory: Directory) -> str:
    if user.role is Role.ADMIN:
        return "everything"
    if user.role is Role.SUPERVISOR:
        return "units " + ", ".join(user.units)
    person = directory.staff_at(user.extension or "")
    name = f" ({person.full_name})" if person is not None else ""
    return f"extension {user.extension}{name}"
