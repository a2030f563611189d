"""Ingest throughput and memory on one office day, against ``tshark -z sip,stat``.

Run: ``.venv/bin/python benchmarks/ingest.py [--calls N] [--capture FILE] [--profile]``.

Without ``--capture`` it writes a day with ``benchmarks/make_day_capture.py`` into a temporary
folder; with it, ``FILE``'s ``.toml`` and ``.expected.json`` twins are used when they exist
(else ``tests/data/lab.toml`` and no outcome check). Every measurement runs in a fresh child
process, so each peak RSS (``ru_maxrss`` of that child, from ``wait4``) is its own:

1. tshark: ``tshark -q -z sip,stat -r FILE`` — dissects every frame, counts SIP;
2. core: ``open_capture`` + ``SignallingAnalyzer``, no database;
3. core on the first half of the packets — peak RSS must not grow with finished calls;
4. ingest: ``Ingestor.ingest_file`` into a fresh SQLite database (schema made beforehand,
   not timed).

Then the calls found per outcome, direction and ring are checked against the generator's plan.
``--profile`` adds a cProfile run of the core on the first ``--profile-packets`` packets.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parent stays light: only the children import the package
    from etykieta.config import Settings
    from etykieta.telephony.records import CallRecord

HERE = Path(__file__).resolve().parent
LAB_CONFIG = HERE.parent / "tests" / "data" / "lab.toml"
RSS_SAMPLES = 16  # current-RSS readings spread over a core run
PROFILE_TOP = 15


# -- the measurements, each run in a child process -------------------------------------------
def current_rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def tally(records: list[CallRecord], found: dict[str, Any]) -> None:
    for record in records:
        found["outcomes"][record.outcome] += 1
        found["directions"][record.direction] += 1
        if record.outcome == "answered":
            found["rings"][str(record.rings)] += 1
        found["by_call_id"][record.call_id] = record.outcome


def run_core(capture: Path, settings: Settings, limit: int | None, sample_every: int
             ) -> dict[str, Any]:
    """The signalling core alone: frames in, call records out, nothing stored."""
    from etykieta.telephony.analyzer import SignallingAnalyzer
    from etykieta.telephony.capture.pcap_file import open_capture

    analyzer = SignallingAnalyzer(settings)
    rss_before = current_rss_kb()
    found: dict[str, Any] = {"outcomes": Counter(), "directions": Counter(), "rings": Counter(),
                             "by_call_id": {}}
    samples, packets, most_legs, most_calls = [], 0, 0, 0
    started, cpu_started = time.perf_counter(), time.process_time()
    with open_capture(capture) as frames:
        for packet in frames:
            if limit is not None and packet.number > limit:
                break
            packets = packet.number
            tally(analyzer.receive(packet), found)
            if packets % sample_every == 0:
                stats = analyzer.stats
                legs, calls = stats.open_legs, stats.open_calls
                most_legs, most_calls = max(most_legs, legs), max(most_calls, calls)
                samples.append([packets, current_rss_kb(), legs, calls])
    stats = analyzer.stats
    open_legs, open_calls = stats.open_legs, stats.open_calls
    tally(analyzer.close(), found)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"packets": packets, "seconds": elapsed, "cpu_seconds": cpu,
            "calls": sum(found["outcomes"].values()),
            "rss_before_kb": rss_before,
            "open_legs_at_end": open_legs, "open_calls_at_end": open_calls,
            "most_open_legs": most_legs, "most_open_calls": most_calls, "rss_samples": samples,
            "sip_messages": analyzer.stats.pipeline.sip_messages, **found}


def stored_calls(sessions: Any) -> dict[str, Any]:
    """What a database holds, counted as the plan counts it."""
    from sqlalchemy import func, select

    from etykieta.storage.models import Call

    with sessions() as session:
        def count(column: Any, *where: Any) -> dict[str, int]:
            query = select(column, func.count()).where(*where).group_by(column)
            return {str(key): n for key, n in session.execute(query)}
        return {"outcomes": count(Call.outcome), "directions": count(Call.direction),
                "rings": count(Call.rings, Call.outcome == "answered"),
                "by_call_id": dict(session.execute(select(Call.call_id, Call.outcome)).all())}


def run_ingest(capture: Path, config: Path, database: Path) -> dict[str, Any]:
    """The whole ingest job into a fresh SQLite file; what it stored, counted back."""

    from etykieta.config import load_settings
    from etykieta.ingest import Ingestor
    from etykieta.storage.db import make_engine, make_sessionmaker, upgrade

    for suffix in ("", "-wal", "-shm"):  # fresh every run, also when repeated
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    ingestor = Ingestor(load_settings(config), sessions)
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = ingestor.ingest_file(capture)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    found = stored_calls(sessions)
    return {"packets": summary.packets, "seconds": elapsed, "cpu_seconds": cpu,
            "calls": summary.calls,
            "added": summary.added, "sip_messages": summary.sip_messages,
            "database_bytes": database.stat().st_size, "summary": summary.line(), **found}


def run_rotated(pieces_dir: Path, config: Path, database: Path) -> dict[str, Any]:
    """The day as a capture host writes it: rotated files, one ``ingest`` per file, each
    continuing the previous one's calls (the carry), as a cron job or ``--follow`` does."""

    from etykieta.config import load_settings
    from etykieta.ingest import Ingestor
    from etykieta.storage.db import make_engine, make_sessionmaker, upgrade
    from etykieta.storage.models import IngestStream

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    ingestor = Ingestor(load_settings(config), sessions)
    pieces = sorted(pieces_dir.iterdir())
    packets = carried = biggest_carry = most_open = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for piece in pieces:
        run = ingestor.ingest([piece])
        packets += sum(s.packets for s in run.files)
        carried += run.carried_packets
        most_open = max(most_open, run.still_open)
        with sessions() as session:
            state = session.get(IngestStream, "default")
            biggest_carry = max(biggest_carry, len(state.carry or b"") if state else 0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    found = stored_calls(sessions)
    return {"packets": packets, "seconds": elapsed, "cpu_seconds": cpu,
            "calls": len(found["by_call_id"]),
            "files": len(pieces), "carried_packets": carried, "biggest_carry": biggest_carry,
            "most_open": most_open, **found}


def run_profile(capture: Path, settings: Settings, limit: int) -> None:
    """cProfile of the core's packet loop on the first ``limit`` packets; prints the top."""
    import cProfile
    import pstats

    import etykieta.telephony.analyzer  # noqa: F401 - imported before profiling starts
    import etykieta.telephony.capture.pcap_file  # noqa: F401

    profiler = cProfile.Profile()
    profiler.enable()
    run_core(capture, settings, limit, sample_every=1 << 30)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    stats.sort_stats("tottime").print_stats(PROFILE_TOP)
    stats.sort_stats("cumulative").print_stats(PROFILE_TOP)


def child_main(args: argparse.Namespace) -> None:
    from etykieta.config import load_settings

    if args.child == "ingest":
        result = run_ingest(args.capture, args.config, args.database)
    elif args.child == "rotated":
        result = run_rotated(args.capture, args.config, args.database)
    elif args.child == "core":
        every = max(1, (args.limit or args.expected_packets) // RSS_SAMPLES)
        result = run_core(args.capture, load_settings(args.config), args.limit, every)
    else:
        run_profile(args.capture, load_settings(args.config), args.limit)
        return
    print(json.dumps(result))


# -- the parent: start children, measure them, compare -----------------------------------------
def measured(command: list[str]) -> tuple[str, float, resource.struct_rusage]:
    """Run ``command``; return its stdout, wall seconds and resource usage (its own wait4).

    ``ru_maxrss`` (KiB on Linux) is the field ``/usr/bin/time -v`` prints as "Maximum resident
    set size"; unlike ``RUSAGE_CHILDREN`` it belongs to this child alone.
    """
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        assert child.stdout is not None
        out = child.stdout.read()  # not communicate(): it would reap the child before wait4
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        child.stdout.close()
        if child.returncode:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n"
                             + errors.read().decode(errors="replace"))
    return out.decode(), wall, usage


def child_command(kind: str, capture: Path, config: Path, *extra: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", kind,
            "--capture", str(capture), "--config", str(config), *extra]


def measure_child(kind: str, capture: Path, config: Path, *extra: str, repeat: int = 1
                  ) -> dict[str, Any]:
    """The fastest of ``repeat`` runs of a child measurement."""
    runs = []
    for _ in range(repeat):
        out, wall, usage = measured(child_command(kind, capture, config, *extra))
        result: dict[str, Any] = json.loads(out)
        result.update(wall=wall, peak_rss_kb=usage.ru_maxrss)
        runs.append(result)
    return min(runs, key=lambda run: run["seconds"])


def measure_tshark(capture: Path, repeat: int = 1) -> dict[str, Any]:
    """The fastest of ``repeat`` runs of ``tshark -q -z sip,stat``, with its SIP counts."""
    runs = []
    for _ in range(repeat):
        out, wall, usage = measured(["tshark", "-q", "-z", "sip,stat", "-r", str(capture)])
        counts = {}
        for line in out.splitlines():
            name, _, value = line.partition(":")
            if name.strip() in ("Number of SIP messages", "Number of resent SIP messages",
                                "INVITE"):
                counts[name.strip()] = int(value.split()[0])
        runs.append({"seconds": wall, "wall": wall, "peak_rss_kb": usage.ru_maxrss,
                     "cpu_seconds": usage.ru_utime + usage.ru_stime, **counts})
    return min(runs, key=lambda run: run["seconds"])


def make_capture(folder: Path, calls: int, seed: int, talk_seconds: float) -> Path:
    capture = folder / f"day_{calls}.pcap"
    command = [sys.executable, str(HERE / "make_day_capture.py"), str(capture),
               "--calls", str(calls), "--seed", str(seed), "--talk-seconds", str(talk_seconds)]
    started = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    print(out.strip(), f"[wall {time.perf_counter() - started:.1f} s]")
    return capture


def compare(expected: dict[str, Any], found: dict[str, Any], label: str) -> int:
    """Print what differs from the plan, per outcome, direction and ring; return the misses."""
    misses = 0
    for key in ("outcomes", "directions", "rings"):
        want, got = expected[key], {str(k): v for k, v in found[key].items()}
        names = sorted(set(want) | set(got))
        diffs = {n: got.get(n, 0) - want.get(n, 0) for n in names
                 if got.get(n, 0) != want.get(n, 0)}
        status = "OK" if not diffs else "DIFF " + ", ".join(f"{n} {d:+d}"
                                                            for n, d in diffs.items())
        counts = ", ".join(f"{n} {got.get(n, 0)}" for n in names)
        print(f"  {label:6} {key:10} {status}   ({counts})")
        misses += sum(abs(d) for d in diffs.values())
    wrong = [(cid, plan[1], found["by_call_id"].get(cid))
             for cid, plan in expected["by_call_id"].items()
             if found["by_call_id"].get(cid) != plan[1]]
    if wrong:
        print(f"  {label:6} {len(wrong)} calls differ by Call-ID, e.g. "
              + "; ".join(f"{cid}: planned {want}, found {got}" for cid, want, got in wrong[:5]))
    return misses + len(wrong)


def mib(kb: int) -> str:
    return f"{kb / 1024:,.0f} MiB"


def report(capture: Path, expected: dict[str, Any] | None, results: dict[str, dict[str, Any]]
           ) -> int:
    """Print the memory check, the outcome check and the table; return the differences."""
    core, half, ingest = results["core"], results["core_half"], results["ingest"]
    tshark = results.get("tshark")
    size = capture.stat().st_size
    print(f"\n== {capture.name}: {core['packets']:,} packets, {size / 1e6:,.0f} MB, "
          f"{core['sip_messages']:,} SIP messages, {core['calls']:,} calls")
    if tshark is not None:
        print(f"   tshark: {tshark.get('Number of SIP messages', 0):,} SIP messages "
              f"({tshark.get('Number of resent SIP messages', 0):,} resent), "
              f"{tshark.get('INVITE', 0):,} INVITEs"
              + (f"; planned retransmissions {expected['retransmissions']}" if expected else ""))
    print("\n(d) memory against finished calls (core):")
    for label, run in (("first half", half), ("whole day", core)):
        print(f"  {label:10} {run['packets']:>10,} packets {run['calls']:>6,} calls  peak RSS "
              f"{mib(run['peak_rss_kb']):>8}  open legs/calls at the end "
              f"{run['open_legs_at_end']}/{run['open_calls_at_end']} (most seen "
              f"{run['most_open_legs']}/{run['most_open_calls']})")
    samples = core["rss_samples"]
    if samples:
        step = max(1, len(samples) // 8)
        print(f"  core RSS before the first packet {mib(core['rss_before_kb'])}; then at packet "
              + ", ".join(f"{n:,}: {mib(kb)}" for n, kb, _, _ in samples[::step]))
    misses = 0
    if expected is not None:
        print("\n(e) calls found against the generator's plan:")
        misses = compare(expected, core, "core") + compare(expected, ingest, "ingest")
        if "rotated" in results:
            misses += compare(expected, results["rotated"], "rotated")
        print(f"  {'all match' if misses == 0 else f'{misses} differences'}")
    print(f"\n{'':20}{'wall s':>7}{'CPU s':>7}{'packets/s':>11}{'calls/s':>8}{'peak RSS':>10}"
          f"{'wall/tshark':>12}{'CPU/tshark':>11}{'RSS/tshark':>11}")
    rows: list[tuple[str, dict[str, Any] | None]] = [
        ("tshark -z sip,stat", tshark), ("core (no DB)", core), ("core, first half", half),
        ("ingest → SQLite", ingest), ("ingest, rotated", results.get("rotated"))]
    for label, row in rows:
        if row is None:
            continue
        packets = row.get("packets", core["packets"])
        calls = row.get("calls", core["calls"])
        seconds = row["seconds"]
        vs_time = vs_cpu = vs_rss = "-"
        if tshark is not None and row is not half:  # half a file against a whole one: no
            vs_time = f"{seconds / tshark['seconds']:.2f}"
            vs_cpu = f"{row['cpu_seconds'] / tshark['cpu_seconds']:.2f}"
            vs_rss = f"{row['peak_rss_kb'] / tshark['peak_rss_kb']:.3f}"
        print(f"{label:20}{seconds:7.1f}{row['cpu_seconds']:7.1f}{packets / seconds:11,.0f}"
              f"{calls / seconds:8,.0f}{mib(row['peak_rss_kb']):>10}{vs_time:>12}{vs_cpu:>11}"
              f"{vs_rss:>11}")
    print("  wall, CPU: tshark's whole run; ours the packet loop (child wall incl. start-up: core "
          f"{core['wall']:.1f} s, ingest {ingest['wall']:.1f} s). Peak RSS: each child's "
          f"ru_maxrss. Ingest stored {ingest['added']:,} calls, database "
          f"{ingest['database_bytes'] / 1e6:.1f} MB.")
    rotated = results.get("rotated")
    if rotated is not None:
        print(f"  rotated: {rotated['files']} files one per command; each carried the calls "
              f"still going on to the next (at most {rotated['most_open']} at a cut, carry at "
              f"most {rotated['biggest_carry'] / 1024:,.0f} KiB compressed, "
              f"{rotated['carried_packets']:,} packets replayed in all); calls found "
              f"{rotated['calls']:,} against {ingest['calls']:,} from the whole file.")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls in the generated day")
    parser.add_argument("--capture", type=Path, help="use this capture instead of generating")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--talk-seconds", type=float, default=20.0)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--no-tshark", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each measurement this often and keep the fastest")
    parser.add_argument("--profile", action="store_true", help="also cProfile the core")
    parser.add_argument("--profile-packets", type=int, default=1_000_000)
    parser.add_argument("--rotate", type=int, default=100_000, metavar="PACKETS",
                        help="also cut the day into files of this many packets (editcap -c) "
                             "and ingest them one per command; 0: do not")
    parser.add_argument("--child", choices=("core", "ingest", "rotated", "profile"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--expected-packets", type=int, default=1 << 22, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    with tempfile.TemporaryDirectory(prefix="etykieta-bench-") as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        capture = args.capture or make_capture(folder, args.calls, args.seed, args.talk_seconds)
        run_benchmark(args, capture, folder)


def run_benchmark(args: argparse.Namespace, capture: Path, folder: Path) -> None:
    config = capture.with_suffix(".toml")
    if not config.exists():
        config = LAB_CONFIG
    expected_file = capture.with_suffix(".expected.json")
    expected = json.loads(expected_file.read_text()) if expected_file.exists() else None
    packets = expected["packets"]["total"] if expected else None
    results: dict[str, dict[str, Any]] = {}
    if not args.no_tshark:
        print("tshark …", flush=True)
        results["tshark"] = measure_tshark(capture, args.repeat)
    print("core …", flush=True)
    hint = ("--expected-packets", str(packets)) if packets else ()
    results["core"] = measure_child("core", capture, config, *hint, repeat=args.repeat)
    half = results["core"]["packets"] // 2
    print("core, first half …", flush=True)
    results["core_half"] = measure_child("core", capture, config, "--limit", str(half))
    print("ingest …", flush=True)
    database = folder / "bench.db"
    results["ingest"] = measure_child("ingest", capture, config, "--database", str(database),
                                      repeat=args.repeat)
    print(results["ingest"]["summary"])
    if args.rotate:
        pieces = folder / "rotated"
        pieces.mkdir(exist_ok=True)
        for old in pieces.iterdir():
            old.unlink()
        subprocess.run(["editcap", "-F", "pcap", "-c", str(args.rotate), str(capture),
                        str(pieces / capture.name)], check=True)
        print(f"ingest, {len(list(pieces.iterdir()))} rotated files one per command …",
              flush=True)
        results["rotated"] = measure_child("rotated", pieces, config, "--database",
                                           str(folder / "rotated.db"), repeat=args.repeat)
    if args.profile:
        print(f"\ncProfile of the core, first {args.profile_packets:,} packets:", flush=True)
        out, _, _ = measured(child_command("profile", capture, config,
                                           "--limit", str(args.profile_packets)))
        print(out.rstrip())
    if report(capture, expected, results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
