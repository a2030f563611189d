"""SIP and tel URIs, name-addr values and the list syntax of SIP headers.

Grammar references: RFC 3261 §19.1 (SIP URI), §20.10 and §25.1 (name-addr / addr-spec,
generic-param, quoted-string), §7.3.1 (comma-separated header values); RFC 3966 (tel URI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

Params = tuple[tuple[str, str | None], ...]

SIP_SCHEMES = frozenset({"sip", "sips"})
TEL_SCHEME = "tel"
MAX_PORT = 65535
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
    """Split on ``separator`` outside quoted strings (and outside ``<...>`` if asked)."""
    parts: list[str] = []
    start = 0
    in_quote = in_angle = escaped = False
    for index, char in enumerate(text):
        if in_quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quote = False
        elif char == '"':
            in_quote = True
        elif angle_brackets and char == "<":
            in_angle = True
        elif angle_brackets and char == ">":
            in_angle = False
        elif char == separator and not in_angle:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def split_header_values(value: str) -> list[str]:
    """Split a header value on the commas that separate its values (RFC 3261 §7.3.1).

    Commas inside quoted strings and inside ``<...>`` do not split; empty values are dropped.
    """
    if '"' in value or "<" in value:
        parts = _split(value, ",", angle_brackets=True)
    else:
        parts = value.split(",")
    return [stripped for part in parts if (stripped := part.strip())]


def parse_params(text: str) -> Params:
    """Parse ``;name[=value]`` header parameters (RFC 3261 §25.1 generic-param).

    Names are lower-cased; quoted values are unquoted; empty items (``;;``) are skipped.
    """
    items = _split(text, ";", angle_brackets=False) if '"' in text else text.split(";")
    params: list[tuple[str, str | None]] = []
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not name:
            if item.strip():
                raise ValueError(f"parameter without a name: {show(item)}")
            continue
        value = value.strip()
        if value.startswith('"'):
            value = read_quoted(value, 0)[0]
        params.append((name, value if sep else None))
    return tuple(params)


def find_param(params: Params, name: str) -> str | None:
    """Value of the first parameter called ``name`` (lower case); None if absent or bare."""
    for key, value in params:
        if key == name:
            return value
    return None


def parse_hostport(text: str) -> tuple[str, int | None]:
    """Parse ``host[:port]`` (RFC 3261 §25.1 hostport); an IPv6 host loses its brackets."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not _IPV6_RE.fullmatch(host):
            raise ValueError(f"bad IPv6 reference in {show(text)}")
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
    def parse(cls, text: str) -> SipUri:
        """Parse a URI; raise ValueError if it is not a well-formed sip/sips/tel URI."""
        text = text.strip()
        scheme, sep, rest = text.partition(":")
        scheme = scheme.lower()
        if not sep or not rest:
            raise ValueError(f"not a URI: {show(text)}")
        if scheme in SIP_SCHEMES:
            return cls._parse_sip(scheme, rest)
        if scheme == TEL_SCHEME:
            return cls._parse_tel(rest)
        raise ValueError(f"unsupported URI scheme {show(scheme)}")

    @classmethod
    def _parse_sip(cls, scheme: str, rest: str) -> SipUri:
        # RFC 3261 §25.1 allows no unescaped '@' in user, password or headers, so the first
        # one ends the userinfo (a user part may contain '?' and ';': RFC 4475 §3.1.1.2).
        at = rest.find("@")
        user = None
        if at >= 0:
            user = unquote(rest[:at].partition(":")[0]) or None
            rest = rest[at + 1 :]
        rest, _, headers_text = rest.partition("?")
        hostport, _, params_text = rest.partition(";")
        host, port = parse_hostport(hostport)
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
    def parse(cls, text: str) -> NameAddr:
        """Parse ``[display-name] <uri> *(;param)`` or ``uri *(;param)`` (RFC 3261 §25.1)."""
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
            return cls(None, SipUri.parse(uri_text), parse_params(params_text))
        greater = text.find(">", less)
        if greater < 0:
            raise ValueError(f"missing '>' in {show(text)}")
        rest = text[greater + 1 :].lstrip()
        if rest and rest[0] != ";":
            raise ValueError(f"unexpected {show(rest)} after '>'")
        uri = SipUri.parse(text[less + 1 : greater])
        return cls(display_name or None, uri, parse_params(rest))

    @property
    def tag(self) -> str | None:
        """The dialog tag (RFC 3261 §19.3)."""
        return find_param(self.params, "tag")

    def param(self, name: str) -> str | None:
        """Value of header parameter ``name`` (case-insensitive); None if absent or bare."""
        return find_param(self.params, name.lower())


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
