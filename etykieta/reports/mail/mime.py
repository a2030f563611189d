"""An :class:`~.message.Outgoing` as the MIME message that goes over SMTP.

The shape Outlook, phone clients and webmail all show well::

    multipart/mixed                       (only when there are files: the unit's XLSX)
      multipart/alternative
        text/plain; charset=utf-8
        multipart/related                 (only when there are inline images)
          text/html; charset=utf-8
          image/png; Content-ID: <chart…>  (the HTML shows it as <img src="cid:chart…">)
      application/vnd.openxmlformats-…    (Content-Disposition: attachment)

Headers are folded and encoded by ``email.policy.SMTP``: a Polish subject or display name
goes as RFC 2047 encoded words, bodies as quoted-printable or base64 (7-bit clean, so no
server needs 8BITMIME). ``Auto-Submitted: auto-generated`` (RFC 3834) keeps well-behaved
vacation responders from answering, ``X-Auto-Response-Suppress`` does the same for Exchange.
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from .message import Attachment, Outgoing

LANGUAGE = "pl"


def to_email(message: Outgoing, *, sender: str, message_id: str,
             date: datetime) -> EmailMessage:
    """The MIME message of ``message`` from ``sender`` (``"Name <address>"``), stamped with
    ``message_id`` (``<…@…>``) and ``date`` (timezone-aware)."""
    if date.tzinfo is None:
        raise ValueError(f"naive date {date!r}: an e-mail's Date needs its offset")
    email = EmailMessage(policy=policy.SMTP)
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = Address(display_name=message.recipient.name,
                          addr_spec=message.recipient.email)
    email["Date"] = format_datetime(date)
    email["Message-ID"] = message_id
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"
    email.set_content(message.text, subtype="plain", charset="utf-8")
    email.add_alternative(message.html, subtype="html", charset="utf-8")
    html = email.get_body(("html",))
    assert isinstance(html, EmailMessage)
    for image in (a for a in message.attachments if a.content_id is not None):
        maintype, subtype = _split(image)
        html.add_related(image.data, maintype=maintype, subtype=subtype,
                         cid=_angle(image.content_id or ""), filename=image.filename,
                         disposition="inline")
    for file in (a for a in message.attachments if a.content_id is None):
        maintype, subtype = _split(file)
        email.add_attachment(file.data, maintype=maintype, subtype=subtype,
                             filename=file.filename)
    # last: set_content and the make_* steps move every Content-* header to the inner part
    email["Content-Language"] = LANGUAGE
    return email


def envelope_address(sender: str) -> str:
    """The bare address of ``"Etykieta <etykieta@um.example.pl>"`` (the SMTP MAIL FROM)."""
    return _parsed(sender).addr_spec


def domain_of(sender: str) -> str:
    """The domain Message-IDs are made in: the sender's."""
    return _parsed(sender).domain or "localhost"


def _parsed(sender: str) -> Address:
    holder = EmailMessage(policy=policy.SMTP)
    holder["From"] = sender
    return holder["From"].addresses[0]


def _split(attachment: Attachment) -> tuple[str, str]:
    maintype, _, subtype = attachment.content_type.partition("/")
    if not subtype:
        raise ValueError(f"{attachment.filename}: content type {attachment.content_type!r} "
                         "is not maintype/subtype")
    return maintype, subtype


def _angle(content_id: str) -> str:
    return content_id if content_id.startswith("<") else f"<{content_id}>"
