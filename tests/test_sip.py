"""SIP message parsing (RFC 3261 §7, §20) on wire-format fixtures and their invalid twins."""

from __future__ import annotations

from pathlib import Path

import pytest

from etykieta.telephony.sip import (
    CSeq,
    HistoryEntry,
    NameAddr,
    ReasonHeader,
    Replaces,
    SipMessage,
    SipUri,
    Via,
    parse_message,
)

DATA = Path(__file__).parent / "data" / "sip"


def fixture(name: str) -> bytes:
    return (DATA / f"{name}.txt").read_bytes()


def message(*lines: str, body: bytes = b"") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


MINIMAL_HEADERS = (
    "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1",
    "From: <sip:1201@pbx>;tag=1",
    "To: <sip:1202@pbx>",
    "Call-ID: c1",
    "CSeq: 1 INVITE",
)


def invite(*extra: str, body: bytes = b"") -> SipMessage:
    return parse_message(
        message("INVITE sip:1202@pbx SIP/2.0", *MINIMAL_HEADERS, *extra, body=body)
    )


@pytest.mark.parametrize(
    ("name", "start", "call_id", "cseq", "via_count"),
    [
        (
            "rfc3665_invite",
            ("INVITE", "sip:bob@biloxi.example.com"),
            "3848276298220188511@atlanta.example.com",
            CSeq(1, "INVITE"),
            1,
        ),
        (
            "rfc3665_180_ringing",
            (180, "Ringing"),
            "3848276298220188511@atlanta.example.com",
            CSeq(1, "INVITE"),
            1,
        ),
        (
            "asterisk_200_ok_utf8",
            (200, "OK"),
            "8b3f1c0e2d4a4e7b@10.20.0.31",
            CSeq(7312, "INVITE"),
            1,
        ),
        (
            "yealink_refer_attended",
            ("REFER", "sip:1100@10.20.0.1:5060"),
            "0_2387163402@10.20.0.31",
            CSeq(4, "REFER"),
            1,
        ),
        (
            "asterisk_notify_sipfrag",
            ("NOTIFY", "sip:1201@10.20.0.31:5062"),
            "0_2387163402@10.20.0.31",
            CSeq(102, "NOTIFY"),
            1,
        ),
        (
            "rfc4475_wsinv",
            ("INVITE", "sip:vivekg@chair-dnrc.example.com;unknownparam"),
            "wsinv.ndaksdj@192.0.2.1",
            CSeq(9, "INVITE"),
            3,
        ),
        (
            "rfc4475_intmeth",
            (
                "!interesting-Method0123456789_*+`.%indeed'~",
                "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com",
            ),
            "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
            CSeq(139122385, "!interesting-Method0123456789_*+`.%indeed'~"),
            1,
        ),
        (
            "kamailio_invite_diversion",
            ("INVITE", "sip:+48741234567@10.20.0.1;user=phone"),
            "52443-1@192.0.2.40",
            CSeq(1, "INVITE"),
            2,
        ),
        (
            "asterisk_cancel_reason",
            ("CANCEL", "sip:1202@10.20.0.32:5060"),
            "4f3e2d1c-0b9a-4877-6655-443322110000",
            CSeq(23411, "CANCEL"),
            1,
        ),
        (
            "sipi_invite_multipart",
            ("INVITE", "sip:+48741234567@10.20.0.1;user=phone"),
            "7a1c2e3f-sipi@192.0.2.60",
            CSeq(1, "INVITE"),
            1,
        ),
        (
            "kamailio_options_ipv6",
            ("OPTIONS", "sip:[2001:db8::10]:5060"),
            "1e3f2a1b6c4d5e7f-2781@2001:db8::5",
            CSeq(10, "OPTIONS"),
            1,
        ),
        (
            "compact_invite_replaces",
            ("INVITE", "sip:1202@10.20.0.1"),
            "5f0a3f2b-9c1d@10.20.0.33",
            CSeq(20, "INVITE"),
            1,
        ),
    ],
)
def test_fixture_parses_start_line_and_dialog_headers(
    name: str, start: tuple[str | int, str], call_id: str, cseq: CSeq, via_count: int
) -> None:
    msg = parse_message(fixture(name))
    if isinstance(start[0], int):
        assert (msg.is_request, msg.status_code, msg.reason_phrase) == (False, *start)
        assert (msg.method, msg.request_uri) == (None, None)
    else:
        assert (msg.is_request, msg.method, str(msg.request_uri)) == (True, *start)
    assert (msg.call_id, msg.cseq, msg.via_count(), len(msg.vias)) == (
        call_id,
        cseq,
        via_count,
        via_count,
    )
    assert (msg.bad_lines, msg.body_truncated) == (0, False)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("rfc3665_invite", "missing Call-ID header"),
        ("rfc3665_180_ringing", "not a SIP message: bad start line 'SIP/2.0 18 Ringing'"),
        (
            "asterisk_200_ok_utf8",
            "bad From header: unterminated quoted string in "
            "'\"Łukasz Żółć <sip:1201@10.20.0.1>;tag=f1e2d3c4b5'",
        ),
        ("yealink_refer_attended", "bad CSeq header: CSeq number is not an integer: 'four'"),
        ("asterisk_notify_sipfrag", "missing To header"),
        ("rfc4475_wsinv", "bad Request-URI: port 99999 out of range"),
        ("rfc4475_intmeth", "bad CSeq header: CSeq number is not an integer: '139122385.5'"),
        ("kamailio_invite_diversion", "missing From header"),
        ("asterisk_cancel_reason", "missing CSeq header"),
        ("kamailio_options_ipv6", "bad Request-URI: bad IPv6 reference in '[2001:db8::10:5060'"),
        (
            "compact_invite_replaces",
            "not a SIP message: bad start line 'INVITE sip:1202@10.20.0.1 SIP/3.0'",
        ),
    ],
)
def test_invalid_twin_is_rejected_with_a_specific_error(name: str, error: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_message(fixture(f"{name}_invalid"))
    assert str(excinfo.value) == error


def test_rfc4475_wsinv_survives_folding_compact_forms_and_lws() -> None:
    msg = parse_message(fixture("rfc4475_wsinv"))
    assert msg.to == NameAddr(
        None, SipUri.parse("sip:vivekg@chair-dnrc.example.com"), (("tag", "1918181833n"),)
    )
    assert (msg.from_.display_name, msg.from_.tag) == ('J Rosenberg \\"', "98asjd8")
    assert [(via.transport, via.host, via.branch) for via in msg.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.header("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.header("unknownheaderwithunusualvalue") == ";;,,;;,;"
    assert msg.header("Subject") == msg.header("s") == ""
    assert msg.header("max-forwards") == "0068"
    assert msg.contact == NameAddr(
        'Quoted string ""',
        SipUri.parse("sip:jdrosen@example.com"),
        (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33")),
    )
    assert len(msg.body) == 150


def test_rfc4475_intmeth_keeps_unusual_tokens_and_control_characters() -> None:
    msg = parse_message(fixture("rfc4475_intmeth"))
    assert msg.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert msg.from_.param("fromParam''~+*_!.-%") == "работающий"
    assert msg.from_.tag == "_token~1'+`*%!-."
    assert msg.header("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_compact_forms_expand_to_long_names() -> None:
    msg = parse_message(fixture("compact_invite_replaces"))
    assert [name for name, _ in msg.headers] == [
        "via",
        "from",
        "to",
        "call-id",
        "cseq",
        "contact",
        "supported",
        "replaces",
        "referred-by",
        "content-type",
        "content-length",
    ]
    assert msg.header("k") == msg.header("Supported") == "replaces, outbound"
    assert msg.header_values("supported") == ["replaces", "outbound"]
    assert msg.content_type == "application/sdp"


@pytest.mark.parametrize(
    ("compact", "long_name"),
    [
        ("a", "accept-contact"),
        ("b", "referred-by"),
        ("c", "content-type"),
        ("d", "request-disposition"),
        ("e", "content-encoding"),
        ("j", "reject-contact"),
        ("k", "supported"),
        ("l", "content-length"),
        ("m", "contact"),
        ("n", "identity-info"),
        ("o", "event"),
        ("r", "refer-to"),
        ("s", "subject"),
        ("u", "allow-events"),
        ("x", "session-expires"),
        ("y", "identity"),
    ],
)
def test_every_registered_compact_form_is_expanded(compact: str, long_name: str) -> None:
    msg = invite(f"{compact.upper()}: value")
    assert msg.headers[-1] == (long_name, "value")
    assert msg.header(compact) == msg.header(long_name) == "value"


def test_unregistered_single_letter_header_is_kept_as_is() -> None:
    assert invite("q: value").header("q") == "value"


def test_header_values_splits_list_headers_across_occurrences_only() -> None:
    msg = invite(
        "Route: <sip:p1;lr>, <sip:p2;lr>",
        "Route: <sip:p3;lr>",
        'Contact: "Doe, J" <sip:j@x>;expires=60, <sip:k@y>',
        "Date: Sat, 13 Nov 2010 23:29:00 GMT",
        "Allow: INVITE,ACK",
        "Allow: BYE",
    )
    assert msg.header_values("route") == ["<sip:p1;lr>", "<sip:p2;lr>", "<sip:p3;lr>"]
    assert msg.header_values("m") == ['"Doe, J" <sip:j@x>;expires=60', "<sip:k@y>"]
    assert msg.header_values("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert msg.header_values("allow") == ["INVITE", "ACK", "BYE"]
    assert msg.header_values("call-id") == ["c1"]
    assert msg.header_values("x-absent") == []
    assert msg.contact is not None and msg.contact.display_name == "Doe, J"


def test_bare_lf_line_endings_and_leading_crlf_are_tolerated() -> None:
    crlf = parse_message(fixture("rfc3665_invite"))
    lf = parse_message(b"\r\n\r\n" + fixture("rfc3665_invite").replace(b"\r\n", b"\n"))
    assert (lf.headers, lf.request_uri, lf.from_, lf.sdp) == (
        crlf.headers,
        crlf.request_uri,
        crlf.from_,
        crlf.sdp,
    )
    assert lf.body == crlf.body.replace(b"\r\n", b"\n")
    assert lf.body_truncated  # Content-Length counted the CRs that are gone


def test_folded_header_lines_are_joined_with_one_space() -> None:
    msg = invite("Subject: lunch\r\n  at\r\n\tnoon", "X-Empty:\r\n  folded")
    assert (msg.header("subject"), msg.header("x-empty")) == ("lunch at noon", "folded")


def test_header_names_are_case_insensitive_with_space_before_the_colon() -> None:
    msg = invite("uSeR-aGeNt   :  Yealink  ")
    assert msg.header("USER-AGENT") == "Yealink"


def test_lines_without_a_colon_are_counted_and_skipped() -> None:
    msg = invite("this is not a header", "Bad Name: x", "X-Good: y")
    assert (msg.bad_lines, msg.header("x-good")) == (2, "y")


def test_body_is_cut_to_content_length_when_the_datagram_carries_more() -> None:
    msg = invite("Content-Length: 4", body=b"abcdGARBAGE")
    assert (msg.body, msg.body_truncated) == (b"abcd", False)


def test_body_shorter_than_content_length_is_kept_and_flagged_truncated() -> None:
    msg = invite("Content-Length: 400", body=b"v=0\r\n")
    assert (msg.body, msg.body_truncated) == (b"v=0\r\n", True)


def test_message_without_blank_line_has_an_empty_truncated_body() -> None:
    data = fixture("rfc3665_invite").partition(b"\r\n\r\n")[0]
    msg = parse_message(data)
    assert (msg.body, msg.body_truncated, msg.sdp) == (b"", True, None)


def test_body_without_content_length_runs_to_the_end_of_the_datagram() -> None:
    assert invite(body=b"hello").body == b"hello"


def test_unparsable_content_length_is_ignored() -> None:
    msg = invite("Content-Length: lots", body=b"hello")
    assert (msg.body, msg.body_truncated) == (b"hello", False)


def test_status_line_with_empty_reason_phrase() -> None:
    data = message("SIP/2.0 183", *MINIMAL_HEADERS)
    assert (parse_message(data).status_code, parse_message(data).reason_phrase) == (183, "")


def test_method_stays_case_sensitive() -> None:
    msg = parse_message(message("invite sip:1202@pbx SIP/2.0", *MINIMAL_HEADERS))
    assert msg.method == "invite"


@pytest.mark.parametrize("start_line", ["SIP/2.0 200 OK", "ACK sip:1201@127.0.2.10 SIP/2.0"])
def test_message_without_via_is_tolerated(start_line: str) -> None:
    # sipp's [last_Via:] is empty in some scenarios, so real captures hold Via-less ACKs
    msg = parse_message(message(start_line, *MINIMAL_HEADERS[1:]))
    assert (msg.via_count(), msg.vias) == (0, ())


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "not a SIP message: empty"),
        (b"\r\n\r\n", "not a SIP message: empty"),
        (
            bytes.fromhex("80000001000000a0deadbeef") + b"\xd5" * 160,
            "not a SIP message: starts with byte 0x80",
        ),
        (b"\x00\x01\x00\x00", "not a SIP message: starts with byte 0x00"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "not a SIP message: bad start line 'GET / HTTP/1.1'",
        ),
        (b"INVITE sip:1202@pbx\r\n\r\n", "not a SIP message: bad start line 'INVITE sip:1202@pbx'"),
        (
            b"INVITE urn:service:sos SIP/2.0\r\n\r\n",
            "bad Request-URI: unsupported URI scheme 'urn'",
        ),
        (
            message("SIP/2.0 200 OK", *MINIMAL_HEADERS[:3], "CSeq: 1 INVITE"),
            "missing Call-ID header",
        ),
        (
            message("SIP/2.0 200 OK", *MINIMAL_HEADERS[:4], "CSeq: 1"),
            "bad CSeq header: CSeq is not a number and a method: '1'",
        ),
        (
            message("SIP/2.0 200 OK", *MINIMAL_HEADERS[:4], "CSeq: 99999999999 INVITE"),
            "bad CSeq header: CSeq number 99999999999 exceeds 2**32-1",
        ),
        (
            message("SIP/2.0 200 OK", *MINIMAL_HEADERS[:4], "CSeq: 1 IN<VITE"),
            "bad CSeq header: CSeq method is not a token: 'IN<VITE'",
        ),
        (
            message("SIP/2.0 200 OK", *MINIMAL_HEADERS[:4], "CSeq: ١ INVITE"),
            "bad CSeq header: CSeq number is not an integer: '١'",
        ),
        (
            message("SIP/2.0 200 OK", "From: <sip:a@b>", "To:", "Call-ID: x", "CSeq: 1 BYE"),
            "missing To header",
        ),
    ],
)
def test_what_cannot_be_a_sip_message_is_a_specific_value_error(data: bytes, error: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_message(data)
    assert str(excinfo.value) == error


def test_refer_exposes_target_embedded_replaces_and_referrer() -> None:
    msg = parse_message(fixture("yealink_refer_attended"))
    assert msg.refer_to is not None and msg.refer_to.uri.user == "1202"
    assert msg.refer_replaces == Replaces(
        "1426393734@10.20.0.31", "as3c0ca1f2", "2471911207", False
    )
    assert msg.referred_by == NameAddr(None, SipUri.parse("sip:1201@10.20.0.1"), ())
    assert msg.replaces is None


def test_compact_refer_to_with_the_escaped_replaces_of_the_brief() -> None:
    msg = invite("r: <sip:1202@pbx?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>")
    assert msg.refer_replaces == Replaces("abc@host", "1", "2", False)


def test_refer_to_without_replaces_is_a_blind_transfer() -> None:
    msg = invite("Refer-To: sip:1203@pbx")
    assert (msg.refer_to is not None, msg.refer_replaces) == (True, None)


def test_invite_with_replaces_header_names_the_replaced_dialog() -> None:
    msg = parse_message(fixture("compact_invite_replaces"))
    assert msg.replaces == Replaces("1426393734@10.20.0.31", "as3c0ca1f2", "2471911207", True)
    assert msg.referred_by is not None and msg.referred_by.uri.user == "1201"


def test_notify_reports_the_sipfrag_status_event_and_subscription_state() -> None:
    msg = parse_message(fixture("asterisk_notify_sipfrag"))
    assert (msg.sipfrag_status, msg.event, msg.subscription_state) == (200, "refer", "terminated")
    assert msg.content_type == "message/sipfrag"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"SIP/2.0 100 Trying\r\n", 100),
        (b"SIP/2.0 603 Declined", 603),
        (b"\r\nSIP/2.0 180 Ringing\r\nContact: <sip:x@y>\r\n", 180),
        (b"INVITE sip:x@y SIP/2.0", None),
        (b"", None),
    ],
)
def test_sipfrag_status_reads_the_fragment_status_line(body: bytes, status: int | None) -> None:
    msg = invite("Content-Type: message/sipfrag", body=body)
    assert msg.sipfrag_status == status


def test_sipfrag_status_is_none_for_other_bodies() -> None:
    assert invite("Content-Type: text/plain", body=b"SIP/2.0 200 OK").sipfrag_status is None


def test_trunk_invite_carries_diversion_history_info_and_asserted_identity() -> None:
    msg = parse_message(fixture("kamailio_invite_diversion"))
    assert [(d.uri.user, d.param("reason"), d.param("counter")) for d in msg.diversion] == [
        ("+48741234500", "unconditional", "1"),
        ("+48741234501", "no-answer", "1"),
    ]
    assert msg.history_info == [
        HistoryEntry(SipUri.parse("sip:+48741234500@trunk.example.pl;user=phone"), "1", None, None),
        HistoryEntry(
            SipUri.parse(
                "sip:+48741234501@trunk.example.pl;cause=302"
                "?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%20Temporarily%22"
            ),
            "1.1",
            302,
            ReasonHeader("SIP", 302, "Moved Temporarily"),
        ),
        HistoryEntry(
            SipUri.parse("sip:+48741234567@10.20.0.1;user=phone;cause=408"), "1.1.1", 408, None
        ),
    ]
    assert [(p.display_name, p.uri.scheme, p.uri.user) for p in msg.p_asserted_identity] == [
        ("Anna Kowalska", "sip", "+48601234567"),
        (None, "tel", "+48601234567"),
    ]
    assert (msg.to.display_name, str(msg.to.uri)) == (
        "Urzad Miasta",
        "tel:+48741234567;phone-context=+48",
    )
    assert msg.vias[1].param("received") == "192.0.2.40"
    assert msg.vias[1].param("rport") == "5060"


def test_cancel_carries_sip_and_q850_reasons() -> None:
    msg = parse_message(fixture("asterisk_cancel_reason"))
    assert msg.reasons == [
        ReasonHeader("SIP", 200, "Call completed elsewhere"),
        ReasonHeader("Q.850", 16, "Normal Clearing"),
    ]


def test_utf8_display_name_survives() -> None:
    msg = parse_message(fixture("asterisk_200_ok_utf8"))
    assert msg.from_.display_name == "Łukasz Żółć"


def test_invalid_utf8_in_headers_is_replaced_not_fatal() -> None:
    data = message("SIP/2.0 200 OK", *MINIMAL_HEADERS).replace(
        b"<sip:1201", b'"\xc5\x81\xff" <sip:1201'
    )
    assert parse_message(data).from_.display_name == "Ł\ufffd"


def test_ipv6_hosts_in_request_uri_via_and_from() -> None:
    msg = parse_message(fixture("kamailio_options_ipv6"))
    assert msg.request_uri == SipUri("sip", None, "2001:db8::10", 5060, (), ())
    assert (msg.vias[0].host, msg.vias[0].port) == ("2001:db8::5", 5060)
    assert msg.from_.uri.host == "2001:db8::5"


def test_sdp_body_is_parsed_on_demand() -> None:
    sdp = parse_message(fixture("asterisk_200_ok_utf8")).sdp
    assert sdp is not None and sdp.audio_endpoint() == ("10.20.0.1", 17346)
    assert [codec.encoding_name for codec in sdp.media[0].rtpmap] == [
        "PCMA",
        "PCMU",
        "TELEPHONE-EVENT",
    ]


def test_sdp_is_found_inside_a_multipart_body() -> None:
    msg = parse_message(fixture("sipi_invite_multipart"))
    assert msg.content_type == "multipart/mixed"
    assert msg.sdp is not None and msg.sdp.audio_endpoint() == ("192.0.2.60", 30000)
    assert msg.sdp_error is None


def test_broken_sdp_part_leaves_the_message_valid_and_reports_the_error() -> None:
    msg = parse_message(fixture("sipi_invite_multipart_invalid"))
    assert (msg.sdp, msg.sdp_error) == (None, "not an SDP body: first line is 'vx0', not v=")


@pytest.mark.parametrize(
    "extra",
    [
        (),
        ("Content-Type: text/plain",),
        ("Content-Type: multipart/mixed",),
        ("Content-Type: multipart/mixed;boundary=zz",),
        ("Content-Type: ???",),
    ],
)
def test_no_sdp_without_an_sdp_content_type(extra: tuple[str, ...]) -> None:
    msg = invite(*extra, body=b"v=0\r\n")
    assert (msg.sdp, msg.sdp_error) == (None, None)


def test_optional_headers_that_do_not_parse_read_as_absent() -> None:
    msg = invite(
        "Contact: <sip:1201@pbx",
        "Diversion: <sip:a@b>;reason=x, garbage<",
        "Refer-To: <http://x>",
        "Replaces: ;to-tag=1",
        "Reason: <bad>;cause=1",
        "Content-Type: nonsense",
        "Via: SIP/2.0/UDP bad host",
    )
    assert (msg.contact, msg.refer_to, msg.replaces, msg.content_type) == (None, None, None, None)
    assert ([d.uri.user for d in msg.diversion], msg.reasons) == (["a"], [])
    assert (msg.via_count(), len(msg.vias)) == (2, 1)


def test_contact_wildcard_is_no_contact() -> None:
    assert invite("Contact: *").contact is None


def test_absent_optional_headers_are_none_or_empty() -> None:
    msg = invite()
    assert (
        msg.contact,
        msg.content_type,
        msg.refer_to,
        msg.refer_replaces,
        msg.referred_by,
        msg.replaces,
        msg.event,
        msg.subscription_state,
        msg.sipfrag_status,
        msg.sdp,
    ) == (None,) * 10
    assert (msg.p_asserted_identity, msg.diversion, msg.history_info, msg.reasons) == ([],) * 4


@pytest.mark.parametrize(
    ("value", "via"),
    [
        (
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport;received=192.0.2.1",
            Via(
                "UDP",
                "10.0.0.1",
                5060,
                "z9hG4bK1",
                (("branch", "z9hG4bK1"), ("rport", None), ("received", "192.0.2.1")),
            ),
        ),
        (
            "sip / 2.0 / tls [2001:db8::1]:5061 ; branch = z9hG4bK2",
            Via("TLS", "2001:db8::1", 5061, "z9hG4bK2", (("branch", "z9hG4bK2"),)),
        ),
        (
            "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3",
            Via("WSS", "df7jal23ls0d.invalid", None, "z9hG4bK3", (("branch", "z9hG4bK3"),)),
        ),
    ],
)
def test_via_parses_transport_sent_by_and_params(value: str, via: Via) -> None:
    assert Via.parse(value) == via


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("SIP/2.0 10.0.0.1", "bad Via 'SIP/2.0 10.0.0.1'"),
        ("SIP/2.0/UDP 10.0.0.1 x;branch=1", "unexpected 'x;branch=1' after the Via sent-by"),
        ("SIP/2.0/UDP 10.0.0.1:99999", "port 99999 out of range"),
    ],
)
def test_malformed_via_is_a_specific_value_error(value: str, error: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        Via.parse(value)
    assert str(excinfo.value) == error


@pytest.mark.parametrize(
    ("value", "replaces"),
    [
        ("a@b;to-tag=1;from-tag=2", Replaces("a@b", "1", "2", False)),
        ("a@b ; from-tag=2 ; early-only ; to-tag=1", Replaces("a@b", "1", "2", True)),
        ("a@b", Replaces("a@b", None, None, False)),
    ],
)
def test_replaces_parses_call_id_tags_and_early_only(value: str, replaces: Replaces) -> None:
    assert Replaces.parse(value) == replaces


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            'SIP ;cause=480 ;text="Temporarily Unavailable"',
            ReasonHeader("SIP", 480, "Temporarily Unavailable"),
        ),
        ("Q.850;cause=17", ReasonHeader("Q.850", 17, None)),
        ("SIP;cause=x", ReasonHeader("SIP", None, None)),
        (
            'preemption;cause=1;text="UA, Preemption"',
            ReasonHeader("preemption", 1, "UA, Preemption"),
        ),
    ],
)
def test_reason_parses_protocol_cause_and_text(value: str, reason: ReasonHeader) -> None:
    assert ReasonHeader.parse(value) == reason


def test_reason_list_keeps_commas_inside_quoted_text() -> None:
    msg = invite('Reason: SIP;cause=200;text="done, elsewhere", Q.850;cause=16')
    assert msg.reasons == [
        ReasonHeader("SIP", 200, "done, elsewhere"),
        ReasonHeader("Q.850", 16, None),
    ]


def test_empty_body_with_sdp_content_type_is_no_sdp_and_no_error() -> None:
    msg = invite("Content-Type: application/sdp", "Content-Length: 0")
    assert (msg.sdp, msg.sdp_error) == (None, None)
