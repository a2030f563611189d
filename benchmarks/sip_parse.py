"""Messages per second for the SIP parser on an INVITE with SDP and on a 180 Ringing.

Run: ``.venv/bin/python benchmarks/sip_parse.py [seconds per case]``. "parse" is
``parse_message`` alone (what every captured message costs); "+ dialog" also reads what a
call tracker asks of every message (top Via branch, tags, SDP endpoint, PAI). Parsed
name-addr values are remembered (they repeat in every message of a dialog), so the same
message parsed again is cheaper than a new one: "cold" empties that cache before each parse,
the cost of a message whose From, To and Contact were never seen.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from etykieta.telephony import sipuri
from etykieta.telephony.sip import SipMessage, parse_message

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "sip"
CASES = {
    "INVITE with SDP (trunk, 2 Via, Diversion)": DATA / "kamailio_invite_diversion.txt",
    "180 Ringing": DATA / "rfc3665_180_ringing.txt",
}


def with_dialog_reads(data: bytes) -> SipMessage:
    msg = parse_message(data)
    _ = (msg.vias[0].branch, msg.from_.tag, msg.to.tag, msg.p_asserted_identity)
    sdp = msg.sdp  # each read parses again: read once
    if sdp is not None:
        sdp.audio_endpoint()
    return msg


def cold(data: bytes) -> SipMessage:
    sipuri._parse_name_addr.cache_clear()
    return parse_message(data)


def rate(parse: Callable[[bytes], SipMessage], data: bytes, seconds: float) -> float:
    """Messages per second over at least ``seconds`` (best of three runs)."""
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            for _ in range(1000):
                parse(data)
            count += 1000
        best = max(best, count / elapsed)
    return best


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    for label, path in CASES.items():
        data = path.read_bytes()
        print(
            f"{label:45} {len(data):5} B  parse {rate(parse_message, data, seconds):8,.0f}/s"
            f"  cold {rate(cold, data, seconds):8,.0f}/s"
            f"  + dialog {rate(with_dialog_reads, data, seconds):8,.0f}/s"
        )


if __name__ == "__main__":
    main()
