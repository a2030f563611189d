"""Write one office working day of SIP and RTP as a classic pcap, with the totals it must yield.

Run: ``.venv/bin/python benchmarks/make_day_capture.py OUT.pcap [--calls 3000] [--seed 1]
[--talk-seconds 20]``. Besides ``OUT.pcap`` it writes ``OUT.toml`` (the lab numbering plan of
``tests/data/lab.toml`` with a person at every phone) and ``OUT.expected.json`` (calls per
outcome, direction and ring, from the generator's own plan, and each call's expected outcome by
Call-ID).

The day is Tuesday 2026-11-24, 07:30–15:30 Europe/Warsaw, in a 202-phone office (1201–1299,
1301–1399, 1401–1404) with no PBX in the path, like the lab's ``direct_*`` captures: the
operator's trunk (SBC) at 127.0.1.1 talks straight to the phones at 127.0.1N.NN (1201 →
127.0.12.1) and to the voicemail server (1999) at 127.0.19.99. Arrivals are a Poisson process
with a morning peak; the SIP is what a UDP user agent sends (RFC 3261 §8.1.1, §9.1, §13, §15,
§17), the media G.711 A-law in RTP (RFC 3550, RFC 3551: PT 8, 160 bytes every 20 ms) on the
ports each side put in its SDP (RFC 3264). Nothing is sent anywhere: the frames are only written.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import struct
import sys
import time
import tomllib
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

LAB_CONFIG = Path(__file__).resolve().parent.parent / "tests" / "data" / "lab.toml"
DAY = "2026-11-24"
ZONE = ZoneInfo("Europe/Warsaw")
DAY_MINUTES = 8 * 60  # from 07:30
PHONES = (*range(1201, 1300), *range(1301, 1400), *range(1401, 1405))
GROUP_NUMBERS = ("1100", "1300", "1400")  # unit numbers whose callers reach voicemail
DID_PREFIXES = ("+4874886", "74886")  # how the trunk presents a dialled office number
TRUNK_IP, VOICEMAIL_IP, VOICEMAIL_EXTENSION = "127.0.1.1", "127.0.19.99", "1999"
SIP_PORT = 5060
MOBILE_PREFIXES = ("50", "51", "53", "57", "60", "66", "69", "72", "78", "79", "88")
LANDLINE_PREFIXES = ("74", "71", "22", "58", "61", "12")

# Per direction: its share of calls and the shares of its outcomes.
DIRECTIONS = {"inbound": 0.70, "outbound": 0.20, "internal": 0.10}
OUTCOMES = {
    "inbound": {"answered": 0.73, "voicemail": 0.07, "abandoned": 0.10, "busy": 0.05,
                "no_answer": 0.05},
    "outbound": {"answered": 0.78, "abandoned": 0.08, "busy": 0.07, "no_answer": 0.07},
    "internal": {"answered": 0.80, "abandoned": 0.08, "busy": 0.06, "no_answer": 0.06},
}
ANSWER_RING = {1: 0.30, 2: 0.35, 3: 0.20, 4: 0.10, 5: 0.05}  # the ring the callee answers on
RING_CYCLE_S = 5.0  # Polish ringing: 1 s on, 4 s off (lab.toml [rings])
VOICEMAIL_RING = 4
NO_ANSWER_S = (30.0, 45.0)  # a phone or the operator gives up ringing (480)
RETRANSMISSION_SHARE = 0.04  # calls with one retransmitted INVITE, 200 OK or BYE
T1_US = 500_000  # RFC 3261 §17.1.1.1: the first retransmission comes after T1

# RTP / G.711 (RFC 3550 §5.1, RFC 3551 §4.5.14)
RTP_VERSION_BYTE = 0x80
PCMA = 8
RTP_MARKER = 0x80
FRAME_US, SAMPLES_PER_FRAME = 20_000, 160
PAYLOAD_FRAMES = 64  # distinct payloads cycled through; each stream starts at its own one
JITTER_VALUES = 1021
RTP_FRAME_LENGTH = 14 + 20 + 8 + 12 + SAMPLES_PER_FRAME

# pcap (draft-ietf-opsawg-pcap) and the link/IP/UDP headers
PCAP_MAGIC_MICRO, LINKTYPE_ETHERNET, SNAPLEN = 0xA1B2C3D4, 1, 262144
ETHERTYPE_IPV4, IP_DONT_FRAGMENT, IP_TTL, IPPROTO_UDP = 0x0800, 0x4000, 64, 17
_PCAP_HEADER = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
_IP_UDP = struct.Struct("!BBHHHBBH4s4sHHHH")
# An RTP frame: const Ethernet + IP start, IP id…checksum, const addresses + ports + UDP
# length, UDP checksum, RTP header, payload.
_RTP_FRAME = struct.Struct(f"!18sHHBBH14sHBBHII{SAMPLES_PER_FRAME}s")

SDP_OFFER_CODECS = ("8 0 101", ("rtpmap:8 PCMA/8000", "rtpmap:0 PCMU/8000",
                                "rtpmap:101 telephone-event/8000", "fmtp:101 0-16"))
SDP_ANSWER_CODECS = ("8 101", ("rtpmap:8 PCMA/8000", "rtpmap:101 telephone-event/8000",
                               "fmtp:101 0-16"))
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE"
FIRST_NAMES = (("Anna", "Ewa", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Żaneta",
                "Joanna", "Magdalena", "Monika", "Dorota", "Grażyna"),
               ("Piotr", "Jan", "Tomasz", "Marek", "Paweł", "Krzysztof", "Andrzej", "Michał",
                "Łukasz", "Grzegorz", "Józef", "Stanisław"))
SURNAMES = (("Kowalsk", True), ("Nowak", False), ("Wiśniewsk", True), ("Wójcik", False),
            ("Kamińsk", True), ("Lewandowsk", True), ("Zielińsk", True), ("Szymańsk", True),
            ("Woźniak", False), ("Dąbrowsk", True), ("Kozłowsk", True), ("Jankowsk", True),
            ("Mazur", False), ("Kwiatkowsk", True), ("Krawczyk", False), ("Kołodziej", False),
            ("Piotrowsk", True), ("Grabowsk", True), ("Pawłowsk", True), ("Michalsk", True))
T = TypeVar("T")
ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")


@dataclass(frozen=True, slots=True)
class Host:
    """A SIP user agent on the wire: its address, and how it names itself."""

    ip: str
    user_agent: str
    rtp_base: int  # its RTP ports are even numbers from here (RFC 3550 §11)
    rtp_span: int

    @property
    def mac(self) -> bytes:
        return bytes((0x02, 0x00)) + bytes(int(part) for part in self.ip.split("."))


@dataclass(frozen=True, slots=True)
class Party:
    """One end of a call: who (number, display name) at which user agent."""

    number: str
    host: Host
    display: str | None = None


@dataclass(slots=True)
class PlannedCall:
    """One call of the day as the generator decides it, before any packet exists."""

    start_us: int
    direction: str
    caller: Party
    callee: Party
    dialed: str  # the Request-URI user
    outcome: str
    ring_us: int  # 180 → 200 / CANCEL / 480
    talk_us: int
    caller_hangs_up: bool
    retransmit: str | None  # "INVITE", "200" or "BYE"

    @property
    def rings(self) -> int | None:
        if self.outcome not in ("answered", "voicemail"):
            return None
        return int(self.ring_us / 1e6 // RING_CYCLE_S) + 1


@dataclass(slots=True)
class RtpStream:
    """One direction of a call's media."""

    start_us: int
    packets: int
    src: Host
    dst: Host
    src_port: int
    dst_port: int
    ssrc: int
    seq: int
    timestamp: int
    ip_id: int


@dataclass(slots=True)
class DayCapture:
    """Everything a day is made of, in the order it was generated."""

    sip: list[tuple[int, int, bytes]] = field(default_factory=list)  # (µs, order, frame)
    rtp: list[RtpStream] = field(default_factory=list)


# -- the plan -------------------------------------------------------------------------------
def day_start_us() -> int:
    opening = datetime.fromisoformat(f"{DAY}T07:30").replace(tzinfo=ZONE)
    return int(opening.timestamp()) * 1_000_000


def arrival_rate(minute: float) -> float:
    """Relative call intensity ``minute`` minutes after opening: a morning peak near 09:15."""
    peak = math.exp(-0.5 * ((minute - 105) / 55) ** 2)
    after_lunch = 0.45 * math.exp(-0.5 * ((minute - 330) / 50) ** 2)
    return 0.3 + peak + after_lunch


def arrivals(rng: random.Random, calls: int) -> list[int]:
    """``calls`` arrival times (µs) of a Poisson process with :func:`arrival_rate`.

    Given its count, a Poisson process's arrivals are independent draws from its normalised
    intensity, sampled here by rejection.
    """
    start, bound, times = day_start_us(), 1.5, list[int]()
    while len(times) < calls:
        minute = rng.uniform(0, DAY_MINUTES)
        if rng.uniform(0, bound) < arrival_rate(minute):
            times.append(start + int(minute * 60e6))
    return sorted(times)


def pick(rng: random.Random, shares: dict[T, float]) -> T:
    """One key of ``shares``, drawn with its share as the weight."""
    return rng.choices(list(shares), weights=list(shares.values()))[0]


class Planner:
    """Decides every call: who, what outcome, how long; one phone is in one call at a time."""

    def __init__(self, rng: random.Random, staff: dict[str, str], talk_mean_s: float) -> None:
        self.rng = rng
        self.talk_mean_s = talk_mean_s
        self.trunk = Host(TRUNK_IP, "etykieta-bench trunk SBC", 20000, 20000)
        self.voicemail = Host(VOICEMAIL_IP, "etykieta-bench voicemail", 30000, 10000)
        self.phones = {str(ext): Host(f"127.0.{ext // 100}.{ext % 100}",
                                      "Yealink SIP-T46U 108.86.0.45", 11780, 1000)
                       for ext in PHONES}
        self.staff = staff
        self.busy_until = dict.fromkeys(self.phones, 0)
        self.callers: list[str] = []  # external numbers seen so far
        self.missed: list[str] = []  # external numbers whose call was missed

    def plan(self, start_us: int) -> PlannedCall:
        rng = self.rng
        direction = pick(rng, DIRECTIONS)
        outcome = pick(rng, OUTCOMES[direction])
        if direction == "inbound":
            caller = Party(self._external_caller(), self.trunk)
            if outcome == "voicemail":
                group = rng.choice(GROUP_NUMBERS)
                callee = Party(VOICEMAIL_EXTENSION, self.voicemail)
                dialed = rng.choice(DID_PREFIXES) + group
            else:
                callee = self._phone(start_us, busy=outcome == "busy")
                dialed = rng.choice(DID_PREFIXES) + callee.number
            if outcome in ("abandoned", "busy", "no_answer"):
                self.missed.append(caller.number)
        elif direction == "outbound":
            caller = self._phone(start_us)
            number = self._outbound_number()
            callee = Party(number, self.trunk)
            dialed = number
        else:
            caller = self._phone(start_us)
            callee = self._phone(start_us, busy=outcome == "busy", besides=caller.number)
            dialed = callee.number
        call = PlannedCall(start_us, direction, caller, callee, dialed, outcome,
                           self._ring_us(outcome), self._talk_us(outcome),
                           rng.random() < 0.55, None)
        if rng.random() < RETRANSMISSION_SHARE:
            call.retransmit = rng.choice(("INVITE", "200", "BYE")
                                         if outcome in ("answered", "voicemail") else ("INVITE",))
        self._occupy(call)
        return call

    def _ring_us(self, outcome: str) -> int:
        rng = self.rng
        if outcome == "answered":
            ring = pick(rng, ANSWER_RING)
        elif outcome == "voicemail":
            ring = VOICEMAIL_RING
        elif outcome == "abandoned":
            return int(rng.uniform(3.0, 28.0) * 1e6)
        elif outcome == "no_answer":
            return int(rng.uniform(*NO_ANSWER_S) * 1e6)
        else:
            return 0
        # well inside the ring's 5 s, so ring counting has no borderline cases
        return int(((ring - 1) * RING_CYCLE_S + rng.uniform(0.3, 4.7)) * 1e6)

    def _talk_us(self, outcome: str) -> int:
        """Exponential talk time with the asked mean (at least 1 s); voicemail messages half."""
        if outcome not in ("answered", "voicemail"):
            return 0
        mean = self.talk_mean_s / (2 if outcome == "voicemail" else 1)
        return int((1.0 + self.rng.expovariate(1 / max(mean - 1.0, 0.1))) * 1e6)

    def _phone(self, now_us: int, *, busy: bool = False, besides: str | None = None) -> Party:
        """A phone free at ``now_us`` — or, for a busy outcome, one in a call if there is one."""
        candidates = [e for e, until in self.busy_until.items()
                      if (until > now_us) == busy and e != besides]
        if not candidates:
            candidates = [e for e in self.busy_until if e != besides]
        extension = self.rng.choice(candidates)
        return Party(extension, self.phones[extension], self.staff.get(extension))

    def _occupy(self, call: PlannedCall) -> None:
        """Mark the call's phones busy until it ends (a busy callee already is)."""
        end = call.start_us + call.ring_us + call.talk_us + 2 * T1_US
        for party in (call.caller, call.callee):
            if party.number in self.busy_until and not (call.outcome == "busy"
                                                        and party is call.callee):
                self.busy_until[party.number] = max(self.busy_until[party.number], end)

    def _external_caller(self) -> str:
        rng = self.rng
        if self.callers and rng.random() < 0.15:
            return rng.choice(self.callers)  # someone calling again
        prefix = rng.choice(MOBILE_PREFIXES if rng.random() < 0.75 else LANDLINE_PREFIXES)
        national = prefix + f"{rng.randrange(10**7):07d}"
        number = national if rng.random() < 0.2 else "+48" + national
        self.callers.append(number)
        return number

    def _outbound_number(self) -> str:
        rng = self.rng
        if self.missed and rng.random() < 0.35:
            number = self.missed.pop(rng.randrange(len(self.missed)))  # a callback
            return number if number.startswith("+") else "+48" + number
        prefix = rng.choice(MOBILE_PREFIXES if rng.random() < 0.6 else LANDLINE_PREFIXES)
        national = prefix + f"{rng.randrange(10**7):07d}"
        return national if rng.random() < 0.5 else "+48" + national


# -- SIP text -------------------------------------------------------------------------------
def name_addr(party: Party, host_ip: str, user: str | None = None, tag: str | None = None,
              port: int | None = None) -> str:
    display = f'"{party.display}" ' if party.display else ""
    hostport = f"{host_ip}:{port}" if port else host_ip
    text = f"{display}<sip:{user or party.number}@{hostport}>"
    return f"{text};tag={tag}" if tag else text


def sdp(host: Host, port: int, session: int, offer: bool) -> str:
    """An SDP offer or answer for PCMA with telephone-event (RFC 4566, RFC 3264)."""
    formats, attributes = SDP_OFFER_CODECS if offer else SDP_ANSWER_CODECS
    lines = ["v=0", f"o=- {session} {session} IN IP4 {host.ip}", "s=SIP Call",
             f"c=IN IP4 {host.ip}", "t=0 0", f"m=audio {port} RTP/AVP {formats}",
             *(f"a={a}" for a in attributes), "a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


def message(start_line: str, headers: list[tuple[str, str]], body: str = "",
            content_type: str = "application/sdp") -> bytes:
    """Start line, headers, Content-Type/Length and body, CRLF-terminated (RFC 3261 §7)."""
    encoded = body.encode()
    if encoded:
        headers = [*headers, ("Content-Type", content_type)]
    lines = [start_line, *(f"{name}: {value}" for name, value in headers),
             f"Content-Length: {len(encoded)}", "", ""]
    return "\r\n".join(lines).encode() + encoded


class Dialog:
    """The messages of one call between a caller and a callee user agent, as each sends them."""

    def __init__(self, call: PlannedCall, rng: random.Random, out: DayCapture,
                 ip_ids: dict[str, int]) -> None:
        self.call, self.rng, self.out, self.ip_ids = call, rng, out, ip_ids
        a, b = call.caller.host, call.callee.host
        self.call_id = f"{rng.getrandbits(64):016x}@{a.ip}"
        self.from_tag, self.to_tag = f"{rng.getrandbits(32):08x}", f"{rng.getrandbits(32):08x}"
        self.invite_branch = self.branch()
        self.request_uri = f"sip:{call.dialed}@{b.ip}:{SIP_PORT}"
        self.from_hdr = name_addr(call.caller, a.ip, tag=self.from_tag)
        self.to_hdr = name_addr(Party(call.dialed, b), b.ip)
        self.caller_contact = f"<sip:{call.caller.number}@{a.ip}:{SIP_PORT}>"
        self.callee_contact = f"<sip:{call.callee.number}@{b.ip}:{SIP_PORT}>"
        self.caller_rtp = a.rtp_base + 2 * rng.randrange(a.rtp_span // 2)
        self.callee_rtp = b.rtp_base + 2 * rng.randrange(b.rtp_span // 2)
        self.offer_session, self.answer_session = rng.randrange(10**9), rng.randrange(10**9)

    def branch(self) -> str:
        return f"z9hG4bK{self.rng.getrandbits(48):012x}"  # RFC 3261 §8.1.1.7 magic cookie

    def latency_us(self) -> int:
        return self.rng.randrange(150, 1500)

    def send(self, at_us: int, src: Host, dst: Host, data: bytes) -> int:
        ip_id = self.ip_ids[src.ip] = (self.ip_ids.get(src.ip, 0) + 1) & 0xFFFF
        frame = udp_frame(src, dst, SIP_PORT, SIP_PORT, data, ip_id)
        self.out.sip.append((at_us, len(self.out.sip), frame))
        return at_us

    # -- requests -------------------------------------------------------------------------
    def via(self, host: Host, branch: str) -> tuple[str, str]:
        return ("Via", f"SIP/2.0/UDP {host.ip}:{SIP_PORT};branch={branch}")

    def invite(self) -> bytes:
        call, a = self.call, self.call.caller.host
        headers = [self.via(a, self.invite_branch), ("Max-Forwards", "70"),
                   ("From", self.from_hdr), ("To", self.to_hdr), ("Call-ID", self.call_id),
                   ("CSeq", "1 INVITE"), ("Contact", self.caller_contact), ("Allow", ALLOW),
                   ("Supported", "replaces, timer"), ("User-Agent", a.user_agent)]
        if call.direction == "inbound" and call.caller.number.startswith("+"):
            headers.append(("P-Asserted-Identity", f"<sip:{call.caller.number}@{a.ip}>"))
        return message(f"INVITE {self.request_uri} SIP/2.0", headers,
                       sdp(a, self.caller_rtp, self.offer_session, offer=True))

    def in_dialog(self, method: str, cseq: int, *, from_caller: bool, branch: str,
                  to_tag: str | None) -> bytes:
        """ACK, CANCEL or BYE; CANCEL and the ACK of a failure reuse the INVITE's branch."""
        call = self.call
        if from_caller:
            host, target = call.caller.host, self.callee_contact[1:-1]
            from_hdr = self.from_hdr
            to_hdr = f"{self.to_hdr};tag={to_tag}" if to_tag else self.to_hdr
        else:
            host, target = call.callee.host, self.caller_contact[1:-1]
            from_hdr, to_hdr = f"{self.to_hdr};tag={to_tag}", self.from_hdr
        if method == "CANCEL" or branch == self.invite_branch:
            target = self.request_uri
        headers = [self.via(host, branch), ("Max-Forwards", "70"), ("From", from_hdr),
                   ("To", to_hdr), ("Call-ID", self.call_id), ("CSeq", f"{cseq} {method}"),
                   ("User-Agent", host.user_agent)]
        return message(f"{method} {target} SIP/2.0", headers)

    # -- responses ------------------------------------------------------------------------
    def response(self, code: int, reason: str, request: bytes, *, tagged: bool = True,
                 contact: bool = False, answer: bool = False) -> bytes:
        """A response copying the request's Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6)."""
        head = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
        copied = dict(line.split(": ", 1) for line in head)
        to_hdr = copied["To"]
        if tagged and ";tag=" not in to_hdr:
            to_hdr += f";tag={self.to_tag}"
        responder = (self.call.callee.host if copied["Via"].split()[1].split(":")[0]
                     == self.call.caller.host.ip else self.call.caller.host)
        headers = [("Via", copied["Via"]), ("From", copied["From"]), ("To", to_hdr),
                   ("Call-ID", copied["Call-ID"]), ("CSeq", copied["CSeq"])]
        if contact:
            headers.append(("Contact", self.callee_contact))
        if code == 200 and answer:
            headers.append(("Allow", ALLOW))
        headers.append(("Server", responder.user_agent))
        body = sdp(responder, self.callee_rtp, self.answer_session, offer=False) if answer else ""
        return message(f"SIP/2.0 {code} {reason}", headers, body)


def render(call: PlannedCall, rng: random.Random, out: DayCapture, ip_ids: dict[str, int]
           ) -> None:
    """Append the call's SIP frames and RTP streams to ``out``."""
    d = Dialog(call, rng, out, ip_ids)
    a, b = call.caller.host, call.callee.host
    lat = d.latency_us
    invite = d.invite()
    t = d.send(call.start_us, a, b, invite)
    if call.retransmit == "INVITE":  # the callee is slow; Timer A fires once
        d.send(t + T1_US, a, b, invite)
        t += T1_US + rng.randrange(20_000, 200_000)
    else:
        t += 2 * lat()
    t = d.send(t, b, a, d.response(100, "Trying", invite, tagged=False))
    if call.outcome == "busy":
        failure = d.response(486, "Busy Here", invite)
        t = d.send(t + rng.randrange(2_000, 30_000), b, a, failure)
        d.send(t + 2 * lat(), a, b, d.in_dialog("ACK", 1, from_caller=True,
                                                branch=d.invite_branch, to_tag=d.to_tag))
        return
    t = d.send(t + rng.randrange(5_000, 120_000), b, a,
               d.response(180, "Ringing", invite, contact=True))
    t += call.ring_us
    if call.outcome == "abandoned":
        cancel = d.in_dialog("CANCEL", 1, from_caller=True, branch=d.invite_branch, to_tag=None)
        t = d.send(t, a, b, cancel)
        t = d.send(t + 2 * lat(), b, a, d.response(200, "OK", cancel))
        t = d.send(t + lat(), b, a, d.response(487, "Request Terminated", invite))
        d.send(t + 2 * lat(), a, b, d.in_dialog("ACK", 1, from_caller=True,
                                                branch=d.invite_branch, to_tag=d.to_tag))
        return
    if call.outcome == "no_answer":
        t = d.send(t, b, a, d.response(480, "Temporarily Unavailable", invite))
        d.send(t + 2 * lat(), a, b, d.in_dialog("ACK", 1, from_caller=True,
                                                branch=d.invite_branch, to_tag=d.to_tag))
        return
    ok = d.response(200, "OK", invite, contact=True, answer=True)
    answered = d.send(t, b, a, ok)
    ack_at = answered + 2 * lat()
    if call.retransmit == "200":  # the caller is slow to ACK; the callee retransmits (§13.3.1.4)
        d.send(answered + T1_US, b, a, ok)
        ack_at = answered + T1_US + rng.randrange(20_000, 200_000)
    d.send(ack_at, a, b, d.in_dialog("ACK", 1, from_caller=True, branch=d.branch(),
                                     to_tag=d.to_tag))
    hangup = answered + call.talk_us
    add_media(out, rng, d, answered + rng.randrange(5_000, 20_000), ack_at + lat(), hangup)
    by_caller = call.caller_hangs_up
    cseq = 2 if by_caller else rng.randrange(100, 9000)
    src, dst = (a, b) if by_caller else (b, a)
    bye = d.in_dialog("BYE", cseq, from_caller=by_caller, branch=d.branch(), to_tag=d.to_tag)
    t = d.send(hangup, src, dst, bye)
    if call.retransmit == "BYE":
        t = d.send(t + T1_US, src, dst, bye)
    d.send(t + 2 * lat(), dst, src, d.response(200, "OK", bye))


def add_media(out: DayCapture, rng: random.Random, d: Dialog, callee_from: int,
              caller_from: int, until: int) -> None:
    """Both directions of RTP, each from its sender's SDP port to the other side's."""
    a, b = d.call.caller.host, d.call.callee.host
    for src, dst, sport, dport, start in ((b, a, d.callee_rtp, d.caller_rtp, callee_from),
                                          (a, b, d.caller_rtp, d.callee_rtp, caller_from)):
        packets = max(0, (until - start) // FRAME_US)
        if packets:
            out.rtp.append(RtpStream(start, packets, src, dst, sport, dport,
                                     rng.getrandbits(32), rng.randrange(1 << 16),
                                     rng.getrandbits(32), rng.randrange(1 << 16)))


# -- frames and the pcap ----------------------------------------------------------------------
def ones_complement_sum(data: bytes) -> int:
    """The RFC 1071 sum of ``data`` as big-endian 16-bit words, not yet folded."""
    if len(data) % 2:
        data += b"\0"
    words = array("H", data)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words)


def fold(total: int) -> int:
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return total


def udp_frame(src: Host, dst: Host, sport: int, dport: int, payload: bytes, ip_id: int
              ) -> bytes:
    """Ethernet II + IPv4 (DF, TTL 64) + UDP with both checksums (RFC 791, RFC 768)."""
    src_ip, dst_ip = bytes(map(int, src.ip.split("."))), bytes(map(int, dst.ip.split(".")))
    udp_length = 8 + len(payload)
    header = _IP_UDP.pack(0x45, 0, 20 + udp_length, ip_id, IP_DONT_FRAGMENT, IP_TTL,
                          IPPROTO_UDP, 0, src_ip, dst_ip, sport, dport, udp_length, 0)
    ip_sum = 0xFFFF ^ fold(ones_complement_sum(header[:20]))
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, IPPROTO_UDP, udp_length)
    udp_sum = (0xFFFF ^ fold(ones_complement_sum(pseudo + header[20:] + payload))) or 0xFFFF
    header = header[:10] + ip_sum.to_bytes(2, "big") + header[12:26] + udp_sum.to_bytes(2, "big")
    return dst.mac + src.mac + ETHERTYPE_IPV4.to_bytes(2, "big") + header + payload


def pcma_payloads(rng: random.Random) -> list[bytes]:
    """Frames of A-law coded noise at speech-like levels, some near silence (ITU-T G.711)."""
    frames = []
    for index in range(PAYLOAD_FRAMES):
        level = 30 if index % 4 == 3 else rng.choice((300, 1200, 4000))
        frames.append(bytes(alaw(int(rng.gauss(0, level))) for _ in range(SAMPLES_PER_FRAME)))
    return frames


def alaw(sample: int) -> int:
    """One 16-bit linear sample to G.711 A-law (ITU-T G.711 Table 1a, even bits inverted)."""
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample), 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        segment = magnitude.bit_length() - 5
        code = (segment << 4) | ((magnitude >> segment) & 0x0F)
    return (sign | code) ^ 0x55


class RtpWriter:
    """Precomputes one stream's constant header bytes and checksum parts (RFC 1071 §2)."""

    def __init__(self, stream: RtpStream) -> None:
        s = stream
        src_ip, dst_ip = bytes(map(int, s.src.ip.split("."))), bytes(map(int, s.dst.ip.split(".")))
        udp_length = RTP_FRAME_LENGTH - 14 - 20
        self.head = (s.dst.mac + s.src.mac + ETHERTYPE_IPV4.to_bytes(2, "big")
                     + struct.pack("!BBH", 0x45, 0, 20 + udp_length))
        self.middle = src_ip + dst_ip + struct.pack("!HHH", s.src_port, s.dst_port, udp_length)
        addresses = ones_complement_sum(src_ip + dst_ip)
        self.ip_sum = (0x4500 + 20 + udp_length + IP_DONT_FRAGMENT + (IP_TTL << 8 | IPPROTO_UDP)
                       + addresses)
        self.udp_sum = (addresses + IPPROTO_UDP + udp_length + s.src_port + s.dst_port
                        + udp_length + (s.ssrc >> 16) + (s.ssrc & 0xFFFF)
                        + (RTP_VERSION_BYTE << 8 | PCMA))


def write_pcap(path: Path, day: DayCapture, payloads: list[bytes], jitter: list[int]
               ) -> tuple[int, int]:
    """Write SIP frames and RTP streams merged in time order; return (packets, bytes)."""
    sums = [ones_complement_sum(p) for p in payloads]
    sip = sorted(day.sip)
    streams = sorted(day.rtp, key=lambda s: s.start_us)
    record, frame_pack = _RECORD.pack, _RTP_FRAME.pack
    heap: list[tuple[int, int]] = []
    # per active stream: [writer, seq, timestamp, ip id, packets left, ssrc, payload offset,
    # marker] — the marker bit is set on a stream's first packet (RFC 3551 §4.1)
    state: dict[int, list] = {}
    never = 1 << 62
    next_sip, next_stream, last_us, packets, written = 0, 0, 0, 0, 24
    buffer: list[bytes] = []
    with open(path, "wb", buffering=1 << 22) as f:
        f.write(_PCAP_HEADER.pack(PCAP_MAGIC_MICRO, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        while True:
            t_rtp = heap[0][0] if heap else never
            t_sip = sip[next_sip][0] if next_sip < len(sip) else never
            t_new = streams[next_stream].start_us if next_stream < len(streams) else never
            if t_new <= t_rtp and t_new <= t_sip and t_new != never:
                s = streams[next_stream]
                state[next_stream] = [RtpWriter(s), s.seq, s.timestamp, s.ip_id, s.packets,
                                      s.ssrc, s.ssrc % PAYLOAD_FRAMES, RTP_MARKER]
                heapq.heappush(heap, (s.start_us, next_stream))
                next_stream += 1
                continue
            if t_sip <= t_rtp:
                if t_sip == never:
                    break
                frame = sip[next_sip][2]
                next_sip += 1
                at = last_us = max(t_sip, last_us)
                buffer.append(record(at // 1_000_000, at % 1_000_000, len(frame), len(frame)))
                buffer.append(frame)
                written += 16 + len(frame)
            else:
                index = heap[0][1]
                st = state[index]
                writer, seq, ts, ip_id, left, ssrc, first, marker = st
                at = t_rtp + jitter[(seq + first) % JITTER_VALUES]
                at = last_us = max(at, last_us)
                k = (seq + first) % PAYLOAD_FRAMES
                ip_sum = 0xFFFF ^ fold(writer.ip_sum + ip_id)
                udp_sum = (0xFFFF ^ fold(writer.udp_sum + marker + seq + (ts >> 16)
                                         + (ts & 0xFFFF) + sums[k])) or 0xFFFF
                buffer.append(record(at // 1_000_000, at % 1_000_000, RTP_FRAME_LENGTH,
                                     RTP_FRAME_LENGTH))
                buffer.append(frame_pack(writer.head, ip_id, IP_DONT_FRAGMENT, IP_TTL,
                                         IPPROTO_UDP, ip_sum, writer.middle, udp_sum,
                                         RTP_VERSION_BYTE, PCMA | marker, seq, ts, ssrc,
                                         payloads[k]))
                written += 16 + RTP_FRAME_LENGTH
                st[1:] = ((seq + 1) & 0xFFFF, (ts + SAMPLES_PER_FRAME) & 0xFFFFFFFF,
                          (ip_id + 1) & 0xFFFF, left - 1, ssrc, first, 0)
                if left > 1:
                    heapq.heapreplace(heap, (t_rtp + FRAME_US, index))
                else:
                    heapq.heappop(heap)
                    del state[index]
            packets += 1
            if len(buffer) >= 8192:
                f.write(b"".join(buffer))
                buffer.clear()
        f.write(b"".join(buffer))
    return packets, written


# -- the numbering plan and the expected totals ------------------------------------------------
def generated_staff(rng: random.Random) -> dict[str, tuple[str, str, str]]:
    """A person at every phone: (first name, last name, unit); the lab's own people kept."""
    lab = tomllib.loads(LAB_CONFIG.read_text(encoding="utf-8"))
    units = {ext: unit["name"] for unit in lab["units"] for ext in map(str, PHONES)
             if any(_in_range(ext, r) for r in unit["extensions"])}
    people = {p["extension"]: (p["first_name"], p["last_name"], p["unit"]) for p in lab["staff"]}
    for ext in map(str, PHONES):
        if ext not in people:
            female = rng.random() < 0.6
            stem, adjectival = rng.choice(SURNAMES)
            last = stem + ("a" if female else "i") if adjectival else stem
            people[ext] = (rng.choice(FIRST_NAMES[0 if female else 1]), last, units[ext])
    return people


def _in_range(extension: str, text: str) -> bool:
    low, _, high = text.partition("-")
    return len(extension) == len(low) and low <= extension <= (high or low)


def write_config(path: Path, people: dict[str, tuple[str, str, str]]) -> None:
    """lab.toml's organisation, units and non-persons, with ``people`` as its staff."""
    lab_text = LAB_CONFIG.read_text(encoding="utf-8")
    head = lab_text.split("\n[[staff]]", 1)[0].replace('"sqlite:///var/lab.db"',
                                                       '"sqlite:///var/bench_day.db"')
    lines = ["# Generated by benchmarks/make_day_capture.py from tests/data/lab.toml: the lab's",
             "# numbering plan with a person at every phone of the benchmark day.", "", head]
    for ext in sorted(people):
        first, last, unit = people[ext]
        email = f"{first}.{last}@um.example.pl".lower().translate(ASCII)
        lines += ["", "[[staff]]", f'extension = "{ext}"', f'first_name = "{first}"',
                  f'last_name = "{last}"', f'unit = "{unit}"', f'email = "{email}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def expected_totals(plan: list[PlannedCall], day: DayCapture, packets: int, capture: Path
                    ) -> dict[str, Any]:
    """What an ingest of the capture must find, counted from the plan itself."""
    by_call = {}
    for call, call_id in zip(plan, day_call_ids(day), strict=True):
        by_call[call_id] = [call.direction, call.outcome, call.rings]
    rtp = sum(s.packets for s in day.rtp)
    return {
        "capture": capture.name,
        "config": capture.with_suffix(".toml").name,
        "made_by": "benchmarks/make_day_capture.py " + " ".join(sys.argv[1:]),
        "day": DAY,
        "calls": len(plan),
        "outcomes": dict(sorted(Counter(c.outcome for c in plan).items())),
        "directions": dict(sorted(Counter(c.direction for c in plan).items())),
        "rings": {str(k): v for k, v in sorted(Counter(
            c.rings for c in plan if c.outcome == "answered").items())},
        "retransmissions": dict(sorted(Counter(c.retransmit for c in plan if c.retransmit)
                                       .items())),
        "packets": {"total": packets, "sip": len(day.sip), "rtp": rtp},
        "by_call_id": by_call,  # Call-ID → [direction, outcome, rings]
    }


def day_call_ids(day: DayCapture) -> Iterator[str]:
    """The Call-ID of each call's first frame (its INVITE), in plan order."""
    seen: set[str] = set()
    for _, _, frame in day.sip:
        start = frame.index(b"\r\nCall-ID: ") + 11
        call_id = frame[start:frame.index(b"\r\n", start)].decode()
        if call_id not in seen:
            seen.add(call_id)
            yield call_id


def generate(out: Path, calls: int, seed: int, talk_seconds: float) -> dict[str, Any]:
    """Plan the day, write the capture, the config and the expected totals; return the totals."""
    rng = random.Random(seed)
    people = generated_staff(random.Random(seed + 1))
    staff = {ext: f"{first} {last}" for ext, (first, last, _) in people.items()}
    planner = Planner(rng, staff, talk_seconds)
    plan = [planner.plan(at) for at in arrivals(rng, calls)]
    day, ip_ids = DayCapture(), dict[str, int]()
    for call in plan:
        render(call, rng, day, ip_ids)
    jitter = [min(int(abs(rng.gauss(0, 400))), 3000) for _ in range(JITTER_VALUES)]
    packets, size = write_pcap(out, day, pcma_payloads(rng), jitter)
    write_config(out.with_suffix(".toml"), people)
    expected = expected_totals(plan, day, packets, out)
    expected["bytes"] = size
    out.with_suffix(".expected.json").write_text(json.dumps(expected, indent=1) + "\n",
                                                 encoding="utf-8")
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the pcap to write (OUT.toml and "
                        "OUT.expected.json go next to it)")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--talk-seconds", type=float, default=20.0,
                        help="mean talk time of an answered call (exponential)")
    args = parser.parse_args()
    started = time.perf_counter()
    expected = generate(args.out, args.calls, args.seed, args.talk_seconds)
    packets = expected["packets"]
    print(f"{args.out}: {packets['total']:,} packets ({packets['sip']:,} SIP, "
          f"{packets['rtp']:,} RTP), {expected['bytes'] / 1e6:,.1f} MB, "
          f"{expected['calls']:,} calls {expected['outcomes']}, "
          f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
