"""What real devices get wrong in SIP is kept and counted, not a lost message (issue 8 §5).

Only a start line, Call-ID, CSeq or a From/To whose tag cannot be found drops a message; the
rest is read as far as it can be (the way Wireshark reads it) and listed in
``SipMessage.anomalies``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etykieta.config import Settings
from etykieta.telephony.analyzer import SignallingAnalyzer
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.pipeline import SipExtractor
from etykieta.telephony.sip import NameAddr, SipMessage, SipUri, parse_message
from etykieta.telephony.sipuri import parse_hostport, unbracketed_ipv6

IPV6_PHONES = Path(__file__).parent / "data" / "calls" / "ipv6_unbracketed_uris.pcap"


def message(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def invite(*headers: str, request_uri: str = "sip:1202@pbx") -> SipMessage:
    defaults = {
        "From": "From: <sip:1201@pbx>;tag=1",
        "To": "To: <sip:1202@pbx>",
        "Call-ID": "Call-ID: c1",
        "CSeq": "CSeq: 1 INVITE",
    }
    for header in headers:
        defaults[header.partition(":")[0]] = header
    return parse_message(message(f"INVITE {request_uri} SIP/2.0", *defaults.values()))


# -- unbracketed IPv6 hosts (RFC 5118 §4.2 says invalid; phones send them) -----------------


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("fe80:0:0:0:21a:a0ff:fe07:32e0", "fe80:0:0:0:21a:a0ff:fe07:32e0", None),
        ("fec0:0:0:0:216:d3ff:fe0d:22c:5060", "fec0:0:0:0:216:d3ff:fe0d:22c", 5060),
        # the whole text is an address: RFC 5118 §4.3 reads [2001:db8::10:5070] the same way
        ("2001:db8::10:5070", "2001:db8::10:5070", None),
        ("2001:DB8::1:0:0:0:0:5060", "2001:db8::1:0:0:0:0", 5060),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1", None),
    ],
)
def test_unbracketed_ipv6_host_is_split_only_where_it_must_be(
    text: str, host: str, port: int | None
) -> None:
    assert unbracketed_ipv6(text) == (host, port)
    assert parse_hostport(text, lax=True) == (host, port)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("fe80:zz::1", "bad IPv6 host 'fe80:zz::1'"),
        ("fec0::22c:99999", "bad IPv6 host 'fec0::22c:99999'"),
        ("a:b:c", "bad IPv6 host 'a:b:c'"),
        ("fe80::1%eth0", "bad IPv6 host 'fe80::1%eth0'"),
        ("1:2:3:4:5:6:7:8:9:10", "bad IPv6 host '1:2:3:4:5:6:7:8:9:10'"),
    ],
)
def test_unbracketed_text_that_is_no_ipv6_host_is_still_an_error(text: str, error: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        unbracketed_ipv6(text)
    assert str(excinfo.value) == error


def test_strict_parse_names_the_missing_brackets() -> None:
    with pytest.raises(ValueError) as excinfo:
        SipUri.parse("sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0")
    assert str(excinfo.value) == "IPv6 host without brackets in 'fe80:0:0:0:21a:a0ff:fe07:32e0'"


def test_lax_uri_prints_with_brackets_and_reparses_strictly() -> None:
    uri = SipUri.parse("sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060;transport=udp", lax=True)
    assert str(uri) == "sip:4321@[fec0:0:0:0:216:d3ff:fe0d:22c]:5060;transport=udp"
    assert SipUri.parse(str(uri)) == uri


# -- URIs read as far as they can be ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sip:alice@host:50x;transport=udp",
         SipUri("sip", "alice", "host", None, (("transport", "udp"),), ())),
        ("sip:alice@host:70000", SipUri("sip", "alice", "host", None, (), ())),
        ("sip:9876@fe80:zz::1", SipUri("sip", "9876", "fe80:zz::1", None, (), ())),
        ("sip:1201@exa mple.com", SipUri("sip", "1201", "exa mple.com", None, (), ())),
        ("sip:+48600100230@", SipUri("sip", "+48600100230", None, None, (), ())),
        ("tel:+48 600 abc;x=1", SipUri("tel", "+48600abc", None, None, (), ())),
        ("SIP:[::1", SipUri("sip", None, "[::1", None, (), ())),
    ],
)
def test_salvage_reads_user_and_host_of_a_broken_uri(text: str, expected: SipUri) -> None:
    assert SipUri.salvage(text) == expected


@pytest.mark.parametrize(
    ("text", "user", "host", "port", "params"),
    [
        ("<sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0>;tag=a1", "9876",
         "fe80:0:0:0:21a:a0ff:fe07:32e0", None, (("tag", "a1"),)),
        ("sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060;tag=b2", "4321",
         "fec0:0:0:0:216:d3ff:fe0d:22c", 5060, (("tag", "b2"),)),
        ("<sip:1201@pbx:50x>;=x;tag=c3", "1201", "pbx", None, (("tag", "c3"),)),
        ("<sip:1201@pbx> junk;tag=d4", "1201", "pbx", None, (("tag", "d4"),)),
    ],
)
def test_lax_name_addr_keeps_the_tag_of_a_broken_uri(
    text: str, user: str, host: str, port: int | None, params: tuple[tuple[str, str], ...]
) -> None:
    addr = NameAddr.parse(text, lax=True)
    assert (addr.uri.user, addr.uri.host, addr.uri.port, addr.params) == (user, host, port, params)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('"Anna <sip:1201@pbx>', "unterminated quoted string in '\"Anna <sip:1201@pbx>'"),
        ("<sip:1201@pbx;tag=1", "missing '>' in '<sip:1201@pbx;tag=1'"),
        ("<http://example.com>;tag=1", "unsupported URI scheme 'http'"),
    ],
)
def test_lax_name_addr_still_needs_its_structure(text: str, error: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        NameAddr.parse(text, lax=True)
    assert str(excinfo.value) == error


# -- messages ---------------------------------------------------------------------------------


def test_ipv6_phone_without_brackets_keeps_its_message_with_the_anomalies() -> None:
    msg = invite(
        "From: <sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0>;tag=a1",
        "To: sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060",
        "Contact: <sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0:5060>",
        request_uri="sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060",
    )
    assert (msg.from_.uri.user, msg.from_.tag, msg.to.uri.user) == ("9876", "a1", "4321")
    assert msg.request_uri == SipUri("sip", "4321", "fec0:0:0:0:216:d3ff:fe0d:22c", 5060, (), ())
    assert msg.contact is not None and msg.contact.uri.port == 5060
    assert msg.anomalies == (
        "Request-URI: IPv6 host without brackets in 'fec0:0:0:0:216:d3ff:fe0d:22c:5060'",
        "From: IPv6 host without brackets in 'fe80:0:0:0:21a:a0ff:fe07:32e0'",
        "To: IPv6 host without brackets in 'fec0:0:0:0:216:d3ff:fe0d:22c:5060'",
        "Contact: IPv6 host without brackets in 'fe80:0:0:0:21a:a0ff:fe07:32e0:5060'",
    )


def test_well_formed_message_has_no_anomalies() -> None:
    msg = invite("Contact: <sip:1201@[2001:db8::1]:5060>", "Content-Type: application/sdp")
    assert msg.anomalies == ()


def test_odd_optional_headers_are_counted_and_read_as_absent() -> None:
    msg = invite(
        "Contact: <sip:1201@pbx",
        "Diversion: <sip:a@b>;reason=x, garbage<",
        "Refer-To: <http://x>",
        "Replaces: ;to-tag=1",
        "Reason: <bad>;cause=1",
        "Content-Type: nonsense",
        "Content-Length: ten",
        "Via: SIP/2.0/UDP bad host",
        "this line has no colon",
    )
    assert (msg.contact, msg.refer_to, msg.replaces, msg.content_type) == (None, None, None, None)
    assert msg.anomalies == (
        "header line without a name: 'this line has no colon'",
        "Content-Length is not a number: 'ten'",
        "Contact: missing '>' in '<sip:1201@pbx'",
        "Diversion: missing '>' in 'garbage<'",
        "Refer-To: unsupported URI scheme 'http'",
        "Replaces: bad Replaces Call-ID ''",
        "Reason: Reason protocol is not a token: '<bad>'",
        "Content-Type: bad media type 'nonsense'",
    )


def test_from_without_tag_is_kept_as_rfc_2543_peers_send_it() -> None:
    msg = invite("From: <sip:1201@pbx>")
    assert (msg.from_.tag, msg.anomalies) == (None, ("From: no tag (RFC 3261 §8.1.1.3)",))


def test_from_uri_with_a_bad_port_is_kept_with_its_user() -> None:
    msg = invite("From: <sip:1201@pbx:50x>;tag=1")
    assert (msg.from_.uri.user, msg.from_.tag) == ("1201", "1")
    assert msg.anomalies == ("From: bad port in 'pbx:50x'",)


@pytest.mark.parametrize(
    ("headers", "request_uri", "error"),
    [
        (("From: <sip:1201@pbx>;tag",), "sip:1202@pbx", "bad From header: tag without a value"),
        (("From: <sip:1201@pbx>;tag=",), "sip:1202@pbx", "bad From header: tag without a value"),
        (("To: <sip:1202@pbx>;tag=",), "sip:1202@pbx", "bad To header: tag without a value"),
        (("From: <sip:1201@fe80::1;tag=1",), "sip:1202@pbx",
         "bad From header: missing '>' in '<sip:1201@fe80::1;tag=1'"),
        (("To: <urn:service:sos>",), "sip:1202@pbx",
         "bad To header: unsupported URI scheme 'urn'"),
        ((), "sip:1202@fe80::zz:1", "bad Request-URI: IPv6 host without brackets in 'fe80::zz:1'"),
        ((), "sip:1202@pbx:99999", "bad Request-URI: port 99999 out of range"),
    ],
)
def test_what_hides_the_dialog_still_drops_the_message(
    headers: tuple[str, ...], request_uri: str, error: str
) -> None:
    with pytest.raises(ValueError) as excinfo:
        invite(*headers, request_uri=request_uri)
    assert str(excinfo.value) == error


# -- a real call from phones that write IPv6 without brackets (tests/lab/tunnels/) -------------


def ipv6_phone_messages() -> list[bytes]:
    extractor = SipExtractor()
    with open_capture(IPV6_PHONES) as capture:
        return [m.data for p in capture for m in extractor.receive(p)]


def test_real_invite_without_brackets_is_read_with_its_user_parts() -> None:
    invite_data = ipv6_phone_messages()[0]
    msg = parse_message(invite_data)
    assert (msg.method, msg.request_uri, msg.from_.uri.user, msg.to.uri.user) == (
        "INVITE", SipUri("sip", "1202", "fec0:0:0:0:216:d3ff:fe0d:22c", 5060, (), ()),
        "+48600100417", "1202")
    assert [via.host for via in msg.vias] == ["fe80:0:0:0:21a:a0ff:fe07:32e0"]


def test_real_invite_invalid_twin_without_call_id_is_still_dropped() -> None:
    invite_data = ipv6_phone_messages()[0]
    twin = invite_data.replace(b"Call-ID:", b"Call-Identity:")
    with pytest.raises(ValueError) as excinfo:
        parse_message(twin)
    assert str(excinfo.value) == "missing Call-ID header"


def test_analyzer_keeps_every_message_and_counts_them(lab_settings: Settings) -> None:
    analyzer = SignallingAnalyzer(lab_settings)
    with open_capture(IPV6_PHONES) as capture:
        calls = [call for packet in capture for call in analyzer.receive(packet)]
    calls += analyzer.close()
    assert [(c.outcome, c.caller, c.answered_by) for c in calls] == [
        ("answered", "+48600100417", "1202")]
    stats = analyzer.stats
    assert (stats.unparsable, stats.malformed_headers_kept) == (0, 7)
    assert stats.malformed_header_samples[1] == (
        2, "From: IPv6 host without brackets in 'fe80:0:0:0:21a:a0ff:fe07:32e0'; "
        "To: IPv6 host without brackets in 'fec0:0:0:0:216:d3ff:fe0d:22c:5060'")
