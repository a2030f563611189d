"""Capture lab: real SIP stacks (sipp) on loopback, recorded by tcpdump.

The first half of this module is a small reusable library:

* :class:`Capture` runs ``tcpdump`` (optionally inside a network namespace) for the
  duration of a ``with`` block;
* :class:`Sipp` describes one sipp process (scenario, address, keys) and
  :func:`run_pair` runs a phone (UAS) and a caller (UAC) against each other;
* :func:`shift_to`, :func:`merge` and :func:`sip_dialogs` wrap editcap, mergecap
  and tshark;
* :class:`CallFacts` and :func:`write_expected` write the expected-facts JSON that
  sits next to each capture, built from what the lab *intended*.

The second half defines this lab's cases (direct calls, transports, callbacks, the
demo day). ``python tests/lab/lab.py [CASE ...]`` regenerates them (all by default),
``--list`` names them, ``--check`` re-verifies existing captures with tshark, and
``--expected-only`` rewrites the expected files from the existing captures (no recording).

Every process is bounded by a timeout and killed on failure. Traffic stays on
127.0.1.0/24 and ::1, or inside network namespaces named ``etylab*`` that the
lab creates and deletes itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LAB_DIR = Path(__file__).resolve().parent
SCENARIOS = LAB_DIR / "scenarios"
REPO = LAB_DIR.parent.parent
CALLS_DIR = REPO / "tests" / "data" / "calls"
LAB_TOML = REPO / "tests" / "data" / "lab.toml"
WARSAW = ZoneInfo("Europe/Warsaw")

SIPP = "sipp"
TCPDUMP_SETTLE_S = 0.5
LEG_ATTEMPTS = 3
# End-of-capture marker: a datagram nobody listens for, inside LAB_BPF.
MARKER = b"etylab end of capture marker"
MARKER_IP, MARKER_PORT = "127.0.1.254", 5099
MARKER_WAIT_S = 10.0
MARKER_FILTER = "(host 127.0.1.254 and udp port 5099)"   # add to a custom bpf with "or"
UAS_SETTLE_S = 0.3
RING_TOLERANCE_S = 0.4
RING_CYCLE_S = 5.0
# This lab's share of loopback: addresses 127.0.1.x and ::1, SIP ports below.
LAB_BPF = "(net 127.0.1.0/24 or ip6 host ::1) and (portrange 5060-5099 or port 6060 or port 5160)"


class LabError(RuntimeError):
    """A lab step failed (a tool exited badly or a capture is not what was intended)."""


# --------------------------------------------------------------------------- tools


def netns_prefix(netns: str | None) -> list[str]:
    """Return the argv prefix that runs a command inside ``netns`` (or nothing)."""
    return ["ip", "netns", "exec", netns] if netns else []


class Capture:
    """tcpdump writing ``path`` while the ``with`` block runs (snaplen 0, packet-buffered).

    ``iface`` is ``lo`` by default; ``any`` gives Linux cooked frames (SLL2 unless
    ``link_type="LINUX_SLL"``). ``marker`` (default: on for ``LAB_BPF`` outside
    namespaces) ends the capture with the marker handshake described in :meth:`stop`;
    a custom ``bpf`` must then admit ``MARKER_FILTER``.
    """

    def __init__(
        self,
        path: Path,
        *,
        iface: str = "lo",
        bpf: str = LAB_BPF,
        netns: str | None = None,
        link_type: str | None = None,
        marker: bool | None = None,
        max_s: float = 120.0,
    ) -> None:
        self.path = path
        self.link_type = link_type
        # The end marker needs the root namespace and a filter that admits MARKER_FILTER.
        self.marker = (netns is None and bpf == LAB_BPF) if marker is None else marker
        self.iface = iface
        self.bpf = bpf
        self.netns = netns
        self.max_s = max_s
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Capture:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cmd = netns_prefix(self.netns) + [
            "timeout", "-s", "INT", str(int(self.max_s)),
            "tcpdump", "-i", self.iface, "-U", "--immediate-mode", "-s", "0", "-n", "-Z", "root",
            "-w", str(self.path),
        ]
        if self.link_type:
            cmd += ["-y", self.link_type]
        if self.bpf:
            cmd.append(self.bpf)
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      start_new_session=True)
        time.sleep(TCPDUMP_SETTLE_S)
        if self._proc.poll() is not None:
            err = self._proc.stderr.read().decode() if self._proc.stderr else ""
            raise LabError(f"tcpdump did not start: {err.strip()}")
        return self

    def stop(self) -> None:
        """Let trailing packets arrive, then stop tcpdump with SIGINT (idempotent).

        On a loaded machine tcpdump can lag: a fixed wait lost the last packets of some
        calls. So, where the filter admits it, a marker datagram is sent and tcpdump is
        stopped only once the marker is in the file; the marker is removed afterwards.
        """
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        marked = self.marker
        if marked:
            self._await_marker()
        else:
            time.sleep(2 * TCPDUMP_SETTLE_S)
        # tcpdump runs under `timeout` (and maybe `ip netns exec`): signal the group leader's
        # children by signalling `timeout`, which forwards SIGINT.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)   # tcpdump's own session only
            proc.wait()

        if marked:
            self._drop_marker()

    def _await_marker(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            deadline = time.monotonic() + MARKER_WAIT_S
            while time.monotonic() < deadline:
                sock.sendto(MARKER, (MARKER_IP, MARKER_PORT))
                time.sleep(0.2)
                if MARKER in self.path.read_bytes():
                    return
        raise LabError(f"tcpdump writing {self.path} did not record the end marker")

    def _drop_marker(self) -> None:
        tmp = self.path.with_name(self.path.name + ".nomark")
        run(["tshark", "-r", str(self.path), "-F", "pcap", "-w", str(tmp), "-Y",
             f"not (ip.dst == {MARKER_IP} or ip.src == {MARKER_IP})"])
        tmp.replace(self.path)

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Sipp:
    """One sipp process: a scenario played from ``ip:port``.

    ``keys`` become ``-key name value`` (used as ``[name]`` in the scenario XML);
    ``service`` is ``-s`` (the R-URI/To user a caller dials); ``pause_ms`` is ``-d``
    (the scenario's bare ``<pause/>``: ring time for a phone, ring-before-cancel for
    a caller).
    """

    scenario: str
    ip: str
    port: int = 5060
    keys: dict[str, str] = field(default_factory=dict)
    service: str | None = None
    pause_ms: int = 0
    transport: str = "u1"
    extra: tuple[str, ...] = ()

    def argv(self, remote: str | None = None, *, timeout_s: int = 60) -> list[str]:
        """Return sipp's command line; ``remote`` ("host:port") makes it a client."""
        cmd = [
            SIPP, "-sf", str(SCENARIOS / self.scenario),
            "-i", self.ip, "-p", str(self.port), "-t", self.transport,
            "-m", "1", "-nostdin", "-timeout", f"{timeout_s}s", "-timeout_error",
            "-d", str(self.pause_ms),
        ]
        if self.service is not None:
            cmd += ["-s", self.service]
        for name, value in self.keys.items():
            cmd += ["-key", name, value]
        cmd += list(self.extra)
        if remote is not None:
            cmd.append(remote)
        return cmd


def host_port(ip: str, port: int) -> str:
    """Format ``ip:port`` with brackets for IPv6."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class SippProcess:
    """A running sipp with its output kept in a log file (for error messages)."""

    def __init__(self, spec: Sipp, remote: str | None, workdir: Path, netns: str | None,
                 timeout_s: int) -> None:
        self.spec = spec
        name = f"sipp-{spec.ip.replace(':', '_')}-{spec.port}-{time.monotonic_ns()}.log"
        self.log = workdir / name
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            netns_prefix(netns) + spec.argv(remote, timeout_s=timeout_s),
            cwd=workdir, stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.timeout_s = timeout_s

    def wait(self, check: bool = True) -> int:
        """Wait for sipp to end (killing it after its timeout); raise if it failed."""
        try:
            rc = self.proc.wait(timeout=self.timeout_s + 5)
        except subprocess.TimeoutExpired:
            self.kill()
            raise LabError(f"sipp {self.spec.scenario} hung; log {self.log}") from None
        finally:
            self._log_file.close()
        if check and rc != 0:
            tail = self.log.read_text(errors="replace")[-1500:]
            where = f"{self.spec.scenario} on {self.spec.ip}:{self.spec.port}"
            raise LabError(f"sipp {where} exited {rc}:\n{tail}")
        return rc

    def kill(self) -> None:
        """Kill this sipp (its own process group only)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if not self._log_file.closed:
            self._log_file.close()


@contextmanager
def sipp_workdir() -> Iterator[Path]:
    """A scratch directory for sipp's logs, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="etylab-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_pair(
    phone: Sipp,
    caller: Sipp,
    *,
    netns: str | None = None,
    phone_netns: str | None = None,
    timeout_s: int = 60,
    check_phone: bool = True,
) -> None:
    """Start ``phone`` (UAS), then ``caller`` (UAC) towards it, and wait for both.

    Both run in ``netns`` (default: the current one) unless ``phone_netns`` is given.
    """
    with sipp_workdir() as workdir:
        uas = SippProcess(phone, None, workdir, phone_netns or netns, timeout_s)
        uac: SippProcess | None = None
        try:
            time.sleep(UAS_SETTLE_S)
            if uas.proc.poll() is not None:
                uas.wait()
                raise LabError(f"phone sipp {phone.scenario} ended before the call")
            uac = SippProcess(caller, host_port(phone.ip, phone.port), workdir, netns, timeout_s)
            uac.wait()
            uas.wait(check=check_phone)
        finally:
            for proc in (uac, uas):
                if proc is not None:
                    proc.kill()


class UdpSink:
    """A dead phone: a UDP socket that reads and never answers (bounded by ``max_s``)."""

    def __init__(self, ip: str, port: int, max_s: float) -> None:
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.sock.settimeout(0.2)
        self.deadline = time.monotonic() + max_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)

    def _drain(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            try:
                self.sock.recv(65535)
            except TimeoutError:
                continue

    def __enter__(self) -> UdpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def run(cmd: Sequence[str], timeout_s: float = 60, tolerate: str | None = None) -> str:
    """Run a tool, return its stdout; raise :class:`LabError` with stderr on failure.

    A failure whose stderr contains ``tolerate`` is accepted (e.g. tshark on a cut file).
    """
    done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0 and not (tolerate and tolerate in done.stderr):
        raise LabError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def ip_cmd(netns: str | None, *args: str) -> None:
    """Run ``ip ARGS`` (inside ``netns`` if given)."""
    run(netns_prefix(netns) + ["ip", *args], timeout_s=10)


@contextmanager
def network_namespaces(*names: str) -> Iterator[tuple[str, ...]]:
    """Create fresh network namespaces (names must start with ``etylab``); delete them after."""
    for name in names:
        if not name.startswith("etylab"):
            raise LabError(f"refusing namespace {name!r}: lab namespaces start with etylab")
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        run(["ip", "netns", "add", name], timeout_s=10)
    try:
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


PCAP_HEADER = struct.Struct("<IHHiIII")
PCAP_RECORD = struct.Struct("<IIII")
PCAP_MAGIC_US = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
ETH_P_8021Q = 0x8100


def add_vlan_tag(pcap: Path, vlan_id: int, priority: int = 0) -> Path:
    """Insert an 802.1Q tag after the MAC addresses of every Ethernet frame, in place.

    The kernels of these machines have no 8021q module, so tagging is done on the
    recorded frames: what a SPAN port on a trunk link would deliver.
    """
    data = pcap.read_bytes()
    magic, major, minor, zone, sigfigs, snaplen, linktype = PCAP_HEADER.unpack_from(data)
    if magic != PCAP_MAGIC_US or linktype != LINKTYPE_ETHERNET:
        raise LabError(f"{pcap}: need a little-endian microsecond pcap of Ethernet frames")
    tag = struct.pack("!HH", ETH_P_8021Q, (priority << 13) | vlan_id)
    out = bytearray(data[:PCAP_HEADER.size])
    offset = PCAP_HEADER.size
    while offset < len(data):
        sec, usec, caplen, length = PCAP_RECORD.unpack_from(data, offset)
        frame = data[offset + PCAP_RECORD.size: offset + PCAP_RECORD.size + caplen]
        out += PCAP_RECORD.pack(sec, usec, caplen + 4, length + 4)
        out += frame[:12] + tag + frame[12:]
        offset += PCAP_RECORD.size + caplen
    pcap.write_bytes(bytes(out))
    return pcap


def first_epoch(pcap: Path) -> float:
    """Timestamp of the first packet."""
    out = run(["tshark", "-r", str(pcap), "-c", "1", "-T", "fields", "-e", "frame.time_epoch"])
    return float(out.split()[0])


def last_epoch(pcap: Path) -> float:
    """Timestamp of the last packet (a file cut short is read as far as it goes)."""
    out = run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "frame.time_epoch"],
              tolerate="cut short in the middle of a packet")
    times = [float(v) for v in out.split()]
    if not times:
        raise LabError(f"{pcap}: no packets")
    return max(times)


def shift_to(pcap: Path, start: dt.datetime, out: Path | None = None) -> Path:
    """Shift all timestamps (``editcap -t``) so the first packet is at ``start``."""
    out = out or pcap
    delta = start.timestamp() - first_epoch(pcap)
    tmp = out.with_name(out.name + ".shift")
    run(["editcap", "-F", "pcap", "-t", f"{delta:.6f}", str(pcap), str(tmp)])
    tmp.replace(out)
    return out


def merge(parts: Sequence[Path], out: Path) -> Path:
    """Merge captures chronologically (``mergecap``) into one pcap file."""
    run(["mergecap", "-F", "pcap", "-w", str(out)] + [str(p) for p in parts])
    return out


def local(text: str) -> dt.datetime:
    """Parse ``YYYY-MM-DD HH:MM[:SS]`` as Europe/Warsaw wall-clock time."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=WARSAW)


# ----------------------------------------------------------------- tshark view


@dataclass
class WireDialog:
    """What tshark shows for one Call-ID: INVITE responses and their times."""

    call_id: str
    start: float
    from_user: str = ""
    to_user: str = ""
    first_18x: float | None = None
    final_code: int | None = None
    final_at: float | None = None
    answered_contact: str | None = None
    cancelled: bool = False
    bye: bool = False
    bye_at: float | None = None
    duplicates: int = 0
    statuses: list[int] = field(default_factory=list)

    @property
    def ring_seconds(self) -> float | None:
        if self.final_code == 200 and self.first_18x is not None and self.final_at is not None:
            return self.final_at - self.first_18x
        return None

    @property
    def ended_at(self) -> float | None:
        """When the call ended: its first BYE if answered, else its final INVITE response.

        For a refused call that is the 486/480/603/503, for a cancelled one the 487 that
        follows the CANCEL; None when the capture shows no end (no final response).
        """
        if self.final_code is None:
            return None
        if 200 <= self.final_code < 300:
            return self.bye_at
        return self.final_at

    def times(self) -> CallTimes:
        """The instants the callback rules need (a direct call has no transfer)."""
        answered = self.final_at if self.final_code == 200 else None
        return CallTimes(start=self.start, ended=self.ended_at, answered=answered)


def sip_dialogs(pcap: Path) -> list[WireDialog]:
    """Group the capture's SIP messages by Call-ID (tshark), in order of first packet."""
    fields = ["frame.time_epoch", "sip.Call-ID", "sip.Method", "sip.Status-Code",
              "sip.CSeq.method", "sip.from.user", "sip.to.user", "sip.contact.user"]
    cmd = ["tshark", "-r", str(pcap), "-Y", "sip", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f"]
    for name in fields:
        cmd += ["-e", name]
    dialogs: dict[str, WireDialog] = {}
    seen: set[str] = set()
    for line in run(cmd, tolerate="cut short in the middle of a packet").splitlines():
        epoch, call_id, method, status, cseq_method, from_user, to_user, contact = (
            line.split("\t") + [""] * 8)[:8]
        if not call_id:
            continue
        when = float(epoch)
        dlg = dialogs.setdefault(call_id, WireDialog(call_id, when, from_user, to_user))
        if line in seen:   # same instant, same message: a capture fault, not a retransmission
            dlg.duplicates += 1
        seen.add(line)
        if method == "CANCEL":
            dlg.cancelled = True
        if method == "BYE":
            dlg.bye = True
            if dlg.bye_at is None:
                dlg.bye_at = when
        if not status or cseq_method != "INVITE":
            continue
        code = int(status)
        dlg.statuses.append(code)
        if 180 <= code < 190 and dlg.first_18x is None:
            dlg.first_18x = when
        if code >= 200 and dlg.final_code is None:
            dlg.final_code, dlg.final_at = code, when
            dlg.answered_contact = contact or None
    return sorted(dialogs.values(), key=lambda d: d.start)


# ------------------------------------------------------------ expected facts

_PLAN: dict[str, Any] | None = None


def plan() -> dict[str, Any]:
    """The lab numbering plan (tests/data/lab.toml), loaded once."""
    global _PLAN
    if _PLAN is None:
        _PLAN = tomllib.loads(LAB_TOML.read_text(encoding="utf-8"))
    return _PLAN


def unit_of(number: str) -> str | None:
    """The unit owning an extension per lab.toml (ranges "1201-1299" or single numbers)."""
    if not number.isdigit() or len(number) != 4:
        return None
    for unit in plan()["units"]:
        for item in unit["extensions"]:
            lo, _, hi = item.partition("-")
            if int(lo) <= int(number) <= int(hi or lo):
                return str(unit["name"])
    for entry in plan().get("non_person", []):
        if entry["extension"] == number:
            unit_name = entry.get("unit")
            return str(unit_name) if unit_name else None
    return None


def is_extension(number: str) -> bool:
    """True for a 4-digit internal number of the lab's plan."""
    return number.isdigit() and len(number) == 4


@dataclass(frozen=True)
class CallFacts:
    """One call as the lab intended it (becomes one entry of ``calls`` in the JSON)."""

    caller: str
    dialed: str
    outcome: str
    answered_by: str | None = None
    ring_s: float | None = None          # the phone's pause between 180 and 200
    transfer: dict[str, Any] | None = None
    callback: dict[str, Any] | None = None
    unit: str | None = "auto"

    @property
    def direction(self) -> str:
        caller_int, dialed_int = is_extension(self.caller), is_extension(self.dialed)
        if caller_int and dialed_int:
            return "internal"
        return "outbound" if caller_int else "inbound"

    def as_json(self) -> dict[str, Any]:
        unit = self.unit
        if unit == "auto":
            unit = unit_of(self.caller if self.direction == "outbound" else self.dialed)
        ring: list[float] | None = None
        rings: int | None = None
        if self.ring_s is not None:
            ring = [round(self.ring_s - RING_TOLERANCE_S, 2),
                    round(self.ring_s + RING_TOLERANCE_S, 2)]
            rings = math.floor(self.ring_s / RING_CYCLE_S) + 1
        return {
            "direction": self.direction,
            "caller": self.caller,
            "dialed": self.dialed,
            "unit": unit,
            "answered_by": self.answered_by,
            "outcome": self.outcome,
            "ring_seconds": ring,
            "rings": rings,
            "transfer": self.transfer,
            "callback": self.callback,
        }


def callback(status: str, attempts: int = 0) -> dict[str, Any]:
    """What a case intends for a call's callback obligation: its status and attempts.

    ``due_at`` is not part of the intent: :func:`with_callbacks` computes it from the
    capture (the instant the missed call ended, or the transfer failed, on the wire) and
    checks the intended status against the wire's times.
    """
    return {"status": status, "attempts": attempts}


# ------------------------------------------------------------ callback rules (issues #2, #3)

# Outcomes that were not answered by staff (voicemail answers, but it is not staff).
CALLBACK_OUTCOMES = frozenset({"abandoned", "busy", "no_answer", "rejected", "voicemail"})
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _holidays_module() -> Any:
    try:
        import holidays
    except ImportError:
        raise LabError("callback deadlines need the `holidays` package: run the lab with the "
                       "repo's .venv/bin/python (which has it)") from None
    return holidays


class BusinessHours:
    """lab.toml ``[business_hours]``: open days and hours, the country's public holidays
    (the ``holidays`` package) and the extra ``closed`` dates."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.zone = ZoneInfo(spec["timezone"])
        self.days = frozenset(_DAY_NAMES.index(d) for d in spec["days"])
        self.opens = dt.time.fromisoformat(spec["open"])
        self.closes = dt.time.fromisoformat(spec["close"])
        self.country = spec.get("holidays") or None
        self.closed = frozenset(dt.date.fromisoformat(str(d)) for d in spec.get("closed", []))
        self._holidays: Any = None

    def is_open_day(self, day: dt.date) -> bool:
        if day.weekday() not in self.days or day in self.closed:
            return False
        if self.country is None:
            return True
        if self._holidays is None:
            self._holidays = _holidays_module().country_holidays(self.country)
        return day not in self._holidays   # the package fills in each year on demand

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """That day's opening and closing instants (UTC; wall clock of the zone)."""
        return (dt.datetime.combine(day, self.opens, self.zone).astimezone(dt.UTC),
                dt.datetime.combine(day, self.closes, self.zone).astimezone(dt.UTC))

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        """``start`` plus ``hours`` of open time; a start outside hours counts from the next
        opening. Returned in the calendar's zone."""
        left = dt.timedelta(hours=hours)
        at = start.astimezone(dt.UTC)
        day = at.astimezone(self.zone).date()
        for _ in range(3660):
            if self.is_open_day(day):
                opens, closes = self.window(day)
                at = max(at, opens)
                if at < closes:
                    if at + left <= closes:
                        return (at + left).astimezone(self.zone)
                    left -= closes - at
            day += dt.timedelta(days=1)
            at = self.window(day)[0]
        raise LabError(f"no open day within ten years of {start}")


def add_business_hours(start: dt.datetime, hours: float | None = None) -> dt.datetime:
    """``start`` plus lab.toml's callback time (``[callbacks] due_within_business_hours``
    unless ``hours`` is given) in lab.toml's business hours."""
    if hours is None:
        hours = float(plan()["callbacks"]["due_within_business_hours"])
    return BusinessHours(plan()["business_hours"]).add(start, hours)


def callable_number(number: str) -> bool:
    """An external number that can be called back (not an extension, not anonymous)."""
    return not is_extension(number) and re.fullmatch(r"\+?\d{6,15}", number) is not None


def e164(number: str) -> str:
    """A dialable number in E.164 (lab.toml's country code for national numbers)."""
    country = str(plan()["organisation"]["country_code"])
    if number.startswith("+"):
        return number
    if number.startswith("00"):
        return "+" + number[2:]
    if number.startswith("0"):
        number = number[1:]
    return f"+{country}{number}" if len(number) == 9 else number


def opens_callback(call: CallFacts) -> bool:
    """Issue #2: an external call not answered by staff, or a failed transfer, opens an
    obligation — if the caller can be called back. Failed (5xx, no response) and unknown
    calls do not."""
    if call.direction != "inbound" or not callable_number(call.caller):
        return False
    failed_transfer = bool(call.transfer) and call.transfer.get("outcome") == "failed"
    return call.outcome in CALLBACK_OUTCOMES or failed_transfer


@dataclass(frozen=True)
class CallTimes:
    """A call's instants on the wire (epoch seconds) that the callback rules need."""

    start: float                  # its first INVITE
    ended: float | None           # the clock's start: the call's end, or the transfer's failure
    answered: float | None = None  # the 200 OK to the caller, if answered


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(round(epoch, 6), dt.UTC)


def with_callbacks(calls: Sequence[CallFacts], times: Sequence[CallTimes], last_packet: float,
                   where: str = "") -> list[CallFacts]:
    """The calls with their ``callback`` objects computed by the rules of issues #2 and #3.

    ``calls`` (in wire order, one :class:`CallTimes` each) carry the case's intent
    (:func:`callback`, or None). A call that opens an obligation is due 4 business hours after
    ``times[i].ended``; it is settled by the later calls: an outbound call from the unit to the
    same number is an attempt (answered: ``done`` before the due time, ``late`` after), an
    answered call from the same caller is ``caller_called_again``; otherwise ``pending`` if the
    due time is after the capture's last packet, else ``missed``. A case whose intent differs
    from that is a lab error.
    """
    if len(calls) != len(times):
        raise LabError(f"{where}: {len(times)} calls on the wire, {len(calls)} in the case")
    out: list[CallFacts] = []
    for n, (call, when) in enumerate(zip(calls, times, strict=True)):
        intent = call.callback
        if not opens_callback(call):
            if intent is not None:
                raise LabError(f"{where} call {n + 1}: the case gives a callback to a call that "
                               f"opens none ({call.outcome} from {call.caller})")
            out.append(call)
            continue
        if when.ended is None:
            raise LabError(f"{where} call {n + 1}: no end on the wire to start the clock")
        due = add_business_hours(_utc(when.ended))
        number, unit = e164(call.caller), call.as_json()["unit"]
        status, attempts = None, 0
        for later, later_when in zip(calls[n + 1:], times[n + 1:], strict=True):
            if (later.direction == "outbound" and unit_of(later.caller) == unit
                    and e164(later.dialed) == number):
                attempts += 1
                if later.outcome == "answered":
                    if later_when.answered is None:
                        raise LabError(f"{where}: callback to {number} has no 200 OK")
                    status = "done" if _utc(later_when.answered) <= due else "late"
                    break
            elif (later.direction == "inbound" and later.outcome == "answered"
                  and callable_number(later.caller) and e164(later.caller) == number):
                status = "caller_called_again"
                break
        if status is None:
            status = "pending" if due > _utc(last_packet) else "missed"
        derived = {"status": status, "due_at": due.isoformat(), "attempts": attempts}
        if intent is None or (intent["status"], intent["attempts"]) != (status, attempts):
            raise LabError(f"{where} call {n + 1}: the case intends callback {intent}, its "
                           f"wire times give {derived}")
        out.append(replace(call, callback=derived))
    return out


def capture_callbacks(calls: Sequence[CallFacts], pcap: Path) -> list[CallFacts]:
    """:func:`with_callbacks` for a capture of direct calls (one Call-ID per call)."""
    times = [d.times() for d in sip_dialogs(pcap)]
    return with_callbacks(calls, times, last_epoch(pcap), pcap.name)

def write_expected(case: str, *, made_by: str, description: str, calls: Sequence[CallFacts],
                   notes: str, capture: str | None = None, directory: Path = CALLS_DIR) -> Path:
    """Write ``<case>.expected.json`` next to the capture."""
    doc = {
        "capture": capture or f"{case}.pcap",
        "made_by": made_by,
        "description": description,
        "config": "tests/data/lab.toml",
        "calls": [c.as_json() for c in calls],
        "notes": notes,
    }
    path = directory / f"{case}.expected.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


FINAL_CODE = {"answered": 200, "voicemail": 200, "busy": 486, "no_answer": 480,
              "rejected": 603, "abandoned": 487}


def check_capture(expected_path: Path) -> list[str]:
    """Compare an expected-facts file with what tshark shows; return the problems found.

    Checks, per call in order: the dialog exists, its final INVITE response matches
    the outcome, From/To users, the answering Contact user, a BYE after an answer, and
    the ring time interval.
    """
    doc = json.loads(expected_path.read_text(encoding="utf-8"))
    pcap = expected_path.parent / doc["capture"]
    return check_dialogs(doc["calls"], sip_dialogs(pcap), pcap.name)


def check_dialogs(calls: Sequence[dict[str, Any]], dialogs: Sequence[WireDialog],
                  name: str) -> list[str]:
    """Compare expected calls (JSON form) with tshark's dialogs; return the problems."""
    problems: list[str] = []
    if len(dialogs) != len(calls):
        return [f"{name}: {len(dialogs)} SIP dialogs on the wire, {len(calls)} calls expected"]
    for n, (call, dlg) in enumerate(zip(calls, dialogs, strict=True), 1):
        where = f"{name} call {n}"
        if dlg.duplicates:
            problems.append(f"{where}: {dlg.duplicates} duplicated frames")
        want = FINAL_CODE.get(call["outcome"])
        if call["outcome"] == "unknown" and dlg.final_code is not None:
            problems.append(f"{where}: unknown but final {dlg.final_code}")
        if call["outcome"] == "failed" and dlg.final_code not in (None, 500, 502, 503, 504, 408):
            problems.append(f"{where}: failed but final {dlg.final_code}")
        if want is not None and dlg.final_code != want:
            problems.append(f"{where}: {call['outcome']} expects {want}, wire {dlg.final_code}")
        if call["outcome"] in ("answered", "voicemail") and not dlg.bye:
            problems.append(f"{where}: answered call without BYE")
        if call["outcome"] == "abandoned" and not dlg.cancelled:
            problems.append(f"{where}: abandoned without CANCEL")
        if call["answered_by"] and dlg.answered_contact != call["answered_by"]:
            problems.append(
                f"{where}: answered by {dlg.answered_contact}, expected {call['answered_by']}")
        if dlg.to_user != call["dialed"]:
            problems.append(f"{where}: To user {dlg.to_user}, expected {call['dialed']}")
        if dlg.from_user != call["caller"]:
            problems.append(f"{where}: From user {dlg.from_user}, expected {call['caller']}")
        if call["ring_seconds"] is not None:
            lo, hi = call["ring_seconds"]
            ring = dlg.ring_seconds
            if ring is None or not lo <= ring <= hi:
                problems.append(f"{where}: ring {ring} outside [{lo}, {hi}]")
            elif math.floor(ring / RING_CYCLE_S) + 1 != call["rings"]:
                problems.append(f"{where}: ring {ring:.3f} s is not ring {call['rings']}")
    return problems


# =================================================================== the cases
# Everything below is this lab's part (direct calls, transports, callbacks, demo).

EXTERNAL_IP = "127.0.1.1"          # the carrier side: every external number lives here
PHONE_IP = {
    "1100": "127.0.1.10", "1201": "127.0.1.21", "1202": "127.0.1.22", "1203": "127.0.1.23",
    "1301": "127.0.1.31", "1302": "127.0.1.32", "1401": "127.0.1.41", "1999": "127.0.1.99",
}
DISPLAY = {"1201": "Anna Kowalska", "1202": "Piotr Nowak", "1203": "Ewa Wiśniewska",
           "1301": "Jan Zieliński", "1302": "Katarzyna Wójcik", "1401": "Tomasz Lewandowski"}
# Ring pauses placed in the middle of each 5 s ring cycle: ring n ↔ 5(n-1)+2.5 s.
RING_MS = {1: 2500, 2: 7500, 3: 12500, 4: 17500, 5: 22500}
DIRECT_START = local("2026-11-18 10:00")   # Wednesday, business hours
STATUS_AT_END = ("Callback status is as of the capture's last packet (a replay's clock); "
                 "an inbound call from an external number that staff did not answer (abandoned, "
                 "busy, no_answer, rejected, voicemail) opens an obligation, due 4 business "
                 "hours after the call ended on the wire (its final response; a voicemail "
                 "call's BYE); failed and unknown calls open none.")

PHONE_SCENARIO = {
    "answered": "uas_answer.xml", "voicemail": "uas_answer.xml",
    "abandoned": "uas_cancelled.xml", "busy": "uas_busy.xml", "failed": "uas_unavailable.xml",
    "no_answer": "uas_no_answer.xml", "rejected": "uas_decline.xml",
}


def address_of(number: str) -> str:
    """Where a number's SIP stack lives in the lab (extensions own one address each)."""
    return PHONE_IP.get(number, EXTERNAL_IP)


def caller_sipp(number: str, dialed: str, *, display: str | None = None, port: int = 5060,
                scenario: str = "uac_call.xml", transport: str = "u1", ip: str | None = None,
                cancel_after_ms: int = 0, extra: tuple[str, ...] = ()) -> Sipp:
    """A caller (UAC) with ``number`` in From and Contact, dialling ``dialed``."""
    ip = ip or address_of(number)
    host = f"[{ip}]" if ":" in ip else ip
    if display is None and number in DISPLAY:
        display = DISPLAY[number]
    name = f'"{display}" ' if display else ""
    return Sipp(scenario, ip, port, keys={"from_uri": f"{name}<sip:{number}@{host}>",
                                          "contact_user": number},
                service=dialed, pause_ms=cancel_after_ms, transport=transport, extra=extra)


def phone_sipp(number: str, behaviour: str = "answered", *, ring_ms: int = 0, port: int = 5060,
               transport: str = "u1", ip: str | None = None) -> Sipp:
    """The called party (UAS) answering as ``number``; ``behaviour`` is an outcome name."""
    ip = ip or address_of(number)
    return Sipp(PHONE_SCENARIO[behaviour], ip, port, keys={"ext": number}, pause_ms=ring_ms,
                transport=transport)


@dataclass(frozen=True)
class Leg:
    """One simple call to record: who calls whom, what the phone does, and when."""

    caller: str
    dialed: str
    outcome: str = "answered"
    ring_ms: int = 0               # answered/no_answer/rejected: phone's ring; abandoned: caller's
    answered_by: str | None = None  # defaults to ``dialed`` for answered calls
    display: str | None = None
    callback: dict[str, Any] | None = None   # the intent: callback(status, attempts)
    start: dt.datetime = DIRECT_START

    def facts(self) -> CallFacts:
        answered = self.outcome in ("answered", "voicemail")
        return CallFacts(
            caller=self.caller, dialed=self.dialed, outcome=self.outcome,
            answered_by=(self.answered_by or self.dialed) if answered else None,
            ring_s=self.ring_ms / 1000 if answered else None, callback=self.callback,
        )


def record_leg(leg: Leg, pcap: Path) -> Path:
    """Capture one call between two sipp instances and shift it to ``leg.start``."""
    phone_number = leg.answered_by or leg.dialed
    cancel = leg.outcome == "abandoned"
    # A cancelled phone rings until the CANCEL: there ring_ms is the caller's patience.
    phone = phone_sipp(phone_number, leg.outcome, ring_ms=0 if cancel else leg.ring_ms,
                       ip=address_of(leg.dialed))
    caller = caller_sipp(leg.caller, leg.dialed, display=leg.display,
                         scenario="uac_cancel.xml" if cancel else "uac_call.xml",
                         cancel_after_ms=leg.ring_ms if cancel else 0)
    for _attempt in range(LEG_ATTEMPTS):
        record_pair(pcap, phone, caller, leg.start, timeout_s=int(leg.ring_ms / 1000) + 20)
        problems = check_dialogs([leg.facts().as_json()], sip_dialogs(pcap), pcap.name)
        if not problems:
            return pcap
        print(f"    retrying {leg.caller} → {leg.dialed}: {'; '.join(problems)}", flush=True)
    raise LabError(f"{leg.caller} → {leg.dialed}: no clean capture in {LEG_ATTEMPTS} attempts")


def record_pair(pcap: Path, phone: Sipp, caller: Sipp, start: dt.datetime, *,
                timeout_s: int = 40, netns: str | None = None, phone_netns: str | None = None,
                iface: str = "lo", bpf: str = LAB_BPF, link_type: str | None = None) -> Path:
    """Capture one phone/caller run (tcpdump in ``netns``) and shift it to ``start``."""
    with Capture(pcap, iface=iface, bpf=bpf, netns=netns, link_type=link_type):
        run_pair(phone, caller, timeout_s=timeout_s, netns=netns, phone_netns=phone_netns)
    return shift_to(pcap, start)


def record_legs(legs: Sequence[Leg], pcap: Path) -> Path:
    """Record each leg separately, shift each to its start, merge into ``pcap``."""
    with tempfile.TemporaryDirectory(prefix="etylab-") as tmp:
        parts = [record_leg(leg, Path(tmp) / f"part{n}.pcap") for n, leg in enumerate(legs)]
        return merge(parts, pcap)


@dataclass(frozen=True)
class Case:
    """A capture this lab makes: a recorder, and the calls it intends (the expected file).

    The calls' callback objects hold only the intent (:func:`callback`); the due time is
    computed from the capture when the expected file is written (:func:`capture_callbacks`).
    """

    name: str
    description: str
    record: Callable[[Path], object]
    calls: tuple[CallFacts, ...]
    notes: str = ""
    capture_ext: str = "pcap"

    @property
    def capture(self) -> str:
        return f"{self.name}.{self.capture_ext}"


CASES: dict[str, Case] = {}


def case(name: str, description: str, notes: str = "", capture_ext: str = "pcap", *,
         calls: Sequence[CallFacts]) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    """Register a recorder function as a case intending ``calls``."""
    def register(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        CASES[name] = Case(name, description, fn, tuple(calls), notes, capture_ext)
        return fn
    return register


def case_calls(item: Case, directory: Path = CALLS_DIR) -> list[CallFacts]:
    """The case's calls with their callback facts timed from its capture in ``directory``."""
    return capture_callbacks(item.calls, directory / item.capture)


def write_case_expected(item: Case, directory: Path = CALLS_DIR) -> Path:
    """Write a case's expected-facts file for its capture (already in ``directory``)."""
    return write_expected(item.name, made_by=f"tests/lab/make_captures.sh {item.name}",
                          description=item.description, calls=case_calls(item, directory),
                          notes=item.notes, capture=item.capture, directory=directory)


def make_case(item: Case, directory: Path = CALLS_DIR) -> Path:
    """Record a case's capture and write its expected-facts file."""
    directory.mkdir(parents=True, exist_ok=True)
    item.record(directory / item.capture)
    return write_case_expected(item, directory)


def check_expected_current(item: Case, expected: Path) -> list[str]:
    """The expected file's calls must be what the case writes now for its capture."""
    doc = json.loads(expected.read_text(encoding="utf-8"))
    try:
        now = [c.as_json() for c in case_calls(item, expected.parent)]
    except LabError as exc:
        return [str(exc)]
    if len(now) != len(doc["calls"]):
        return [f"{expected.name}: {len(doc['calls'])} calls, the case gives {len(now)}"]
    return [f"{expected.name} call {n}: {key} is {old.get(key)!r}, the case gives "
            f"{new.get(key)!r} (rewrite it with --expected-only)"
            for n, (old, new) in enumerate(zip(doc["calls"], now, strict=True), 1)
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


def simple_case(name: str, description: str, legs: Sequence[Leg], notes: str = "") -> None:
    """Register a case made of independent legs (recorded one by one, then merged)."""
    def record(pcap: Path) -> None:
        if len(legs) == 1:
            record_leg(legs[0], pcap)
        else:
            record_legs(legs, pcap)
    CASES[name] = Case(name, description, record, tuple(leg.facts() for leg in legs), notes)


ADDR_NOTE = ("UDP 5060; external numbers at 127.0.1.1; extensions: 1201 at 127.0.1.21, "
             "1202 .22, 1203 .23, 1301 .31, 1302 .32, 1401 .41, group 1100 .10, 1999 .99; "
             "no PBX, no RTP.")
PENDING = callback("pending")

# ------------------------------------------------------------------ 1. direct calls

for _ring in range(1, 6):
    simple_case(
        f"direct_answered_ring{_ring}",
        f"+48600100200 calls 1201 directly; 1201 rings {RING_MS[_ring] / 1000} s and answers "
        f"(ring {_ring}); the caller hangs up after 2 s.",
        [Leg("+48600100200", "1201", ring_ms=RING_MS[_ring])],
        ADDR_NOTE,
    )

simple_case(
    "direct_abandoned",
    "\"Żaneta Kołodziej\" <+48600100201> calls 1201, gives up after 9.5 s of ringing (CANCEL); "
    "1201 answers 200 to the CANCEL and 487 to the INVITE.",
    [Leg("+48600100201", "1201", "abandoned", ring_ms=9500, display="Żaneta Kołodziej",
         callback=PENDING)],
    ADDR_NOTE + " " + STATUS_AT_END,
)
simple_case(
    "direct_busy",
    "600100202 (national form) calls 1202, which is busy: 100 then 486 Busy Here at once.",
    [Leg("600100202", "1202", "busy", callback=PENDING)],
    ADDR_NOTE + " " + STATUS_AT_END,
)
simple_case(
    "direct_no_answer",
    "+48600100203 calls 1203, which rings 30 s and then gives up with 480 Temporarily Unavailable.",
    [Leg("+48600100203", "1203", "no_answer", ring_ms=30000, callback=PENDING)],
    ADDR_NOTE + " " + STATUS_AT_END,
)
simple_case(
    "direct_rejected",
    "+48600100204 calls 1301, which rings 4 s and is declined by the user (603 Decline).",
    [Leg("+48600100204", "1301", "rejected", ring_ms=4000, callback=PENDING)],
    ADDR_NOTE + " " + STATUS_AT_END,
)
simple_case(
    "direct_failed",
    "+48600100205 calls 1401, whose phone answers 503 Service Unavailable at once (no ringing).",
    [Leg("+48600100205", "1401", "failed")],
    ADDR_NOTE + " " + STATUS_AT_END + " A 503 from the phone is a failed call: no callback "
    "obligation (issue #2).",
)
simple_case(
    "direct_voicemail",
    "+48600100206 calls the unit's group number 1100; the voicemail box 1999 rings 2.5 s and "
    "answers (its 180/200 Contact user is 1999), the caller talks 2 s and hangs up.",
    [Leg("+48600100206", "1100", "voicemail", ring_ms=2500, answered_by="1999",
         callback=PENDING)],
    ADDR_NOTE + " The voicemail stack listens on 127.0.1.10 (the group's address) but "
    "identifies itself as 1999 in Contact. " + STATUS_AT_END,
)
simple_case(
    "direct_outbound",
    "Extension 1201 calls the external number +48600100200, which rings 7.5 s and answers.",
    [Leg("1201", "+48600100200", ring_ms=7500)],
    ADDR_NOTE + " For outbound calls answered_by is the external number that answered "
    "(its 200 OK Contact user) and unit is the calling extension's unit.",
)
simple_case(
    "direct_internal",
    "Extension 1201 (Anna Kowalska) calls extension 1302, which rings 2.5 s and answers.",
    [Leg("1201", "1302", ring_ms=2500)],
    ADDR_NOTE + " For internal calls unit is the called extension's unit.",
)


@case("direct_retransmissions",
      "+48600100207 calls 1201, which rings 7.5 s and answers; the caller holds its ACK back "
      "1.8 s, so the phone retransmits its 200 OK (at +0.5 s and +1.5 s) and the caller "
      "re-ACKs the retransmissions.",
      ADDR_NOTE + " Ring time counts to the FIRST 200 OK; the later ones are retransmissions "
      "(same branch/CSeq).",
      calls=[CallFacts("+48600100207", "1201", "answered", "1201", ring_s=7.5)])
def _direct_retransmissions(pcap: Path) -> None:
    record_pair(pcap, phone_sipp("1201", ring_ms=7500),
                caller_sipp("+48600100207", "1201", scenario="uac_late_ack.xml"), DIRECT_START)


@case("direct_failed_noresponse",
      "+48600100208 calls 1202 whose phone is dead: the INVITE is retransmitted (T1 = 500 ms: "
      "+0.5, +1.5, +3.5 s) and never answered, the caller gives up without sending anything.",
      ADDR_NOTE + " The 'phone' is a UDP socket that reads and never answers. No final "
      "response ever appears (a UA would report 408 locally). " + STATUS_AT_END,
      calls=[CallFacts("+48600100208", "1202", "failed")])
def _direct_failed_noresponse(pcap: Path) -> None:
    caller = caller_sipp("+48600100208", "1202",
                         extra=("-max_invite_retrans", "3", "-default_behaviors", "none"))
    with Capture(pcap), UdpSink(address_of("1202"), 5060, max_s=20), sipp_workdir() as work:
        uac = SippProcess(caller, host_port(address_of("1202"), 5060), work, None, 20)
        try:
            uac.wait(check=False)   # the call fails by design: sipp exits 1
        finally:
            uac.kill()
    shift_to(pcap, DIRECT_START)


@case("direct_unknown",
      "+48600100209 calls 1203, which starts ringing; the capture stops 4 s later while it "
      "is still ringing (no final response in the file).",
      ADDR_NOTE + " The outcome cannot be known from this capture.",
      calls=[CallFacts("+48600100209", "1203", "unknown")])
def _direct_unknown(pcap: Path) -> None:
    phone = phone_sipp("1203", ring_ms=30000)
    caller = caller_sipp("+48600100209", "1203")
    with sipp_workdir() as work:
        uas = SippProcess(phone, None, work, None, 40)
        uac: SippProcess | None = None
        try:
            with Capture(pcap):
                time.sleep(UAS_SETTLE_S)
                uac = SippProcess(caller, host_port(phone.ip, phone.port), work, None, 40)
                time.sleep(4.0)
        finally:
            for proc in (uac, uas):
                if proc is not None:
                    proc.kill()
    shift_to(pcap, DIRECT_START)


# ----------------------------------------------------------------- 2. transports

def _answered(caller: str, dialed: str, ring_s: float) -> list[CallFacts]:
    return [CallFacts(caller, dialed, "answered", dialed, ring_s=ring_s)]


@case("transport_tcp",
      "+48600100210 calls 1201 over TCP (one connection, both sides port 5060); 1201 rings "
      "7.5 s and answers (ring 2).",
      "TCP 5060 (sipp -t t1), 127.0.1.1 → 127.0.1.21; the capture starts with the TCP handshake.",
      calls=_answered("+48600100210", "1201", 7.5))
def _transport_tcp(pcap: Path) -> None:
    record_pair(pcap, phone_sipp("1201", ring_ms=7500, transport="t1"),
                caller_sipp("+48600100210", "1201", transport="t1"), DIRECT_START)


@case("transport_ipv6",
      "+48600100211 calls 1202 over IPv6 UDP on ::1 (phone port 5060, caller port 5062); "
      "1202 rings 2.5 s and answers.",
      "IPv6 loopback: URIs use [::1], SDP c=IN IP6.",
      calls=_answered("+48600100211", "1202", 2.5))
def _transport_ipv6(pcap: Path) -> None:
    record_pair(pcap, phone_sipp("1202", ring_ms=2500, ip="::1"),
                caller_sipp("+48600100211", "1202", ip="::1", port=5062), DIRECT_START)


@case("transport_nonstandard_udp",
      "Two answered UDP calls on non-standard ports: +48600100212 (port 6060) → 1201 listening "
      "on 5080, rings 2.5 s; a minute later +48600100213 (port 5080) → 1202 listening on 6060, "
      "rings 7.5 s.",
      "No packet uses 5060: a reader must find SIP by content, not by port.",
      calls=_answered("+48600100212", "1201", 2.5) + _answered("+48600100213", "1202", 7.5))
def _transport_nonstandard_udp(pcap: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="etylab-") as tmp:
        one, two = Path(tmp) / "one.pcap", Path(tmp) / "two.pcap"
        record_pair(one, phone_sipp("1201", ring_ms=2500, port=5080),
                    caller_sipp("+48600100212", "1201", port=6060), DIRECT_START)
        record_pair(two, phone_sipp("1202", ring_ms=7500, port=6060),
                    caller_sipp("+48600100213", "1202", port=5080),
                    DIRECT_START + dt.timedelta(minutes=1))
        merge([one, two], pcap)


@case("transport_nonstandard_tcp",
      "+48600100214 calls 1203 over TCP to port 5160 (caller's listening port 5061); 1203 "
      "rings 2.5 s and answers.",
      "TCP 5160, 127.0.1.1 → 127.0.1.23.",
      calls=_answered("+48600100214", "1203", 2.5))
def _transport_nonstandard_tcp(pcap: Path) -> None:
    record_pair(pcap, phone_sipp("1203", ring_ms=2500, port=5160, transport="t1"),
                caller_sipp("+48600100214", "1203", port=5061, transport="t1"), DIRECT_START)


@case("transport_fragmented",
      "+48600100215 calls 1201 with a 2.6 kB INVITE (audio+video offer, ICE, SRTP) over UDP "
      "on a link with MTU 576, so the INVITE arrives as four IPv4 fragments; "
      "1201 rings 2.5 s and answers (its 200 OK fits the MTU).",
      "Made in network namespace etylabfrag (lo MTU 576), captured there without a filter: "
      "only the first fragment carries the UDP header; reassemble before parsing.",
      calls=_answered("+48600100215", "1201", 2.5))
def _transport_fragmented(pcap: Path) -> None:
    with network_namespaces("etylabfrag") as (ns,):
        ip_cmd(ns, "link", "set", "lo", "mtu", "576", "up")
        record_pair(pcap, phone_sipp("1201", ring_ms=2500),
                    caller_sipp("+48600100215", "1201", scenario="uac_call_big.xml"),
                    DIRECT_START, netns=ns, bpf="")


def _veth_pair(a: str, b: str, addr_a: str, addr_b: str) -> None:
    """Link namespaces ``a`` and ``b`` with veth etyva0/etyvb0 carrying 127.0.1.x addresses."""
    run(["ip", "link", "add", "etyva0", "netns", a, "type", "veth", "peer", "name", "etyvb0",
         "netns", b])
    for ns, dev, addr in ((a, "etyva0", addr_a), (b, "etyvb0", addr_b)):
        # 127/8 outside lo needs route_localnet; IPv6 off keeps MLD/ND chatter out.
        for key in ("all", "default", dev):
            run(netns_prefix(ns) + ["sysctl", "-q", "-w", f"net.ipv4.conf.{key}.route_localnet=1"])
        for key in ("all", "default"):
            run(netns_prefix(ns) + ["sysctl", "-q", "-w", f"net.ipv6.conf.{key}.disable_ipv6=1"])
        ip_cmd(ns, "addr", "add", f"{addr}/24", "dev", dev)
        ip_cmd(ns, "link", "set", dev, "up")


@case("transport_vlan",
      "+48600100216 calls 1202 across a real Ethernet link (veth between two namespaces, "
      "ARP included) whose frames carry an 802.1Q tag, VLAN 100; 1202 rings 2.5 s and answers.",
      "Caller in namespace etylabva (127.0.1.1 on etyva0), phone in etylabvb (127.0.1.22); "
      "captured on etyva0. This kernel has no 8021q module, so the tag (VID 100, PCP 0) was "
      "inserted into the recorded frames afterwards (add_vlan_tag in lab.py), as a SPAN port "
      "on a trunk would deliver them.",
      calls=_answered("+48600100216", "1202", 2.5))
def _transport_vlan(pcap: Path) -> None:
    with network_namespaces("etylabva", "etylabvb") as (a, b):
        _veth_pair(a, b, EXTERNAL_IP, address_of("1202"))
        record_pair(pcap, phone_sipp("1202", ring_ms=2500),
                    caller_sipp("+48600100216", "1202"), DIRECT_START,
                    netns=a, phone_netns=b, iface="etyva0", bpf="")
    add_vlan_tag(pcap, 100)


@case("transport_truncated",
      "+48600100217 calls 1201, which rings 2.5 s and answers; the file is cut (head -c) in the "
      "middle of its last packet, the 200 OK to the caller's BYE.",
      "All packets but the last are whole; the last record's header promises more bytes than "
      "the file holds. A reader should keep the calls it saw and report the truncation.",
      calls=_answered("+48600100217", "1201", 2.5))
def _transport_truncated(pcap: Path) -> None:
    record_pair(pcap, phone_sipp("1201", ring_ms=2500), caller_sipp("+48600100217", "1201"),
                DIRECT_START)
    data = pcap.read_bytes()
    offset, last = PCAP_HEADER.size, PCAP_HEADER.size
    while offset < len(data):
        last = offset
        offset += PCAP_RECORD.size + PCAP_RECORD.unpack_from(data, offset)[2]
    caplen = PCAP_RECORD.unpack_from(data, last)[2]
    pcap.write_bytes(data[:last + PCAP_RECORD.size + caplen // 2])


@case("transport_pcapng",
      "+48600100218 calls 1201, which rings 7.5 s and answers; saved as pcapng "
      "(editcap -F pcapng).",
      "Same kind of call as direct_answered_ring2, in the pcapng file format.",
      capture_ext="pcapng",
      calls=_answered("+48600100218", "1201", 7.5))
def _transport_pcapng(pcap: Path) -> None:
    raw = pcap.with_suffix(".raw.pcap")
    record_pair(raw, phone_sipp("1201", ring_ms=7500), caller_sipp("+48600100218", "1201"),
                DIRECT_START)
    run(["editcap", "-F", "pcapng", str(raw), str(pcap)])
    raw.unlink()


@case("transport_sll",
      "+48600100219 calls 1202, which rings 2.5 s and answers; captured with tcpdump -i any "
      "-y LINUX_SLL (Linux cooked header v1, link type 113).",
      "Loopback traffic seen through the 'any' pseudo-device.",
      calls=_answered("+48600100219", "1202", 2.5))
def _transport_sll(pcap: Path) -> None:
    record_pair(pcap, phone_sipp("1202", ring_ms=2500), caller_sipp("+48600100219", "1202"),
                DIRECT_START, iface="any", link_type="LINUX_SLL")


@case("transport_sll2",
      "+48600100220 calls 1203, which rings 2.5 s and answers; captured with tcpdump -i any "
      "(its default: Linux cooked header v2, link type 276).",
      "Loopback traffic seen through the 'any' pseudo-device.",
      calls=_answered("+48600100220", "1203", 2.5))
def _transport_sll2(pcap: Path) -> None:
    record_pair(pcap, phone_sipp("1203", ring_ms=2500), caller_sipp("+48600100220", "1203"),
                DIRECT_START, iface="any")


# ------------------------------------------------------------------ 3. callbacks

CALLBACK_NOTE = ("Each call was recorded on its own and shifted (editcap -t) to its Europe/Warsaw "
                 "start, then merged (mergecap). Business hours Mon–Fri 07:30–15:30 (Polish public "
                 "holidays and lab.toml's closed dates excepted), callback due 4 business hours "
                 "after the missed call ended on the wire (its final response: the 486, 480, "
                 "603, or the 487 after the CANCEL; a voicemail call's BYE), counted from the "
                 "next opening outside hours; the missed call carries the callback facts, "
                 "callback calls carry none. " + ADDR_NOTE)

simple_case(
    "callback_done_after_weekend",
    "+48600100201 calls 1201 on Fri 2026-11-20 15:00 (busy, 486); 1202 calls +48600100201 back "
    "on Mon 2026-11-23 10:00, answered after 2.5 s: before the due time Mon 11:00.",
    [Leg("+48600100201", "1201", "busy", start=local("2026-11-20 15:00"),
         callback=callback("done", 1)),
     Leg("1202", "+48600100201", ring_ms=2500, start=local("2026-11-23 10:00"))],
    CALLBACK_NOTE,
)
simple_case(
    "callback_late",
    "+48600100201 calls 1201 on Fri 2026-11-20 15:00 (busy); 1202 calls back the national form "
    "600100201 on Mon 2026-11-23 12:00, answered: after the due time Mon 11:00.",
    [Leg("+48600100201", "1201", "busy", start=local("2026-11-20 15:00"),
         callback=callback("late", 1)),
     Leg("1202", "600100201", ring_ms=2500, start=local("2026-11-23 12:00"))],
    CALLBACK_NOTE + " 600100201 and +48600100201 are the same E.164 number.",
)
simple_case(
    "callback_attempt_then_done",
    "+48600100201 calls 1201 on Fri 2026-11-20 15:00 (busy); Mon 08:00 1202 calls "
    "+48600100201 back, it rings 10 s and ends 480 (not reached); Mon 09:30 1201 calls "
    "600100201, answered after 2.5 s: done before Mon 11:00 at the second attempt.",
    [Leg("+48600100201", "1201", "busy", start=local("2026-11-20 15:00"),
         callback=callback("done", 2)),
     Leg("1202", "+48600100201", "no_answer", ring_ms=10000, start=local("2026-11-23 08:00")),
     Leg("1201", "600100201", ring_ms=2500, start=local("2026-11-23 09:30"))],
    CALLBACK_NOTE,
)
simple_case(
    "callback_missed_holiday",
    "+48600100202 calls 1301 on Tue 2026-11-10 15:00 (busy); Wed 11-11 is Independence Day, so "
    "the callback is due Thu 2026-11-12 11:00; nobody calls back. An unrelated internal call "
    "1301 → 1302 on Thu 12:00 moves the capture's clock past the due time.",
    [Leg("+48600100202", "1301", "busy", start=local("2026-11-10 15:00"),
         callback=callback("missed", 0)),
     Leg("1301", "1302", ring_ms=2500, start=local("2026-11-12 12:00"))],
    CALLBACK_NOTE,
)
simple_case(
    "callback_after_hours",
    "+48600100203 calls 1203 on Mon 2026-11-16 18:00 (after hours) and hangs up after 5.5 s "
    "of ringing (CANCEL); the clock starts Tue 07:30, due Tue 11:30; 1203 calls back "
    "+48600100203 on Tue 09:00, answered after 2.5 s.",
    [Leg("+48600100203", "1203", "abandoned", ring_ms=5500, start=local("2026-11-16 18:00"),
         callback=callback("done", 1)),
     Leg("1203", "+48600100203", ring_ms=2500, start=local("2026-11-17 09:00"))],
    CALLBACK_NOTE,
)
simple_case(
    "callback_caller_called_again",
    "+48600100204 calls 1401 on Thu 2026-11-19 09:00 (busy); an hour later the same caller "
    "calls 1401 again and is answered after 2.5 s, before anyone called back.",
    [Leg("+48600100204", "1401", "busy", start=local("2026-11-19 09:00"),
         callback=callback("caller_called_again", 0)),
     Leg("+48600100204", "1401", ring_ms=2500, start=local("2026-11-19 10:00"))],
    CALLBACK_NOTE,
)

# -------------------------------------------------------------------- 4. demo day


def _demo_legs() -> list[Leg]:
    day = "2026-11-24 "
    zaneta = "Żaneta Kołodziej"

    def at(hhmm: str, caller: str, dialed: str, outcome: str = "answered", ring: float = 0,
           cb: tuple[str, int] | None = None, display: str | None = None) -> Leg:
        facts = callback(*cb) if cb else None
        return Leg(caller, dialed, outcome, ring_ms=int(ring * 1000), display=display,
                   callback=facts, start=local(day + hhmm))

    return [
        at("07:42", "+48600100300", "1201", ring=2.5),
        at("07:55", "+48600100301", "1202", ring=7.5),
        at("08:03", "+48600100302", "1203", "busy", display=zaneta,
           cb=("done", 1)),
        at("08:20", "600100303", "1301", ring=12.5),
        at("08:31", "+48600100304", "1302", ring=2.5),
        at("08:47", "+48600100305", "1401", "abandoned", ring=9.5,
           cb=("done", 1)),
        at("09:05", "1201", "1302", ring=2.5),
        at("09:12", "+48600100306", "1201", ring=17.5),
        at("09:30", "1203", "+48600100302", ring=7.5),
        at("09:41", "+48600100307", "1202", ring=22.5),
        at("09:50", "1401", "600100305", ring=2.5),
        at("10:05", "+48600100308", "1301", "rejected", ring=4,
           cb=("late", 2)),
        at("10:22", "+48600100309", "1401", ring=7.5),
        at("10:40", "1202", "+48226001122", ring=7.5),
        at("11:02", "+48600100310", "1203", ring=12.5),
        at("11:15", "+48600100311", "1201", "no_answer", ring=20,
           cb=("caller_called_again", 0)),
        at("11:40", "+48600100311", "1202", ring=2.5),
        at("12:05", "+48600100312", "1302", ring=7.5),
        at("12:30", "1301", "1401", ring=2.5),
        at("12:48", "+48600100313", "1401", "failed"),
        at("13:20", "1302", "+48600100308", "no_answer", ring=15),
        at("13:35", "+48600100314", "1201", ring=12.5),
        at("14:10", "1301", "+48600100308", ring=2.5),
        at("14:30", "+48600100315", "1203", "busy", cb=("pending", 0)),
        at("14:52", "+48600100316", "1202", ring=7.5),
        at("15:10", "+48600100317", "1301", ring=2.5, display=zaneta),
        at("15:25", "+48600100318", "1401", "abandoned", ring=4,
           cb=("pending", 0)),
    ]


simple_case(
    "demo_day",
    "A working day (Tue 2026-11-24, 07:42–15:25) of 27 direct calls across units 1201–1203, "
    "1301–1302 and 1401: answered at rings 1–5, busy, abandoned, declined, unanswered, "
    "a failed phone, internal and outbound calls, callbacks done, late and caller-called-again.",
    _demo_legs(),
    CALLBACK_NOTE + " Pending callbacks are as of the last packet (15:25).",
)


# ------------------------------------------------------------------------ main


def use_venv_for_holidays() -> None:
    """Re-run this script with the repo's .venv Python when ``holidays`` is missing here.

    make_captures.sh runs the system ``python3``; the callback deadlines need the
    ``holidays`` package, which the repo's .venv has.
    """
    try:
        import holidays  # noqa: F401
    except ImportError:
        venv_python = REPO / ".venv" / "bin" / "python"
        if venv_python.exists() and not os.environ.get("ETYLAB_IN_VENV"):
            os.environ["ETYLAB_IN_VENV"] = "1"
            os.execv(venv_python, [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the named cases (all by default), or list/check them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case names or prefixes (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--check", action="store_true",
                        help="only verify existing captures against their expected files")
    parser.add_argument("--expected-only", action="store_true",
                        help="rewrite the expected files from the existing captures (no recording)")
    parser.add_argument("--out", type=Path, default=CALLS_DIR, help="output directory")
    args = parser.parse_args(argv)
    chosen = [c for c in CASES.values()
              if not args.cases or any(c.name == p or c.name.startswith(p) for p in args.cases)]
    if args.list:
        for item in CASES.values():
            print(f"{item.name:32} {item.description}")
        return 0
    if not chosen:
        parser.error(f"no case matches {args.cases}")
    if args.check and args.expected_only:
        parser.error("--check and --expected-only exclude each other")
    use_venv_for_holidays()
    failures = 0
    for item in chosen:
        started = time.monotonic()
        expected = args.out / f"{item.name}.expected.json"
        if args.expected_only:
            expected = write_case_expected(item, args.out)
        elif not args.check:
            expected = make_case(item, args.out)
        problems = (check_capture(expected) + check_expected_current(item, expected)
                    if expected.exists() else [f"{expected.name} is missing"])
        status = "ok" if not problems else "MISMATCH"
        print(f"{item.name:32} {status:8} {time.monotonic() - started:5.1f} s", flush=True)
        for problem in problems:
            print(f"    {problem}", flush=True)
        failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
