"""Throughput of the audio path: G.711/G.722 decoding, and window extraction per answered call.

Run: ``.venv/bin/python benchmarks/speech_decode.py [seconds per case]``.

"call" is what Etykieta does for one answered call: both directions of a 30 s call at
50 packets/s (20 ms PCMA) pushed into an assembler that keeps the 10 s opening window and a
10 s tail, then each direction's opening and closing windows rendered, and voice activity run on
them. Packets are the greeting fixture repeated, with 1 % loss and some reordering.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from etykieta.speech.audio import RtpStreamAssembler
from etykieta.speech.codecs import Decoder, decoder_for
from etykieta.speech.rtp import RtpPacket
from etykieta.speech.vad import detect_voice

AUDIO = Path(__file__).resolve().parent.parent / "tests" / "data" / "audio"
CALL_S = 30.0
WINDOW_S = 10.0
PACKETS_PER_S = 50
MIB = 1 << 20


def best_rate(work: Callable[[], int], seconds: float) -> float:
    """Units per second of ``work`` (which returns the units it did), best of three runs."""
    best = 0.0
    for _ in range(3):
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            done += work()
        best = max(best, done / elapsed)
    return best


def direction(ssrc: int, start: float, seed: int) -> list[tuple[float, bytes]]:
    """One direction of a call: (arrival, datagram), 1 % lost, every 10th pair swapped."""
    alaw = (AUDIO / "greeting.al").read_bytes()
    count = round(CALL_S * PACKETS_PER_S)
    stream = (alaw * (count * 160 // len(alaw) + 1))[: count * 160]
    rng = random.Random(seed)
    sent = [
        (
            start + i / PACKETS_PER_S,
            bytes(RtpPacket(8, i % 65536, i * 160, ssrc, stream[i * 160 : i * 160 + 160])),
        )
        for i in range(count)
        if rng.random() > 0.01
    ]
    for i in range(1, len(sent) - 1, 10):
        sent[i], sent[i + 1] = (
            (sent[i + 1][0], sent[i][1]),
            (sent[i + 1][0] + 0.001, sent[i + 1][1]),
        )
    return sent


def one_call(streams: list[list[tuple[float, bytes]]], answer: float) -> int:
    end = answer + CALL_S
    for sent in streams:
        assembler = RtpStreamAssembler(
            {8: ("PCMA", 8000), 101: ("telephone-event", 8000)},
            keep=[(answer, answer + WINDOW_S)],
            tail_s=WINDOW_S,
        )
        for arrival, data in sent:
            assembler.push(arrival, data)
        for start in (answer, end - WINDOW_S):
            audio = assembler.render(start, WINDOW_S)
            detect_voice(audio.pcm, audio.sample_rate)
    return 1


def _decode_all(decoder: Decoder, payloads: list[bytes]) -> int:
    """Decode each payload; the payload bytes consumed."""
    for payload in payloads:
        decoder.decode(payload)
    return sum(map(len, payloads))


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    payload = np.random.default_rng(0).integers(0, 256, 4 * MIB, dtype=np.uint8).tobytes()
    for name in ("PCMA", "PCMU", "G722"):
        decoder = decoder_for(name, 8000)
        if decoder is None:
            print(f"{name:5} decode: not available")
            continue
        packets = [payload[i : i + 160] for i in range(0, MIB, 160)]
        whole = best_rate(lambda d=decoder: _decode_all(d, [payload]), seconds)  # type: ignore[misc]
        split = best_rate(lambda d=decoder, p=packets: _decode_all(d, p), seconds)  # type: ignore[misc]
        print(
            f"{name:5} decode: {whole / MIB:7.1f} MiB/s of payload in one buffer, "
            f"{split / MIB:6.1f} MiB/s in 160-byte payloads"
        )
    answer = 1_764_000_000.0
    streams = [direction(0x1111, answer - 0.3, 1), direction(0x2222, answer - 0.3, 2)]
    calls = best_rate(lambda: one_call(streams, answer), seconds)
    pushed = sum(len(s) for s in streams)
    print(
        f"call: {calls:6.1f} calls/s ({1000 / calls:5.1f} ms per call: 2 directions x "
        f"{CALL_S:.0f} s, {pushed} packets pushed, 4 windows of {WINDOW_S:.0f} s rendered + VAD)"
    )


if __name__ == "__main__":
    main()
