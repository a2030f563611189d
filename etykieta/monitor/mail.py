"""The long-running service's e-mail: the weekly messages at ``[reports] weekly_at``, callback
reminders every minute when ``[callbacks] remind_before_business_minutes`` is set.

A thread of its own, so a slow or unreachable SMTP server (retries wait minutes) never holds
up the capture loop. Catching up is the outbox's doing: at each check the week due is the one
before the newest ``weekly_at`` not in the future, and it is delivered unless the outbox
shows it settled (every recipient sent, skipped or refused for good) — so a Monday the machine
was off is sent when it is back, and a restart in the middle sends only what was not yet
accepted. Temporary failures are tried again after :data:`RETRY_AFTER_S`.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ..clock import Clock, utc_now
from ..config import Settings
from ..reports.mail.message import Kind
from ..reports.mail.reminders import reminder_messages
from ..reports.mail.schedule import weekly_due
from ..reports.mail.send import Sender
from ..reports.mail.weekly import weekly_messages
from ..storage.outbox import Failure, State, listing

log = logging.getLogger(__name__)

CHECK_EVERY_S = 60.0
"""How often the thread looks for work (reminders are due to the minute)."""
RETRY_AFTER_S = 900.0
"""After a week's delivery left temporary failures, when the next try starts."""
WEEKLY_KINDS = (Kind.STAFF_WEEKLY.value, Kind.UNIT_WEEKLY.value)


class MailService:
    """Sends what is due, once a minute, until stopped."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *,
                 clock: Clock = utc_now, sender: Sender | None = None,
                 check_every_s: float = CHECK_EVERY_S) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.sender = sender or Sender(settings.smtp, sessions, clock=clock)
        self.check_every_s = check_every_s
        self._retry_at: dict[str, datetime] = {}
        self._settled: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start_if_configured(cls, settings: Settings,
                            sessions: sessionmaker[Session]) -> MailService | None:
        """The running service, or None without ``[smtp]`` (nothing is ever sent)."""
        if not settings.smtp.configured:
            log.info("mail: no [smtp] table: no weekly e-mails, no callback reminders")
            return None
        service = cls(settings, sessions)
        service.start()
        return service

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="etykieta-mail", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the message being sent (an SMTP command waits at most its timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _main(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick(self.clock())
            except Exception:  # a database or builder failure: the monitoring goes on
                log.exception("mail: this check failed; trying again in %g s",
                              self.check_every_s)
            self._stop.wait(self.check_every_s)

    def tick(self, now: datetime) -> None:
        """Send the weekly messages if due and not settled, and the reminders due now."""
        zone = self.settings.business_hours.zone
        week, due = weekly_due(now, zone, self.settings.reports.weekly_at)
        if week not in self._settled and now >= self._retry_at.get(week, due):
            if self._week_settled(week):
                self._settled.add(week)
            else:
                self._weekly(week, due, now)
        if self.settings.callbacks.remind_before_business_minutes is not None:
            with self.sessions.begin() as session:
                reminders = reminder_messages(session, self.settings, now=now)
            if len(reminders.messages):
                delivery = self.sender.deliver(reminders)
                if delivery.sent or delivery.failed:
                    log.warning("mail: callback reminders: %s", delivery.line())

    def _weekly(self, week: str, due: datetime, now: datetime) -> None:
        with self.sessions.begin() as session:
            batch = weekly_messages(session, self.settings, week, as_of=now)
        delivery = self.sender.deliver(batch)
        log.warning("mail: weekly %s (due %s): %s", week, f"{due:%a %Y-%m-%d %H:%M}",
                    delivery.line())
        if delivery.busy or any(f.failure is Failure.TEMPORARY for f in delivery.failed):
            self._retry_at[week] = now + timedelta(seconds=RETRY_AFTER_S)
        else:
            self._settled.add(week)

    def _week_settled(self, week: str) -> bool:
        """The outbox holds the week, every recipient sent, skipped or refused for good."""
        with self.sessions.begin() as session:
            rows = listing(session, week, WEEKLY_KINDS)
        return bool(rows) and all(
            row.state in (State.SENT, State.SKIPPED)
            or (row.state is State.FAILED and row.failure is Failure.PERMANENT)
            for row in rows)
