"""tshark's view of an audio capture's RTP, compared with the case's ``audio`` facts.

Used by ``audio_lab.py --check``: independent of Etykieta's own RTP code on purpose.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lab  # noqa: E402

PACKET_S = 0.020
STREAM_EDGE_S = 0.15        # first packet after the answer / last packet near the BYE
# tshark -z rtp,streams: start end src sport dst dport ssrc payload pkts lost (pct) ...
STREAM_LINE = re.compile(
    r"^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-Fa-f]+)\s+(.+?)\s+"
    r"(\d+)\s+(-?\d+)\s+\(")
TSHARK_CODEC = {"PCMA": "g711A", "PCMU": "g711U", "G729": "g729"}


@dataclass
class RtpStream:
    """One direction's RTP packets, in capture order."""

    src: str
    dst: str
    times: list[float] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    payload_types: set[int] = field(default_factory=set)
    payload: bytearray = field(default_factory=bytearray)

    def missing(self) -> set[int]:
        """Sequence numbers between the lowest and highest seen that never arrived."""
        return set(range(min(self.seqs), max(self.seqs) + 1)) - set(self.seqs)

    def late(self) -> set[int]:
        """Sequence numbers that arrived after a higher one."""
        late, highest = set(), -1
        for seq in self.seqs:
            if seq < highest:
                late.add(seq)
            highest = max(highest, seq)
        return late


def rtp_streams(pcap: Path) -> dict[tuple[str, str], RtpStream]:
    """RTP packets grouped by (src ip:port, dst ip:port)."""
    out = lab.run(["tshark", "-r", str(pcap), "-Y", "rtp", "-T", "fields", "-E", "separator=\t",
                   "-e", "frame.time_epoch", "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst",
                   "-e", "udp.dstport", "-e", "rtp.p_type", "-e", "rtp.seq", "-e", "rtp.payload"])
    streams: dict[tuple[str, str], RtpStream] = {}
    for line in out.splitlines():
        epoch, sip, sport, dip, dport, ptype, seq, payload = line.split("\t")
        key = (f"{sip}:{sport}", f"{dip}:{dport}")
        stream = streams.setdefault(key, RtpStream(*key))
        stream.times.append(float(epoch))
        stream.seqs.append(int(seq))
        stream.payload_types.add(int(ptype))
        stream.payload += bytes.fromhex(payload.replace(":", ""))
    return streams


def stream_table(pcap: Path) -> dict[tuple[str, str], tuple[str, int, int]]:
    """``tshark -z rtp,streams``: (src, dst) → (payload name, packets, lost)."""
    out = lab.run(["tshark", "-r", str(pcap), "-q", "-z", "rtp,streams"])
    table = {}
    for line in out.splitlines():
        m = STREAM_LINE.match(line)
        if m:
            src, sport, dst, dport, _ssrc, name, pkts, lost = m.groups()
            table[(f"{src}:{sport}", f"{dst}:{dport}")] = (name.strip(), int(pkts), int(lost))
    return table


def sip_times(pcap: Path) -> tuple[float, float]:
    """Epoch of the INVITE's 200 OK and of the BYE."""
    out = lab.run(["tshark", "-r", str(pcap), "-Y", "sip", "-T", "fields", "-E", "separator=\t",
                   "-e", "frame.time_epoch", "-e", "sip.Method", "-e", "sip.Status-Code",
                   "-e", "sip.CSeq.method"])
    answer = bye = None
    for line in out.splitlines():
        epoch, method, status, cseq = (line.split("\t") + [""] * 4)[:4]
        if status == "200" and cseq == "INVITE" and answer is None:
            answer = float(epoch)
        if method == "BYE" and bye is None:
            bye = float(epoch)
    if answer is None or bye is None:
        raise lab.LabError(f"{pcap.name}: no 200 OK to the INVITE or no BYE")
    return answer, bye


def _predicted_lost(seqs: list[int]) -> set[int]:
    return {s for s in range(min(seqs), max(seqs) + 1) if s % 32 == 5 or s % 64 == 40}


def check_audio(pcap: Path, audio: dict[str, Any], phone_hangs_up: bool,
                phone_media: bytes | None = None) -> list[str]:
    """Compare the capture's RTP with the expected ``audio`` object; return the problems."""
    problems: list[str] = []
    where = pcap.name
    answer, bye = sip_times(pcap)
    streams = rtp_streams(pcap)
    table = stream_table(pcap)
    callee, caller = audio["callee_rtp"], audio["caller_rtp"]
    codec, pt = audio["codec"], audio["payload_type"]

    caller_stream = streams.get((caller["from"], caller["to"]))
    if caller_stream is None or caller_stream.payload_types != {pt}:
        problems.append(f"{where}: caller → phone RTP with PT {pt} missing")

    if callee is None:
        if any(src.startswith(audio_ip(caller["to"])) for src, _ in streams):
            problems.append(f"{where}: the phone sent RTP but should be mute")
        return problems
    stream = streams.get((callee["from"], callee["to"]))
    if stream is None:
        return problems + [f"{where}: no phone → caller RTP {callee['from']} → {callee['to']}"]
    if stream.payload_types != {pt}:
        problems.append(f"{where}: phone RTP payload types {stream.payload_types}, want {pt}")
    name, _pkts, lost = table.get((callee["from"], callee["to"]), ("?", 0, -1))
    if name != TSHARK_CODEC[codec]:
        problems.append(f"{where}: tshark calls the phone's stream {name}, want {codec}")
    first = min(stream.times) - answer
    if not 0 <= first <= STREAM_EDGE_S:
        problems.append(f"{where}: phone RTP starts {first:.3f} s after the answer")
    last = max(stream.times) - bye
    if not -STREAM_EDGE_S <= last <= (0.0 if phone_hangs_up else STREAM_EDGE_S):
        problems.append(f"{where}: phone RTP ends {last:+.3f} s from the BYE")

    closing = audio.get("closing")
    if closing is not None:
        thanks = [s for s in callee["segments"] if s["source"] == closing["source"]][-1]
        before = bye - (min(stream.times) + thanks["speech_s"][1])
        lo, hi = closing["speech_ends_before_bye_s"]
        if not lo <= before <= hi:
            problems.append(f"{where}: closing words end {before:.3f} s before the BYE")

    impairment = audio.get("impairment")
    if impairment is None:
        if lost != 0 or stream.missing() or stream.late():
            problems.append(f"{where}: unimpaired stream lost {sorted(stream.missing())}, "
                            f"late {sorted(stream.late())}")
        expected_packets = (max(stream.times) - min(stream.times)) / PACKET_S + 1
        if abs(len(stream.seqs) - expected_packets) > 3:
            problems.append(f"{where}: {len(stream.seqs)} packets for "
                            f"{expected_packets:.0f} packet times")
        if phone_media is not None and not phone_media.startswith(bytes(stream.payload)):
            problems.append(f"{where}: phone payload differs from the encoded timeline")
    else:
        if stream.missing() != _predicted_lost(stream.seqs):
            problems.append(f"{where}: lost {sorted(stream.missing())}, predicted "
                            f"{sorted(_predicted_lost(stream.seqs))}")
        late = stream.late()
        if not late or any(s % 16 != 3 for s in late):
            problems.append(f"{where}: late packets {sorted(late)} (want seq % 16 == 3 only)")
    return problems


def audio_ip(addr: str) -> str:
    """The address part of ``ip:port``, with the colon (a prefix for matching)."""
    return addr.rsplit(":", 1)[0] + ":"
