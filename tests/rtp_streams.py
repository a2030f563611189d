"""A small RTP sender for tests: encoded audio in, ``(arrival, datagram)`` pairs out.

The headers are the fixture: sequence numbers, timestamps, SSRCs and arrival times are chosen
by each test, and the helpers below damage a stream the way a network does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from etykieta.speech.audio.rtp import RtpPacket, TelephoneEvent
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import Datagram, PacketDecoder

Sent = list[tuple[float, bytes]]


@dataclass(frozen=True)
class Sender:
    """One RTP source: its SSRC, its first sequence number and timestamp, its payload type."""

    payload_type: int
    ssrc: int = 0x1A2B3C4D
    first_seq: int = 1000
    first_ts: int = 160_000
    ptime: float = 0.02
    ticks: int = 160  # RTP timestamp units per packet (8000 Hz clock, 20 ms)

    def packet(self, index: int, payload: bytes) -> bytes:
        """The datagram of packet ``index`` (0-based) of this source."""
        return bytes(
            RtpPacket(
                payload_type=self.payload_type,
                sequence_number=(self.first_seq + index) % 65536,
                timestamp=(self.first_ts + index * self.ticks) % 2**32,
                ssrc=self.ssrc,
                payload=payload,
            )
        )

    def send(self, encoded: bytes, start: float, bytes_per_packet: int = 160) -> Sent:
        """Cut ``encoded`` into packets sent every ``ptime`` from ``start``."""
        return [
            (
                start + index * self.ptime,
                self.packet(index, encoded[offset : offset + bytes_per_packet]),
            )
            for index, offset in enumerate(range(0, len(encoded), bytes_per_packet))
        ]


def drop(sent: Sent, fraction: float, seed: int = 4) -> tuple[Sent, list[int]]:
    """Lose ``fraction`` of the packets (never the first); also return the lost indexes."""
    rng = random.Random(seed)
    lost = sorted(rng.sample(range(1, len(sent)), round(len(sent) * fraction)))
    gone = set(lost)
    return [item for index, item in enumerate(sent) if index not in gone], lost


def swap_neighbours(sent: Sent, every: int = 5) -> Sent:
    """Delay every ``every``-th packet until just after the next one, which overtakes it."""
    out = list(sent)
    for index in range(1, len(out) - 1, every):
        (_, d1), (t2, d2) = out[index], out[index + 1]
        out[index], out[index + 1] = (t2, d2), (t2 + 0.001, d1)
    return out


def duplicate(sent: Sent, every: int = 7, delay: float = 0.003) -> Sent:
    """Deliver every ``every``-th packet twice, the copy ``delay`` later."""
    out: Sent = []
    for index, (arrival, data) in enumerate(sent):
        out.append((arrival, data))
        if index % every == 0:
            out.append((arrival + delay, data))
    return out


def jitter(sent: Sent, most: float, seed: int = 7) -> Sent:
    """Delay each packet by up to ``most`` seconds (the first one not at all)."""
    rng = random.Random(seed)
    return [(t + (rng.uniform(0, most) if i else 0.0), d) for i, (t, d) in enumerate(sent)]


def dtmf(sender: Sender, index: int, start: float, digit: int, packets: int) -> Sent:
    """An RFC 4733 event sent in place of packets ``index..index+packets-1`` of ``sender``.

    Every packet carries the event's first timestamp; the end packet is sent three times
    (RFC 4733 §2.5.1.4), each with a new sequence number.
    """
    out: Sent = []
    for k in range(packets + 2):
        end = k >= packets - 1
        event = TelephoneEvent(digit, end, 10, min(k + 1, packets) * sender.ticks)
        data = bytes(
            RtpPacket(
                payload_type=sender.payload_type,
                sequence_number=(sender.first_seq + index + k) % 65536,
                timestamp=(sender.first_ts + index * sender.ticks) % 2**32,
                ssrc=sender.ssrc,
                payload=bytes(event),
                marker=k == 0,
            )
        )
        out.append((start + min(k, packets - 1) * sender.ptime, data))
    return out


def rtcp_receiver_report(ssrc: int) -> bytes:
    """An empty RTCP RR (RFC 3550 §6.4.2): version 2, no report blocks, PT 201."""
    return bytes([0x80, 201, 0x00, 0x01]) + ssrc.to_bytes(4, "big")


# Real RTP captures shipped with sipp (Debian `sip-tester`, which `make test` installs): a PCMA
# call recording at 30 ms packets, and one RFC 2833/4733 DTMF digit.
SIPP_DATA = Path("/usr/share/sip-tester")
SIPP_PCMA = SIPP_DATA / "g711a.pcap"
SIPP_DTMF_5 = SIPP_DATA / "dtmf_2833_5.pcap"


def captured_datagrams(path: Path) -> list[Datagram]:
    """The UDP datagrams of a capture file, in capture order."""
    decoder = PacketDecoder()
    decoded = (decoder.decode(packet) for packet in open_capture(path))
    return [item for item in decoded if isinstance(item, Datagram)]
