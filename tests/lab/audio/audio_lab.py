"""Audio lab: answered calls whose phone streams real RTP (sipp ``rtp_stream``), via tcpdump.

Each case is one call from an external number to a desk phone, both played by sipp 3.6.1:
the phone answers and, on the caller's ACK, streams a prepared file (what the employee
said, :mod:`media`) as RTP to the media address of the caller's SDP offer; the caller
streams its own file back. The capture is what a probe next to the PBX sees. Next to it,
``<case>.expected.json`` holds the call facts (lab.py's format) and an ``audio`` object
written from the case definition: codec, which source recording the phone's stream
starts with, when the speech starts after the answer, the verdict that needs no speech
model, and the full layout of both streams.

``python3 tests/lab/audio/audio_lab.py [CASE ...]`` regenerates the cases (all by default),
``--list`` names them, ``--check`` re-verifies the captures with tshark, ``--sources``
remakes the espeak-ng recordings first.

Loopback only: 127.0.4.0/24, SIP ports 26000–26999, RTP ports 30000–30999; the loss case
runs in network namespaces ``etylabaud1``/``etylabaud2`` that it creates and deletes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUDIO_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(AUDIO_DIR.parent))
sys.path.insert(0, str(AUDIO_DIR))

import lab  # noqa: E402  (tests/lab/lab.py: tcpdump, sipp and expected-facts helpers)
from lab import CallFacts, Capture, LabError, Sipp, SippProcess  # noqa: E402
from media import Segment, Timeline, encode, make_sources, speech_bounds  # noqa: E402
from rtp_check import check_audio  # noqa: E402

BPF = "net 127.0.4.0/24 and (portrange 26000-26999 or portrange 30000-30999)"
CALLER_IP = "127.0.4.1"          # the carrier side: every external number lives here
CALLER_SIP_PORT = 26001
CALLER_RTP_PORT = 30001
PHONES = {"1201": ("127.0.4.21", 26021, 30021), "1202": ("127.0.4.22", 26022, 30022)}
DISPLAY = {"1201": "Anna Kowalska", "1202": "Piotr Nowak"}
PAYLOAD_TYPE = {"PCMA": 8, "PCMU": 0, "G729": 18}
START = lab.local("2026-11-19 10:00")          # Thursday, business hours; +10 min per case
PHONE_HANGUP_AFTER_ACK_S = 15.0                # audio_phone_hangup.xml's pause
SPEECH_START_TOLERANCE = (0.1, 0.3)            # s before/after the planned onset
TIMEOUT_S = 40
LOSS_NAMESPACES = ("etylabaud1", "etylabaud2")  # caller side, phone side


@dataclass(frozen=True)
class AudioCase:
    """One call with audio: who calls whom, what each side streams, what to expect."""

    name: str
    description: str
    caller: str
    dialed: str
    phone: Timeline | None            # None: the phone sends no RTP at all
    caller_audio: Timeline
    codec: str = "PCMA"
    ring_s: float = 2.5
    talk_s: float = 11.0              # caller's ACK → BYE (ignored when the phone hangs up)
    phone_hangs_up: bool = False
    display: str | None = None
    impaired: bool = False            # loss + reordering on phone → caller (tc, namespaces)
    expect: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    @property
    def phone_addr(self) -> tuple[str, int, int]:
        return PHONES[self.dialed]

    def phone_sipp(self) -> Sipp:
        ip, sip_port, rtp_port = self.phone_addr
        if self.phone is None:
            scenario = "audio_phone_mute.xml"
        else:
            scenario = "audio_phone_hangup.xml" if self.phone_hangs_up else "audio_phone_talk.xml"
        return Sipp(scenario, ip, sip_port, pause_ms=round(self.ring_s * 1000),
                    keys={"ext": self.dialed, "pt": str(PAYLOAD_TYPE[self.codec]),
                          "codec": self.codec},
                    extra=media_options(ip, rtp_port, self.codec))

    def caller_sipp(self) -> Sipp:
        name = f'"{self.display}" ' if self.display else ""
        scenario = "audio_caller_far_hangup.xml" if self.phone_hangs_up else "audio_caller.xml"
        return Sipp(scenario, CALLER_IP, CALLER_SIP_PORT, service=self.dialed,
                    pause_ms=0 if self.phone_hangs_up else round(self.talk_s * 1000),
                    keys={"from_uri": f"{name}<sip:{self.caller}@{CALLER_IP}>",
                          "contact_user": self.caller},
                    extra=media_options(CALLER_IP, CALLER_RTP_PORT, self.codec))


def media_options(ip: str, rtp_port: int, codec: str) -> tuple[str, ...]:
    """sipp options for the media address ([media_ip], [rtpstream_audio_port]) and payload type."""
    return ("-mi", ip, "-mp", str(rtp_port), "-rtp_payload", str(PAYLOAD_TYPE[codec]))


# ---------------------------------------------------------------------- running a call


def run_call(case: AudioCase, *, phone_netns: str | None = None,
             caller_netns: str | None = None) -> None:
    """Run phone and caller sipp with their media files in a shared working directory.

    sipp reads ``rtp_stream`` files relative to its working directory when it loads the
    scenario (``-key`` is not expanded there), so each case's files are put there as
    ``phone.media`` and ``caller.media``.
    """
    phone, caller = case.phone_sipp(), case.caller_sipp()
    with lab.sipp_workdir() as workdir:
        if case.phone is not None:
            encode(case.phone, case.codec, workdir / "phone.media")
        encode(case.caller_audio, case.codec, workdir / "caller.media")
        uas = SippProcess(phone, None, workdir, phone_netns, TIMEOUT_S)
        uac: SippProcess | None = None
        try:
            time.sleep(lab.UAS_SETTLE_S)
            if uas.proc.poll() is not None:
                uas.wait()
                raise LabError(f"phone sipp {phone.scenario} ended before the call")
            uac = SippProcess(caller, lab.host_port(phone.ip, phone.port), workdir,
                              caller_netns, TIMEOUT_S)
            uac.wait()
            uas.wait()
        finally:
            for proc in (uac, uas):
                if proc is not None:
                    proc.kill()


def _sysctl(netns: str, key: str, value: str) -> None:
    lab.run(lab.netns_prefix(netns) + ["sysctl", "-q", "-w", f"{key}={value}"], timeout_s=10)


def _tc(netns: str, *args: str) -> None:
    lab.run(lab.netns_prefix(netns) + ["tc", *args], timeout_s=10)


@contextmanager
def impaired_link(case: AudioCase) -> Iterator[tuple[str, str, str]]:
    """Caller and phone in two namespaces joined by a veth pair; phone → caller RTP impaired.

    This kernel has no ``sch_netem``, ``act_gact`` or nftables, but it has htb, tbf, pfifo
    and the u32 classifier, which is enough for real, deterministic impairment on the phone
    side's egress, keyed on the RTP sequence number (u32 at IP offset 30 = 20 IP + 8 UDP + 2):

    * loss: seq ≡ 5 (mod 32) or seq ≡ 40 (mod 64) go to a ``pfifo limit 0`` class, which
      drops every packet (4.7 %);
    * reordering: seq ≡ 2, 3 (mod 16) go through a ``tbf`` whose bucket holds one packet and
      refills in ~70 ms, so seq ≡ 3 leaves ~50 ms late, after the next two packets (6.25 %).

    Yields (caller netns, phone netns, capture interface in the caller netns).
    """
    caller_ns, phone_ns = LOSS_NAMESPACES
    with lab.network_namespaces(caller_ns, phone_ns):
        lab.run(["ip", "link", "add", "etyau1", "netns", caller_ns, "type", "veth",
                 "peer", "name", "etyau2", "netns", phone_ns], timeout_s=10)
        for ns, dev, addr in ((caller_ns, "etyau1", CALLER_IP),
                              (phone_ns, "etyau2", case.phone_addr[0])):
            # 127/8 outside lo needs route_localnet; IPv6 off keeps ND/MLD chatter out.
            for key in ("all", "default", dev):
                _sysctl(ns, f"net.ipv4.conf.{key}.route_localnet", "1")
            for key in ("all", "default"):
                _sysctl(ns, f"net.ipv6.conf.{key}.disable_ipv6", "1")
            lab.ip_cmd(ns, "addr", "add", f"{addr}/24", "dev", dev)
            lab.ip_cmd(ns, "link", "set", dev, "up")
            lab.ip_cmd(ns, "link", "set", "lo", "up")
        to_caller = ["match", "ip", "dport", str(CALLER_RTP_PORT), "0xffff"]
        phone_dev = ["dev", "etyau2"]
        _tc(phone_ns, "qdisc", "add", *phone_dev, "root", "handle", "1:", "htb", "default", "10",
            "r2q", "1000")
        for cls in ("10", "20", "30"):
            _tc(phone_ns, "class", "add", *phone_dev, "parent", "1:", "classid", f"1:{cls}", "htb",
                "rate", "1gbit")
        _tc(phone_ns, "qdisc", "add", *phone_dev, "parent", "1:20", "handle", "20:", "tbf",
            "rate", "24kbit", "burst", "220", "limit", "20000")
        _tc(phone_ns, "qdisc", "add", *phone_dev, "parent", "1:30", "handle", "30:", "pfifo",
            "limit", "0")
        rules = [("1:30", "0x0005", "0x001f"), ("1:30", "0x0028", "0x003f"),
                 ("1:20", "0x0002", "0x000e")]
        for prio, (flow, value, mask) in enumerate(rules, 1):
            _tc(phone_ns, "filter", "add", *phone_dev, "parent", "1:", "protocol", "ip", "prio",
                str(prio), "u32", *to_caller, "match", "u16", value, mask, "at", "30",
                "flowid", flow)
        yield caller_ns, phone_ns, "etyau1"


def record(case: AudioCase, pcap: Path, start: dt.datetime) -> Path:
    """Capture one case's call and shift it to ``start``."""
    if case.impaired:
        with (impaired_link(case) as (caller_ns, phone_ns, iface),
              Capture(pcap, iface=iface, bpf=BPF, netns=caller_ns)):
                run_call(case, phone_netns=phone_ns, caller_netns=caller_ns)
    else:
        with Capture(pcap, bpf=BPF):
            run_call(case)
    return lab.shift_to(pcap, start)


# ------------------------------------------------------------------ expected facts


def onset_s(timeline: Timeline) -> float:
    """Seconds from the stream's start to the first speech of its first segment."""
    first = timeline.segments[0]
    return first.at_s + speech_bounds(first.source)[0]


def audio_facts(case: AudioCase) -> dict[str, Any]:
    """The ``audio`` object of the expected file (from the case definition only)."""
    ip, _, rtp_port = case.phone_addr
    facts: dict[str, Any] = {"codec": case.codec, "payload_type": PAYLOAD_TYPE[case.codec],
                             "speaker": "callee"}
    if case.phone is not None and case.phone.segments:
        facts["source"] = case.phone.segments[0].as_json()["source"]
        onset = onset_s(case.phone)
        lo, hi = SPEECH_START_TOLERANCE
        facts["starts_after_answer_s"] = [round(onset - lo, 2), round(onset + hi, 2)]
    facts.update(case.expect)
    facts["callee_rtp"] = None if case.phone is None else {
        "from": f"{ip}:{rtp_port}", "to": f"{CALLER_IP}:{CALLER_RTP_PORT}",
        "starts": "at the caller's ACK (right after the 200 OK)",
        "ends": "at the BYE",
        "background": "low noise" if case.phone.noise_rms else "digital silence",
        "noise_rms": case.phone.noise_rms or None,
        "segments": [s.as_json() for s in case.phone.segments]}
    facts["caller_rtp"] = {
        "from": f"{CALLER_IP}:{CALLER_RTP_PORT}", "to": f"{ip}:{rtp_port}",
        "segments": [s.as_json() for s in case.caller_audio.segments]}
    return facts


def write_case_expected(case: AudioCase, made_by: str) -> Path:
    """Write ``<case>.expected.json``: lab.py's call facts plus the ``audio`` object."""
    facts = CallFacts(caller=case.caller, dialed=case.dialed, outcome="answered",
                      answered_by=case.dialed, ring_s=case.ring_s)
    path = lab.write_expected(case.name, made_by=made_by, description=case.description,
                              calls=[facts], notes=case.notes)
    doc = json.loads(path.read_text(encoding="utf-8"))
    notes = doc.pop("notes")
    doc["audio"] = audio_facts(case)
    doc["notes"] = notes
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------ the cases

CASES: dict[str, AudioCase] = {}


def case(item: AudioCase) -> None:
    """Register a case."""
    CASES[item.name] = item


def greeting_timeline(length_s: float, *, closing_at: float | None = None) -> Timeline:
    """0.6 s of silence, the greeting, 1 s, "W czym mogę pomóc?", silence (and the closing)."""
    greeting = Segment("greeting_pl", 0.6)
    followup_at = round(0.6 + speech_bounds("greeting_pl")[1] + 1.0, 2)
    segments = [greeting, Segment("followup_pl", followup_at)]
    if closing_at is not None:
        segments.append(Segment("thanks_pl", closing_at))
    return Timeline(length_s, tuple(segments))


COMMON_NOTES = (
    "Caller (external numbers) at 127.0.4.1, SIP 26001, RTP 30001; phone 1201 at 127.0.4.21, "
    "SIP 26021, RTP 30021 (1202: .22, 26022, 30022). Both are sipp 3.6.1: the phone streams "
    "with rtp_stream from its ACK on (SSRC 0xCA110000 in sipp's numbering, seq from 0, "
    "20 ms packets), the caller from its 200 OK on, each to the other's SDP address. Audio: "
    "espeak-ng's Polish voice, 8 kHz, encoded by sox -D; sources in tests/data/audio_src/. "
    "audio.callee_rtp.segments give each recording's offset in the phone's stream "
    "(at_s, from the stream's first packet ≈ the answer) and where its speech is (speech_s). "
    "'expect_verdict' needs no speech model; 'expect_with_pl_model' is what the Polish "
    "model should give. Both sipp processes number SSRCs alike, so both directions carry "
    "SSRC 0xCA110000: tell the streams apart by address and port."
)


def _register_cases() -> None:
    caller_speech = Timeline(12.0, (Segment("caller_pl", 7.0),))
    case(AudioCase(
        "audio_pcma_greeting",
        "+48600100400 calls 1201, which rings 2.5 s and answers; Anna Kowalska says the full "
        "greeting (PCMA) 0.6 s after the answer, then 'W czym mogę pomóc?'; the caller "
        "answers from 7 s and hangs up 11 s after the answer.",
        "+48600100400", "1201", greeting_timeline(12.0), caller_speech,
        expect={"expect_with_pl_model": {"verdict": "complete", "missing": [],
                                         "casual_words": [], "thanked": False}},
        notes=COMMON_NOTES))
    case(AudioCase(
        "audio_pcmu_greeting",
        "Żaneta Kołodziej (600100401, national form) calls 1201, which rings 2.5 s and "
        "answers with the full greeting in PCMU (μ-law) 0.6 s after the answer; the caller "
        "answers from 7 s and hangs up at 11 s.",
        "600100401", "1201", greeting_timeline(12.0), caller_speech, codec="PCMU",
        display="Żaneta Kołodziej",
        expect={"expect_with_pl_model": {"verdict": "complete", "missing": [],
                                         "casual_words": [], "thanked": False}},
        notes=COMMON_NOTES))
    case(AudioCase(
        "audio_silent",
        "+48600100402 calls 1201, which rings 2.5 s and answers but says nothing: its RTP "
        "(PCMA) carries only very low noise (−58 dBFS) for 11 s, while the caller says "
        "'Halo? Halo, czy ktoś mnie słyszy?' twice; the caller hangs up at 11 s.",
        "+48600100402", "1201", Timeline(12.0, noise_rms=40.0),
        Timeline(12.0, (Segment("caller_halo_pl", 1.5), Segment("caller_halo_pl", 6.0))),
        talk_s=11.0, expect={"expect_verdict": "silent"},
        notes=COMMON_NOTES + " The phone's noise is Gaussian, RMS 40 of 32768 (−58 dBFS), "
        "seed 1; the caller's speech is in the other direction and must not count."))
    case(AudioCase(
        "audio_no_rtp",
        "+48600100403 calls 1201, which rings 2.5 s and answers with an SDP answer (PCMA, "
        "port 30021) but never sends RTP; the caller says 'Halo? Halo, czy ktoś mnie "
        "słyszy?' and hangs up at 8 s.",
        "+48600100403", "1201", None, Timeline(9.0, (Segment("caller_halo_pl", 1.0),)),
        talk_s=8.0, expect={"expect_verdict": "no_audio"},
        notes=COMMON_NOTES + " Only the caller → phone RTP stream exists."))
    case(AudioCase(
        "audio_g729_unsupported",
        "+48600100404 calls 1201 offering PCMA, PCMU and G.729; 1201 rings 2.5 s and answers "
        "with G.729 only (a=rtpmap:18 G729/8000); both sides send RTP with payload type 18 "
        "(20-byte frames of arbitrary bytes) until the caller hangs up at 8 s.",
        "+48600100404", "1201", Timeline(9.0), Timeline(9.0), codec="G729", talk_s=8.0,
        expect={"expect_verdict": "unsupported_codec", "unsupported_codec": "G729"},
        notes=COMMON_NOTES + " The payload is not real G.729 (there is no encoder here): "
        "fixed pseudo-random bytes, 20 per 20 ms packet."))
    case(AudioCase(
        "audio_loss_reorder",
        "+48600100405 calls 1201 as in audio_pcma_greeting (greeting in PCMA 0.6 s after the "
        "answer, caller hangs up at 11 s), but the phone → caller RTP crosses a link that "
        "drops 4.7 % of it and delays 6.25 % by ~50 ms (arriving after the next two).",
        "+48600100405", "1201", greeting_timeline(12.0), caller_speech, impaired=True,
        expect={"expect_with_pl_model": {"verdict": "complete", "missing": [],
                                         "casual_words": [], "thanked": False},
                "impairment": {
                    "how": "tc on the phone's veth egress (htb + u32 on the RTP sequence "
                           "number; pfifo limit 0 drops, a one-packet tbf delays)",
                    "lost_seq": "seq % 32 == 5 or seq % 64 == 40",
                    "late_seq": "seq % 16 == 3 (leaves ~50 ms late: after seq+1 and seq+2)"}},
        notes=COMMON_NOTES + " Made in namespaces etylabaud1 (caller, 127.0.4.1 on etyau1) "
        "and etylabaud2 (phone, 127.0.4.21 on etyau2), joined by a veth pair; captured on "
        "etyau1 (Ethernet frames), i.e. after the impairment. The kernel here has no netem, "
        "so loss and reordering come from htb/tbf/pfifo classes chosen by u32 on the RTP "
        "sequence number: real kernel drops and real late delivery, deterministic by "
        "sequence number. Lost packets are gaps of 160 samples to fill with silence."))
    thanks_end = PHONE_HANGUP_AFTER_ACK_S - 0.6
    thanks_at = round(thanks_end - speech_bounds("thanks_pl")[1], 2)
    case(AudioCase(
        "audio_closing_thanks",
        "+48600100406 calls 1201, which rings 2.5 s and answers with the full greeting (PCMA); "
        "the caller speaks from 7.5 s; 1201 says 'Dziękuję, do widzenia' ending 0.6 s before "
        "it hangs up (its BYE) 15 s after the answer.",
        "+48600100406", "1201", greeting_timeline(16.0, closing_at=thanks_at),
        Timeline(16.0, (Segment("caller_pl", 7.5),)), phone_hangs_up=True,
        expect={"closing": {"source": "audio_src/thanks_pl.wav",
                            "speech_ends_before_bye_s": [0.4, 0.9]},
                "expect_with_pl_model": {"verdict": "complete", "missing": [],
                                         "casual_words": [], "thanked": True}},
        notes=COMMON_NOTES + " The phone sends the BYE (audio_phone_hangup.xml, 15 s after "
        "the ACK); its stream runs until then."))
    case(AudioCase(
        "audio_casual",
        "+48600100407 calls 1202, which rings 7.5 s (ring 2) and answers with 'Halo, no "
        "słucham.' 0.5 s after the answer instead of a greeting; the caller speaks from 3 s "
        "and hangs up at 9 s.",
        "+48600100407", "1202", Timeline(10.0, (Segment("casual_pl", 0.5),)),
        Timeline(10.0, (Segment("caller_pl", 3.0),)), ring_s=7.5, talk_s=9.0,
        expect={"expect_with_pl_model": {
            "verdict": "no_greeting", "missing": ["unit", "office", "name", "dzien_dobry"],
            "casual_words": ["halo", "no"], "thanked": False}},
        notes=COMMON_NOTES + " 'missing' lists every element, office included (it is "
        "optional in lab.toml's default config, so a checker may leave it out)."))


# ---------------------------------------------------------------------------- main


def make(case_: AudioCase, index: int) -> Path:
    """Record one case into tests/data/calls/ and write its expected file."""
    pcap = lab.CALLS_DIR / f"{case_.name}.pcap"
    record(case_, pcap, START + dt.timedelta(minutes=10 * index))
    return write_case_expected(case_, f"tests/lab/audio/make_captures.sh {case_.name}")


def check(case_: AudioCase) -> list[str]:
    """Problems found by tshark in a case's capture (SIP facts, then RTP)."""
    expected = lab.CALLS_DIR / f"{case_.name}.expected.json"
    if not expected.exists():
        return [f"{expected.name} is missing"]
    problems = lab.check_capture(expected)
    doc = json.loads(expected.read_text(encoding="utf-8"))
    media = None
    if case_.phone is not None:
        with tempfile.TemporaryDirectory(prefix="etylab-") as tmp:
            media = encode(case_.phone, case_.codec, Path(tmp) / "phone.media").read_bytes()
    problems += check_audio(lab.CALLS_DIR / doc["capture"], doc["audio"], case_.phone_hangs_up,
                            media)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the named cases (all by default), or list/check them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case names or prefixes (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--check", action="store_true", help="only verify existing captures")
    parser.add_argument("--sources", action="store_true",
                        help="remake the espeak-ng recordings in tests/data/audio_src first")
    args = parser.parse_args(argv)
    made = make_sources(force=args.sources)
    for path in made:
        print(f"made {path.relative_to(lab.REPO)}")
    _register_cases()
    names = list(CASES)
    chosen = [n for n in names if not args.cases or any(n.startswith(p) for p in args.cases)]
    if args.list:
        for item in CASES.values():
            print(f"{item.name:24} {item.description}")
        return 0
    if not chosen:
        parser.error(f"no case matches {args.cases}")
    if not args.check and shutil.which("sipp") is None:
        parser.error("sipp (Debian sip-tester) is not installed")
    failures = 0
    for name in chosen:
        started = time.monotonic()
        if not args.check:
            make(CASES[name], names.index(name))
        problems = check(CASES[name])
        print(f"{name:24} {'ok' if not problems else 'MISMATCH':8} "
              f"{time.monotonic() - started:5.1f} s", flush=True)
        for problem in problems:
            print(f"    {problem}", flush=True)
        failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
