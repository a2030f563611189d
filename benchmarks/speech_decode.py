"""Throughput of the audio path: G.711/G.722 decoding, window extraction, and a day's media path.

Run: ``.venv/bin/python benchmarks/speech_decode.py [seconds per case]``, and for the day:
``.venv/bin/python benchmarks/speech_decode.py --day /tmp/bench/day.pcap`` (made by
``benchmarks/make_day_capture.py``, which writes its ``day.toml`` twin) or ``--day-calls 1000``
to generate one in a temporary folder.

"call" is what Etykieta does for one answered call: both directions of a 30 s call at
50 packets/s (20 ms PCMA) pushed into an assembler that keeps the 10 s opening window and a
10 s tail, then each direction's opening and closing windows rendered, and voice activity run on
them. Packets are the greeting fixture repeated, with 1 % loss and some reordering.

"day" runs ``SignallingAnalyzer`` over the capture twice, each in a fresh child process so that
each peak RSS is its own: the signalling core alone, then with ``MediaCollector(10, 10)``
plugged in and ``take(record)`` called for every finished call, as ``etykieta ingest`` does.
Each is the fastest of ``--repeat`` runs by CPU time (wall time follows the machine's load).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from etykieta.speech.audio.assembler import RtpStreamAssembler
from etykieta.speech.audio.codecs import Decoder, decoder_for
from etykieta.speech.audio.rtp import RtpPacket
from etykieta.speech.audio.vad import detect_voice

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


def run_day(capture: Path, config: Path, media: bool) -> dict[str, Any]:
    """One pass of the analyzer over a day capture (in this process); what it cost."""
    from etykieta.config import load_settings
    from etykieta.speech.audio.collector import MediaCollector
    from etykieta.telephony.analyzer import SignallingAnalyzer
    from etykieta.telephony.capture.pcap_file import open_capture

    collector = MediaCollector(WINDOW_S, WINDOW_S) if media else None
    analyzer = SignallingAnalyzer(load_settings(config), media=collector)
    packets = calls = rendered = 0
    take_cpu = 0.0

    def finish(records: list[Any]) -> None:
        nonlocal calls, rendered, take_cpu
        calls += len(records)
        if collector is None:
            return
        for record in records:
            started = time.process_time()
            audio = collector.take(record)
            take_cpu += time.process_time() - started
            rendered += audio is not None and audio.opening is not None

    started, cpu_started = time.perf_counter(), time.process_time()
    with open_capture(capture) as frames:
        for packet in frames:
            packets += 1
            finish(analyzer.receive(packet))
    finish(analyzer.close())
    return {"packets": packets, "calls": calls, "rendered": rendered,
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started, "take_cpu_seconds": take_cpu,
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def day(capture: Path, repeat: int) -> None:
    """Signalling alone against signalling + media collector, each in fresh child processes."""
    config = capture.with_suffix(".toml")
    results: dict[str, dict[str, Any]] = {}
    for mode in ("core", "media"):
        runs = []
        for _ in range(repeat):
            command = [sys.executable, __file__, "--child", mode, str(capture), str(config)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out))
        results[mode] = best = min(runs, key=lambda run: run["cpu_seconds"])
        extra = (f", {best['rendered']:,} calls rendered ({best['take_cpu_seconds']:.2f} s CPU "
                 f"in take)" if mode == "media" else "")
        rate = best["packets"] / best["cpu_seconds"]
        print(f"day {mode:5}: {best['packets']:,} packets, {best['calls']:,} calls in "
              f"{best['cpu_seconds']:5.2f} s CPU ({rate / 1e3:4.0f}k packets/s; "
              f"wall {best['seconds']:.2f} s), peak RSS "
              f"{best['peak_rss_kb'] / 1024:.0f} MiB{extra}")
    ratio = results["media"]["cpu_seconds"] / results["core"]["cpu_seconds"]
    print(f"day: the media path costs {ratio:.2f}x the signalling core alone")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=3.0,
                        help="seconds per decode/call case")
    parser.add_argument("--day", type=Path, help="a day capture (with its .toml twin)")
    parser.add_argument("--day-calls", type=int, help="generate a day of this many calls")
    parser.add_argument("--repeat", type=int, default=1, help="day runs per mode; the fastest")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, capture, config = args.child
        print(json.dumps(run_day(Path(capture), Path(config), media=mode == "media")))
        return
    if args.day is not None:
        day(args.day, args.repeat)
        return
    if args.day_calls is not None:
        with tempfile.TemporaryDirectory() as folder:
            capture = Path(folder) / "day.pcap"
            maker = Path(__file__).with_name("make_day_capture.py")
            subprocess.run([sys.executable, str(maker), "--calls", str(args.day_calls),
                            str(capture)], check=True)
            day(capture, args.repeat)
        return
    seconds = args.seconds
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
