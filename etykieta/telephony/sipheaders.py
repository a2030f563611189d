"""Header names and the structured SIP header values a call tracker reads.

Each ``parse()`` takes one header value (one element of a comma list) and raises
ValueError with a specific message when it does not follow its RFC's grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sipuri import (
    NameAddr,
    Params,
    SipUri,
    find_param,
    parse_hostport,
    parse_params,
    show,
)

# Compact header forms from the IANA "Header Fields" registry (RFC 3261 §7.3.3 and the RFCs
# that registered the rest: 3841 a/d/j, 3892 b, 4028 x, 4474 n/y, 3515 r, 6665 o/u).
COMPACT_FORMS = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

# Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1 and §20; RFC 3325 §9.1,
# 3326 §2, 3327, 3329, 3455, 3608, 3841, 5806, 6665 §8.2.2, 7044).
LIST_HEADERS = frozenset(
    {
        "accept",
        "accept-contact",
        "accept-encoding",
        "accept-language",
        "alert-info",
        "allow",
        "allow-events",
        "call-info",
        "contact",
        "content-encoding",
        "content-language",
        "diversion",
        "error-info",
        "history-info",
        "in-reply-to",
        "p-asserted-identity",
        "p-associated-uri",
        "p-preferred-identity",
        "path",
        "proxy-require",
        "reason",
        "record-route",
        "reject-contact",
        "request-disposition",
        "require",
        "route",
        "security-client",
        "security-server",
        "security-verify",
        "service-route",
        "supported",
        "unsupported",
        "via",
        "warning",
    }
)

MAX_CSEQ = 2**32 - 1  # RFC 3261 §8.1.1.5: a 32-bit unsigned integer
_TOKEN_RE = re.compile(r"[!%'*+\-.0-9A-Z_`a-z~]+")
# RFC 3261 §25.1 via-parm: sent-protocol LWS sent-by; LWS may surround the slashes.
_VIA_RE = re.compile(
    r"\s*SIP\s*/\s*2\.0\s*/\s*([!%'*+\-.0-9A-Z_`a-z~]+)\s+([^;\s]+)\s*(.*)", re.IGNORECASE | re.S
)


def canonical_name(name: str) -> str:
    """The lower-case long form of a header name (``I`` → ``call-id``)."""
    name = name.strip().lower()
    return COMPACT_FORMS.get(name, name)


def is_token(text: str) -> bool:
    """Whether ``text`` is an RFC 3261 §25.1 token."""
    return _TOKEN_RE.fullmatch(text) is not None


def _int_or_none(text: str | None) -> int | None:
    """``text`` as an integer if it is all ASCII digits, else None (tolerated, not an error)."""
    return int(text) if text is not None and text.isascii() and text.isdigit() else None


def parse_media_type(value: str) -> tuple[str, Params]:
    """Split a Content-Type value into ``type/subtype`` (lower case) and its parameters.

    RFC 3261 §20.15, RFC 2045 §5.1.
    """
    media_type, _, params = value.partition(";")
    media_type = media_type.strip().lower().replace(" ", "")
    if media_type.count("/") != 1 or not all(map(is_token, media_type.split("/"))):
        raise ValueError(f"bad media type {show(media_type)}")
    return media_type, parse_params(params)


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value (RFC 3261 §20.42); ``received``/``rport`` (RFC 3581) via ``param()``."""

    transport: str
    host: str
    port: int | None
    branch: str | None
    params: Params

    @classmethod
    def parse(cls, value: str, *, lax: bool = False) -> Via:
        """Parse ``SIP/2.0/UDP host[:port] *(;param)``.

        ``lax`` accepts a sent-by IPv6 host without brackets and parameters without a name.
        """
        match = _VIA_RE.fullmatch(value)
        if match is None:
            raise ValueError(f"bad Via {show(value)}")
        transport, sent_by, rest = match.groups()
        if rest and rest[0] != ";":
            raise ValueError(f"unexpected {show(rest)} after the Via sent-by")
        host, port = parse_hostport(sent_by, lax=lax)
        params = parse_params(rest, lax=lax)
        return cls(transport.upper(), host, port, find_param(params, "branch"), params)

    def param(self, name: str) -> str | None:
        """Value of Via parameter ``name`` (case-insensitive); None if absent or bare."""
        return find_param(self.params, name.lower())


@dataclass(frozen=True, slots=True)
class CSeq:
    """The CSeq header (RFC 3261 §20.16): sequence number and method."""

    number: int
    method: str

    @classmethod
    def parse(cls, value: str) -> CSeq:
        """Parse ``1*DIGIT LWS Method``; the method stays case-sensitive (RFC 3261 §7.1)."""
        parts = value.split()
        if len(parts) != 2:
            raise ValueError(f"CSeq is not a number and a method: {show(value)}")
        number, method = parts
        if not (number.isascii() and number.isdigit()):
            raise ValueError(f"CSeq number is not an integer: {show(number)}")
        if int(number) > MAX_CSEQ:
            raise ValueError(f"CSeq number {number} exceeds 2**32-1")
        if not is_token(method):
            raise ValueError(f"CSeq method is not a token: {show(method)}")
        return cls(int(number), method)


@dataclass(frozen=True, slots=True)
class Replaces:
    """A Replaces value (RFC 3891 §6.1): the dialog an INVITE or REFER target replaces."""

    call_id: str
    to_tag: str | None
    from_tag: str | None
    early_only: bool

    @classmethod
    def parse(cls, value: str) -> Replaces:
        """Parse ``callid *(;to-tag=|;from-tag=|;early-only|;generic-param)``."""
        call_id, _, rest = value.partition(";")
        call_id = call_id.strip()
        if not call_id or any(char.isspace() for char in call_id):
            raise ValueError(f"bad Replaces Call-ID {show(call_id)}")
        params = parse_params(rest)
        return cls(
            call_id,
            find_param(params, "to-tag"),
            find_param(params, "from-tag"),
            any(name == "early-only" for name, _ in params),
        )


@dataclass(frozen=True, slots=True)
class ReasonHeader:
    """A Reason value (RFC 3326 §2): ``SIP;cause=200;text="Call completed elsewhere"``."""

    protocol: str
    cause: int | None
    text: str | None

    @classmethod
    def parse(cls, value: str) -> ReasonHeader:
        """Parse ``protocol *(;cause=|;text=|;param)``; a non-numeric cause reads as None."""
        protocol, _, rest = value.partition(";")
        protocol = protocol.strip()
        if not is_token(protocol):
            raise ValueError(f"Reason protocol is not a token: {show(protocol)}")
        params = parse_params(rest)
        return cls(protocol, _int_or_none(find_param(params, "cause")), find_param(params, "text"))


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One History-Info entry (RFC 7044, formerly RFC 4244).

    ``cause`` is the RFC 4458 ``cause=`` URI parameter (the redirecting response code);
    ``reason`` is the Reason header escaped into the URI's headers.
    """

    uri: SipUri
    index: str | None
    cause: int | None
    reason: ReasonHeader | None

    @classmethod
    def parse(cls, value: str, *, lax: bool = False) -> HistoryEntry:
        """Parse ``<uri>;index=1.1`` with the cause and Reason the URI carries.

        ``lax`` reads the name-addr as ``NameAddr.parse(lax=True)`` does.
        """
        addr = NameAddr.parse(value, lax=lax)
        reason_text = addr.uri.header("reason")
        reason = None
        if reason_text is not None:
            try:
                reason = ReasonHeader.parse(reason_text)
            except ValueError:
                if not lax:
                    raise
        return cls(addr.uri, addr.param("index"), _int_or_none(addr.uri.param("cause")), reason)
