"""Messages for the delivery tests, built as the builders build them (``Outgoing`` values).

Run as a script (``python -m tests.mail.outgoing DB_URL PORT``) it delivers :func:`batch`
to the server on PORT: the sender the kill test SIGKILLs halfway.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib

from etykieta.config import SmtpSecurity, SmtpSettings
from etykieta.reports.mail.message import Attachment, Batch, Kind, Outgoing, Recipient, Skipped

SENDER = "Etykieta – Urząd Miejski <etykieta@um.example.pl>"
SUBJECT = "Pani tydzień 48: odebrane do 3. sygnału — 92,5 % (zażółć gęślą jaźń)"
TEXT = ("Szanowna Pani,\n\nw tygodniu 48 (23–29 listopada 2026) odebrała Pani 40 połączeń, "
        "37 z nich do 3. sygnału (92,5 %).\nPowitanie pełne: 30 z 35. Brak: „Dzień dobry”.\n")
HTML = ("<!DOCTYPE html><html lang=\"pl\"><body><table role=\"presentation\"><tr><td "
        "style=\"font-family:Arial\">Odebrane do 3. sygnału: <b>92,5 %</b> — żółć</td></tr>"
        "<tr><td><img src=\"cid:{cid}\" alt=\"Wykres sygnałów\" width=\"300\"></td></tr>"
        "</table></body></html>")
PEOPLE = (("1201", "Anna Kowalska"), ("1202", "Piotr Nowak"), ("1301", "Jan Zieliński"),
          ("1401", "Tomasz Lewandowski"), ("1501", "Małgorzata Jankowska"))


def png() -> bytes:
    """A real 2×2 PNG (what the chart module makes, in small)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Rozmówca", "Sygnał"])
    book.active.append(["+48 *** *** 123", 2])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def staff_message(extension: str, name: str, week: str = "2026-W48") -> Outgoing:
    cid = f"chart-{extension}@etykieta"
    return Outgoing(
        kind=Kind.STAFF_WEEKLY, period=week,
        recipient=Recipient(extension, name, f"u{extension}@um.example.pl"),
        subject=SUBJECT, text=TEXT, html=HTML.format(cid=cid),
        attachments=(Attachment("sygnaly.png", "image/png", png(), cid),))


def unit_message(week: str = "2026-W48") -> Outgoing:
    cid = "chart-unit@etykieta"
    return Outgoing(
        kind=Kind.UNIT_WEEKLY, period=f"{week}:Wydział Komunikacji",  # as weekly.py keys it
        recipient=Recipient("1299", "Marek Kamiński", "u1299@um.example.pl"),
        subject="Wydział Komunikacji — tydzień 48", text=TEXT, html=HTML.format(cid=cid),
        attachments=(Attachment("wykres.png", "image/png", png(), cid),
                     Attachment("polaczenia-2026-W48.xlsx",
                                "application/vnd.openxmlformats-officedocument."
                                "spreadsheetml.sheet", xlsx())))


def batch(count: int = len(PEOPLE)) -> Batch:
    return Batch(tuple(staff_message(ext, name) for ext, name in PEOPLE[:count]),
                 (Skipped(Kind.STAFF_WEEKLY, "2026-W48", "1203", "Ewa Wiśniewska",
                          "no e-mail address in [[staff]]"),))


def smtp(port: int, **changes: object) -> SmtpSettings:
    values: dict[str, object] = {"host": "127.0.0.1", "port": port,
                                 "security": SmtpSecurity.NONE, "sender": SENDER}
    values.update(changes)
    return SmtpSettings(**values)  # type: ignore[arg-type]


def main() -> None:  # the sender the kill test runs in a subprocess
    from etykieta.reports.mail.send import RetryPolicy, Sender
    from etykieta.storage import make_engine, make_sessionmaker

    url, port = sys.argv[1], int(sys.argv[2])
    sender = Sender(smtp(port), make_sessionmaker(make_engine(url)),
                    retry=RetryPolicy(delays_s=(), timeout_s=120))
    print(sender.deliver(batch()).line(), flush=True)


if __name__ == "__main__":
    main()
