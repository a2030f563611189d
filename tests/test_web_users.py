"""Users of the web application: ``etykieta users``, argon2 hashes, logins slowed after failures.

The CLI is driven in-process (click's ``CliRunner``) on every backend under test; the login
rules are checked on the storage functions the web application calls, with the clock given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from etykieta.cli import main
from etykieta.storage import make_engine, make_sessionmaker
from etykieta.storage.audit import CLI, AuditAction, entries
from etykieta.storage.models import User
from etykieta.storage.users import (
    FREE_FAILURES_PER_ADDRESS,
    FREE_FAILURES_PER_USER,
    Role,
    add_user,
    authenticate,
    find_user,
)

from .conftest import LAB_CONFIG

PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def cli(db_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(LAB_CONFIG), "--db", db_url, *args],
                                input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def database(db_url: str) -> str:
    code, _, err = cli(db_url, "db", "upgrade")
    assert code == 0, err
    return db_url


def add(db_url: str, name: str, *args: str, password: str = PASSWORD) -> tuple[int, str, str]:
    return cli(db_url, "users", "add", name, *args, "--password-stdin", stdin=password + "\n")


def test_users_add_list_remove_and_passwd(database: str) -> None:
    assert add(database, "Root", "--role", "admin")[:2] == (0, "user root added: everything\n")
    code, out, _ = add(database, "anna", "--role", "supervisor", "--unit", "komunikacji",
                       "--unit", "BOM")
    assert (code, out) == (0, "user anna added: units Wydział Komunikacji, "
                              "Biuro Obsługi Mieszkańców\n")
    code, out, _ = add(database, "ewa", "--role", "staff", "--extension", "1203")
    assert (code, out) == (0, "user ewa added: extension 1203 (Ewa Wiśniewska)\n")
    code, out, _ = cli(database, "users", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["username", "role", "sees", "added", "removed"]
    assert [line.split()[:2] for line in lines[2:]] == [
        ["anna", "supervisor"], ["ewa", "staff"], ["root", "admin"]]

    assert cli(database, "users", "remove", "EWA")[:2] == (0, "user ewa removed\n")
    assert "ewa" not in cli(database, "users", "list")[1]
    assert "ewa" in cli(database, "users", "list", "--removed")[1]
    code, out, _ = cli(database, "users", "passwd", "anna", "--password-stdin",
                       stdin="a new long password\n")
    assert (code, out) == (0, "password of anna changed\n")

    with make_sessionmaker(make_engine(database)).begin() as session:
        assert authenticate(session, "anna", PASSWORD, address="a", now=T0).user is None
        assert authenticate(session, "anna", "a new long password", address="a",
                            now=T0).user is not None
        assert authenticate(session, "ewa", PASSWORD, address="a", now=T0).user is None
        log = [(e.who, e.action, e.detail.get("username")) for e in entries(session)]
    assert log[:3] == [(CLI, AuditAction.PASSWORD_CHANGED, "anna"),
                       (CLI, AuditAction.USER_REMOVED, "ewa"),
                       (CLI, AuditAction.USER_ADDED, "ewa")]


def test_a_removed_user_added_again_says_so(database: str) -> None:
    add(database, "ewa", "--role", "staff", "--extension", "1203")
    cli(database, "users", "remove", "ewa")
    code, out, _ = add(database, "ewa", "--role", "staff", "--extension", "1203")
    assert (code, out) == (0, "user ewa added (removed before, added again): extension 1203 "
                              "(Ewa Wiśniewska)\n")


@pytest.mark.parametrize(("args", "error"), [
    (("--role", "supervisor"), "a supervisor needs at least one --unit"),
    (("--role", "supervisor", "--unit", "Komunikacj"),
     "no unit is called 'Komunikacj'; did you mean 'Wydział Komunikacji'?"),
    (("--role", "staff"), "a staff member needs --extension"),
    (("--role", "staff", "--extension", "1999"), "no [[staff]] entry has extension '1999'"),
    (("--role", "admin", "--unit", "BOM"), "--unit is for supervisors, not for the role admin"),
    (("--role", "supervisor", "--unit", "BOM", "--extension", "1201"),
     "--extension is for staff, not for the role supervisor"),
])
def test_users_add_refuses_what_the_role_does_not_fit(database: str, args: tuple[str, ...],
                                                      error: str) -> None:
    code, _, err = add(database, "someone", *args)
    assert code == 2 and error in err.replace("\n", " ")


def test_users_add_needs_a_long_password_from_stdin_and_a_new_name(database: str) -> None:
    code, _, err = add(database, "root", "--role", "admin", password="short")
    assert code == 2 and "at least 10 characters" in err
    code, _, err = cli(database, "users", "add", "root", "--role", "admin")
    assert code == 2 and "--password-stdin" in err
    code, _, err = add(database, "no spaces", "--role", "admin")
    assert code == 2 and "is not a username" in err
    assert add(database, "root", "--role", "admin")[0] == 0
    code, _, err = add(database, "ROOT", "--role", "admin")
    assert code == 2 and "already exists" in err
    assert cli(database, "users", "remove", "nobody")[0] == 2


def test_the_password_is_kept_as_an_argon2id_hash(engine: Engine) -> None:
    with make_sessionmaker(engine).begin() as session:
        add_user(session, "root", PASSWORD, role=Role.ADMIN, now=T0)
        stored = session.scalar(select(User.password_hash))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_failed_logins_of_a_name_slow_down_the_next_attempts(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        add_user(session, "anna", PASSWORD, role=Role.SUPERVISOR, units=("BOM",), now=T0)
    second = timedelta(seconds=1)
    with sessions.begin() as session:
        for n in range(FREE_FAILURES_PER_USER):
            attempt = authenticate(session, "anna", "wrong", address="10.0.0.1",
                                   now=T0 + n * second)
            assert attempt.user is None and attempt.wait == timedelta(0)
        last = T0 + (FREE_FAILURES_PER_USER - 1) * second
        # past the free failures even the right password waits, from any address: 1 s, then 2 s
        attempt = authenticate(session, "Anna", PASSWORD, address="10.0.0.2",
                               now=last + second / 2)
        assert attempt.user is None and attempt.wait == second / 2
        assert authenticate(session, "anna", "wrong", address="10.0.0.2",
                            now=last + second).wait == timedelta(0)
        attempt = authenticate(session, "anna", PASSWORD, address="10.0.0.3",
                               now=last + 2 * second)
        assert attempt.user is None and attempt.wait == second
        attempt = authenticate(session, "anna", PASSWORD, address="10.0.0.3",
                               now=last + 3 * second)
        assert attempt.user is not None and attempt.user.username == "anna"
        # a success clears the name's failures
        assert authenticate(session, "anna", "wrong", address="10.0.0.3",
                            now=last + 4 * second).wait == timedelta(0)


def test_failed_logins_from_an_address_slow_down_every_name_from_it(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        add_user(session, "root", PASSWORD, role=Role.ADMIN, now=T0)
        for n in range(FREE_FAILURES_PER_ADDRESS):
            authenticate(session, f"guess{n}", "wrong", address="192.0.2.9", now=T0)
        assert authenticate(session, "root", PASSWORD, address="192.0.2.9",
                            now=T0).wait == timedelta(seconds=1)
        assert authenticate(session, "root", PASSWORD, address="192.0.2.10",
                            now=T0).user is not None
        # failures older than the window no longer count
        later = T0 + timedelta(minutes=16)
        assert authenticate(session, "root", PASSWORD, address="192.0.2.9",
                            now=later).user is not None


def test_a_disabled_or_unknown_user_cannot_log_in(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        assert authenticate(session, "nobody", PASSWORD, address="a", now=T0).user is None
        assert find_user(session, "nobody") is None
