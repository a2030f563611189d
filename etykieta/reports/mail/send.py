"""Hand a :class:`~.message.Batch` to the SMTP server, each message once.

One connection serves a round of the batch (STARTTLS with a verified TLS context by default,
TLS from the first byte for ``security = "ssl"``, plain for ``"none"``; AUTH when a username
is set, the password read from ``password_file`` just before the login). Each message is
claimed in the outbox (``sending``, its Message-ID chosen then) before MAIL FROM and recorded
after the server's answer to DATA (``sent`` with the reply, or ``failed``): see
:mod:`etykieta.storage.outbox` for why a run killed in between sends only the rest.

Failures, as RFC 5321 §4.2.1 splits them: a 4xx answer, a refused or dropped connection or a
timeout is *temporary* — the message waits for the next round, after ``RetryPolicy.delays_s``
(the last round records it ``failed``/``temporary`` for a later run to try); a 5xx answer is
*permanent* for that message, recorded at once, and the others go on. A failure of the whole
connection (the login refused, a certificate not trusted, no STARTTLS) ends the run and is
recorded on every message it left unsent.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import smtplib
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ...clock import Clock, utc_now
from ...config import SmtpSecurity, SmtpSettings
from ...storage import outbox
from ...storage.outbox import Failure, Item, State
from .message import Batch, Outgoing, Skipped
from .mime import domain_of, envelope_address, to_email

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0
"""How long one SMTP command may take (RFC 5321 §4.5.3.2 asks for minutes; a city hall's relay
answers in well under one)."""
STALE_AFTER = timedelta(hours=1)
"""A row left ``sending`` this long is taken back whoever holds it: no message takes an hour."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Rounds after the first, and the pause before each: 10 s, 1 min, 5 min by default."""

    delays_s: tuple[float, ...] = (10.0, 60.0, 300.0)
    sleep: Callable[[float], None] = time.sleep
    timeout_s: float = TIMEOUT_S


class SendingError(Exception):
    """A failure of one message or of the connection, as the outbox records it."""

    def __init__(self, failure: Failure, error: str, *, connection: bool) -> None:
        super().__init__(error)
        self.failure, self.error, self.connection = failure, error, connection


@dataclass(frozen=True, slots=True)
class Failed:
    key: str
    name: str
    address: str
    failure: Failure
    error: str
    attempts: int


@dataclass(slots=True)
class Delivery:
    """What one :meth:`Sender.deliver` did."""

    messages: int = 0
    sent: list[tuple[str, str]] = field(default_factory=list)  # (key, Message-ID)
    already: int = 0
    """Sent by an earlier run: not sent again."""
    busy: int = 0
    """Held by another sender that is still running."""
    resumed: int = 0
    """Left ``sending`` by a run that died: sent again with the Message-ID it had."""
    failed: list[Failed] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def line(self) -> str:
        if self.messages and self.already == self.messages:
            return (f"nothing to send: all {self.messages} messages were sent before"
                    f"{self._skipped()}")
        if not self.messages:
            return f"nothing to send{self._skipped()}"
        rate = f", {len(self.sent) / self.seconds:.1f}/s" if self.sent and self.seconds else ""
        text = (f"{len(self.sent)} sent in {self.seconds:.1f} s{rate}, "
                f"{self.already} sent before, {len(self.failed)} failed{self._skipped()}")
        if self.resumed:
            text += (f"; {self.resumed} interrupted earlier were sent again with their "
                     "Message-ID")
        if self.busy:
            text += f"; {self.busy} being sent by another etykieta process"
        return text

    def _skipped(self) -> str:
        return f", {self.skipped} skipped (see --status)" if self.skipped else ""


ConnectFn = Callable[[], "Connection"]


class Connection:
    """One SMTP session, opened as ``[smtp]`` says; each answer kept for the outbox."""

    def __init__(self, settings: SmtpSettings, *, context: ssl.SSLContext | None,
                 timeout_s: float) -> None:
        self.settings = settings
        context = context or ssl.create_default_context(cafile=settings.ca_file)
        host, port = settings.host, settings.port
        try:
            if settings.security is SmtpSecurity.SSL:
                self.smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout_s,
                                                           context=context)
            else:
                self.smtp = smtplib.SMTP(host, port, timeout=timeout_s)
            self.smtp.ehlo()
            if settings.security is SmtpSecurity.STARTTLS:
                self.smtp.starttls(context=context)
                self.smtp.ehlo()
            if settings.username is not None:
                _login(self.smtp, settings.username, _password(settings))
        except BaseException as exc:
            self.close()
            if isinstance(exc, smtplib.SMTPException | OSError):
                raise _classified(exc, connecting=True) from exc
            raise

    def send(self, sender: str, recipient: str, data: bytes) -> str:
        """MAIL FROM, RCPT TO, DATA; the server's answer to DATA (``250 2.0.0 Ok: queued``)."""
        smtp = self.smtp
        try:
            code, answer = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, answer, sender)
            code, answer = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
            code, answer = smtp.data(data)  # raises only if 354 does not come
            if code != 250:
                raise smtplib.SMTPDataError(code, answer)
        except (smtplib.SMTPException, OSError) as exc:
            error = _classified(exc, connecting=False)
            if not error.connection:
                self._reset()
            raise error from exc
        return f"{code} {answer.decode('utf-8', 'replace')}"

    def _reset(self) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.smtp.rset()  # failing: the next MAIL FROM finds out

    def close(self) -> None:
        smtp = getattr(self, "smtp", None)
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


class Sender:
    """Delivers batches through ``[smtp]``, recording each message in the outbox."""

    def __init__(self, settings: SmtpSettings, sessions: sessionmaker[Session], *,
                 clock: Clock = utc_now, retry: RetryPolicy | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 connect: ConnectFn | None = None) -> None:
        if not settings.configured:
            raise ValueError("no [smtp] host is configured")
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.envelope = envelope_address(settings.sender)
        self.domain = domain_of(settings.sender)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._connect = connect or (lambda: Connection(settings, context=ssl_context,
                                                       timeout_s=self.retry.timeout_s))

    def deliver(self, batch: Batch) -> Delivery:
        """Send every message of ``batch`` not sent before; record the skipped."""
        started = time.monotonic()
        report = Delivery(messages=len(batch.messages), skipped=len(batch.skipped))
        with self.sessions.begin() as session:
            for person in batch.skipped:
                outbox.record_skipped(session, _skipped_item(person), why=person.why,
                                      now=self.clock())
            known = outbox.entries(session, [m.key for m in batch.messages])
        pending = [m for m in batch.messages
                   if m.key not in known or known[m.key].state is not State.SENT]
        report.already = len(batch.messages) - len(pending)
        for number, delay in enumerate((0.0, *self.retry.delays_s)):
            if number:
                log.info("mail: %d messages failed temporarily; next try in %g s",
                         len(pending), delay)
                self.retry.sleep(delay)
            pending = self._round(pending, report, last=number == len(self.retry.delays_s))
            if not pending:
                break
        report.seconds = time.monotonic() - started
        return report

    def _round(self, messages: list[Outgoing], report: Delivery, *,
               last: bool) -> list[Outgoing]:
        """One connection over ``messages``; those to try again in the next round."""
        again: list[Outgoing] = []
        connection: Connection | None = None
        try:
            for index, message in enumerate(messages):
                claim = self._claim(message, report)
                if claim is None:
                    continue
                try:
                    if connection is None:
                        connection = self._connect()
                    data = to_email(message, sender=self.settings.sender,
                                    message_id=claim.message_id,
                                    date=self.clock()).as_bytes()
                    reply = connection.send(self.envelope, message.recipient.email, data)
                except SendingError as error:
                    self._failed(message, error, claim.attempt, report, last=last)
                    if error.failure is Failure.TEMPORARY:
                        again.append(message)
                    if error.connection:
                        if connection is not None:
                            connection.close()
                            connection = None
                        rest = messages[index + 1:]
                        self._unsent(rest, error, report, last=last)
                        if error.failure is Failure.TEMPORARY:
                            again.extend(rest)
                        break
                    continue
                with self.sessions.begin() as session:
                    outbox.mark_sent(session, message.key, reply=reply, now=self.clock())
                report.sent.append((message.key, claim.message_id))
        finally:
            if connection is not None:
                connection.close()
        return again

    def _claim(self, message: Outgoing, report: Delivery) -> outbox.Claim | None:
        token = uuid.uuid4().hex[:20]
        # RFC 5322 §3.6.4: dot-atom text only (a unit's period holds its name)
        period = re.sub(r"[^A-Za-z0-9-]+", "-", message.period.split(":")[0])
        message_id = f"<{message.kind.value}.{period}.{token}@{self.domain}>"
        try:
            with self.sessions.begin() as session:
                claim = outbox.claim(session, _item(message), message_id=message_id,
                                     owner=self.owner, now=self.clock(),
                                     owner_alive=self._alive)
        except IntegrityError:
            claim = None  # another sender inserted the key an instant before us
        if claim is None:
            with self.sessions.begin() as session:
                entry = outbox.entries(session, [message.key]).get(message.key)
            if entry is not None and entry.state is State.SENT:
                report.already += 1
            else:
                report.busy += 1
            return None
        if claim.resumed:
            report.resumed += 1
            log.warning("mail: %s was being sent when an earlier run stopped; sending it again "
                        "with the same Message-ID %s", message.key, claim.message_id)
        return claim

    def _failed(self, message: Outgoing, error: SendingError, attempt: int,
                report: Delivery, *, last: bool) -> None:
        with self.sessions.begin() as session:
            outbox.mark_failed(session, message.key, failure=error.failure,
                               error=error.error, now=self.clock())
        if error.failure is Failure.PERMANENT or last:
            report.failed.append(Failed(message.key, message.recipient.name,
                                        message.recipient.email, error.failure, error.error,
                                        attempt))

    def _unsent(self, messages: list[Outgoing], error: SendingError, report: Delivery, *,
                last: bool) -> None:
        with self.sessions.begin() as session:
            for message in messages:
                outbox.record_unsent(session, _item(message), failure=error.failure,
                                     error=error.error, now=self.clock())
            attempts = outbox.entries(session, [m.key for m in messages])
        if error.failure is Failure.PERMANENT or last:
            report.failed.extend(
                Failed(m.key, m.recipient.name, m.recipient.email, error.failure, error.error,
                       attempts[m.key].attempts if m.key in attempts else 1)
                for m in messages if m.key in attempts
                and attempts[m.key].state is State.FAILED)

    def _alive(self, owner: str, updated_at: datetime) -> bool:
        """Whether the sender that holds a row may still be sending it."""
        if self.clock() - updated_at > STALE_AFTER:
            return False
        host, _, pid = owner.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return True  # another machine: trust it until the row goes stale
        if int(pid) == os.getpid():
            return False  # ours, from a round that ended without recording it
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _item(message: Outgoing) -> Item:
    return Item(message.key, message.kind.value, message.period, message.recipient.extension,
                message.recipient.name, message.recipient.email)


def _skipped_item(person: Skipped) -> Item:
    key = f"{person.kind.value}/{person.period}/{person.extension}"
    return Item(key, person.kind.value, person.period, person.extension, person.name, None)


def _password(settings: SmtpSettings) -> str:
    assert settings.password_file is not None
    try:
        return Path(settings.password_file).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise SendingError(Failure.PERMANENT, f"cannot read [smtp] password_file "
                           f"{settings.password_file}: {exc.strerror or exc}",
                           connection=True) from exc


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH PLAIN (RFC 4616) when offered, UTF-8, which ``smtplib.login`` cannot send (it
    encodes credentials as ASCII, and after one refusal tries the next mechanism); otherwise
    whatever ``smtplib.login`` finds."""
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        if not (username.isascii() and password.isascii()):
            raise SendingError(Failure.PERMANENT, "the user name or password has non-ASCII "
                               "characters and the server offers no AUTH PLAIN",
                               connection=True)
        smtp.login(username, password)
        return
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, answer = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _classified(exc: BaseException, *, connecting: bool) -> SendingError:
    """The outbox's reading of an smtplib or socket error."""
    if isinstance(exc, SendingError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(exc.recipients.values()))
        return _answered(code, answer, connection=False)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendingError(Failure.PERMANENT, f"the server does not support it: {exc}",
                            connection=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        # 421: the server closes the connection; during login or STARTTLS, every answer is
        # about the connection, not one message
        return _answered(exc.smtp_code, exc.smtp_error,
                         connection=connecting or exc.smtp_code == 421)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendingError(Failure.PERMANENT, f"TLS: the server's certificate is not trusted "
                            f"({exc.verify_message}); name its CA in [smtp] ca_file",
                            connection=True)
    if isinstance(exc, ssl.SSLError):
        return SendingError(Failure.PERMANENT, f"TLS: {exc.reason or exc}", connection=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendingError(Failure.TEMPORARY, f"the server closed the connection ({exc})",
                            connection=True)
    if isinstance(exc, TimeoutError):
        return SendingError(Failure.TEMPORARY, "no answer from the server (timeout)",
                            connection=True)
    if isinstance(exc, OSError):
        return SendingError(Failure.TEMPORARY, f"cannot connect: {exc.strerror or exc}",
                            connection=True)
    return SendingError(Failure.TEMPORARY, str(exc), connection=True)


def _answered(code: int, answer: bytes | str, *, connection: bool) -> SendingError:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    failure = Failure.TEMPORARY if 400 <= code < 500 else Failure.PERMANENT
    return SendingError(failure, f"{code} {text}".strip(), connection=connection)
