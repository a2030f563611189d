"""Lab T: calls inside the tunnels a remote mirror port uses, and SIP as real IPv6 phones send it.

Each case records one real call between two sipp instances (a phone, 1202, and a caller)
inside network namespaces this script creates (``etylab*``), writes
``tests/data/calls/<case>.pcap`` with its ``<case>.expected.json`` and checks the capture with
tshark, which decodes every one of these tunnels itself (an independent reading of the bytes).

- ``tunnel_vxlan`` is made by the kernel: a VXLAN device (RFC 7348, UDP 4789) over a veth
  pair, captured on the underlay.
- The others wrap the frames of a call recorded on a real link (a veth pair between two
  namespaces, ARP included; or ``lo`` for IPv6) in the tunnel's headers afterwards with
  ``wrap.py``, because this kernel lacks those modules (see its docstring), the way
  ``transport_vlan`` got its 802.1Q tag.
- ``ipv6_unbracketed_uris`` is a real sipp call on ::1 whose scenarios write every URI and
  Via the way the IPv6 phones of issue 8 do (no brackets).
- ``sctp_unsupported`` puts the SIP messages of a real call into SCTP DATA chunks (this
  kernel has no SCTP either): Etykieta counts them and decodes no call from them.

Usage: ``tests/lab/tunnels/make_captures.sh [CASE ...] | --list | --check``. Needs root,
sipp, tcpdump, tshark, editcap and the lab library (tests/lab/lab.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import lab  # noqa: E402
import wrap  # noqa: E402

CALLS_DIR = lab.CALLS_DIR
START = lab.local("2026-11-18 11:00")   # a Wednesday in business hours, after lab A's calls
PHONE = "1202"
RING_MS = 2500
MADE_BY = "tests/lab/tunnels/make_captures.sh"


@dataclass(frozen=True)
class TunnelCase:
    """One capture: how it is made, which call it holds, what to tell its reader."""

    name: str
    caller: str
    description: str
    notes: str
    record: Callable[[Path, str], None]   # (capture path, caller number)
    calls_expected: int = 1
    tshark_check: bool = True


CASES: dict[str, TunnelCase] = {}


def case(name: str, caller: str, description: str, notes: str, *, calls_expected: int = 1,
         tshark_check: bool = True) -> Callable[[Callable[[Path, str], None]], None]:
    def register(fn: Callable[[Path, str], None]) -> None:
        CASES[name] = TunnelCase(name, caller, description, notes, fn, calls_expected,
                                 tshark_check)
    return register


# ------------------------------------------------------------------ base recordings


def phone(ip: str = "", scenario: str = "uas_answer.xml") -> lab.Sipp:
    return lab.Sipp(scenario, ip or lab.address_of(PHONE), 5060, keys={"ext": PHONE},
                    pause_ms=RING_MS)


def caller(number: str, ip: str = "", port: int = 5060) -> lab.Sipp:
    return lab.caller_sipp(number, PHONE, ip=ip or None, port=port)


def record_on_veth(pcap: Path, number: str, phone_scenario: str = "uas_answer.xml") -> None:
    """A call across a veth pair between two namespaces (Ethernet, ARP), caught on the caller's."""
    with lab.network_namespaces("etylabta", "etylabtb") as (a, b):
        lab._veth_pair(a, b, lab.EXTERNAL_IP, lab.address_of(PHONE))
        lab.record_pair(pcap, phone(scenario=phone_scenario), caller(number), START,
                        netns=a, phone_netns=b, iface="etyva0", bpf="")


def record_ipv6_lo(pcap: Path, phone_spec: lab.Sipp, caller_spec: lab.Sipp) -> None:
    """A call on ::1 inside a fresh namespace (its own lo: nobody else's traffic)."""
    with lab.network_namespaces("etylabt6") as (ns,):
        lab.ip_cmd(ns, "link", "set", "lo", "up")
        lab.record_pair(pcap, phone_spec, caller_spec, START, netns=ns, bpf="ip6")


def record_v6_call(pcap: Path, number: str) -> None:
    record_ipv6_lo(pcap, phone("::1"), caller(number, "::1", 5062))


Recorder = Callable[[Path, str], None]   # (capture path, caller number)


def wrapped(base: Recorder, wrapper: wrap.Wrapper) -> Recorder:
    """A recorder: make ``base``'s capture in a scratch file, then rewrite it with ``wrapper``."""
    def record(pcap: Path, number: str) -> None:
        with tempfile.TemporaryDirectory(prefix="etylab-") as tmp:
            raw = Path(tmp) / "raw.pcap"
            base(raw, number)
            wrap.rewrite(raw, pcap, wrapper)
    return record


def l3(build: Callable[[bytes, int], bytes], ethertype: int) -> wrap.Wrapper:
    """Wrap each frame's IP packet (ARP is not carried by a layer-3 tunnel)."""
    def wrapper(frame: bytes, index: int) -> bytes | None:
        packet = wrap.ip_packet(frame)
        return None if packet is None else wrap.ethernet(build(packet, index), ethertype)
    return wrapper


def l2(build: Callable[[bytes, int], bytes], ethertype: int) -> wrap.Wrapper:
    """Wrap each whole Ethernet frame (ARP too): what gretap, ERSPAN and VXLAN carry."""
    return lambda frame, index: wrap.ethernet(build(frame, index), ethertype)


def inner_family(packet: bytes) -> int:
    return wrap.IPPROTO_IPIP if packet[0] >> 4 == 4 else wrap.IPPROTO_IPV6


def inner_ethertype(packet: bytes) -> int:
    return wrap.ETHERTYPE_IPV4 if packet[0] >> 4 == 4 else wrap.ETHERTYPE_IPV6


# ---------------------------------------------------------------------------- cases

V4_CALL = ("The inner call: caller in namespace etylabta (127.0.1.1), phone 1202 in etylabtb "
           "(127.0.1.22), veth etyva0/etyvb0, UDP 5060.")
V6_CALL = ("The inner call runs on ::1 (ports 5062 -> 5060) in namespace etylabt6, captured on "
           "its lo.")


def wrapped_note(module: str, inner: str = V4_CALL, what: str = "wrapped in the tunnel's "
                 "headers") -> str:
    return (f"This kernel has no {module} (ip link add: 'Unknown device type'), so the frames "
            f"of a real call were {what} afterwards by tests/lab/tunnels/wrap.py (outer "
            "192.0.2.10 -> 192.0.2.20 or 2001:db8::10 -> 2001:db8::20, documentation "
            f"addresses), as a remote mirror port delivers them. {inner}")



@case("tunnel_vxlan", "+48600100401",
      "+48600100401 calls 1202 through a VXLAN overlay (VNI 4242, UDP 4789): 1202 rings 2.5 s "
      "and answers; captured on the underlay, so every frame is Ethernet/IPv4/UDP/VXLAN/"
      "Ethernet/IPv4/UDP/SIP (ARP of both layers included).",
      "Made by the kernel: namespaces etylabxa/etylabxb joined by veth etyxa0/etyxb0 "
      "(underlay 198.51.100.1/.2), a vxlan device vx0 in each (overlay 127.0.1.1 caller, "
      "127.0.1.22 phone); tcpdump on etyxa0.")
def _vxlan(pcap: Path, number: str) -> None:
    with lab.network_namespaces("etylabxa", "etylabxb") as (a, b):
        lab.run(["ip", "link", "add", "etyxa0", "netns", a, "type", "veth", "peer", "name",
                 "etyxb0", "netns", b])
        for ns, dev, under, peer, over in ((a, "etyxa0", "198.51.100.1", "198.51.100.2",
                                            lab.EXTERNAL_IP),
                                           (b, "etyxb0", "198.51.100.2", "198.51.100.1",
                                            lab.address_of(PHONE))):
            for key in ("all", "default"):
                lab.run(lab.netns_prefix(ns) + ["sysctl", "-q", "-w",
                                                f"net.ipv4.conf.{key}.route_localnet=1"])
                lab.run(lab.netns_prefix(ns) + ["sysctl", "-q", "-w",
                                                f"net.ipv6.conf.{key}.disable_ipv6=1"])
            lab.ip_cmd(ns, "addr", "add", f"{under}/24", "dev", dev)
            lab.ip_cmd(ns, "link", "set", dev, "up")
            lab.ip_cmd(ns, "link", "add", "vx0", "type", "vxlan", "id", "4242", "dstport",
                       "4789", "local", under, "remote", peer, "dev", dev)
            lab.ip_cmd(ns, "addr", "add", f"{over}/24", "dev", "vx0")
            lab.ip_cmd(ns, "link", "set", "vx0", "up")
        lab.record_pair(pcap, phone(), caller(number), START, netns=a, phone_netns=b,
                        iface="etyxa0", bpf="")


case("tunnel_ipip", "+48600100402",
     "+48600100402 calls 1202, every packet inside IPv4-in-IPv4 (IP protocol 4, RFC 2003); "
     "1202 rings 2.5 s and answers.",
     wrapped_note("ipip module"))(
    wrapped(record_on_veth, l3(lambda p, i: wrap.ipv4(p, wrap.IPPROTO_IPIP, i),
                               wrap.ETHERTYPE_IPV4)))

case("tunnel_ip6in4", "+48600100403",
     "+48600100403 calls 1202 over IPv6, every packet inside IPv4 (IP protocol 41, 6in4/sit, "
     "RFC 4213 §3.5); 1202 rings 2.5 s and answers.",
     wrapped_note("sit module", V6_CALL))(
    wrapped(record_v6_call, l3(lambda p, i: wrap.ipv4(p, wrap.IPPROTO_IPV6, i),
                               wrap.ETHERTYPE_IPV4)))

case("tunnel_ip4in6", "+48600100404",
     "+48600100404 calls 1202, every IPv4 packet inside IPv6 (next header 4, RFC 2473); "
     "1202 rings 2.5 s and answers.",
     wrapped_note("ip6_tunnel module"))(
    wrapped(record_on_veth, l3(lambda p, i: wrap.ipv6(p, wrap.IPPROTO_IPIP),
                               wrap.ETHERTYPE_IPV6)))

case("tunnel_ip6in6", "+48600100405",
     "+48600100405 calls 1202 over IPv6, every packet inside IPv6 (next header 41, RFC 2473); "
     "1202 rings 2.5 s and answers.",
     wrapped_note("ip6_tunnel module", V6_CALL))(
    wrapped(record_v6_call, l3(lambda p, i: wrap.ipv6(p, wrap.IPPROTO_IPV6),
                               wrap.ETHERTYPE_IPV6)))

case("tunnel_gre", "+48600100406",
     "+48600100406 calls 1202, every packet inside plain GRE over IPv4 (RFC 2784: no checksum, "
     "key or sequence number; protocol type 0x0800); 1202 rings 2.5 s and answers.",
     wrapped_note("ip_gre module"))(
    wrapped(record_on_veth, l3(lambda p, i: wrap.ipv4(wrap.gre(p, inner_ethertype(p)),
                                                      wrap.IPPROTO_GRE, i),
                               wrap.ETHERTYPE_IPV4)))

case("tunnel_gre_options", "+48600100407",
     "+48600100407 calls 1202 over IPv6; every packet inside GRE over IPv6 with checksum, key "
     "0x00001202 and sequence numbers (RFC 2784 §2.5, RFC 2890), protocol type 0x86DD; 1202 "
     "rings 2.5 s and answers.",
     wrapped_note("ip6_gre module", V6_CALL))(
    wrapped(record_v6_call, l3(lambda p, i: wrap.ipv6(
        wrap.gre(p, inner_ethertype(p), key=0x1202, seq=i, with_checksum=True),
        wrap.IPPROTO_GRE), wrap.ETHERTYPE_IPV6)))

case("tunnel_gretap", "+48600100408",
     "+48600100408 calls 1202; every Ethernet frame (ARP too) inside GRE with key 42, "
     "transparent Ethernet bridging (0x6558, a gretap device); 1202 rings 2.5 s and answers.",
     wrapped_note("gretap support"))(
    wrapped(record_on_veth, l2(lambda f, i: wrap.ipv4(wrap.gre(f, wrap.ETHERTYPE_TEB, key=42),
                                                      wrap.IPPROTO_GRE, i),
                               wrap.ETHERTYPE_IPV4)))

case("tunnel_erspan1", "+48600100409",
     "+48600100409 calls 1202; a mirror port sends every frame as ERSPAN type I (GRE 0x88BE "
     "without sequence number, no ERSPAN header); 1202 rings 2.5 s and answers.",
     wrapped_note("erspan module"))(
    wrapped(record_on_veth, l2(lambda f, i: wrap.ipv4(wrap.gre(f, wrap.ETHERTYPE_ERSPAN_II),
                                                      wrap.IPPROTO_GRE, i),
                               wrap.ETHERTYPE_IPV4)))

case("tunnel_erspan2", "+48600100410",
     "+48600100410 calls 1202; a mirror port sends every frame as ERSPAN type II (GRE 0x88BE "
     "with sequence number, 8-byte header version 1, session 7, VLAN 100, port index 3); "
     "1202 rings 2.5 s and answers.",
     wrapped_note("erspan module"))(
    wrapped(record_on_veth, l2(lambda f, i: wrap.ipv4(
        wrap.gre(wrap.erspan_ii(f, 7, vlan=100, index=3), wrap.ETHERTYPE_ERSPAN_II, seq=i),
        wrap.IPPROTO_GRE, i), wrap.ETHERTYPE_IPV4)))

case("tunnel_erspan3", "+48600100411",
     "+48600100411 calls 1202; a mirror port sends every frame as ERSPAN type III (GRE 0x22EB "
     "with sequence number, 12-byte header version 2, session 9; every other frame carries "
     "the 8-byte platform-specific subheader, O bit set); 1202 rings 2.5 s and answers.",
     wrapped_note("ip6erspan/erspan module"))(
    wrapped(record_on_veth, l2(lambda f, i: wrap.ipv4(
        wrap.gre(wrap.erspan_iii(f, 9, 1000 * i, platform=(bytes(range(1, 9)) if i % 2 else None)),
                 wrap.ETHERTYPE_ERSPAN_III, seq=i),
        wrap.IPPROTO_GRE, i), wrap.ETHERTYPE_IPV4)))

case("tunnel_mpls", "+48600100412",
     "+48600100412 calls 1202; every IP packet crosses an MPLS core with a two-label stack "
     "(16001, 24002; EtherType 0x8847, RFC 3032), the payload recognised by its first nibble; "
     "1202 rings 2.5 s and answers.",
     wrapped_note("mpls_router module"))(
    wrapped(record_on_veth, l3(lambda p, i: wrap.mpls(p, [16001, 24002]),
                               wrap.ETHERTYPE_MPLS)))

case("tunnel_mpls_pw", "+48600100413",
     "+48600100413 calls 1202; every Ethernet frame (ARP too) crosses an Ethernet pseudowire "
     "(RFC 4448): label 30003, control word (RFC 4385), then the frame; 1202 rings 2.5 s and "
     "answers.",
     wrapped_note("mpls_router module"))(
    wrapped(record_on_veth, l2(lambda f, i: wrap.mpls(wrap.pseudowire_control_word(i) + f,
                                                      [30003]), wrap.ETHERTYPE_MPLS)))

case("tunnel_qinq", "+48600100414",
     "+48600100414 calls 1202 across a provider bridge: every frame (ARP too) carries an "
     "802.1ad S-tag (0x88A8, VLAN 300) and an 802.1Q C-tag (VLAN 100); 1202 rings 2.5 s and "
     "answers.",
     wrapped_note("8021q module", what="given the two tags"))(
    wrapped(record_on_veth, lambda f, i: wrap.qinq(f, 300, 100)))

case("tunnel_erspan_vxlan", "+48600100415",
     "+48600100415 calls 1202 through a VXLAN overlay, and a mirror port of the underlay sends "
     "it on as ERSPAN type II: two tunnels around every SIP message; 1202 rings 2.5 s and "
     "answers.",
     "The inner capture is made by the kernel exactly as tunnel_vxlan; the ERSPAN type II "
     "layer (session 5) was added by tests/lab/tunnels/wrap.py, since this kernel has no "
     "erspan module.")(
    wrapped(CASES["tunnel_vxlan"].record,
            l2(lambda f, i: wrap.ipv4(wrap.gre(wrap.erspan_ii(f, 5), wrap.ETHERTYPE_ERSPAN_II,
                                               seq=i), wrap.IPPROTO_GRE, i),
               wrap.ETHERTYPE_IPV4)))


def _responses_in_ipip(frame: bytes, index: int) -> bytes | None:
    """The phone's packets (from 127.0.1.22) inside IP-in-IP; the caller's stay plain."""
    packet = wrap.ip_packet(frame)
    if packet is None or packet[0] >> 4 != 4 or packet[12:16] != bytes([127, 0, 1, 22]):
        return frame
    return wrap.ethernet(wrap.ipv4(packet, wrap.IPPROTO_IPIP, index), wrap.ETHERTYPE_IPV4)


case("tunnel_ipip_responses", "+48600100416",
     "+48600100416 calls 1202, which sends 183 Session Progress, waits 2.5 s and answers; the "
     "caller's INVITE, ACK and BYE travel plain, the phone's 100, 183, 200 and the 200 to "
     "the BYE inside IPv4-in-IPv4 (as in the public capture of issue 8, where Etykieta saw 2 of "
     "4 messages and stored a failed call).",
     wrapped_note("ipip module", what="wrapped (the phone's only) in IP-in-IP") + " Ring "
     "time counts from the 183.")(
    wrapped(lambda pcap, number: record_on_veth(pcap, number, str(HERE / "uas_183_answer.xml")),
            _responses_in_ipip))


@case("ipv6_unbracketed_uris", "+48600100417",
      "+48600100417 calls 1202 from an IPv6 phone that writes its addresses without brackets: "
      "Request-URI and To sip:1202@fec0:0:0:0:216:d3ff:fe0d:22c:5060, From and Contact "
      "<sip:+48600100417@fe80:0:0:0:21a:a0ff:fe07:32e0>, Via sent-by "
      "fe80:0:0:0:21a:a0ff:fe07:32e0:5062; the phone's Contact <sip:1202@fec0:0:0:0:216:d3ff:"
      "fe0d:22c:5060>. 1202 rings 2.5 s and answers.",
      "A real sipp call on ::1 (ports 5062 -> 5060, namespace etylabt6), its scenarios "
      "(tests/lab/tunnels/uac_ipv6_unbracketed.xml, uas_ipv6_unbracketed.xml) writing the "
      "URIs the way the IPv6 phones of issue 8 did (RFC 5118 §4.2 calls them invalid). Every "
      "message must be kept, each counted as one with malformed headers.")
def _ipv6_unbracketed(pcap: Path, number: str) -> None:
    uas = lab.Sipp(str(HERE / "uas_ipv6_unbracketed.xml"), "::1", 5060, keys={"ext": PHONE},
                   pause_ms=RING_MS)
    uac = lab.Sipp(str(HERE / "uac_ipv6_unbracketed.xml"), "::1", 5062,
                   keys={"caller": number, "ext": PHONE})
    record_ipv6_lo(pcap, uas, uac)


def _sctp(frame: bytes, index: int) -> bytes | None:
    """Each SIP datagram's payload in one SCTP DATA chunk between the same addresses."""
    packet = wrap.ip_packet(frame)
    udp = None if packet is None else wrap.udp_payload(packet)
    if packet is None or udp is None:
        return frame
    sport, dport, payload = udp
    sctp = wrap.sctp_data(sport, dport, tsn=index, stream_seq=index, payload=payload)
    return wrap.ethernet(wrap.ipv4(sctp, wrap.IPPROTO_SCTP, index, packet[12:16], packet[16:20]),
                         wrap.ETHERTYPE_IPV4)


case("sctp_unsupported", "+48600100418",
     "+48600100418 calls 1202 over SCTP (one DATA chunk per SIP message, port 5060); 1202 "
     "rings 2.5 s and answers. SIP over SCTP is not decoded: no call is expected, and the "
     "ingest summary says how many SCTP packets it skipped.",
     "This kernel has no SCTP (socket(IPPROTO_SCTP): 'Protocol not supported'), so the SIP "
     "payloads of a real UDP call were put into SCTP DATA chunks (RFC 9260 §3.3.1, checksum "
     "left zero) between the same addresses by tests/lab/tunnels/wrap.py; ARP kept. The "
     "inner call as in the tunnel_* cases: 127.0.1.1 -> 127.0.1.22, veth etyva0/etyvb0.",
     calls_expected=0, tshark_check=False)(wrapped(record_on_veth, _sctp))


# ---------------------------------------------------------------- expected, checks


def calls_of(item: TunnelCase) -> list[lab.CallFacts]:
    if not item.calls_expected:
        return []
    return [lab.CallFacts(item.caller, PHONE, "answered", PHONE, ring_s=RING_MS / 1000)]


def write_expected(item: TunnelCase) -> Path:
    return lab.write_expected(item.name, made_by=f"{MADE_BY} {item.name}",
                              description=item.description, calls=calls_of(item),
                              notes=item.notes, directory=CALLS_DIR)


def check(item: TunnelCase, expected: Path) -> list[str]:
    """tshark's reading of the capture against the expected file (not Etykieta's)."""
    pcap = CALLS_DIR / f"{item.name}.pcap"
    if not pcap.exists():
        return [f"{pcap.name} is missing"]
    if item.tshark_check:
        return lab.check_capture(expected)
    out = lab.run(["tshark", "-r", str(pcap), "-Y", "sctp.data_payload_proto_id == 0",
                   "-T", "fields", "-e", "frame.number"])
    return [] if out.split() else [f"{pcap.name}: tshark sees no SCTP DATA chunk"]


def make(item: TunnelCase) -> Path:
    pcap = CALLS_DIR / f"{item.name}.pcap"
    for attempt in range(lab.LEG_ATTEMPTS):
        item.record(pcap, item.caller)
        expected = write_expected(item)
        problems = check(item, expected)
        if not problems:
            return expected
        print(f"    attempt {attempt + 1}: {'; '.join(problems)}", flush=True)
    raise lab.LabError(f"{item.name}: no clean capture in {lab.LEG_ATTEMPTS} attempts")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case names or prefixes (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--check", action="store_true", help="only check existing captures")
    args = parser.parse_args(argv)
    if args.list:
        for item in CASES.values():
            print(f"{item.name:24} {item.description}")
        return 0
    chosen = [c for c in CASES.values()
              if not args.cases or any(c.name.startswith(p) for p in args.cases)]
    if not chosen:
        parser.error(f"no case matches {args.cases}")
    failures = 0
    for item in chosen:
        started = time.monotonic()
        expected = CALLS_DIR / f"{item.name}.expected.json"
        try:
            if not args.check:
                expected = make(item)
            problems = check(item, expected) if expected.exists() else ["no expected file"]
        except (lab.LabError, subprocess.SubprocessError, ValueError) as exc:
            problems = [str(exc)]
        doc = json.loads(expected.read_text()) if expected.exists() else {}
        calls = len(doc.get("calls", []))
        status = "ok" if not problems else "MISMATCH"
        print(f"{item.name:24} {status:8} {calls} call(s) {time.monotonic() - started:5.1f} s",
              flush=True)
        for problem in problems:
            print(f"    {problem}", flush=True)
        failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
