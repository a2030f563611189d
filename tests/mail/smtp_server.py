"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1, in a thread of the test.

:class:`Inbox` is its handler: it keeps every message it accepted (the bytes as they came)
and can be told to answer otherwise — 451 to the first DATA of each Message-ID, 550 to some
recipients, or hold the answer to the n-th DATA (a sender killed while it waits).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    rcpt: tuple[str, ...]
    mail_from: str
    data: bytes

    @property
    def email(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.email["Message-ID"])


@dataclass
class Inbox:
    refuse: set[str] = field(default_factory=set)
    """Recipients answered 550 at RCPT TO."""
    defer_first: bool = False
    """451 to the first DATA of each Message-ID."""
    hold_at: int | None = None
    """Never answer the n-th DATA (1-based); ``held`` is set when it arrives."""
    accepted: list[Received] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    """Message-IDs of every DATA, answered or not."""
    held: threading.Event = field(default_factory=threading.Event)
    logins: list[tuple[str, str]] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)
    """Per accepted message: whether the session was under TLS."""

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
            self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(  # noqa: N802
            self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        message_id = str(message_from_bytes(data, policy=policy.default)["Message-ID"])
        first = message_id not in self.seen
        self.seen.append(message_id)
        if self.hold_at is not None and len(self.seen) == self.hold_at:
            self.held.set()
            await asyncio.sleep(3600)  # the sender is killed while it waits for this answer
        if self.defer_first and first:
            return "451 4.3.0 Temporary lookup failure, try again later"
        self.accepted.append(Received(tuple(envelope.rcpt_tos), envelope.mail_from, data))
        self.tls.append(session.ssl is not None)
        return f"250 2.0.0 Ok: queued as Q{len(self.accepted):04d}"

    def keys(self) -> list[str]:
        return [r.message_id for r in self.accepted]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(inbox: Inbox, *, tls: ssl.SSLContext | None = None,
                password: str | None = None) -> Iterator[int]:
    """aiosmtpd serving ``inbox`` on 127.0.0.1; its port. With ``tls``: STARTTLS required;
    with ``password``: AUTH required (any user name, this password)."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
        if ok:
            inbox.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    options: dict[str, Any] = {}
    if tls is not None:
        options.update(tls_context=tls, require_starttls=True)
    if password is not None:
        options.update(authenticator=authenticator, auth_required=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
