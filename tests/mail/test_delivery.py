"""Delivery through a real SMTP server (aiosmtpd on 127.0.0.1): each message once, whatever
the server answers and wherever the sender is stopped."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine

from etykieta.config import SmtpSecurity
from etykieta.reports.mail.message import Batch
from etykieta.reports.mail.mime import to_email
from etykieta.reports.mail.send import RetryPolicy, Sender
from etykieta.storage import make_sessionmaker
from etykieta.storage.outbox import Entry, Failure, State, listing

from .outgoing import PEOPLE, SUBJECT, batch, smtp, staff_message, unit_message
from .smtp_server import Inbox, free_port, smtp_server

FAST = RetryPolicy(delays_s=(0.01, 0.02), sleep=lambda s: None, timeout_s=10)
ROOT = Path(__file__).parent.parent.parent


def _sender(engine: Engine, port: int, **changes: object) -> Sender:
    context = changes.pop("ssl_context", None)
    return Sender(smtp(port, **changes), make_sessionmaker(engine), retry=FAST,
                  ssl_context=context)  # type: ignore[arg-type]


def _rows(engine: Engine) -> dict[str, Entry]:
    with make_sessionmaker(engine).begin() as session:
        return {e.extension: e for e in listing(session, "2026-W48",
                                                ["staff_weekly", "unit_weekly"])}


def test_each_recipient_gets_exactly_one_message_and_a_second_run_sends_nothing(
        engine: Engine) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        first = _sender(engine, port).deliver(batch())
        second = _sender(engine, port).deliver(batch())
    assert len(first.sent) == len(PEOPLE) and first.ok
    assert Counter(r.rcpt for r in inbox.accepted) == Counter(
        (f"u{ext}@um.example.pl",) for ext, _ in PEOPLE)
    assert second.sent == [] and second.already == len(PEOPLE)
    assert second.line() == (f"nothing to send: all {len(PEOPLE)} messages were sent before, "
                             "1 skipped (see --status)")
    rows = _rows(engine)
    assert rows["1203"].state is State.SKIPPED
    assert rows["1203"].error == "no e-mail address in [[staff]]"
    sent = {ext: rows[ext] for ext, _ in PEOPLE}
    assert {e.state for e in sent.values()} == {State.SENT}
    assert sorted(e.message_id for e in sent.values()) == sorted(inbox.keys())
    assert all(e.reply and e.reply.startswith("250 2.0.0 Ok: queued as") for e in sent.values())
    assert all(r.mail_from == "etykieta@um.example.pl" for r in inbox.accepted)


def test_both_parts_the_inline_image_and_the_xlsx_arrive_with_polish_intact(
        engine: Engine) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        _sender(engine, port).deliver(batch(1))
        _sender(engine, port).deliver(Batch((unit_message(),)))
    staff, unit = inbox.accepted
    assert staff.data.isascii()  # 7-bit: RFC 2047 words, quoted-printable/base64 bodies
    assert b"=?utf-8?" in staff.data.split(b"\r\n\r\n")[0].lower()
    email = staff.email
    assert email["Subject"] == SUBJECT
    assert str(email["From"]) == "Etykieta – Urząd Miejski <etykieta@um.example.pl>"
    assert str(email["To"]) == "Anna Kowalska <u1201@um.example.pl>"
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["Content-Language"] == "pl"
    assert email["Date"].datetime.tzinfo is not None
    assert _shape(email) == ["multipart/alternative", ["text/plain",
                             ["multipart/related", ["text/html", "image/png"]]]]
    text = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert text is not None and html is not None
    assert "odebrała Pani 40 połączeń" in text.get_content()
    assert "„Dzień dobry”" in text.get_content()
    assert "Odebrane do 3. sygnału: <b>92,5 %</b> — żółć" in html.get_content()
    [image] = [p for p in email.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<chart-1201@etykieta>"
    assert 'src="cid:chart-1201@etykieta"' in html.get_content()
    assert image.get_content().startswith(b"\x89PNG")
    assert _shape(unit.email) == ["multipart/mixed", [
        ["multipart/alternative", ["text/plain", ["multipart/related", ["text/html",
                                                                        "image/png"]]]],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]]
    for received in (staff, unit):  # RFC 5322 msg-id: dot-atom text, whatever the period
        assert re.fullmatch(r"<[A-Za-z0-9._-]+@um\.example\.pl>", received.message_id)
    [sheet] = list(unit.email.iter_attachments())
    assert sheet.get_filename() == "polaczenia-2026-W48.xlsx"
    assert sheet.get_content()[:2] == b"PK"


def _shape(part: EmailMessage) -> list[object] | str:
    if not part.is_multipart():
        return part.get_content_type()
    return [part.get_content_type(), [_shape(p) for p in part.iter_parts()]]  # type: ignore


def test_a_server_that_defers_then_accepts_gets_each_message_once(engine: Engine) -> None:
    inbox = Inbox(defer_first=True)
    with smtp_server(inbox) as port:
        delivery = _sender(engine, port).deliver(batch())
    assert delivery.ok and len(delivery.sent) == len(PEOPLE)
    assert Counter(inbox.keys()) == Counter({m: 1 for _, m in delivery.sent})
    assert len(inbox.seen) == 2 * len(PEOPLE)  # each refused once, then accepted
    assert {e.attempts for e in _rows(engine).values() if e.state is State.SENT} == {2}


def test_a_550_for_one_address_is_permanent_and_the_others_are_sent(engine: Engine) -> None:
    inbox = Inbox(refuse={"u1202@um.example.pl"})
    with smtp_server(inbox) as port:
        delivery = _sender(engine, port).deliver(batch())
    assert len(delivery.sent) == len(PEOPLE) - 1
    [failed] = delivery.failed
    assert (failed.key, failed.failure, failed.attempts) == (
        "staff_weekly/2026-W48/1202", Failure.PERMANENT, 1)
    assert failed.error.startswith("550 5.1.1 <u1202@um.example.pl>: Recipient address rejected")
    row = _rows(engine)["1202"]
    assert (row.state, row.failure, row.attempts) == (State.FAILED, Failure.PERMANENT, 1)
    assert len(inbox.accepted) == len(PEOPLE) - 1


def test_no_server_is_temporary_recorded_on_each_message_and_sent_by_the_next_run(
        engine: Engine) -> None:
    port = free_port()  # nobody listens: connection refused
    delivery = _sender(engine, port).deliver(batch())
    assert not delivery.sent and len(delivery.failed) == len(PEOPLE)
    assert {f.failure for f in delivery.failed} == {Failure.TEMPORARY}
    assert {f.attempts for f in delivery.failed} == {3}  # the first round and two retries
    assert all("cannot connect" in f.error for f in delivery.failed)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        again = _sender(engine, port).deliver(batch())
    assert len(again.sent) == len(PEOPLE) and len(inbox.accepted) == len(PEOPLE)


def test_a_run_killed_between_two_messages_sends_the_rest_once(engine: Engine,
                                                               db_url: str) -> None:
    """The sender is SIGKILLed while it waits for the server's answer to the second DATA;
    started again, it sends that message once more, with the same Message-ID (the server
    never answered it), and the others it had not reached; the first is not sent again."""
    inbox = Inbox(hold_at=2)
    with smtp_server(inbox) as port:
        child = subprocess.Popen([sys.executable, "-m", "tests.mail.outgoing", db_url,
                                  str(port)], cwd=ROOT, env={**os.environ})
        try:
            assert inbox.held.wait(30), "the sender never reached the second message"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        assert len(inbox.accepted) == 1
        interrupted = inbox.seen[1]
        rows = _rows(engine)
        assert rows["1202"].state is State.SENDING and rows["1202"].message_id == interrupted
        inbox.hold_at = None
        delivery = _sender(engine, port).deliver(batch())
    assert delivery.ok and delivery.resumed == 1 and delivery.already == 1
    assert len(delivery.sent) == len(PEOPLE) - 1
    assert Counter(r.rcpt[0] for r in inbox.accepted) == Counter(
        f"u{ext}@um.example.pl" for ext, _ in PEOPLE)  # each exactly once
    assert interrupted in inbox.keys()  # noqa: SIM118 (not a dict)
    assert {e.state for e in _rows(engine).values() if e.extension != "1203"} == {State.SENT}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by Debian's openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_starttls_with_the_ca_file_and_smtp_auth_with_the_password_file(
        engine: Engine, certificate: tuple[Path, Path], tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("zażółć-hasło\n")
    inbox = Inbox()
    with smtp_server(inbox, tls=_server_context(certificate), password="zażółć-hasło") as port:
        delivery = Sender(smtp(port, security=SmtpSecurity.STARTTLS,
                               ca_file=str(certificate[0]), username="etykieta",
                               password_file=str(secret)),
                          make_sessionmaker(engine), retry=FAST).deliver(batch(2))
    assert delivery.ok and len(delivery.sent) == 2
    assert inbox.tls == [True, True] and inbox.logins == [("etykieta", "zażółć-hasło")]


def test_an_untrusted_certificate_stops_the_run_and_is_recorded_permanent(
        engine: Engine, certificate: tuple[Path, Path]) -> None:
    inbox = Inbox()
    with smtp_server(inbox, tls=_server_context(certificate)) as port:
        delivery = Sender(smtp(port, security=SmtpSecurity.STARTTLS),
                          make_sessionmaker(engine), retry=FAST).deliver(batch(2))
    assert not delivery.sent and not inbox.accepted
    assert {f.failure for f in delivery.failed} == {Failure.PERMANENT}
    assert "certificate is not trusted" in delivery.failed[0].error
    assert "ca_file" in delivery.failed[0].error


def test_a_wrong_password_is_permanent_for_every_message(
        engine: Engine, certificate: tuple[Path, Path], tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("wrong\n")
    with smtp_server(Inbox(), tls=_server_context(certificate), password="right") as port:
        delivery = Sender(smtp(port, security=SmtpSecurity.STARTTLS,
                               ca_file=str(certificate[0]), username="etykieta",
                               password_file=str(secret)),
                          make_sessionmaker(engine), retry=FAST).deliver(batch(3))
    assert len(delivery.failed) == 3 and {f.failure for f in delivery.failed} == {
        Failure.PERMANENT}
    assert delivery.failed[0].error.startswith("535")


def test_policy_smtp_round_trip_of_a_polish_display_name() -> None:
    message = staff_message("1501", "Małgorzata Jankowska")
    raw = to_email(message, sender="Etykieta <e@um.example.pl>", message_id="<a@b>",
                   date=datetime(2026, 11, 30, 6, 0, tzinfo=UTC)).as_bytes()
    back = message_from_bytes(raw, policy=policy.default)
    assert str(back["To"]) == "Małgorzata Jankowska <u1501@um.example.pl>"
    assert back["Date"] == "Mon, 30 Nov 2026 06:00:00 +0000"
    assert raw.isascii()
