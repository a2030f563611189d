"""The long-running service's mail thread: the week due at ``weekly_at`` is sent once, a week
missed while the service was down is sent when it is back, and a restart sends nothing again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from etykieta.config import load_settings
from etykieta.monitor.mail import MailService
from etykieta.reports.mail.send import RetryPolicy, Sender
from etykieta.storage import make_engine, make_sessionmaker

from .content import Demo, demo, with_smtp
from .smtp_server import Inbox, smtp_server

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Demo]:
    yield from demo(db_url, tmp_path)


def _service(site: Demo, port: int) -> MailService:
    config = with_smtp(site, port, sender="etykieta@um.example.pl")
    settings = load_settings(config, database_url=site.db_url)
    sessions = make_sessionmaker(make_engine(site.db_url))
    return MailService(settings, sessions, sender=Sender(
        settings.smtp, sessions, retry=RetryPolicy(delays_s=(), sleep=lambda s: None)))


def _weeks(inbox: Inbox) -> Counter[str]:
    return Counter(r.message_id.split(".")[1] for r in inbox.accepted)


def test_the_week_due_is_sent_once_the_missed_one_caught_up_and_a_restart_sends_nothing(
        site: Demo) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        service = _service(site, port)
        # Monday 06:59: weekly_at (mon 07:00) has not come; the week due is still 2026-W47,
        # whose Monday the service missed: sent now, once
        service.tick(datetime(2026, 11, 30, 6, 59, tzinfo=WARSAW))
        assert set(_weeks(inbox)) == {"2026-W47"}
        before = len(inbox.accepted)
        service.tick(datetime(2026, 11, 30, 7, 0, tzinfo=WARSAW))
        assert _weeks(inbox)["2026-W48"] == 6  # the five employees and the supervisor
        service.tick(datetime(2026, 11, 30, 7, 1, tzinfo=WARSAW))
        restarted = _service(site, port)  # the machine was rebooted on Wednesday
        restarted.tick(datetime(2026, 12, 2, 9, 0, tzinfo=WARSAW))
    assert len(inbox.accepted) == before + 6
    assert max(Counter(r.rcpt + (r.message_id,) for r in inbox.accepted).values()) == 1


def test_the_thread_starts_only_with_smtp_and_stops_when_told(site: Demo) -> None:
    settings = site.settings
    sessions = make_sessionmaker(make_engine(site.db_url))
    assert MailService.start_if_configured(settings, sessions) is None
    with smtp_server(Inbox()) as port:
        service = _service(site, port)
        service.check_every_s = 3600
        service.start()
        service.stop()
        assert service._thread is not None and not service._thread.is_alive()
