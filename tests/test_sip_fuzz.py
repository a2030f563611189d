"""Property tests: whatever the network sends, the parsers answer or raise ValueError, quickly."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etykieta.telephony.sdp import SessionDescription
from etykieta.telephony.sip import SipMessage, parse_message
from etykieta.telephony.sipuri import NameAddr, SipUri, parse_hostport

DATA = Path(__file__).parent / "data" / "sip"
FIXTURES = sorted(path.read_bytes() for path in DATA.glob("*.txt"))
FUZZ = settings(max_examples=300, deadline=250)
# Characters that steer the parsers into their less common branches.
SIP_ALPHABET = 'sip:tel+@[]<>;,=?&%"\\ \t\r\n:/.-0123456789abcdefABCDEF*#'


def _accessors() -> dict[str, Any]:
    """Every property of SipMessage with its declared return type, found on the class itself."""
    return {name: get_type_hints(member.fget)["return"]
            for name, member in inspect.getmembers(SipMessage)
            if isinstance(member, property) and member.fget is not None}


ACCESSORS = _accessors()


def conforms(value: object, hint: Any) -> bool:
    """Whether ``value`` is of the annotated type ``hint`` (a class, a union, a list, a tuple)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        return any(conforms(value, arg) for arg in args)
    if origin in (list, tuple):
        assert origin is list or args[1:] == (Ellipsis,), f"unhandled annotation {hint}"
        return isinstance(value, origin) and all(conforms(item, args[0]) for item in value)
    assert origin is None, f"unhandled annotation {hint}"
    return isinstance(value, hint)


def exercise(msg: SipMessage) -> None:
    """Touch every accessor: on a message that parsed, none raises and each gives its type."""
    assert all(isinstance(anomaly, str) and anomaly for anomaly in msg.anomalies)
    msg.via_count()
    for name in ("via", "contact", "x-unknown", "m"):
        msg.header(name)
        msg.header_values(name)
    for name, returns in ACCESSORS.items():
        value = getattr(msg, name)
        assert conforms(value, returns), f"{name} gave {value!r}, not a {returns}"
    if msg.request_uri is not None:
        assert SipUri.parse(str(msg.request_uri)) == msg.request_uri


def parse_or_reject(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except ValueError:
        return
    exercise(msg)


def test_the_accessors_are_read_from_the_class() -> None:
    assert {"is_request", "vias", "contact", "refer_replaces", "sipfrag_status", "sdp",
            "sdp_error"} <= ACCESSORS.keys()


@pytest.mark.parametrize("path", sorted(DATA.glob("*.txt")), ids=lambda path: path.stem)
def test_every_accessor_of_each_fixture_gives_its_type(path: Path) -> None:
    parse_or_reject(path.read_bytes())


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_parse_or_raise_value_error(data: bytes) -> None:
    parse_or_reject(data)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(FIXTURES)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(("flip", "delete", "insert", "truncate")))
        if operation == "flip" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        elif operation == "insert":
            data[position:position] = draw(st.text(SIP_ALPHABET, max_size=12)).encode()
        elif operation == "truncate":
            del data[position:]
    return bytes(data)


@FUZZ
@given(mutated_fixture())
def test_mutated_fixtures_parse_or_raise_value_error(data: bytes) -> None:
    parse_or_reject(data)


@FUZZ
@given(st.sampled_from(FIXTURES), st.text(SIP_ALPHABET, max_size=80))
def test_spliced_header_values_parse_or_raise_value_error(fixture: bytes, text: str) -> None:
    head, _, body = fixture.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for index in range(1, len(lines)):
        name = lines[index].partition(b":")[0]
        spliced = [*lines[:index], name + b": " + text.encode(), *lines[index + 1 :]]
        parse_or_reject(b"\r\n".join(spliced) + b"\r\n\r\n" + body)


@FUZZ
@given(st.text(SIP_ALPHABET, max_size=60))
def test_uri_parses_and_round_trips_or_raises_value_error(text: str) -> None:
    for candidate in (text, "sip:" + text, "tel:" + text):
        try:
            uri = SipUri.parse(candidate)
        except ValueError:
            continue
        assert SipUri.parse(str(uri)) == uri


@FUZZ
@given(st.text(SIP_ALPHABET, max_size=60))
def test_name_addr_parses_or_raises_value_error(text: str) -> None:
    for candidate in (text, "<sip:a@b" + text, '"' + text):
        try:
            NameAddr.parse(candidate)
        except ValueError:
            continue


@FUZZ
@given(st.binary(max_size=600) | st.text("vocmatsi=/ :0123456789\r\nRTP/AVPIN", max_size=300))
def test_sdp_parses_or_raises_value_error(data: bytes | str) -> None:
    for candidate in (data, b"v=0\r\n" + data if isinstance(data, bytes) else "v=0\n" + data):
        try:
            description = SessionDescription.parse(candidate)
        except ValueError:
            continue
        description.audio_endpoint()


IPV6_ALPHABET = "0123456789abcdefABCDEF:.[]%;@>"


@FUZZ
@given(st.text(IPV6_ALPHABET, max_size=50))
def test_hosts_without_brackets_parse_leniently_or_raise_value_error(host: str) -> None:
    try:
        parsed, port = parse_hostport(host, lax=True)
    except ValueError:
        return
    assert port is None or 0 <= port <= 65535
    uri = SipUri("sip", "1202", parsed, port, (), ())
    assert SipUri.parse(str(uri)) == uri   # printed with brackets, it reads strictly


@FUZZ
@given(st.text(SIP_ALPHABET, max_size=60))
def test_salvage_never_raises_and_lax_raises_only_value_error(text: str) -> None:
    for candidate in (text, "sip:" + text, "sip:1202@" + text, "tel:" + text):
        SipUri.salvage(candidate)
        for parse in (SipUri.parse, NameAddr.parse):
            try:
                parse(candidate, lax=True)
            except ValueError:
                continue


@FUZZ
@given(st.sampled_from(["From", "To", "Contact", "Diversion", "Refer-To"]),
       st.text(IPV6_ALPHABET, min_size=1, max_size=40))
def test_odd_hosts_in_dialog_headers_keep_or_drop_the_message_cleanly(
    header: str, host: str
) -> None:
    lines = {"From": "<sip:1201@pbx>;tag=1", "To": "<sip:1202@pbx>"}
    lines[header] = f"<sip:1201@{host}>;tag=2"
    data = ("INVITE sip:1202@pbx SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in lines.items()) + "\r\n")
    parse_or_reject(data.encode())
