"""SDP session descriptions as carried in SIP bodies.

RFC 8866 (SDP), RFC 3264 (offer/answer: directions, port 0), RFC 3605 (``a=rtcp``),
RFC 5761 (``a=rtcp-mux``), RFC 3551 §6 (static payload types). Parsing is tolerant: a line
that does not parse is counted in ``bad_lines`` and skipped, and so is a format of an RTP
``m=`` line that is not a payload type (the line keeps its other formats, so one odd entry
does not cost the stream); only input that is not SDP at all (no leading ``v=``) raises
ValueError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})
DEFAULT_DIRECTION = "sendrecv"  # RFC 8866 §6.7: absent direction attributes mean sendrecv
MAX_PORT = 65535
MAX_PAYLOAD_TYPE = 127
_DECIMAL_RE = re.compile(r"[0-9]{1,9}(?:\.[0-9]+)?")  # a=ptime may be fractional (RFC 8866 §6.4)


@dataclass(frozen=True, slots=True)
class RtpMap:
    """A payload type's encoding (RFC 8866 §6.6 ``a=rtpmap``); names upper-cased."""

    payload_type: int
    encoding_name: str
    clock_rate: int
    channels: int

    @classmethod
    def parse(cls, value: str) -> RtpMap:
        """Parse ``<payload type> <encoding name>/<clock rate>[/<channels>]``."""
        payload_type, _, encoding = value.strip().partition(" ")
        name, _, rest = encoding.strip().partition("/")
        clock_rate, _, channels = rest.partition("/")
        try:
            return cls(
                _payload_type(payload_type), name.upper(), int(clock_rate), int(channels or 1)
            )
        except ValueError:
            raise ValueError(f"bad rtpmap {value!r}") from None


# RFC 3551 §6 Table 4, audio rows. G722's RTP clock is 8000 although it samples at 16 kHz
# (RFC 3551 §4.5.2).
STATIC_PAYLOAD_TYPES = {
    rtpmap.payload_type: rtpmap
    for rtpmap in (
        RtpMap(0, "PCMU", 8000, 1),
        RtpMap(3, "GSM", 8000, 1),
        RtpMap(4, "G723", 8000, 1),
        RtpMap(5, "DVI4", 8000, 1),
        RtpMap(6, "DVI4", 16000, 1),
        RtpMap(7, "LPC", 8000, 1),
        RtpMap(8, "PCMA", 8000, 1),
        RtpMap(9, "G722", 8000, 1),
        RtpMap(10, "L16", 44100, 2),
        RtpMap(11, "L16", 44100, 1),
        RtpMap(12, "QCELP", 8000, 1),
        RtpMap(13, "CN", 8000, 1),
        RtpMap(14, "MPA", 90000, 1),
        RtpMap(15, "G728", 8000, 1),
        RtpMap(16, "DVI4", 11025, 1),
        RtpMap(17, "DVI4", 22050, 1),
        RtpMap(18, "G729", 8000, 1),
    )
}


def _is_payload_type(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= MAX_PAYLOAD_TYPE


def _payload_type(text: str) -> int:
    if not _is_payload_type(text):
        raise ValueError(f"bad payload type {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_PORT:
        raise ValueError(f"bad port {text!r}")
    return int(text)


@dataclass(frozen=True, slots=True)
class Connection:
    """Connection data (RFC 8866 §5.7 ``c=``); a multicast ``/ttl/count`` suffix is dropped."""

    network_type: str
    address_type: str
    address: str

    @classmethod
    def parse(cls, value: str) -> Connection:
        """Parse ``<nettype> <addrtype> <connection-address>``."""
        fields = value.split()
        if len(fields) != 3:
            raise ValueError(f"bad connection line {value!r}")
        return cls(fields[0].upper(), fields[1].upper(), fields[2].partition("/")[0])


@dataclass(frozen=True, slots=True)
class Origin:
    """The originator line (RFC 8866 §5.2 ``o=``); a new version means a changed offer."""

    username: str
    session_id: str
    session_version: int
    network_type: str
    address_type: str
    address: str

    @classmethod
    def parse(cls, value: str) -> Origin:
        """Parse ``<username> <sess-id> <sess-version> <nettype> <addrtype> <address>``."""
        fields = value.split()
        if len(fields) != 6 or not (fields[2].isascii() and fields[2].isdigit()):
            raise ValueError(f"bad origin line {value!r}")
        username, session_id, version, network_type, address_type, address = fields
        return cls(username, session_id, int(version), network_type, address_type, address)


Attributes = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One ``m=`` section with the session-level defaults it inherits already applied.

    ``connection`` and ``direction`` are the effective values (media level overrides
    session level, RFC 8866 §5.7 and §6.7); ``rtpmap`` lists explicit ``a=rtpmap`` entries
    followed by the static defaults of formats that have none; ``rtcp_port`` is the
    ``a=rtcp`` port (RFC 3605), the RTP port under ``a=rtcp-mux`` (RFC 5761), else RTP
    port + 1 (RFC 3550 §11) for an RTP profile on a non-zero port.
    """

    media: str
    port: int
    proto: str
    formats: tuple[int | str, ...]
    connection: Connection | None
    rtpmap: tuple[RtpMap, ...]
    ptime: int | None
    direction: str
    rtcp_port: int | None
    attributes: Attributes

    def codec(self, payload_type: int) -> RtpMap | None:
        """The encoding of ``payload_type`` in this section, if it is known."""
        for rtpmap in self.rtpmap:
            if rtpmap.payload_type == payload_type:
                return rtpmap
        return None


def _is_rtp(proto: str) -> bool:
    """Whether ``proto`` is an RTP profile (RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVP...)."""
    return "RTP/" in proto.upper()


@dataclass(frozen=True, slots=True)
class _MediaLine:
    media: str
    port: int
    proto: str
    formats: tuple[int | str, ...]
    bad_formats: int  # formats of an RTP profile that are not payload types, left out

    @classmethod
    def parse(cls, value: str) -> _MediaLine:
        """Parse ``<media> <port>[/<count>] <proto> <fmt> ...`` (RFC 8866 §5.14)."""
        fields = value.split()
        if len(fields) < 3:
            raise ValueError(f"bad media line {value!r}")
        media, port, proto, *formats = fields
        parsed: tuple[int | str, ...] = tuple(formats)
        if _is_rtp(proto):
            parsed = tuple(int(fmt) for fmt in formats if _is_payload_type(fmt))
        return cls(media.lower(), _port(port.partition("/")[0]), proto, parsed,
                   len(formats) - len(parsed))


class _Section:
    """The lines of one level (the session or an ``m=`` section) while they are read."""

    __slots__ = ("attributes", "bad_lines", "connection", "name", "origin")

    def __init__(self) -> None:
        self.attributes: list[tuple[str, str | None]] = []
        self.bad_lines = 0
        self.connection: Connection | None = None
        self.name: str | None = None
        self.origin: Origin | None = None

    def read(self, kind: str, value: str) -> None:
        """Take one ``<kind>=<value>`` line; ValueError if it is malformed."""
        if kind == "a":
            name, sep, attribute = value.partition(":")
            self.attributes.append((name.strip().lower(), attribute.strip() if sep else None))
        elif kind == "c":
            self.connection = Connection.parse(value)
        elif kind == "o":
            self.origin = Origin.parse(value)
        elif kind == "s":
            self.name = value

    def first(self, name: str) -> str | None:
        """The value of the first attribute ``name``."""
        for key, value in self.attributes:
            if key == name:
                return value
        return None

    def direction(self, default: str) -> str:
        """The last direction attribute (RFC 3264 §5.1), else ``default``."""
        directions = [name for name, _ in self.attributes if name in DIRECTIONS]
        return directions[-1] if directions else default


def _build_media(
    line: _MediaLine, section: _Section, session_connection: Connection | None, direction: str
) -> MediaDescription:
    rtpmap: list[RtpMap] = []
    for name, value in section.attributes:
        if name == "rtpmap":
            try:
                rtpmap.append(RtpMap.parse(value or ""))
            except ValueError:
                section.bad_lines += 1
    mapped = {entry.payload_type for entry in rtpmap}
    rtpmap += [
        STATIC_PAYLOAD_TYPES[fmt]
        for fmt in line.formats
        if isinstance(fmt, int) and fmt in STATIC_PAYLOAD_TYPES and fmt not in mapped
    ]
    ptime = section.first("ptime")
    rtcp = section.first("rtcp")
    rtcp_port = line.port + 1 if line.port and _is_rtp(line.proto) else None
    if any(name == "rtcp-mux" for name, _ in section.attributes):
        rtcp_port = line.port
    try:
        if rtcp is not None:
            rtcp_port = _port(rtcp.partition(" ")[0])
    except ValueError:
        section.bad_lines += 1
    packet_time = None
    if ptime is not None and _DECIMAL_RE.fullmatch(ptime):
        packet_time = round(float(ptime))
    elif ptime is not None:
        section.bad_lines += 1
    return MediaDescription(
        media=line.media,
        port=line.port,
        proto=line.proto,
        formats=line.formats,
        connection=section.connection or session_connection,
        rtpmap=tuple(rtpmap),
        ptime=packet_time,
        direction=section.direction(direction),
        rtcp_port=rtcp_port,
        attributes=tuple(section.attributes),
    )


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A parsed SDP body (RFC 8866 §5) reduced to what call and media tracking need."""

    origin: Origin | None
    session_name: str | None
    connection: Connection | None
    direction: str
    media: tuple[MediaDescription, ...]
    attributes: Attributes
    bad_lines: int

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse an SDP body; ValueError only if it does not start with ``v=``."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        lines = [line.rstrip("\r") for line in text.lstrip("\r\n").split("\n")]
        if not lines[0].startswith("v="):
            raise ValueError(f"not an SDP body: first line is {lines[0][:40]!r}, not v=")
        session = _Section()
        media_lines: list[tuple[_MediaLine, _Section]] = []
        section: _Section | None = session  # None inside an m= section whose m= line is bad
        for line in lines[1:]:
            if line.startswith("m="):
                try:
                    media_lines.append((_MediaLine.parse(line[2:]), _Section()))
                    section = media_lines[-1][1]
                    section.bad_lines += media_lines[-1][0].bad_formats
                except ValueError:
                    session.bad_lines += 1
                    section = None
            elif section is not None and line:
                try:
                    if len(line) < 2 or line[1] != "=":
                        raise ValueError(f"not a <type>=<value> line: {line!r}")
                    section.read(line[0], line[2:])
                except ValueError:
                    section.bad_lines += 1
        direction = session.direction(DEFAULT_DIRECTION)
        media = tuple(
            _build_media(line, section, session.connection, direction)
            for line, section in media_lines
        )
        return cls(
            origin=session.origin,
            session_name=session.name,
            connection=session.connection,
            direction=direction,
            media=media,
            attributes=tuple(session.attributes),
            bad_lines=session.bad_lines + sum(section.bad_lines for _, section in media_lines),
        )

    def audio_endpoint(self) -> tuple[str, int] | None:
        """Address and port of the first active audio stream (RFC 3264 §6: port 0 rejects)."""
        for media in self.media:
            if media.media == "audio" and media.port and media.connection is not None:
                return media.connection.address, media.port
        return None
