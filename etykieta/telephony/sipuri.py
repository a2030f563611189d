"""SIP and tel URIs, name-addr values and the list syntax of SIP headers.

Grammar references: RFC 3261 §19.1 (SIP URI), §20.10 and §25.1 (name-addr / addr-spec,
generic-param, quoted-string), §7.3.1 (comma-separated header values); RFC 3966 (tel URI).

Every ``parse()`` is strict and raises ValueError naming the fault. ``lax=True`` reads what real
devices send although the grammar forbids it, the way Wireshark reads it: an IPv6 host without
brackets (RFC 5118 §4.2 calls it invalid; phones send it), and for a name-addr a sip/sips/tel
URI as far as it can be read (:meth:`SipUri.salvage`) and parameters without a name skipped. A
caller that wants to know what was wrong parses strictly first and keeps the strict error as an
anomaly.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

Params = tuple[tuple[str, str | None], ...]

SIP_SCHEMES = frozenset({"sip", "sips"})
TEL_SCHEME = "tel"
KNOWN_SCHEMES = SIP_SCHEMES | {TEL_SCHEME}
MAX_PORT = 65535
PARSED_CACHE_SIZE = 4096  # name-addr values remembered (a few hundred dialogs' worth)
# RFC 3966 §3 visual-separator, plus the space some gateways put in an escaped user part.
VISUAL_SEPARATORS = str.maketrans("", "", "-.() ")
# Characters RFC 3261 §25.1 lets stand unescaped (unreserved, user-unreserved, param-unreserved,
# hnv-unreserved).
_USER_SAFE = "-_.!~*'()&=+$,;?/"
_PARAM_SAFE = "-_.!~*'()[]/:&+$"
_HEADER_SAFE = "-_.!~*'()[]/?:+$"
_TEL_SAFE = "+*"

_HOST_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_IPV6_RE = re.compile(r"[0-9A-Fa-f:.]+")
_TEL_RE = re.compile(r"\+[0-9]+|[0-9A-Fa-f*#]+")
_NUMBER_RE = re.compile(r"\+?[0-9]+")
_ESCAPE_RE = re.compile(r"\\(.)", re.S)
_NAME_END_RE = re.compile(r'"[ \t]*<')
# What _split skips whole: a quoted string (RFC 3261 §25.1, with quoted-pairs), and with angle
# brackets a <...>; else the separator itself.
_QUOTED = r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)'
_ANGLED = rf'<(?:[^">]|{_QUOTED})*(?:>|\Z)'
_SPLIT_RE = {
    (separator, angle): re.compile(f"{_QUOTED}|{_ANGLED}|{separator}" if angle
                                   else f"{_QUOTED}|{separator}", re.S)
    for separator in ",;"
    for angle in (False, True)
}


def show(text: str, limit: int = 60) -> str:
    """Quote ``text`` for an error message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the quoted-string at ``text[start]`` (RFC 3261 §25.1 quoted-string, quoted-pair).

    Returns the content with backslash escapes resolved and the index after the closing quote.
    """
    index = start + 1
    while True:
        index = text.find('"', index)
        if index < 0:
            raise ValueError(f"unterminated quoted string in {show(text)}")
        first_backslash = index
        while first_backslash > start + 1 and text[first_backslash - 1] == "\\":
            first_backslash -= 1
        if (index - first_backslash) % 2 == 0:
            return _ESCAPE_RE.sub(r"\1", text[start + 1 : index]), index + 1
        index += 1


def _split(text: str, separator: str, angle_brackets: bool) -> list[str]:
    """Split on ``separator`` outside quoted strings (and outside ``<...>`` if asked).

    An unterminated quoted string or ``<`` runs to the end of the text.
    """
    parts: list[str] = []
    start = 0
    for match in _SPLIT_RE[separator, angle_brackets].finditer(text):
        if match.group() == separator:
            parts.append(text[start : match.start()])
            start = match.end()
    parts.append(text[start:])
    return parts


def split_header_values(value: str) -> list[str]:
    """Split a header value on the commas that separate its values (RFC 3261 §7.3.1).

    Commas inside quoted strings and inside ``<...>`` do not split; empty values are dropped.
    """
    if "," not in value:  # most values: nothing to split
        value = value.strip()
        return [value] if value else []
    if '"' in value or "<" in value:
        parts = _split(value, ",", angle_brackets=True)
    else:
        parts = value.split(",")
    return [stripped for part in parts if (stripped := part.strip())]


def parse_params(text: str, *, lax: bool = False) -> Params:
    """Parse ``;name[=value]`` header parameters (RFC 3261 §25.1 generic-param).

    Names are lower-cased; quoted values are unquoted; empty items (``;;``) are skipped, and
    with ``lax`` also items without a name (``;=x``) and unterminated quoted values (kept raw).
    """
    items = _split(text, ";", angle_brackets=False) if '"' in text else text.split(";")
    params: list[tuple[str, str | None]] = []
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not name:
            if item.strip() and not lax:
                raise ValueError(f"parameter without a name: {show(item)}")
            continue
        value = value.strip()
        if value.startswith('"'):
            try:
                value = read_quoted(value, 0)[0]
            except ValueError:
                if not lax:
                    raise
        params.append((name, value if sep else None))
    return tuple(params)


def find_param(params: Params, name: str) -> str | None:
    """Value of the first parameter called ``name`` (lower case); None if absent or bare."""
    for key, value in params:
        if key == name:
            return value
    return None


def parse_hostport(text: str, *, lax: bool = False) -> tuple[str, int | None]:
    """Parse ``host[:port]`` (RFC 3261 §25.1 hostport); an IPv6 host loses its brackets.

    An IPv6 host must be bracketed (RFC 3261 §25.1 IPv6reference, RFC 5118 §4.2); ``lax``
    accepts one without, read by :func:`unbracketed_ipv6`.
    """
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not _IPV6_RE.fullmatch(host):
            raise ValueError(f"bad IPv6 reference in {show(text)}")
    elif text.count(":") > 1:
        if not lax:
            raise ValueError(f"IPv6 host without brackets in {show(text)}")
        return unbracketed_ipv6(text)
    else:
        host, sep, port_text = text.partition(":")
        rest = sep + port_text
        if not _HOST_RE.fullmatch(host):
            raise ValueError(f"bad host {show(host)}")
    if not rest:
        return host.lower(), None
    port_text = rest[1:]
    if rest[0] != ":" or not (port_text.isascii() and port_text.isdigit()):
        raise ValueError(f"bad port in {show(text)}")
    port = int(port_text)
    if port > MAX_PORT:
        raise ValueError(f"port {port} out of range")
    return host.lower(), port


def unbracketed_ipv6(text: str) -> tuple[str, int | None]:
    """Read ``host[:port]`` whose IPv6 host has no brackets, as phones send it.

    RFC 5118 §4.2 makes ``sip:user@2001:db8::10`` invalid, and §4.3 shows why: a trailing
    ``:5060`` may be a port or the address's last group. Read as Wireshark users would: if the
    whole text is an IPv6 address it is the host (``fe80:0:0:0:21a:a0ff:fe07:32e0``, also
    ``2001:db8::10:5060``, which RFC 5118 §4.3 reads as an address); otherwise, if the text
    before the last colon is an IPv6 address and the rest a port, split there (nine groups:
    ``fec0:0:0:0:216:d3ff:fe0d:22c:5060``). Anything else is a ValueError.
    """
    if _is_ipv6(text):
        return text.lower(), None
    host, _, port_text = text.rpartition(":")
    if port_text.isascii() and port_text.isdigit() and int(port_text) <= MAX_PORT and (
            _is_ipv6(host)):
        return host.lower(), int(port_text)
    raise ValueError(f"bad IPv6 host {show(text)}")


def _is_ipv6(text: str) -> bool:
    """An IPv6 address in text form, without a zone (which an IPv6reference cannot carry)."""
    if "%" in text:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _uri_params(text: str) -> Params:
    """Parse ``;name[=value]`` URI parameters, percent-decoding both (RFC 3261 §19.1.1)."""
    params: list[tuple[str, str | None]] = []
    for item in text.split(";"):
        if item:
            name, sep, value = item.partition("=")
            params.append((unquote(name).lower(), unquote(value) if sep else None))
    return tuple(params)


@dataclass(frozen=True, slots=True)
class SipUri:
    """A ``sip:``, ``sips:`` (RFC 3261 §19.1) or ``tel:`` (RFC 3966) URI.

    The user part is percent-decoded and any password dropped (RFC 3261 §19.1.1 calls it
    NOT RECOMMENDED); an IPv6 host is kept without brackets; hosts are lower-cased
    (§19.1.4). For ``tel:`` the number is in ``user`` without visual separators.
    """

    scheme: str
    user: str | None
    host: str | None
    port: int | None
    params: Params
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str, *, lax: bool = False) -> SipUri:
        """Parse a URI; raise ValueError if it is not a well-formed sip/sips/tel URI.

        ``lax`` accepts an IPv6 host without brackets (see :func:`unbracketed_ipv6`).
        """
        text = text.strip()
        scheme, sep, rest = text.partition(":")
        scheme = scheme.lower()
        if not sep or not rest:
            raise ValueError(f"not a URI: {show(text)}")
        if scheme in SIP_SCHEMES:
            return cls._parse_sip(scheme, rest, lax)
        if scheme == TEL_SCHEME:
            return cls._parse_tel(rest)
        raise ValueError(f"unsupported URI scheme {show(scheme)}")

    @classmethod
    def salvage(cls, text: str) -> SipUri:
        """What can be read of a URI that :meth:`parse` rejects, never raising.

        Like Wireshark, read the scheme up to the first ``:``, the user up to the first ``@``
        and the host up to ``;`` or ``?`` (IPv6 hosts as in ``parse(lax=True)``, a port only
        if it is one); a part that is not there is None, an unknown scheme is kept as it is.
        """
        text = text.strip()
        scheme, sep, rest = text.partition(":")
        if not sep:
            scheme, rest = "", text
        scheme = scheme.lower()
        rest, _, _ = rest.partition("?")
        if scheme == TEL_SCHEME:
            number = unquote(rest.partition(";")[0]).translate(VISUAL_SEPARATORS)
            return cls(TEL_SCHEME, number or None, None, None, (), ())
        userinfo, at, hostpart = rest.partition("@")
        if not at:
            userinfo, hostpart = "", rest
        hostport, _, params_text = hostpart.partition(";")
        host: str | None
        port: int | None = None
        try:
            host, port = parse_hostport(hostport, lax=True)
        except ValueError:  # a bad port, or not a host at all: keep the name before any port
            host = hostport.lower() if hostport.count(":") > 1 else hostport.partition(":")[0]
        user = unquote(userinfo.partition(":")[0]) or None
        return cls(scheme, user, host or None, port, _uri_params(params_text), ())

    @classmethod
    def _parse_sip(cls, scheme: str, rest: str, lax: bool = False) -> SipUri:
        # RFC 3261 §25.1 allows no unescaped '@' in user, password or headers, so the first
        # one ends the userinfo (a user part may contain '?' and ';': RFC 4475 §3.1.1.2).
        at = rest.find("@")
        user = None
        if at >= 0:
            user = unquote(rest[:at].partition(":")[0]) or None
            rest = rest[at + 1 :]
        rest, _, headers_text = rest.partition("?")
        hostport, _, params_text = rest.partition(";")
        host, port = parse_hostport(hostport, lax=lax)
        headers: list[tuple[str, str]] = []
        for item in headers_text.split("&") if headers_text else ():
            name, _, value = item.partition("=")
            headers.append((unquote(name), unquote(value)))
        return cls(scheme, user, host, port, _uri_params(params_text), tuple(headers))

    @classmethod
    def _parse_tel(cls, rest: str) -> SipUri:
        number, _, params_text = rest.partition(";")
        user = unquote(number).translate(VISUAL_SEPARATORS)
        if not _TEL_RE.fullmatch(user):
            raise ValueError(f"bad tel number {show(number)}")
        return cls(TEL_SCHEME, user, None, None, _uri_params(params_text), ())

    def param(self, name: str) -> str | None:
        """Value of URI parameter ``name`` (case-insensitive); None if absent or valueless."""
        return find_param(self.params, name.lower())

    def header(self, name: str) -> str | None:
        """Decoded value of URI header ``name`` (case-insensitive), e.g. ``Replaces``."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def __str__(self) -> str:
        if self.scheme == TEL_SCHEME:
            text = f"tel:{quote(self.user or '', safe=_TEL_SAFE)}"
        else:
            host = f"[{self.host}]" if self.host and ":" in self.host else self.host
            user = "" if self.user is None else quote(self.user, safe=_USER_SAFE) + "@"
            port = "" if self.port is None else f":{self.port}"
            text = f"{self.scheme}:{user}{host}{port}"
        for name, value in self.params:
            text += f";{quote(name, safe=_PARAM_SAFE)}"
            if value is not None:
                text += f"={quote(value, safe=_PARAM_SAFE)}"
        if self.headers:
            text += "?" + "&".join(
                f"{quote(name, safe=_HEADER_SAFE)}={quote(value, safe=_HEADER_SAFE)}"
                for name, value in self.headers
            )
        return text


def _lax_display_name(text: str) -> tuple[str, int]:
    """Read ``"Biuro "Rachunkowe" Sp." <uri>``: a display name with unescaped inner quotes.

    RFC 3261 §25.1 requires them escaped, but PBXes pass names through as typed; like
    Wireshark, take everything up to the quote that is followed by ``<``. Returns the name
    and the index of ``<``.
    """
    match = _NAME_END_RE.search(text, 1)
    if match is None:
        raise ValueError(f"expected '<' after the display name in {show(text)}")
    return _ESCAPE_RE.sub(r"\1", text[1 : match.start()]), match.end() - 1


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A From/To/Contact-style value: optional display name, URI and header parameters.

    RFC 3261 §20.10: in the addr-spec form (no angle brackets) everything after the first
    ``;`` is a header parameter, not a URI parameter.
    """

    display_name: str | None
    uri: SipUri
    params: Params

    @classmethod
    def parse(cls, text: str, *, lax: bool = False) -> NameAddr:
        """Parse ``[display-name] <uri> *(;param)`` or ``uri *(;param)`` (RFC 3261 §25.1).

        ``lax`` reads a sip/sips/tel URI as far as it can (:meth:`SipUri.salvage`; another
        scheme is still an error) and parameters as ``parse_params(lax=True)`` does; the display
        name and the angle brackets must still be readable, since a tag's place depends on them.
        Values repeat in every message of a dialog, so parsed ones are remembered (the result
        is immutable).
        """
        return _parse_name_addr(text, lax)

    @classmethod
    def _parse(cls, text: str, lax: bool) -> NameAddr:
        text = text.strip()
        display_name: str | None = None
        if text.startswith('"'):
            display_name, end = read_quoted(text, 0)
            less = text.find("<", end)
            if less < 0 or text[end:less].strip():
                display_name, less = _lax_display_name(text)
        else:
            less = text.find("<")
            if less > 0:
                display_name = text[:less].strip()
        if less < 0:
            uri_text, _, params_text = text.partition(";")
            return cls(None, _uri(uri_text, lax), parse_params(params_text, lax=lax))
        greater = text.find(">", less)
        if greater < 0:
            raise ValueError(f"missing '>' in {show(text)}")
        rest = text[greater + 1 :].lstrip()
        if rest and rest[0] != ";":
            if not lax:
                raise ValueError(f"unexpected {show(rest)} after '>'")
            rest = rest[rest.find(";"):] if ";" in rest else ""
        uri = _uri(text[less + 1 : greater], lax)
        return cls(display_name or None, uri, parse_params(rest, lax=lax))

    @property
    def tag(self) -> str | None:
        """The dialog tag (RFC 3261 §19.3)."""
        return find_param(self.params, "tag")

    def param(self, name: str) -> str | None:
        """Value of header parameter ``name`` (case-insensitive); None if absent or bare."""
        return find_param(self.params, name.lower())


@lru_cache(maxsize=PARSED_CACHE_SIZE)
def _parse_name_addr(text: str, lax: bool) -> NameAddr:
    return NameAddr._parse(text, lax)


def _uri(text: str, lax: bool) -> SipUri:
    """``SipUri.parse``, or with ``lax`` a sip/sips/tel URI as far as it can be read."""
    if not lax:
        return SipUri.parse(text)
    try:
        return SipUri.parse(text, lax=True)
    except ValueError:
        if text.strip().partition(":")[0].lower() not in KNOWN_SCHEMES:
            raise
        return SipUri.salvage(text)


def number_of(addr: NameAddr | SipUri) -> str | None:
    """The user part as a phone number: digits with an optional leading '+'.

    Visual separators (RFC 3966 §3) and the telephone-subscriber parameters a
    ``user=phone`` SIP URI may carry (``;isub=``, ``;postd=``) are dropped; a user part
    that is not a number (``anonymous``, ``sipp``) is returned as it is.
    """
    uri = addr.uri if isinstance(addr, NameAddr) else addr
    if uri.user is None:
        return None
    number = uri.user.partition(";")[0].translate(VISUAL_SEPARATORS)
    return number if _NUMBER_RE.fullmatch(number) else uri.user
