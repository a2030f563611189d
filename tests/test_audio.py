"""Assembling one direction's RTP into PCM: timeline, loss, reordering, runs, bounded memory.

The source is espeak-ng's Polish greeting (``tests/data/audio``), encoded by sox; the RTP
headers come from ``tests/rtp_streams.py`` so each test chooses its sequence numbers,
timestamps, SSRCs and arrival times.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from etykieta.speech.audio.assembler import (
    MediaStream,
    RenderedAudio,
    RtpStreamAssembler,
    StreamKey,
    aligned_correlation,
)
from etykieta.speech.audio.codecs import ALAW_TABLE, ULAW_TABLE, g722_module
from etykieta.speech.audio.wav import read_wav, wav_bytes, write_wav
from etykieta.telephony.packets import Datagram, Endpoint
from etykieta.telephony.sdp import SessionDescription
from tests.rtp_streams import (
    SIPP_DTMF_5,
    SIPP_PCMA,
    Sender,
    Sent,
    captured_datagrams,
    drop,
    dtmf,
    duplicate,
    jitter,
    rtcp_receiver_report,
    swap_neighbours,
)

AUDIO = Path(__file__).parent / "data" / "audio"
T0 = 1_764_000_000.0  # the 200 OK, seconds since the epoch
PAYLOAD_TYPES = {
    0: ("PCMU", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),
    101: ("telephone-event", 8000),
}
PCMA = Sender(payload_type=8)


@pytest.fixture(scope="module")
def source() -> np.ndarray:
    pcm, rate = read_wav(AUDIO / "greeting_8k.wav")
    assert rate == 8000
    return pcm


@pytest.fixture(scope="module")
def alaw() -> bytes:
    return (AUDIO / "greeting.al").read_bytes()


def assemble(sent: Sent, **options: object) -> RtpStreamAssembler:
    assembler = RtpStreamAssembler(PAYLOAD_TYPES, **options)  # type: ignore[arg-type]
    for arrival, data in sent:
        assembler.push(arrival, data)
    return assembler


def heard(sent: Sent, start: float = T0 - 1, duration: float = 6.0) -> RenderedAudio:
    return assemble(sent).render(start, duration)


def at(seconds: float, rate: int = 8000) -> int:
    return round(seconds * rate)


def test_a_clean_stream_renders_the_decoded_source_at_its_arrival(
    source: np.ndarray, alaw: bytes
) -> None:
    audio = heard(PCMA.send(alaw, T0 + 0.5), start=T0)
    assert (audio.sample_rate, audio.codec, audio.start) == (8000, "PCMA", T0)
    assert len(audio.pcm) == at(6.0)
    assert not audio.pcm[: at(0.5)].any()  # before the first packet: silence
    assert np.array_equal(
        audio.pcm[at(0.5) : at(0.5) + len(alaw)], ALAW_TABLE[np.frombuffer(alaw, np.uint8)]
    )
    assert aligned_correlation(audio.pcm, source) > 0.99
    assert (audio.packets, audio.speech_packets, audio.lost_packets, audio.reordered) == (
        184,
        184,
        0,
        0,
    )


@pytest.mark.skipif(not SIPP_PCMA.exists(), reason="needs sipp's captures (sip-tester)")
def test_a_real_capture_renders_its_payloads_in_order_at_its_arrival() -> None:
    datagrams = captured_datagrams(SIPP_PCMA)  # 236 packets of 30 ms from a real phone
    assembler = assemble([(d.timestamp, d.payload) for d in datagrams])
    start = datagrams[0].timestamp
    audio = assembler.render(start - 1, 9)
    payloads = b"".join(d.payload[12:] for d in datagrams)
    decoded = ALAW_TABLE[np.frombuffer(payloads, np.uint8)]
    assert (audio.codec, audio.packets, audio.lost_packets, audio.reordered) == ("PCMA", 236, 0, 0)
    assert aligned_correlation(audio.pcm, decoded) > 0.999
    first = np.flatnonzero(audio.pcm)[0]  # A-law never decodes to 0: the first packet's start
    assert abs(first - at(1)) <= 8  # the least-delayed early packet anchors it (within 1 ms)
    assert np.array_equal(audio.pcm[first : first + len(decoded)], decoded)


@pytest.mark.skipif(not SIPP_DTMF_5.exists(), reason="needs sipp's captures (sip-tester)")
def test_a_real_dtmf_digit_is_non_speech_and_its_retransmissions_are_duplicates() -> None:
    datagrams = captured_datagrams(SIPP_DTMF_5)
    assembler = assemble([(d.timestamp, d.payload) for d in datagrams])
    audio = assembler.render(datagrams[0].timestamp - 1, 2)
    assert (audio.packets, audio.speech_packets, audio.non_speech_packets) == (8, 0, 8)
    assert (assembler.stats().telephone_events, assembler.stats().duplicates) == (10, 2)
    assert not audio.pcm.any()


def test_pcmu_stream_correlates_with_the_source(source: np.ndarray) -> None:
    ulaw = (AUDIO / "greeting.ul").read_bytes()
    audio = heard(Sender(payload_type=0).send(ulaw, T0))
    assert audio.codec == "PCMU"
    assert np.array_equal(
        audio.pcm[at(1) : at(1) + len(ulaw)], ULAW_TABLE[np.frombuffer(ulaw, np.uint8)]
    )
    assert aligned_correlation(audio.pcm, source) > 0.99


@pytest.mark.skipif(g722_module() is None, reason="needs the G722 package")
def test_g722_stream_renders_16_khz_from_an_8000_hz_rtp_clock() -> None:
    source16, _ = read_wav(AUDIO / "greeting_16k.wav")
    encoded = bytes(g722_module().G722(16000, 64000).encode(source16))  # type: ignore[union-attr]
    audio = heard(Sender(payload_type=9).send(encoded, T0), start=T0, duration=5)
    assert (audio.codec, audio.sample_rate, len(audio.pcm)) == ("G722", 16000, 80000)
    assert audio.speech_packets == len(encoded) // 160 + 1
    assert aligned_correlation(audio.pcm, source16) > 0.95
    assert not audio.pcm[len(source16) + 16 :].any()  # timestamps, not bytes, place the end


@pytest.mark.skipif(g722_module() is None, reason="needs the G722 package")
def test_a_window_mixing_8_and_16_khz_runs_is_rendered_at_the_main_runs_rate(alaw: bytes) -> None:
    narrow = PCMA.send(alaw[:8000], T0)  # 1 s of PCMA, then the PBX re-INVITEs to G.722
    encoded = bytes(g722_module().G722(16000, 64000).encode(np.zeros(32000, np.int16) + 1000))  # type: ignore[union-attr]
    wide = Sender(payload_type=9, ssrc=0x99, first_ts=77).send(encoded, T0 + 1)
    audio = heard(narrow + wide, start=T0, duration=3)
    assert (audio.codec, audio.sample_rate, len(audio.pcm)) == ("G722", 16000, 48000)
    upsampled = ALAW_TABLE[np.frombuffer(alaw[:8000], np.uint8)].repeat(2)
    assert aligned_correlation(audio.pcm[:16000], upsampled) > 0.95
    assert audio.ssrc_changes == 1


def test_five_percent_loss_leaves_silence_of_exactly_the_lost_packets(
    source: np.ndarray, alaw: bytes
) -> None:
    sent, lost = drop(PCMA.send(alaw, T0), 0.05)
    audio = heard(sent, start=T0)
    assert audio.lost_packets == len(lost) == 9
    decoded = ALAW_TABLE[np.frombuffer(alaw, np.uint8)]
    for index in range(len(alaw) // 160):
        piece = audio.pcm[index * 160 : index * 160 + 160]
        if index in lost:
            assert not piece.any()
        else:
            assert np.array_equal(piece, decoded[index * 160 : index * 160 + 160])
    assert aligned_correlation(audio.pcm, source) >= 0.9


def test_reordering_jitter_and_duplicates_change_nothing(alaw: bytes) -> None:
    clean = heard(PCMA.send(alaw, T0))
    damaged = duplicate(swap_neighbours(jitter(PCMA.send(alaw, T0), 0.015)))
    assembler = assemble(damaged)
    audio = assembler.render(T0 - 1, 6.0)
    assert np.array_equal(audio.pcm, clean.pcm)
    assert audio.reordered == 37
    assert assembler.stats().duplicates == 27
    assert (audio.packets, audio.lost_packets) == (184, 0)


def test_a_late_first_packet_does_not_shift_the_timeline(alaw: bytes) -> None:
    sent = PCMA.send(alaw, T0)
    sent[0] = (sent[0][0] + 0.040, sent[0][1])  # arrives after packets 1 and 2
    sent[0], sent[1], sent[2] = sent[1], sent[2], sent[0]
    assert np.array_equal(heard(sent).pcm, heard(PCMA.send(alaw, T0)).pcm)


def test_sequence_and_timestamp_wrap_around_are_seamless(alaw: bytes) -> None:
    wrapping = Sender(payload_type=8, first_seq=65500, first_ts=2**32 - 3200)
    audio = heard(swap_neighbours(wrapping.send(alaw, T0)))
    assert np.array_equal(audio.pcm, heard(PCMA.send(alaw, T0)).pcm)
    assert (audio.lost_packets, audio.ssrc_changes) == (0, 0)


def test_a_new_ssrc_starts_a_run_anchored_at_its_own_arrival(alaw: bytes) -> None:
    first = PCMA.send(alaw[:8000], T0)  # 1 s, then the PBX bridges to another source
    other = Sender(payload_type=8, ssrc=0x55, first_seq=7, first_ts=999)
    second = other.send(alaw[8000:], T0 + 1.5)  # timestamps unrelated to the first SSRC
    audio = heard(first + second, start=T0)
    decoded = ALAW_TABLE[np.frombuffer(alaw, np.uint8)]
    assert np.array_equal(audio.pcm[: at(1)], decoded[:8000])
    assert not audio.pcm[at(1) : at(1.5)].any()
    assert np.array_equal(audio.pcm[at(1.5) : at(1.5) + len(alaw) - 8000], decoded[8000:])
    assert audio.ssrc_changes == 1


def test_overlapping_runs_the_later_one_wins() -> None:
    tone_a, tone_b = bytes([0xAA]) * 16000, bytes([0x2A]) * 16000  # +32256 and -32256
    first = PCMA.send(tone_a, T0)  # 0..2 s
    second = Sender(payload_type=8, ssrc=0x77, first_ts=5).send(tone_b, T0 + 1)  # 1..3 s
    audio = heard(sorted(first + second), start=T0, duration=4)
    assert (audio.pcm[: at(1)] == 32256).all()
    assert (audio.pcm[at(1) : at(3)] == -32256).all()
    assert not audio.pcm[at(3) :].any()


def test_a_timestamp_jump_in_one_ssrc_re_anchors_at_the_arrival(alaw: bytes) -> None:
    before = PCMA.send(alaw[:8000], T0)
    rebased = replace(PCMA, first_seq=PCMA.first_seq + 50, first_ts=123_456_789)
    audio = heard(before + rebased.send(alaw[8000:], T0 + 1.2), start=T0)
    assert not audio.pcm[at(1) : at(1.2)].any()
    assert np.array_equal(
        audio.pcm[at(1.2) : at(1.4)], ALAW_TABLE[np.frombuffer(alaw[8000:9600], np.uint8)]
    )
    assert audio.ssrc_changes == 0  # a new run, but the same source


def test_dtmf_and_comfort_noise_are_non_speech_and_silent(alaw: bytes) -> None:
    events = Sender(payload_type=101)
    sent = PCMA.send(alaw[:4000], T0)  # packets 0..24
    sent += dtmf(events, 25, T0 + 0.5, digit=5, packets=10)  # seq 25..36, 0.5..0.7 s
    cn = Sender(payload_type=13, first_seq=PCMA.first_seq + 37, ptime=0.2, ticks=1600)
    sent += [(T0 + 0.74 + 0.2 * k, cn.packet(k, b"\x40")) for k in range(2)]  # RFC 3389: level
    resumed = replace(PCMA, first_seq=PCMA.first_seq + 39, first_ts=PCMA.first_ts + 9600)
    sent += resumed.send(alaw[9600:12800], T0 + 1.2)
    audio = heard(sent, start=T0, duration=2)
    assert (audio.speech_packets, audio.non_speech_packets) == (45, 14)
    assert (audio.lost_packets, audio.codec, audio.unsupported_codec) == (0, "PCMA", None)
    assert not audio.pcm[at(0.5) : at(1.2)].any()
    assert audio.pcm[at(1.2) : at(1.6)].any()


def test_rtcp_and_stray_datagrams_are_counted_and_ignored(alaw: bytes) -> None:
    sent = PCMA.send(alaw, T0)
    noise = [
        (T0 + 0.3, rtcp_receiver_report(PCMA.ssrc)),
        (T0 + 0.5, b"\x00\x01\x00\x00" + bytes(16)),
        (T0 + 0.7, b""),
        (T0 + 0.9, b"\x80\x08\x00"),
        (T0 + 1.1, b"\xa0" + bytes(11) + b"\x09"),
    ]
    assembler = assemble(sorted(sent + noise))
    stats = assembler.stats()
    assert (stats.datagrams, stats.rtp_packets, stats.rtcp, stats.non_rtp, stats.malformed) == (
        189,
        184,
        1,
        2,
        2,
    )
    assert np.array_equal(assembler.render(T0, 4).pcm, heard(sent, start=T0, duration=4).pcm)


@pytest.mark.parametrize(
    ("payload_types", "label"),
    [({18: ("G729", 8000)}, "G729/8000"), ({}, "PT 18")],
    ids=["negotiated-undecodable", "never-negotiated"],
)
def test_undecodable_audio_names_its_codec(
    payload_types: dict[int, tuple[str, int]], label: str
) -> None:
    assembler = RtpStreamAssembler(payload_types)
    for arrival, data in Sender(payload_type=18).send(bytes(800), T0, bytes_per_packet=20):
        assembler.push(arrival, data)
    audio = assembler.render(T0, 1)
    assert (audio.unsupported_codec, audio.codec, audio.speech_packets, audio.packets) == (
        label,
        None,
        0,
        40,
    )
    assert not audio.pcm.any()


def test_an_empty_window_is_silence_with_no_packets() -> None:
    audio = RtpStreamAssembler(PAYLOAD_TYPES).render(T0, 10)
    assert (len(audio.pcm), audio.sample_rate, audio.packets, audio.codec) == (80000, 8000, 0, None)
    assert not audio.pcm.any()


def test_keep_windows_and_tail_bound_memory_and_render_the_same(alaw: bytes) -> None:
    long_call = PCMA.send(alaw * 8, T0)  # ~29 s, 1465 packets
    end = long_call[-1][0] + 0.02
    everything = assemble(long_call)
    bounded = assemble(long_call, keep=[(T0, T0 + 3)], tail_s=3)
    stats = bounded.stats()
    assert stats.stored <= 2 * (3 + 2 * 0.5) * 50 + 2
    assert stats.outside_windows == stats.rtp_packets - stats.stored
    for window in [(T0, 3.0), (end - 3, 3.0)]:
        assert np.array_equal(bounded.render(*window).pcm, everything.render(*window).pcm)
    assert not bounded.render(T0 + 10, 3).pcm.any()  # dropped on arrival


def test_max_packets_caps_what_is_stored(alaw: bytes) -> None:
    assembler = assemble(PCMA.send(alaw, T0), max_packets=50)
    assert assembler.stats().stored == 50
    assert assembler.stats().overflow == 134


@pytest.mark.parametrize(
    ("start", "duration"), [(T0, -1.0), (float("nan"), 1.0), (T0, float("inf"))]
)
def test_render_invalid_window_is_a_caller_error(start: float, duration: float) -> None:
    with pytest.raises(ValueError, match="bad window"):
        RtpStreamAssembler(PAYLOAD_TYPES).render(start, duration)


def test_media_stream_from_sdp_latches_on_the_announced_destination() -> None:
    sdp = SessionDescription.parse(
        "v=0\r\no=pbx 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    )
    stream = MediaStream.from_sdp(sdp.media[0])
    assert stream is not None
    assert stream.destination == Endpoint("10.0.0.1", 40000)
    assert stream.payload_types == {101: ("TELEPHONE-EVENT", 8000), 8: ("PCMA", 8000)}
    assert stream.receives
    phone = Endpoint("192.168.1.20", 5004)  # behind NAT: not what its own SDP said
    datagram = Datagram(1, T0, phone, stream.destination, b"")
    assert stream.accepts(datagram)
    assert StreamKey.of(datagram) == StreamKey(phone, stream.destination)
    assert not stream.accepts(replace(datagram, dst=Endpoint("10.0.0.1", 40002)))


def test_aligned_correlation_finds_the_lag(source: np.ndarray) -> None:
    shifted = np.concatenate([np.zeros(1234, np.int16), source // 3])
    assert aligned_correlation(shifted, source) == pytest.approx(1.0, abs=1e-4)
    assert aligned_correlation(source, shifted) == pytest.approx(1.0, abs=1e-4)
    noise = np.random.default_rng(0).integers(-3000, 3000, len(source)).astype(np.int16)
    assert abs(aligned_correlation(noise, source)) < 0.2
    assert aligned_correlation(np.zeros(0, np.int16), source) == 0.0


def test_wav_round_trip(source: np.ndarray, tmp_path: Path) -> None:
    write_wav(tmp_path / "heard.wav", source, 8000)
    pcm, rate = read_wav(tmp_path / "heard.wav")
    assert rate == 8000
    assert np.array_equal(pcm, source)
    assert wav_bytes(source, 8000) == (tmp_path / "heard.wav").read_bytes()


def test_wav_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="must be int16"):
        wav_bytes(np.zeros(4, np.float32), 8000)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a PCM WAV file"):
        read_wav(io.BytesIO(b"RIFF\x00\x00"))
    with pytest.raises(ValueError, match="8-bit, not 16-bit"):
        read_wav(io.BytesIO(eight_bit_wav()))


def eight_bit_wav() -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(bytes(80))
    return buffer.getvalue()
