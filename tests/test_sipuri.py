"""SIP/tel URIs, name-addr values and header-list splitting (RFC 3261 §19.1, §20.10; RFC 3966)."""

from __future__ import annotations

import pytest

from etykieta.telephony.sipuri import NameAddr, SipUri, number_of, split_header_values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sip:alice@atlanta.com", SipUri("sip", "alice", "atlanta.com", None, (), ())),
        ("SIPS:Bob@Biloxi.COM:5061", SipUri("sips", "Bob", "biloxi.com", 5061, (), ())),
        (
            "sip:alice:secretword@atlanta.com;transport=tcp",
            SipUri("sip", "alice", "atlanta.com", None, (("transport", "tcp"),), ()),
        ),
        (
            "sip:+1-212-555-1212:1234@gateway.com;user=phone",
            SipUri("sip", "+1-212-555-1212", "gateway.com", None, (("user", "phone"),), ()),
        ),
        ("sip:[::1]:5060", SipUri("sip", None, "::1", 5060, (), ())),
        (
            "sip:1202@[2001:DB8::10];LR",
            SipUri("sip", "1202", "2001:db8::10", None, (("lr", None),), ()),
        ),
        (
            "sip:alice;day=tuesday@atlanta.com",
            SipUri("sip", "alice;day=tuesday", "atlanta.com", None, (), ()),
        ),
        ("sip:%61lice%20x@atlanta.com", SipUri("sip", "alice x", "atlanta.com", None, (), ())),
        (
            "sip:1202@pbx?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2",
            SipUri("sip", "1202", "pbx", None, (), (("Replaces", "abc@host;to-tag=1;from-tag=2"),)),
        ),
        (
            "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
            SipUri(
                "sip",
                None,
                "atlanta.com",
                None,
                (("method", "REGISTER"),),
                (("to", "alice@atlanta.com"),),
            ),
        ),
        (
            "tel:+48-74-123-45-67;phone-context=+48",
            SipUri("tel", "+48741234567", None, None, (("phone-context", "+48"),), ()),
        ),
        (
            "tel:(0)74.123;phone-context=example.com",
            SipUri("tel", "074123", None, None, (("phone-context", "example.com"),), ()),
        ),
        ("tel:*97%23", SipUri("tel", "*97#", None, None, (), ())),
    ],
)
def test_uri_parses_into_its_parts(text: str, expected: SipUri) -> None:
    assert SipUri.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice@atlanta.com", "not a URI: 'alice@atlanta.com'"),
        ("sip:", "not a URI: 'sip:'"),
        ("http://example.com", "unsupported URI scheme 'http'"),
        ("sip:alice@", "bad host ''"),
        ("sip:alice@exa mple.com", "bad host 'exa mple.com'"),
        ("sip:alice@host:70000", "port 70000 out of range"),
        ("sip:alice@host:50x", "bad port in 'host:50x'"),
        ("sip:alice@host:", "bad port in 'host:'"),
        ("sip:[::1", "bad IPv6 reference in '[::1'"),
        ("sip:[::1]5060", "bad port in '[::1]5060'"),
        ("tel:+48-abc", "bad tel number '+48-abc'"),
        ("tel:;phone-context=x", "bad tel number ''"),
    ],
)
def test_malformed_uri_is_a_value_error_naming_the_fault(text: str, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        SipUri.parse(text)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("sip:alice@atlanta.com", "sip:alice@atlanta.com"),
        (
            "sip:alice:pw@[2001:db8::1]:5060;transport=tcp;lr",
            "sip:alice@[2001:db8::1]:5060;transport=tcp;lr",
        ),
        ("sip:1202@pbx?Replaces=a%40b%3Bto-tag%3D1", "sip:1202@pbx?Replaces=a%40b%3Bto-tag%3D1"),
        ("sip:%3Fodd%40user@host", "sip:?odd%40user@host"),
        ("tel:+48-74-123;phone-context=+48", "tel:+4874123;phone-context=+48"),
    ],
)
def test_uri_prints_canonically_and_reparses_to_itself(text: str, printed: str) -> None:
    uri = SipUri.parse(text)
    assert str(uri) == printed
    assert SipUri.parse(str(uri)) == uri


def test_uri_param_and_header_lookups_ignore_case() -> None:
    uri = SipUri.parse("sip:1202@pbx;Transport=TCP?replaces=x%40y")
    assert (uri.param("TRANSPORT"), uri.header("Replaces")) == ("TCP", "x@y")
    assert (uri.param("lr"), uri.header("Require")) == (None, None)


@pytest.mark.parametrize(
    ("text", "display_name", "uri", "params"),
    [
        (
            '"Anna Kowalska" <sip:1201@pbx>;tag=abc',
            "Anna Kowalska",
            "sip:1201@pbx",
            (("tag", "abc"),),
        ),
        ("Anna Kowalska <sip:1201@pbx>", "Anna Kowalska", "sip:1201@pbx", ()),
        ("Łukasz Żółć <sip:1201@pbx>", "Łukasz Żółć", "sip:1201@pbx", ()),
        (
            '"Łukasz \\"Łukaszek\\" Żółć" <sip:1201@pbx>',
            'Łukasz "Łukaszek" Żółć',
            "sip:1201@pbx",
            (),
        ),
        ('"back\\\\slash" <sip:1201@pbx>', "back\\slash", "sip:1201@pbx", ()),
        ('"a <b>, c" <sip:1201@pbx>', "a <b>, c", "sip:1201@pbx", ()),
        # unescaped inner quotes, as a PBX passes a typed-in name through (RFC 3261 wants \")
        (
            '"Biuro "Rachunkowe" Sp. z o.o." <sip:+48607123456@pbx>;tag=1',
            'Biuro "Rachunkowe" Sp. z o.o.',
            "sip:+48607123456@pbx",
            (("tag", "1"),),
        ),
        ('"" <sip:1201@pbx>', None, "sip:1201@pbx", ()),
        ("<sip:1201@pbx;user=phone>;tag=x", None, "sip:1201@pbx;user=phone", (("tag", "x"),)),
        # RFC 3261 §20.10: without <>, parameters after the URI belong to the header
        ("sip:1201@pbx;tag=x;Expires=60", None, "sip:1201@pbx", (("tag", "x"), ("expires", "60"))),
        ("tel:+48741234567;tag=1", None, "tel:+48741234567", (("tag", "1"),)),
        (
            '<sip:1201@pbx>;reason="no-answer";counter=1',
            None,
            "sip:1201@pbx",
            (("reason", "no-answer"), ("counter", "1")),
        ),
        (
            '<sip:a@b>;+sip.instance="<urn:uuid:0f;x>";reg-id=1',
            None,
            "sip:a@b",
            (("+sip.instance", "<urn:uuid:0f;x>"), ("reg-id", "1")),
        ),
    ],
)
def test_name_addr_separates_display_name_uri_and_header_params(
    text: str, display_name: str | None, uri: str, params: tuple[tuple[str, str | None], ...]
) -> None:
    addr = NameAddr.parse(text)
    assert (addr.display_name, addr.uri, addr.params) == (display_name, SipUri.parse(uri), params)


def test_name_addr_tag_and_params_lookup() -> None:
    addr = NameAddr.parse("<sip:1201@pbx>;TAG=abc;lr")
    assert (addr.tag, addr.param("Tag"), addr.param("lr"), addr.param("x")) == (
        "abc",
        "abc",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"Anna <sip:1201@pbx>', "unterminated quoted string in '\"Anna <sip:1201@pbx>'"),
        ('"Anna" sip:1201@pbx', "expected '<' after the display name in '\"Anna\" sip:1201@pbx'"),
        ("Anna <sip:1201@pbx", "missing '>' in 'Anna <sip:1201@pbx'"),
        ("<sip:1201@pbx> junk", "unexpected 'junk' after '>'"),
        ("<sip:1201@pbx>;=x", "parameter without a name: '=x'"),
        ("<mailto:a@b>", "unsupported URI scheme 'mailto'"),
    ],
)
def test_malformed_name_addr_is_a_value_error_naming_the_fault(text: str, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        NameAddr.parse(text)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("INVITE, ACK,BYE", ["INVITE", "ACK", "BYE"]),
        ('"Doe, John" <sip:j@x>, <sip:k@x;a=b,c>', ['"Doe, John" <sip:j@x>', "<sip:k@x;a=b,c>"]),
        ('"a \\", b" <sip:a@x>, sip:b@x', ['"a \\", b" <sip:a@x>', "sip:b@x"]),
        (" , ,x, ", ["x"]),
        ("", []),
    ],
)
def test_split_header_values_ignores_commas_in_quotes_and_brackets(
    value: str, parts: list[str]
) -> None:
    assert split_header_values(value) == parts


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("<sip:+48-74-123-45-67@pbx;user=phone>", "+48741234567"),
        ("<sip:+1-212-555-1212;postd=pp22@gw;user=phone>", "+12125551212"),
        ("<tel:(074)123.45.67;phone-context=+48>", "0741234567"),
        ("<sip:%2B48%20601%20234%20567@trunk>", "+48601234567"),
        ('"Anonymous" <sip:anonymous@anonymous.invalid>', "anonymous"),
        ("<sip:*97@pbx>", "*97"),
        ("<sip:pbx.example.com>", None),
    ],
)
def test_number_of_normalises_numeric_users_and_keeps_the_rest(
    text: str, number: str | None
) -> None:
    addr = NameAddr.parse(text)
    assert number_of(addr) == number
    assert number_of(addr.uri) == number
