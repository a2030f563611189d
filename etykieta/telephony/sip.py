"""SIP messages as a passive observer sees them (RFC 3261 §7, §20).

The start line and the headers every dialog needs (Call-ID, CSeq, From, To) are parsed
eagerly; everything else is kept as ``(name, value)`` pairs and parsed when asked for. The
parser is tolerant in the way Wireshark is: bare-LF line endings, folded lines, unknown methods
and headers and a short Content-Length are accepted; a header line without a colon is counted
in ``bad_lines`` and skipped.

What drops a message (ValueError): a start line that is not SIP, a Request-URI that cannot be
read even leniently, a missing or unreadable Call-ID or CSeq, a missing From or To, one whose
name-addr structure is broken (unterminated quotes, no ``>``: its tag cannot be found) or whose
URI is not sip/sips/tel, or a ``tag`` parameter without a value. Everything else a real device
gets wrong is kept and listed in ``SipMessage.anomalies``: an IPv6 host without brackets
(RFC 5118 §4.2) anywhere, a From or To URI read only in part (:meth:`.SipUri.salvage`), a From
without a tag (RFC 3261 §8.1.1.3 requires one; RFC 2543 peers send none, and the Call-ID still
names the dialog), an unreadable Content-Length, a header line without a name, and any value of
a structured header the call tracker reads (``CHECKED_HEADERS``) that breaks its grammar. The
accessors read such values leniently (``lax=True``), a value that cannot be read even so as
absent; the ``parse()`` classmethods of :mod:`.sipheaders` and :mod:`.sipuri` give the strict
error for a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TypeVar

from .sdp import SessionDescription
from .sipheaders import (
    LIST_HEADERS,
    CSeq,
    HistoryEntry,
    ReasonHeader,
    Replaces,
    Via,
    canonical_name,
    is_token,
    parse_media_type,
)
from .sipuri import (
    NameAddr,
    SipUri,
    find_param,
    number_of,
    show,
    split_header_values,
)

__all__ = [
    "CSeq",
    "HistoryEntry",
    "NameAddr",
    "ReasonHeader",
    "Replaces",
    "SipMessage",
    "SipUri",
    "Via",
    "number_of",
    "parse_message",
    "split_header_values",
]

SDP_MEDIA_TYPE = "application/sdp"
SIPFRAG_MEDIA_TYPE = "message/sipfrag"
_REQUEST_LINE = re.compile(r"([!%'*+\-.0-9A-Z_`a-z~]+) +(\S+) +SIP/2\.0", re.IGNORECASE)
_STATUS_LINE = re.compile(r"SIP/2\.0 +([0-9]{3})(?: (.*))?", re.IGNORECASE)

T = TypeVar("T")

_lax_name_addr = partial(NameAddr.parse, lax=True)
_lax_via = partial(Via.parse, lax=True)
_lax_history_entry = partial(HistoryEntry.parse, lax=True)


def _contact_value(value: str) -> NameAddr | None:
    """A Contact value; ``*`` (RFC 3261 §10.2.2, REGISTER only) is not an address."""
    return None if value == "*" else NameAddr.parse(value)


# The structured headers the call tracker reads, whose every value parse() checks against its
# grammar (a failure is an anomaly, never a dropped message). Call-ID, CSeq, From and To are
# read on their own. Via (only counted), Route, Record-Route and History-Info are not read, so
# a fault in them changes nothing, and checking them would cost as much again as the parse.
CHECKED_HEADERS: dict[str, Callable[[str], object]] = {
    "contact": _contact_value,
    "p-asserted-identity": NameAddr.parse,
    "diversion": NameAddr.parse,
    "refer-to": NameAddr.parse,
    "referred-by": NameAddr.parse,
    "replaces": Replaces.parse,
    "reason": ReasonHeader.parse,
    "content-type": parse_media_type,
}


def _split_head(data: bytes) -> tuple[bytes, bytes | None]:
    """Split at the first empty line (CRLF or bare LF); body None if there is none."""
    crlf = data.find(b"\n\r\n")
    lf = data.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return data, None
    if lf < 0 or 0 <= crlf < lf:
        return data[:crlf], data[crlf + 3 :]
    return data[:lf], data[lf + 2 :]


def _parse_start_line(
    line: str, anomalies: list[str]
) -> tuple[str | None, SipUri | None, int | None, str | None]:
    """Parse a Request-Line or Status-Line (RFC 3261 §7.1, §7.2).

    A Request-URI whose only fault is an IPv6 host without brackets is kept as an anomaly.
    """
    line = line.rstrip(" \t")
    status = _STATUS_LINE.fullmatch(line)
    if status is not None:
        return None, None, int(status[1]), (status[2] or "").strip()
    request = _REQUEST_LINE.fullmatch(line)
    if request is None:
        raise ValueError(f"not a SIP message: bad start line {show(line)}")
    try:
        uri = SipUri.parse(request[2])
    except ValueError as exc:
        try:
            uri = SipUri.parse(request[2], lax=True)
        except ValueError:
            raise ValueError(f"bad Request-URI: {exc}") from None
        anomalies.append(f"Request-URI: {exc}")
    return request[1], uri, None, None


@lru_cache(maxsize=1024)
def _header_name(raw: str) -> str | None:
    """The canonical form of a raw header name, None if it is not a token; few names recur."""
    name = canonical_name(raw)
    return name if is_token(name) else None


def _parse_headers(lines: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Unfold (RFC 3261 §7.3.1) and split header lines; return them and the bad lines."""
    headers: list[tuple[str, str]] = []
    bad_lines: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if headers:
                previous, value = headers[-1]
                headers[-1] = (previous, f"{value} {line.strip()}".strip())
            else:
                bad_lines.append(line.strip())
            continue
        raw_name, colon, value = line.partition(":")
        name = _header_name(raw_name) if colon else None
        if name is not None:
            headers.append((name, value.strip()))
        elif line.strip():
            bad_lines.append(line.rstrip("\r"))
    return headers, bad_lines


def _check_headers(headers: list[tuple[str, str]], anomalies: list[str]) -> None:
    """Append one anomaly for each structured header value that breaks its grammar."""
    for name, value in headers:
        parse = CHECKED_HEADERS.get(name)
        if parse is None:
            continue
        for item in split_header_values(value) if name in LIST_HEADERS else (value,):
            try:
                parse(item)
            except ValueError as exc:
                anomalies.append(f"{_label(name)}: {exc}")


def _label(name: str) -> str:
    """A header name as people write it: ``p-asserted-identity`` → ``P-Asserted-Identity``."""
    return "-".join(part.capitalize() for part in name.split("-"))


def _multipart_part(body: bytes, boundary: str, media_type: str) -> bytes | None:
    """The first body part of ``media_type`` in a multipart body (RFC 2046 §5.1.1)."""
    for chunk in body.split(b"--" + boundary.encode("utf-8", "replace"))[1:]:
        if chunk.startswith(b"--"):  # the close-delimiter
            break
        head, content = _split_head(chunk.partition(b"\n")[2])
        if content is None:
            continue
        for line in head.decode("utf-8", "replace").split("\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-type":
                try:
                    if parse_media_type(value)[0] == media_type:
                        return content.removesuffix(b"\n").removesuffix(b"\r")
                except ValueError:
                    continue
    return None


def _parsed(values: Iterable[str], parse: Callable[[str], T]) -> list[T]:
    """``parse`` applied to each value, leaving out those it rejects."""
    parsed: list[T] = []
    for value in values:
        try:
            parsed.append(parse(value))
        except ValueError:
            continue
    return parsed


def _first(value: str | None, parse: Callable[[str], T]) -> T | None:
    """``parse(value)``, or None if the value is absent or rejected."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class SipMessage:
    """One SIP request or response (RFC 3261 §7).

    ``method`` is kept as sent: methods are case-sensitive (RFC 3261 §7.1), so ``invite`` is
    an extension method, not INVITE. ``headers`` holds ``(name, value)`` in order, names in
    lower-case long form (compact forms expanded, RFC 3261 §7.3.3), folded lines joined.
    ``body`` is cut to Content-Length; ``body_truncated`` says Content-Length promised more
    than arrived. ``anomalies`` says, one line each, what was kept although it breaks the
    grammar (see the module docstring). Accessor properties parse on each read: keep the result.
    """

    method: str | None
    request_uri: SipUri | None
    status_code: int | None
    reason_phrase: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    body_truncated: bool
    bad_lines: int
    call_id: str
    cseq: CSeq
    from_: NameAddr
    to: NameAddr
    anomalies: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> SipMessage:
        """Parse one message; ValueError with the reason if it cannot be a SIP message.

        RFC 3261 §7.5: CRLFs before the start line are skipped; §18.3: on UDP, bytes after
        Content-Length are not part of the message; §8.1.1: Call-ID, CSeq, From and To are
        required. A missing Via is tolerated (as Wireshark does): sipp sends ACKs without one.
        What else is tolerated is listed in ``anomalies``.
        """
        data = data.lstrip(b"\r\n")
        if not data:
            raise ValueError("not a SIP message: empty")
        if not 0x21 <= data[0] <= 0x7E:  # a method token or "SIP/2.0" starts with a VCHAR
            raise ValueError(f"not a SIP message: starts with byte 0x{data[0]:02x}")
        head, body = _split_head(data)
        lines = head.decode("utf-8", "replace").split("\n")
        anomalies: list[str] = []
        method, request_uri, status_code, reason_phrase = _parse_start_line(
            lines[0].rstrip("\r"), anomalies)
        header_list, bad_lines = _parse_headers(lines[1:])
        anomalies += [f"header line without a name: {show(line)}" for line in bad_lines]
        found = dict(reversed(header_list))  # the first occurrence of each name wins
        body = body or b""
        length = found.get("content-length")
        body_truncated = False
        if length is not None and length.isascii() and length.isdigit():
            body_truncated = int(length) > len(body)
            body = body[: int(length)]
        elif length is not None:
            anomalies.append(f"Content-Length is not a number: {show(length)}")
        call_id = _required(found, "call-id", "Call-ID", str.strip)
        cseq = _required(found, "cseq", "CSeq", CSeq.parse)
        from_ = _dialog_party(found, "from", "From", anomalies)
        to = _dialog_party(found, "to", "To", anomalies)
        if from_.tag is None:
            anomalies.append("From: no tag (RFC 3261 §8.1.1.3)")
        _check_headers(header_list, anomalies)
        return cls(
            method=method,
            request_uri=request_uri,
            status_code=status_code,
            reason_phrase=reason_phrase,
            headers=tuple(header_list),
            body=body,
            body_truncated=body_truncated,
            bad_lines=len(bad_lines),
            call_id=call_id,
            cseq=cseq,
            from_=from_,
            to=to,
            anomalies=tuple(anomalies),
        )

    @property
    def is_request(self) -> bool:
        """Whether this is a request (it has a method) rather than a response."""
        return self.method is not None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case, long or compact form), unsplit."""
        name = canonical_name(name)
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name``; list-valued headers are split at their commas."""
        name = canonical_name(name)
        values = [value for key, value in self.headers if key == name]
        if name not in LIST_HEADERS:
            return values
        return [item for value in values for item in split_header_values(value)]

    def via_count(self) -> int:
        """The number of Via values across all Via headers: the hops a request has taken."""
        return len(self.header_values("via"))

    @property
    def vias(self) -> tuple[Via, ...]:
        """The Via values, topmost first (RFC 3261 §20.42)."""
        return tuple(_parsed(self.header_values("via"), _lax_via))

    @property
    def contact(self) -> NameAddr | None:
        """The first Contact (RFC 3261 §20.10); None also for the REGISTER wildcard ``*``."""
        contacts = self.header_values("contact")
        return _first(contacts[0], _lax_name_addr) if contacts and contacts[0] != "*" else None

    @property
    def content_type(self) -> str | None:
        """The body's media type in lower case, without parameters (RFC 3261 §20.15)."""
        parsed = _first(self.header("content-type"), parse_media_type)
        return None if parsed is None else parsed[0]

    @property
    def p_asserted_identity(self) -> list[NameAddr]:
        """The asserted identities of the caller (RFC 3325 §9.1)."""
        return _parsed(self.header_values("p-asserted-identity"), _lax_name_addr)

    @property
    def diversion(self) -> list[NameAddr]:
        """Diversion entries, most recent first, with reason/counter params (RFC 5806)."""
        return _parsed(self.header_values("diversion"), _lax_name_addr)

    @property
    def history_info(self) -> list[HistoryEntry]:
        """History-Info entries in header order (RFC 7044, formerly RFC 4244)."""
        return _parsed(self.header_values("history-info"), _lax_history_entry)

    @property
    def refer_to(self) -> NameAddr | None:
        """The REFER target (RFC 3515 §2.1)."""
        return _first(self.header("refer-to"), _lax_name_addr)

    @property
    def refer_replaces(self) -> Replaces | None:
        """The Replaces carried as a Refer-To URI header (RFC 3515 §2.1): attended transfer."""
        refer_to = self.refer_to
        return None if refer_to is None else _first(refer_to.uri.header("replaces"), Replaces.parse)

    @property
    def referred_by(self) -> NameAddr | None:
        """Who asked for the transfer (RFC 3892 §3)."""
        return _first(self.header("referred-by"), _lax_name_addr)

    @property
    def replaces(self) -> Replaces | None:
        """The dialog this INVITE replaces (RFC 3891 §6.1)."""
        return _first(self.header("replaces"), Replaces.parse)

    @property
    def event(self) -> str | None:
        """The event package, lower case, without parameters (RFC 6665 §8.2.1)."""
        return _leading_token(self.header("event"))

    @property
    def subscription_state(self) -> str | None:
        """The subscription state: active, pending or terminated (RFC 6665 §8.2.3)."""
        return _leading_token(self.header("subscription-state"))

    @property
    def reasons(self) -> list[ReasonHeader]:
        """The Reason values (RFC 3326 §2), e.g. why a CANCEL or BYE was sent."""
        return _parsed(self.header_values("reason"), ReasonHeader.parse)

    @property
    def sipfrag_status(self) -> int | None:
        """Status code of a message/sipfrag body (RFC 3420), as NOTIFY carries for REFER.

        RFC 3515 §2.4.5: the fragment starts with the status line of the referred request.
        """
        if self.content_type != SIPFRAG_MEDIA_TYPE:
            return None
        first_line = self.body.lstrip(b"\r\n").partition(b"\n")[0]
        status = _STATUS_LINE.fullmatch(first_line.decode("utf-8", "replace").rstrip("\r "))
        return None if status is None else int(status[1])

    @property
    def sdp(self) -> SessionDescription | None:
        """The SDP body, also from a multipart body (RFC 5621 §3); None if absent or broken."""
        return self._sdp()[0]

    @property
    def sdp_error(self) -> str | None:
        """Why the SDP body that is there does not parse; None if it parses or is absent."""
        return self._sdp()[1]

    def _sdp(self) -> tuple[SessionDescription | None, str | None]:
        parsed = _first(self.header("content-type"), parse_media_type)
        if parsed is None:
            return None, None
        media_type, params = parsed
        payload: bytes | None = None
        if media_type == SDP_MEDIA_TYPE:
            payload = self.body
        elif media_type.startswith("multipart/"):
            boundary = find_param(params, "boundary")
            if boundary:
                payload = _multipart_part(self.body, boundary, SDP_MEDIA_TYPE)
        if payload is None or not payload.strip():
            return None, None
        try:
            return SessionDescription.parse(payload), None
        except ValueError as exc:
            return None, str(exc)


def _required(found: dict[str, str], name: str, label: str, parse: Callable[[str], T]) -> T:
    value = found.get(name)
    if value is None or not value.strip():
        raise ValueError(f"missing {label} header")
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"bad {label} header: {exc}") from None


def _dialog_party(found: dict[str, str], name: str, label: str, anomalies: list[str]) -> NameAddr:
    """Read From or To, keeping a URI that breaks its grammar as an anomaly.

    The name-addr itself must be readable and a tag, if present, must have a value: the tag
    identifies the dialog (RFC 3261 §19.3), and guessing it would join unrelated messages.
    """
    value = found.get(name)
    if value is None or not value.strip():
        raise ValueError(f"missing {label} header")
    try:
        addr = NameAddr.parse(value)
    except ValueError as exc:
        try:
            addr = NameAddr.parse(value, lax=True)
        except ValueError as lax_exc:
            raise ValueError(f"bad {label} header: {lax_exc}") from None
        anomalies.append(f"{label}: {exc}")
    for key, tag in addr.params:
        if key == "tag" and not tag:
            raise ValueError(f"bad {label} header: tag without a value")
    return addr


def _leading_token(value: str | None) -> str | None:
    token = None if value is None else value.partition(";")[0].strip().lower()
    return token or None


def parse_message(data: bytes) -> SipMessage:
    """Parse one SIP message from a datagram or a framed stream; see :meth:`SipMessage.parse`."""
    return SipMessage.parse(data)
