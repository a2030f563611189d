"""SDP parsing (RFC 8866) with offer/answer semantics (RFC 3264) and RTCP ports (RFC 3605)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etykieta.telephony.sdp import Connection, Origin, RtpMap, SessionDescription

DATA = Path(__file__).parent / "data" / "sip"


def sdp(*lines: str) -> SessionDescription:
    return SessionDescription.parse(("\r\n".join(("v=0", *lines)) + "\r\n").encode())


def sdp_of(name: str) -> SessionDescription:
    return SessionDescription.parse((DATA / f"{name}.txt").read_bytes().partition(b"\r\n\r\n")[2])


def test_rfc3665_offer_parses_origin_connection_and_media() -> None:
    offer = sdp_of("rfc3665_invite")
    assert offer.origin == Origin(
        "alice", "2890844526", 2890844526, "IN", "IP4", "client.atlanta.example.com"
    )
    assert (offer.session_name, offer.connection) == ("-", Connection("IN", "IP4", "192.0.2.101"))
    (audio,) = offer.media
    assert (audio.media, audio.port, audio.proto, audio.formats) == (
        "audio",
        49172,
        "RTP/AVP",
        (0,),
    )
    assert (audio.rtpmap, audio.direction, audio.rtcp_port) == (
        (RtpMap(0, "PCMU", 8000, 1),),
        "sendrecv",
        49173,
    )
    assert (offer.audio_endpoint(), offer.bad_lines) == (("192.0.2.101", 49172), 0)


def test_trunk_offer_fills_static_payload_types_and_reads_rtcp_attribute() -> None:
    (audio,) = sdp_of("kamailio_invite_diversion").media
    assert [(m.payload_type, m.encoding_name, m.clock_rate) for m in audio.rtpmap] == [
        (101, "TELEPHONE-EVENT", 8000),
        (9, "G722", 8000),  # RFC 3551 §4.5.2: RTP clock 8000 for 16 kHz G.722
        (8, "PCMA", 8000),
        (0, "PCMU", 8000),
        (13, "CN", 8000),
    ]
    assert (audio.ptime, audio.rtcp_port) == (20, 23515)
    assert audio.codec(9) == RtpMap(9, "G722", 8000, 1)
    assert audio.codec(96) is None


def test_rtcp_mux_puts_rtcp_on_the_rtp_port() -> None:
    (audio,) = sdp_of("compact_invite_replaces").media
    assert audio.rtcp_port == 7078


def test_wsinv_sdp_has_audio_and_video_sections() -> None:
    description = sdp_of("rfc4475_wsinv")
    assert [(m.media, m.port, m.formats) for m in description.media] == [
        ("audio", 49217, (0, 12)),
        ("video", 3227, (31,)),
    ]
    # "a=rtpmap:31 LPC" lacks the clock rate RFC 8866 §6.6 requires: counted, not fatal
    assert (description.media[1].rtpmap, description.bad_lines) == ((), 1)


@pytest.mark.parametrize(
    ("lines", "directions"),
    [
        (("m=audio 1 RTP/AVP 0",), ["sendrecv"]),
        (
            ("a=sendonly", "m=audio 1 RTP/AVP 0", "m=audio 2 RTP/AVP 0", "a=inactive"),
            ["sendonly", "inactive"],
        ),
        (("m=audio 1 RTP/AVP 0", "a=recvonly"), ["recvonly"]),
        (("a=inactive", "m=audio 1 RTP/AVP 0", "a=sendrecv"), ["sendrecv"]),
    ],
)
def test_media_direction_overrides_session_direction(
    lines: tuple[str, ...], directions: list[str]
) -> None:
    assert [media.direction for media in sdp(*lines).media] == directions


def test_media_connection_overrides_session_connection() -> None:
    description = sdp(
        "c=IN IP4 192.0.2.1",
        "m=audio 4000 RTP/AVP 0",
        "m=audio 4002 RTP/AVP 0",
        "c=IN IP6 2001:DB8::2",
        "m=audio 4004 RTP/AVP 0",
        "c=IN IP4 233.252.0.1/127/2",
    )
    assert [media.connection for media in description.media] == [
        Connection("IN", "IP4", "192.0.2.1"),
        Connection("IN", "IP6", "2001:DB8::2"),
        Connection("IN", "IP4", "233.252.0.1"),
    ]


@pytest.mark.parametrize(
    ("lines", "endpoint"),
    [
        (
            ("c=IN IP4 192.0.2.1", "m=audio 0 RTP/AVP 0", "m=audio 5000 RTP/AVP 0"),
            ("192.0.2.1", 5000),
        ),
        (("c=IN IP4 192.0.2.1", "m=video 5000 RTP/AVP 31"), None),
        (("m=audio 5000 RTP/AVP 0",), None),
        (("m=audio 5000 RTP/AVP 0", "c=IN IP4 0.0.0.0"), ("0.0.0.0", 5000)),
    ],
)
def test_audio_endpoint_is_the_first_accepted_audio_stream(
    lines: tuple[str, ...], endpoint: tuple[str, int] | None
) -> None:
    assert sdp(*lines).audio_endpoint() == endpoint


def test_non_rtp_media_keeps_string_formats_and_no_rtcp() -> None:
    (image,) = sdp("c=IN IP4 192.0.2.1", "m=image 6000 udptl t38").media
    assert (image.formats, image.rtpmap, image.rtcp_port) == (("t38",), (), None)


def test_rtpmap_with_channels_and_port_count() -> None:
    (audio,) = sdp(
        "m=audio 5000/2 RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=ptime:22.5"
    ).media
    assert (audio.port, audio.rtpmap, audio.ptime) == (5000, (RtpMap(111, "OPUS", 48000, 2),), 22)


def test_bad_lines_are_counted_and_skipped() -> None:
    description = sdp(
        "o=broken",
        "c=IN IP4",
        "garbage",
        "x",
        "z=unknown but well-formed",
        "m=audio 99999 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "m=audio 5000 RTP/AVP 0 96",
        "a=rtpmap:96 nonsense",
        "a=ptime:inf",
        "a=rtcp:many",
        "c=IN IP4 192.0.2.9",
    )
    assert (description.origin, description.connection, description.bad_lines) == (None, None, 8)
    (audio,) = description.media
    assert (audio.rtpmap, audio.ptime, audio.rtcp_port) == (
        (RtpMap(0, "PCMU", 8000, 1),),
        None,
        5001,
    )
    assert description.audio_endpoint() == ("192.0.2.9", 5000)


def test_one_odd_format_does_not_cost_the_audio_stream() -> None:
    description = sdp("c=IN IP4 192.0.2.9", "m=audio 5000 RTP/AVP 8 telephone-event 0 300")
    (audio,) = description.media
    assert (audio.formats, description.bad_lines) == ((8, 0), 2)
    assert description.audio_endpoint() == ("192.0.2.9", 5000)


def test_media_line_without_a_readable_port_is_still_dropped() -> None:
    description = sdp("c=IN IP4 192.0.2.9", "m=audio 5000x RTP/AVP 8 0")
    assert (description.media, description.bad_lines) == ((), 1)


def test_attributes_are_kept_with_lower_case_names() -> None:
    description = sdp(
        "a=Group:BUNDLE 0", "m=audio 5000 RTP/AVP 101", "a=fmtp:101 0-16", "a=rtcp-mux"
    )
    assert description.attributes == (("group", "BUNDLE 0"),)
    assert description.media[0].attributes == (("fmtp", "101 0-16"), ("rtcp-mux", None))


def test_lf_line_endings_and_str_input_are_accepted() -> None:
    description = SessionDescription.parse("\nv=0\nc=IN IP4 192.0.2.1\nm=audio 5000 RTP/AVP 8\n")
    assert description.audio_endpoint() == ("192.0.2.1", 5000)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "not an SDP body: first line is '', not v="),
        (
            b"o=- 0 0 IN IP4 192.0.2.1\r\nv=0\r\n",
            "not an SDP body: first line is 'o=- 0 0 IN IP4 192.0.2.1', not v=",
        ),
        (b"\x80\x00\x01\x02", "not an SDP body: first line is '\ufffd\\x00\\x01\\x02', not v="),
        (b"SIP/2.0 200 OK\r\n", "not an SDP body: first line is 'SIP/2.0 200 OK', not v="),
    ],
)
def test_input_that_is_not_sdp_is_a_value_error(data: bytes, error: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        SessionDescription.parse(data)
    assert str(excinfo.value) == error
