"""Property tests: no bytes crash the RTP parser, no packet stream crashes the assembler."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etykieta.speech.audio.assembler import RtpStreamAssembler
from etykieta.speech.audio.rtp import RtpPacket, is_rtcp

PAYLOAD_TYPES = {
    0: ("PCMU", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),
    13: ("CN", 8000),
    18: ("G729", 8000),
    96: ("opus", 48000),
    101: ("telephone-event", 8000),
    102: ("L16", 0),  # a broken rtpmap clock must not divide by zero
}

packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence_number=st.integers(0, 65535),
    timestamp=st.integers(0, 2**32 - 1),
    ssrc=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrc=st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple),
    extension_profile=st.none() | st.integers(0, 65535),
    extension=st.binary(max_size=16).map(lambda b: b[: len(b) // 4 * 4]),
    padding_size=st.integers(0, 255),
)


@given(st.binary(max_size=200))
def test_parse_raises_only_value_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except ValueError:
        return
    assert len(packet.payload) <= len(data) - 12


@given(packets)
def test_serialised_packets_parse_back(packet: RtpPacket) -> None:
    if packet.extension_profile is None:
        packet = replace(packet, extension=b"")  # without the X bit there is nothing to send
    assert RtpPacket.parse(bytes(packet)) == packet


# A stream: mostly plausible packets of a few SSRCs near one timeline, plus garbage.
plausible = st.tuples(
    st.floats(0, 30),  # arrival offset, seconds
    st.sampled_from([0, 8, 9, 13, 18, 96, 101, 102, 77]),
    st.integers(0, 65535) | st.integers(0, 40),
    st.integers(0, 2**32 - 1) | st.integers(0, 240_000),
    st.sampled_from([1, 2, 0xFFFFFFFF]),
    st.binary(max_size=320),
).map(lambda t: (t[0], bytes(RtpPacket(t[1], t[2], t[3], t[4], t[5]))))
garbage = st.tuples(st.floats(0, 30), st.binary(max_size=40))
streams = st.lists(plausible | garbage | packets.map(lambda p: (1.0, bytes(p))), max_size=120)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    streams,
    st.floats(-5, 35),
    st.floats(0, 12),
    st.none() | st.floats(0, 10),
    st.integers(1, 120),
)
def test_any_stream_assembles_without_raising_into_the_asked_length(
    stream: list[tuple[float, bytes]],
    start: float,
    duration: float,
    tail_s: float | None,
    max_packets: int,
) -> None:
    keep = [(0.0, 5.0)] if tail_s is not None else None
    assembler = RtpStreamAssembler(PAYLOAD_TYPES, keep=keep, tail_s=tail_s, max_packets=max_packets)
    for arrival, data in stream:
        assembler.push(1000.0 + arrival, data)
    stats = assembler.stats()
    assert stats.datagrams == len(stream)
    assert stats.rtcp == sum(is_rtcp(data) for _, data in stream)
    assert stats.stored <= max_packets
    audio = assembler.render(1000.0 + start, duration)
    assert audio.pcm.dtype == np.int16
    assert len(audio.pcm) == round(duration * audio.sample_rate)
    assert audio.sample_rate in (8000, 16000)
    assert 0 <= audio.speech_packets + audio.non_speech_packets <= audio.packets <= stats.stored
    assert audio.lost_packets >= 0
