"""PBX lab: calls through a stateful proxy, a B2BUA PBX, and call transfers.

Real SIP stacks on loopback, recorded by tcpdump on ``lo``:

* a stateful proxy + registrar: Kamailio (``kamailio-proxy.cfg``) on 127.0.2.10:25060;
* a B2BUA PBX: :mod:`sippy_pbx` (built on the ``sippy`` B2BUA library) on 127.0.2.20:25060;
* the trunk/caller, the desk phones and the transfer parties: sipp
  (``tests/lab/scenarios/pbx_*.xml``, ``proxy_*.xml``, ``transfer_*.xml``).

Address plan (this lab's share of loopback is 127.0.2.0/23, UDP ports 25000-25999)::

    127.0.2.1:25001   trunk / caller C (first leg)     127.0.2.10:25060  Kamailio
    127.0.2.1:25002   caller C's second UA leg          127.0.2.20:25060  sippy PBX
    127.0.3.1:25201   phone 1201 (its 2nd leg: 25211)   127.0.3.2:25202   phone 1202

This module is the machinery; the cases are in ``cases.py`` beside it:
``python tests/lab/pbx/cases.py [CASE ...]`` regenerates the captures (all by default) into
``tests/data/calls/`` with an ``<case>.expected.json`` each, written from the case definition
(what the lab intended), never from a parser. ``--list`` names the cases, ``--check``
re-verifies the captures, ``--expected-only`` rewrites the expected files from the existing
captures.

Every process runs under ``timeout`` in its own process group and is killed on the way out.
Each capture is shifted (``editcap -t``) so that the caller's first INVITE is at a fixed,
in-business-hours wall-clock time. A callback's due time is counted (lab.toml's business
hours) from the instant the capture shows the missed call ending, or the transfer failing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PBX_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(PBX_DIR.parent))

import lab  # noqa: E402  (tests/lab/lab.py: tcpdump, sipp and expected-facts helpers)
from lab import CallFacts, Capture, LabError, Sipp, SippProcess  # noqa: E402

CALLS_DIR = lab.CALLS_DIR
PYTHON = str(lab.REPO / ".venv" / "bin" / "python")
KAMAILIO_CFG = PBX_DIR / "kamailio-proxy.cfg"
SIPPY_PBX = PBX_DIR / "sippy_pbx.py"

LAB_BPF = "udp and net 127.0.2.0/23"
TRUNK_IP, TRUNK_PORT, TRUNK2_PORT = "127.0.2.1", 25001, 25002
PROXY = ("127.0.2.10", 25060)
PBX = ("127.0.2.20", 25060)
PHONES: dict[str, tuple[str, int]] = {"1201": ("127.0.3.1", 25201), "1202": ("127.0.3.2", 25202)}
PHONE2_PORT = {"1201": 25211, "1202": 25212}  # a phone's second UA (its own consultation call)
DID_PREFIX = "+4874886"
UNIT = "Wydział Komunikacji"

SETTLE_S = 0.4  # a server/UAS is listening before the next one talks to it
PROC_TIMEOUT_S = 90  # hard bound of every process of one case

MADE_BY = "tests/lab/pbx/make_captures.sh"


# --------------------------------------------------------------------- processes


class LiveCapture(Capture):
    """:class:`lab.Capture` with ``--immediate-mode``.

    Without it libpcap's TPACKET_V3 ring hands packets over in blocks (up to 1 s late) and
    tcpdump stopped by SIGINT dropped the last block: a 0.1 s busy call vanished entirely.
    """

    def __enter__(self) -> LiveCapture:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            "timeout",
            "-s",
            "INT",
            str(int(self.max_s)),
            "tcpdump",
            "--immediate-mode",
            "-i",
            self.iface,
            "-U",
            "-s",
            "0",
            "-n",
            "-Z",
            "root",
            "-w",
            str(self.path),
            self.bpf,
        ]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(lab.TCPDUMP_SETTLE_S)
        if self._proc.poll() is not None:
            err = self._proc.stderr.read().decode() if self._proc.stderr else ""
            raise LabError(f"tcpdump did not start: {err.strip()}")
        return self


class Daemon:
    """A server process (Kamailio, the sippy PBX) bounded by ``timeout``, in its own group."""

    def __init__(
        self, name: str, argv: Sequence[str], workdir: Path, ready: tuple[str, int]
    ) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            ["timeout", str(PROC_TIMEOUT_S), *argv],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_listening(ready)

    def _wait_listening(self, addr: tuple[str, int]) -> None:
        needle = f"{addr[0]}:{addr[1]}"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"{self.name} exited {self.proc.returncode}: {self.tail()}")
            if needle in lab.run(["ss", "-lnu"]):
                time.sleep(0.2)
                return
            time.sleep(0.1)
        raise LabError(f"{self.name} is not listening on {needle}: {self.tail()}")

    def tail(self) -> str:
        """The end of the daemon's log."""
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """SIGTERM the daemon's process group, SIGKILL it if it lingers."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log_file.close()


@contextmanager
def kamailio(workdir: Path) -> Iterator[Daemon]:
    """Kamailio proxy/registrar on :data:`PROXY` for the ``with`` block."""
    daemon = Daemon(
        "kamailio",
        [
            "kamailio",
            "-f",
            str(KAMAILIO_CFG),
            "-DD",
            "-E",
            "-w",
            str(workdir),
            "-P",
            str(workdir / "kamailio.pid"),
        ],
        workdir,
        PROXY,
    )
    try:
        yield daemon
    finally:
        daemon.stop()


@contextmanager
def sippy_pbx(workdir: Path, *args: str) -> Iterator[Daemon]:
    """The sippy B2BUA PBX on :data:`PBX`, routing DIDs/extensions to :data:`PHONES`."""
    argv = [PYTHON, str(SIPPY_PBX), "--listen", f"{PBX[0]}:{PBX[1]}", "--did-prefix", DID_PREFIX]
    for ext, (ip, port) in PHONES.items():
        argv += ["--phone", f"{ext}={ip}:{port}"]
    daemon = Daemon("sippy_pbx", argv + list(args), workdir, PBX)
    try:
        yield daemon
    finally:
        daemon.stop()


class Session:
    """The sipp processes of one case: started in order, all waited for, all killed at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[SippProcess] = []

    def start(
        self, spec: Sipp, remote: tuple[str, int] | None = None, *, settle: bool = True
    ) -> SippProcess:
        """Start one sipp (a UAS when ``remote`` is None); give a UAS time to bind."""
        media = ("-mi", spec.ip, "-mp", str(spec.port + 300), "-cp", str(spec.port + 600))
        spec = Sipp(
            spec.scenario,
            spec.ip,
            spec.port,
            spec.keys,
            spec.service,
            spec.pause_ms,
            spec.transport,
            spec.extra + media,
        )
        proc = SippProcess(
            spec,
            lab.host_port(*remote) if remote else None,
            self.workdir,
            None,
            PROC_TIMEOUT_S - 10,
        )
        self.procs.append(proc)
        if settle:
            time.sleep(SETTLE_S)
            if remote is None and proc.proc.poll() is not None:
                proc.wait()
                raise LabError(f"sipp {spec.scenario} ended before its call")
        return proc

    def start_at(
        self, mark: float, delay_s: float, spec: Sipp, remote: tuple[str, int] | None = None
    ) -> SippProcess:
        """Start a sipp ``delay_s`` after the monotonic time ``mark`` (scripted choreography)."""
        time.sleep(max(0.0, mark + delay_s - time.monotonic()))
        return self.start(spec, remote, settle=False)

    def run(self, spec: Sipp, remote: tuple[str, int]) -> None:
        """Run one short client scenario to its end (e.g. a REGISTER)."""
        self.start(spec, remote, settle=False).wait()

    def wait_all(self) -> None:
        """Wait for every sipp of the case, raising on the first failure."""
        for proc in self.procs:
            proc.wait()

    def kill_all(self) -> None:
        for proc in self.procs:
            proc.kill()


# ------------------------------------------------------------------ parties


def caller(
    scenario: str,
    number: str,
    dialed: str,
    *,
    name: str = "",
    pause_ms: int = 3000,
    port: int = TRUNK_PORT,
    keys: dict[str, str] | None = None,
) -> Sipp:
    """The trunk/caller sipp: From user ``number`` (display ``name``), dialing ``dialed``.

    ``pause_ms`` is the talk time of an answered call, or the ring time before a CANCEL.
    """
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')  # RFC 3261 25.1 quoted-pair
    from_name = f'"{quoted}" ' if name else ""
    return Sipp(
        scenario,
        TRUNK_IP,
        port,
        {"caller": number, "from_name": from_name, **(keys or {})},
        service=dialed,
        pause_ms=pause_ms,
    )


def uri(ext: str, second_ua: bool = False) -> str:
    """``sip:EXT@IP:PORT`` of a lab phone."""
    ip, port = PHONES[ext]
    return f"sip:{ext}@{ip}:{PHONE2_PORT[ext] if second_ua else port}"


def phone(
    scenario: str,
    ext: str,
    *,
    pause_ms: int = 0,
    second_ua: bool = False,
    keys: dict[str, str] | None = None,
    service: str | None = None,
    extra: tuple[str, ...] = (),
) -> Sipp:
    """A desk phone sipp at its lab address (or its second UA's port); ``extra`` sipp options."""
    ip, port = PHONES[ext]
    if second_ua:
        port = PHONE2_PORT[ext]
    return Sipp(
        scenario,
        ip,
        port,
        {"ext": ext, **(keys or {})},
        service=service,
        pause_ms=pause_ms,
        extra=extra,
    )


def register(session: Session, ext: str, aor: str) -> None:
    """Phone ``ext`` registers its contact under ``aor`` at Kamailio."""
    session.run(phone("pbx_phone_register.xml", ext, keys={"aor": aor}), PROXY)


# --------------------------------------------------------------- expected facts


# A case's intent for a missed call or failed transfer: nobody calls back in the capture.
# The due time comes from the capture (see call_times and lab.with_callbacks).
PENDING_CALLBACK = lab.callback("pending")


def transfer(
    kind: str, target: str, outcome: str, reason: str | None = None, source: str = "1201"
) -> dict[str, Any]:
    """The ``transfer`` object of a call."""
    return {"kind": kind, "from": source, "target": target, "outcome": outcome, "reason": reason}


@dataclass(frozen=True)
class Case:
    """One capture: what runs on the wire, and the facts the lab intends it to show."""

    name: str
    description: str
    start: str  # wall-clock time of the caller's first INVITE
    run: Callable[[Session], None]  # plays the traffic (while tcpdump records)
    calls: Callable[[dt.datetime], list[CallFacts]]
    notes: str
    servers: Callable[[Path], Any] | None = None  # context manager factory (proxy / PBX)


def first_invite_epoch(pcap: Path) -> float:
    """Time of the capture's first INVITE request."""
    out = lab.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-Y",
            'sip.Method == "INVITE"',
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
        ]
    )
    if not out.strip():
        raise LabError(f"{pcap}: no INVITE captured")
    return float(out.split()[0])


def shift_invite_to(pcap: Path, start: dt.datetime) -> None:
    """Shift all timestamps so that the first INVITE is at ``start``."""
    delta = start.timestamp() - first_invite_epoch(pcap)
    tmp = pcap.with_name(pcap.name + ".shift")
    lab.run(["editcap", "-t", f"{delta:.6f}", str(pcap), str(tmp)])
    tmp.replace(pcap)


def call_times(call: CallFacts, msgs: Sequence[WireMessage]) -> lab.CallTimes:
    """The instants of the case's (one) call that the callback rules need, from the wire.

    The caller-facing leg is the first INVITE's Call-ID, seen from the trunk (the first
    INVITE's source): the clock of a missed call starts at the final response the trunk got
    (486, 480, the 487 after its CANCEL), of an answered call at its first BYE on the trunk's
    side; for a failed transfer at the failure of the last INVITE to the target phone: its
    first CANCEL or the target's first final non-2xx response, whichever came first.
    """
    first = next(m for m in msgs if m.method == "INVITE")
    trunk = first.src
    trunk_side = [m for m in msgs if m.call_id == first.call_id and trunk in (m.src, m.dst)]
    finals = [
        m for m in trunk_side if m.dst == trunk and m.cseq_method == "INVITE" and m.status >= 200
    ]
    answered = finals[0].epoch if finals and finals[0].status == 200 else None
    ended: float | None = None
    if finals and finals[0].status >= 300:
        ended = finals[0].epoch
    elif answered is not None:
        ended = next((m.epoch for m in trunk_side if m.method == "BYE"), None)
    if call.transfer and call.transfer["outcome"] == "failed":
        ip, port = PHONES[call.transfer["target"]]
        to_target = [m for m in msgs if m.method == "INVITE" and m.dst == f"{ip}:{port}"]
        if not to_target:
            raise LabError(f"no INVITE to the transfer target {call.transfer['target']}")
        cid = to_target[-1].call_id
        failures = [
            m.epoch
            for m in msgs
            if m.call_id == cid
            and (
                m.method == "CANCEL"
                or (m.cseq_method == "INVITE" and m.status >= 300 and m.src.startswith(ip))
            )
        ]
        ended = min(failures) if failures else None
    return lab.CallTimes(start=first.epoch, ended=ended, answered=answered)


def case_calls(case: Case, pcap: Path) -> list[CallFacts]:
    """The case's calls with their callback facts timed from its capture."""
    calls = case.calls(lab.local(case.start))
    if len(calls) != 1:
        raise LabError(f"{case.name}: this lab's cases have one call each")
    times = [call_times(calls[0], wire(pcap))]
    return lab.with_callbacks(calls, times, lab.last_epoch(pcap), pcap.name)


def write_case_expected(case: Case, out_dir: Path = CALLS_DIR) -> Path:
    """Write the case's expected facts for its capture (already in ``out_dir``)."""
    return lab.write_expected(
        case.name,
        made_by=f"{MADE_BY} {case.name}",
        description=case.description,
        calls=case_calls(case, out_dir / f"{case.name}.pcap"),
        notes=case.notes,
        directory=out_dir,
    )


def check_expected_current(case: Case, expected: Path) -> list[str]:
    """The expected file's calls must be what the case writes now for its capture."""
    doc = json.loads(expected.read_text(encoding="utf-8"))
    try:
        now = [c.as_json() for c in case_calls(case, expected.parent / doc["capture"])]
    except LabError as exc:
        return [str(exc)]
    if len(now) != len(doc["calls"]):
        return [f"{len(doc['calls'])} calls expected, the case gives {len(now)}"]
    return [
        f"{key} is {old.get(key)!r}, the case gives {new.get(key)!r} (--expected-only)"
        for old, new in zip(doc["calls"], now, strict=True)
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def make(case: Case, out_dir: Path = CALLS_DIR) -> Path:
    """Run one case under tcpdump and write its capture and expected facts."""
    pcap = record(case, out_dir / f"{case.name}.pcap")
    write_case_expected(case, out_dir)
    return pcap


def record(case: Case, pcap: Path) -> Path:
    """Run one case under tcpdump into ``pcap``, shifted to the case's start (no expected file)."""
    raw = pcap.with_suffix(".raw.pcap")
    with tempfile.TemporaryDirectory(prefix="etylab-pbx-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        session = Session(workdir)
        stack.callback(session.kill_all)
        if case.servers is not None:
            stack.enter_context(case.servers(workdir))
        try:
            with LiveCapture(raw, bpf=LAB_BPF, max_s=PROC_TIMEOUT_S):
                case.run(session)
                session.wait_all()
        except BaseException:
            raw.unlink(missing_ok=True)
            for log in sorted(workdir.glob("*.log")):
                sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}\n")
            raise
    shift_invite_to(raw, lab.local(case.start))
    raw.replace(pcap)
    return pcap


# ------------------------------------------------------------------------ checks

OUTCOME_CODE = {"answered": 200, "busy": 486, "no_answer": 480, "abandoned": 487}
TRANSFER_CODE = {None: 200, "busy": 486, "no_answer": 480, "caller_hung_up": 487}


@dataclass(frozen=True)
class WireMessage:
    """One SIP message as tshark shows it."""

    epoch: float
    src: str
    dst: str
    call_id: str
    method: str
    status: int  # 0 for a request
    cseq_method: str
    contact_user: str


def wire(pcap: Path) -> list[WireMessage]:
    """Every SIP message of a capture, in order."""
    fields = [
        "frame.time_epoch",
        "ip.src",
        "udp.srcport",
        "ip.dst",
        "udp.dstport",
        "sip.Call-ID",
        "sip.Method",
        "sip.Status-Code",
        "sip.CSeq.method",
        "sip.contact.user",
    ]
    cmd = [
        "tshark",
        "-r",
        str(pcap),
        "-Y",
        "sip",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=f",
    ]
    for name in fields:
        cmd += ["-e", name]
    out = []
    for line in lab.run(cmd).splitlines():
        f = (line.split("\t") + [""] * 10)[:10]
        out.append(
            WireMessage(
                float(f[0]),
                f"{f[1]}:{f[2]}",
                f"{f[3]}:{f[4]}",
                f[5],
                f[6],
                int(f[7]) if f[7] else 0,
                f[8],
                f[9],
            )
        )
    return out


def check(expected: Path) -> list[str]:
    """Compare an expected-facts file of this lab with what tshark shows; return the problems.

    The caller-facing leg is the first INVITE's dialog: its final INVITE response (to the
    trunk), its ring time (first 18x to 200, as the trunk saw them), the Contact user of the
    first 200 a phone sent, and for transfers the final response of the last INVITE to the
    target phone.
    """
    doc = json.loads(expected.read_text(encoding="utf-8"))
    msgs = wire(expected.parent / doc["capture"])
    call = doc["calls"][0]
    problems: list[str] = []
    first = next(m for m in msgs if m.method == "INVITE")
    trunk = first.src
    leg = [
        m
        for m in msgs
        if m.call_id == first.call_id and m.dst == trunk and m.cseq_method == "INVITE" and m.status
    ]
    finals = [m for m in leg if m.status >= 200]
    final = finals[0].status if finals else None
    if final != OUTCOME_CODE.get(call["outcome"]):
        problems.append(f"outcome {call['outcome']} but the trunk got {final}")
    if call["ring_seconds"]:
        ringing = [m.epoch for m in leg if 180 <= m.status < 190]
        ring = finals[0].epoch - ringing[0] if ringing and finals else None
        lo, hi = call["ring_seconds"]
        if ring is None or not lo <= ring <= hi:
            problems.append(f"ring {ring} outside [{lo}, {hi}]")
        elif int(ring // 5) + 1 != call["rings"]:
            problems.append(f"ring {ring:.3f} s is not ring {call['rings']}")
    if call["answered_by"]:
        answers = [
            m
            for m in msgs
            if m.status == 200 and m.cseq_method == "INVITE" and m.src.startswith("127.0.3.")
        ]
        who = answers[0].contact_user if answers else None
        if who != call["answered_by"]:
            problems.append(f"answered by {who}, expected {call['answered_by']}")
    if call["transfer"]:
        target = PHONES[call["transfer"]["target"]]
        to_target = [
            m for m in msgs if m.method == "INVITE" and m.dst == f"{target[0]}:{target[1]}"
        ]
        want = (
            TRANSFER_CODE[call["transfer"]["reason"]]
            if call["transfer"]["outcome"] == "failed"
            else 200
        )
        got = None
        if to_target:
            cid = to_target[-1].call_id
            codes = [
                m.status
                for m in msgs
                if m.call_id == cid
                and m.cseq_method == "INVITE"
                and m.status
                and m.status >= 200
                and m.src.startswith(target[0])
            ]
            got = codes[0] if codes else None
        if got != want:
            problems.append(f"transfer target's final answer {got}, expected {want}")
    return problems
