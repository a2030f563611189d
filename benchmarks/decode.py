"""Packets per second: open_capture alone, open_capture + SipExtractor, and tshark's sip,stat.

Builds a large pcap by repeating the UDP and TCP fixtures (timestamps shifted so the copies
follow each other), unless a capture is given.

Usage: python benchmarks/decode.py [--size-mb 100] [CAPTURE]
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.pipeline import SipExtractor

FIXTURES = Path(__file__).parent.parent / "tests" / "data" / "packets"
SOURCES = ("sip_udp_lo.pcap", "sip_udp_fragments.pcap", "sip_udp_vlan.pcap")


def build_capture(path: Path, size: int) -> None:
    """Write a pcap of about ``size`` bytes from the fixtures' records, one copy after another."""
    records = []
    for name in SOURCES:
        data = (FIXTURES / name).read_bytes()
        pos = 24
        while pos + 16 <= len(data):
            seconds, micros, caplen, original = struct.unpack_from("<IIII", data, pos)
            records.append((seconds, micros, data[pos + 16 : pos + 16 + caplen], original))
            pos += 16 + caplen
    start = records[0][0]
    with path.open("wb") as out:
        out.write((FIXTURES / SOURCES[0]).read_bytes()[:24])
        written, copy = 24, 0
        while written < size:
            for seconds, micros, frame, original in records:
                header = struct.pack("<IIII", start + copy * 60 + (seconds - start) % 60, micros,
                                     len(frame), original)
                out.write(header + frame)
                written += 16 + len(frame)
            copy += 1


def timed(run: Callable[[], int]) -> tuple[int, float]:
    began = time.perf_counter()
    count = run()
    return count, time.perf_counter() - began


def read_only(path: Path) -> int:
    with open_capture(path) as capture:
        for _ in capture:
            pass
    return capture.stats.packets


def extract(path: Path) -> int:
    extractor = SipExtractor()
    with open_capture(path) as capture:
        for pkt in capture:
            extractor.receive(pkt)
    return extractor.stats.packets


def tshark(path: Path) -> int:
    subprocess.run(["tshark", "-r", str(path), "-q", "-z", "sip,stat"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="?", type=Path)
    parser.add_argument("--size-mb", type=float, default=100.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.capture
        if path is None:
            path = Path(tmp) / "bench.pcap"
            build_capture(path, int(args.size_mb * 1024 * 1024))
        megabytes = path.stat().st_size / 1024 / 1024
        packets, read_seconds = timed(lambda: read_only(path))
        _, extract_seconds = timed(lambda: extract(path))
        print(f"{path.name}: {megabytes:.1f} MB, {packets} packets")
        print(f"open_capture            {packets / read_seconds:12,.0f} packets/s  "
              f"{read_seconds:6.2f} s")
        print(f"open_capture+extractor  {packets / extract_seconds:12,.0f} packets/s  "
              f"{extract_seconds:6.2f} s")
        if shutil.which("tshark") is None:
            print("tshark not installed: no comparison")
            return
        _, tshark_seconds = timed(lambda: tshark(path))
        print(f"tshark -z sip,stat      {packets / tshark_seconds:12,.0f} packets/s  "
              f"{tshark_seconds:6.2f} s")
        print(f"extractor / tshark speed ratio: {tshark_seconds / extract_seconds:.2f}")


if __name__ == "__main__":
    main()
