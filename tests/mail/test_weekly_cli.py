"""``etykieta report weekly`` end to end: the demo captures, the content builders, the outbox
and a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from etykieta.cli import main

from .content import Demo, demo, with_smtp
from .smtp_server import Inbox, smtp_server

WEEK = "2026-W48"
SENT_TO = {"anna.kowalska@um.example.pl", "piotr.nowak@um.example.pl",
           "ewa.wisniewska@um.example.pl", "jan.zielinski@um.example.pl",
           "tomasz.lewandowski@um.example.pl", "marek.kaminski@um.example.pl"}
"""The lab's staff with an e-mail and calls in 2026-W48, and the unit's supervisor."""


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Demo]:
    yield from demo(db_url, tmp_path)


def _run(config: Path, site: Demo, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), "--db", site.db_url, "report",
                                     "weekly", "--week", WEEK, *args])


def test_send_mails_each_recipient_once_a_second_run_sends_nothing_and_status_shows_it(
        site: Demo) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        config = with_smtp(site, port)
        first = _run(config, site, "--send")
        second = _run(config, site, "--send")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"report weekly {WEEK}: 6 sent in ")
    assert sorted(r.rcpt[0] for r in inbox.accepted) == sorted(SENT_TO)
    assert second.exit_code == 0, second.output
    assert second.stdout == (f"report weekly {WEEK}: nothing to send: all 6 messages were sent "
                             "before, 2 skipped (see --status)\n")
    status = _run(config, site, "--status")
    assert status.exit_code == 0, status.output
    lines = status.stdout.splitlines()
    assert lines[0] == f"report weekly {WEEK}: 6 sent, 2 skipped"
    for received in inbox.accepted:
        [line] = [x for x in lines if received.message_id in x]
        assert " sent " in line and "250 2.0.0 Ok: queued as" in line
    assert any("1302" in x and "skipped  no e-mail address in [[staff]]" in x for x in lines)
    assert any("1299" in x and "skipped  no calls that week" in x for x in lines)


def test_a_refused_address_is_reported_the_others_sent_and_the_exit_is_non_zero(
        site: Demo) -> None:
    inbox = Inbox(refuse={"piotr.nowak@um.example.pl"})
    with smtp_server(inbox) as port:
        config = with_smtp(site, port)
        result = _run(config, site, "--send")
    assert result.exit_code == 1
    assert f"report weekly {WEEK}: 5 sent in " in result.stdout
    assert ("failed (permanent, 1 attempt): staff_weekly/2026-W48/1202 Piotr Nowak "
            "<piotr.nowak@um.example.pl>: 550 5.1.1") in result.stderr
    assert len(inbox.accepted) == 5
    status = _run(config, site, "--status").stdout
    assert "failed   permanent, 1 attempt: 550 5.1.1 <piotr.nowak@um.example.pl>" in status


def test_out_writes_one_eml_per_message_and_to_picks_one_recipient(site: Demo,
                                                                  tmp_path: Path) -> None:
    result = _run(site.config, site, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        f"report weekly {WEEK}: 6 messages written to {tmp_path / 'out'} (5 staff_weekly, "
        "1 unit_weekly); 2 skipped:")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "staff_weekly_2026-W48_1201.eml" in files
    assert "unit_weekly_2026-W48_Wydział_Komunikacji_1299.eml" in files
    email = message_from_bytes((tmp_path / "out" / "staff_weekly_2026-W48_1201.eml")
                               .read_bytes(), policy=policy.default)
    assert str(email["To"]) == "Anna Kowalska <anna.kowalska@um.example.pl>"
    inbox = Inbox()
    with smtp_server(inbox) as port:
        one = _run(with_smtp(site, port), site, "--send", "--to", "1203")
    assert one.exit_code == 0, one.output
    assert [r.rcpt[0] for r in inbox.accepted] == ["ewa.wisniewska@um.example.pl"]


def test_send_without_smtp_and_for_a_week_not_over_are_refused(site: Demo) -> None:
    no_smtp = _run(site.config, site, "--send")
    assert no_smtp.exit_code == 2 and "no [smtp] table" in no_smtp.stderr
    early = CliRunner().invoke(main, ["--config", str(site.config), "--db", site.db_url,
                                      "report", "weekly", "--week", "2099-W01", "--send"])
    assert early.exit_code == 2 and "week 2099-W01 is not over until 2099-01-05" in early.output
    bad = _run(site.config, site, "--out", "x", "--send")
    assert bad.exit_code == 2 and "give one of --send, --out DIR or --status" in bad.output
