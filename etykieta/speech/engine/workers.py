"""Recognition in worker processes, so that a crash in Vosk costs one job and not the service.

A malformed grammar segfaults Vosk (docs/field-notes.md), and the capture process must never run it.
`RecognitionPool` starts ``workers`` processes (``spawn`` by default: safe from a threaded
parent), each loading the model once, and hands each one job at a time over its own pipe. Since
every worker holds at most one job, a worker that dies is the job's fault or the machine's: the
job is retried once on a freshly started worker, and if that one dies too the job is reported
failed with the reason ("worker died with SIGSEGV"). A dead worker is always replaced. A worker
that runs past ``job_timeout_s`` is killed and counted the same way.

Each worker keeps its free pass's recognizer for ``recognizer_calls`` jobs (`RecognizerLease`:
faster per call, more memory per worker); grammar passes get a fresh recognizer per job, since
the grammar differs per extension and costs little to start.

The pool is driven by one thread (the monitor's dispatcher, or ``etykieta speech run``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Literal

from ...errors import EtykietaError
from ..greeting.transcript import Transcript
from .recognizer import (
    RecognizerLease,
    Span,
    SpeechUnavailableError,
    VoskEngine,
    Window,
)

MAX_ATTEMPTS = 2
"""A job whose worker dies is run once more on a fresh worker, then reported failed."""
JOB_TIMEOUT_S = 60.0
START_TIMEOUT_S = 120.0
"""Loading a model takes ~1-3 s; this bounds a worker that never reports ready."""
STOP_TIMEOUT_S = 5.0
"""How long `close` waits for a worker to exit before killing it."""

JobId = int | str


@dataclass(frozen=True, slots=True)
class RecognitionJob:
    """One call's audio to recognise: its opening window, 16-bit mono PCM at ``rate``.

    ``free`` asks for free transcription, ``grammar`` (from `VoskEngine.build_grammar`) for the
    directory-biased pass; both may be asked at once. ``raw_grammar`` is passed to Vosk
    unchecked and is accepted only by a pool made with ``unsafe_grammar_for_tests=True``.
    """

    job_id: JobId
    pcm: bytes
    rate: int
    grammar: str | None = None
    free: bool = True
    raw_grammar: str | None = None
    phrases: tuple[str, ...] = ()
    """Expected phrases: the worker builds the grammar from them with its own model's
    vocabulary (so the capture process never needs the model)."""
    spans: tuple[Span, ...] | None = None
    """The parts of ``pcm`` to decode (see `Window`); None decodes all of it."""
    closing: Window | None = None
    """The call's closing window, decoded after the opening by the free pass's recognizer
    (one recognizer per call: its graph cache makes the second window cheap)."""

    def __post_init__(self) -> None:
        if self.closing is not None and not self.free:
            raise ValueError("a closing window is decoded by the free pass: free must be True")


@dataclass(frozen=True, slots=True)
class RecognitionOutcome:
    """The result of a job: its transcripts, or ``error`` saying why there are none."""

    job_id: JobId
    free: Transcript | None
    grammar: Transcript | None
    seconds: float
    """Worker time spent on the job's last attempt (0 if the worker died before answering)."""
    error: str | None
    attempts: int
    closing: Transcript | None = None
    """The free transcript of the job's closing window, if it had one."""
    recognizer_call: int = 0
    """Which call the job's free pass was on its worker's recognizer: 1 on a fresh one, up to
    the pool's ``recognizer_calls``; 0 when the free pass decoded nothing."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class _Attempt:
    job: RecognitionJob
    attempts: int = 0


@dataclass(slots=True, eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    since: float
    """When it was started (while loading) or given its current job."""
    ready: bool = False
    running: _Attempt | None = None
    reserved: _Attempt | None = None
    """A retry kept for this fresh worker: it runs that job before any other."""


@dataclass(slots=True)
class _Run:
    pending: deque[_Attempt] = field(default_factory=deque)
    outcomes: list[RecognitionOutcome] = field(default_factory=list)
    closing: bool = False
    """The caller stopped iterating: running jobs are waited for, not retried."""


class RecognitionPool:
    """Worker processes, each holding a loaded model; use as a context manager.

    ``start`` (or entering the context) waits until the workers have loaded the model and
    raises `SpeechUnavailableError` if none could. Not thread-safe: drive it from one thread.
    """

    def __init__(
        self,
        model_path: str | Path,
        workers: int,
        *,
        job_timeout_s: float = JOB_TIMEOUT_S,
        start_timeout_s: float = START_TIMEOUT_S,
        recognizer_calls: int = 1,
        context: Literal["spawn", "forkserver"] = "spawn",
        unsafe_grammar_for_tests: bool = False,
    ) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {workers}")
        if recognizer_calls < 1:
            raise ValueError(f"a recognizer decodes at least one call, got {recognizer_calls}")
        self.model_path = str(model_path)
        self.size = workers
        self.recognizer_calls = recognizer_calls
        """Jobs a worker's free-pass recognizer decodes before a fresh one replaces it."""
        self.job_timeout_s = job_timeout_s
        self.start_timeout_s = start_timeout_s
        self.unsafe_grammar_for_tests = unsafe_grammar_for_tests
        self._context = (
            multiprocessing.get_context("forkserver")
            if context == "forkserver"
            else multiprocessing.get_context("spawn")
        )
        self._workers: list[_Worker] = []
        self._unavailable: str | None = None
        self._run: _Run | None = None
        self.replaced = 0
        """Workers started to replace ones that died or were killed."""

    def __enter__(self) -> RecognitionPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def start(self) -> None:
        """Start the workers and wait until each has loaded the model or failed to."""
        if self._workers:
            return
        for _ in range(self.size):
            self._spawn()
        while any(not w.ready for w in self._workers):
            self._step(_Run())
        if not self._workers:
            raise SpeechUnavailableError(self._unavailable or "no recognition worker could start")

    def submit(self, job: RecognitionJob) -> RecognitionOutcome:
        """Recognise one job and return its outcome."""
        return next(self.run([job]))

    def run(self, jobs: Iterable[RecognitionJob]) -> Iterator[RecognitionOutcome]:
        """Recognise ``jobs``, yielding one outcome per job as each finishes (any order).

        ``jobs`` is drawn from lazily, one job per idle worker, so a generator can pick the
        most urgent job at the moment a worker frees up (the monitor's queue does). Leaving
        the iteration early waits for the jobs already running and drops the rest.
        """
        if self._run is not None:
            raise RuntimeError("RecognitionPool.run is already iterating; the pool is not shared")
        source = iter(jobs)
        first = next(source, None)
        if first is None:
            return
        run = _Run(deque([_Attempt(self._checked(first))]))  # a bad job fails before any start
        self.start()
        self._run = run
        waiting = 1  # drawn from ``jobs`` and not yet yielded
        exhausted = False
        try:
            while True:
                while not exhausted and len(run.pending) < max(1, self._idle()):
                    job = next(source, None)
                    if job is None:
                        exhausted = True
                    else:
                        run.pending.append(_Attempt(self._checked(job)))
                        waiting += 1
                if exhausted and not waiting:
                    return
                if not self._workers:  # every job left fails, with the reason
                    for job in source:
                        run.pending.append(_Attempt(self._checked(job)))
                        waiting += 1
                    exhausted = True
                    self._fail_pending(run, self._unavailable or "no recognition worker is left")
                else:
                    self._dispatch(run)
                    self._step(run)
                while run.outcomes:
                    waiting -= 1
                    yield run.outcomes.pop(0)
        finally:
            run.closing = True
            run.pending.clear()
            for worker in self._workers:
                worker.reserved = None
            while any(w.running for w in self._workers):
                self._step(run)
            self._run = None

    def _idle(self) -> int:
        """Workers ready for a job now (not running one, not keeping a retry)."""
        return sum(w.ready and w.running is None and w.reserved is None for w in self._workers)

    def close(self) -> None:
        """Stop every worker: ask politely, kill after `STOP_TIMEOUT_S`; reap them all."""
        workers, self._workers = self._workers, []
        for worker in workers:
            with contextlib.suppress(OSError):  # already gone: join below reaps it
                worker.conn.send(None)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()

    def _checked(self, job: RecognitionJob) -> RecognitionJob:
        if job.raw_grammar is not None and not self.unsafe_grammar_for_tests:
            raise ValueError(
                "raw_grammar bypasses grammar validation and can crash a worker; "
                "it is accepted only with unsafe_grammar_for_tests=True"
            )
        return job

    def _spawn(self, reserved: _Attempt | None = None) -> None:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(self.model_path, child_end, self.recognizer_calls, self.unsafe_grammar_for_tests),
            name="etykieta-recognition",
            daemon=True,
        )
        process.start()
        child_end.close()
        self._workers.append(_Worker(process, parent_end, time.monotonic(), reserved=reserved))

    def _dispatch(self, run: _Run) -> None:
        for worker in self._workers:
            if not worker.ready or worker.running is not None:
                continue
            attempt = worker.reserved or (run.pending.popleft() if run.pending else None)
            if attempt is None:
                continue
            worker.reserved = None
            attempt.attempts += 1
            worker.running = attempt
            worker.since = time.monotonic()
            with contextlib.suppress(OSError):  # it died: _step sees its sentinel
                worker.conn.send(attempt.job)

    def _step(self, run: _Run) -> None:
        """Wait for one event (a message, a death, a deadline) and handle what happened."""
        now = time.monotonic()
        deadlines = [w.since + self._limit(w) for w in self._workers if self._limit(w)]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        watched: list[Connection | int] = []
        for worker in self._workers:
            watched += [worker.conn, worker.process.sentinel]
        ready = set(wait(watched, timeout))
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.conn in ready:
                self._receive(worker, run)
            elif worker.process.sentinel in ready:
                self._lost(worker, run)
            elif self._limit(worker) and now >= worker.since + self._limit(worker):
                worker.process.kill()
                what = "loading the model" if not worker.ready else "a job"
                self._lost(worker, run, f"worker killed after {self._limit(worker):g} s on {what}")

    def _limit(self, worker: _Worker) -> float:
        if not worker.ready:
            return self.start_timeout_s
        return self.job_timeout_s if worker.running is not None else 0.0

    def _receive(self, worker: _Worker, run: _Run) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, ConnectionError):
            self._lost(worker, run)
            return
        if isinstance(message, _Ready):
            worker.ready = True
        elif isinstance(message, _Unavailable):
            self._remove(worker)
            self._not_started(worker, run, message.reason)
        elif isinstance(message, _Finished) and worker.running is not None:
            attempt, worker.running = worker.running, None
            run.outcomes.append(
                RecognitionOutcome(
                    job_id=attempt.job.job_id,
                    free=message.free,
                    grammar=message.grammar,
                    seconds=message.seconds,
                    error=message.error,
                    attempts=attempt.attempts,
                    closing=message.closing,
                    recognizer_call=message.recognizer_call,
                )
            )

    def _lost(self, worker: _Worker, run: _Run, reason: str | None = None) -> None:
        """A worker died or was killed: reap it, replace it, and retry or fail its job.

        Without a ``reason`` it is read from the exit status, once the process is reaped.
        """
        self._remove(worker)
        reason = reason or _death_reason(worker.process)
        if not worker.ready:
            self._not_started(worker, run, f"recognition worker failed to start: {reason}")
            return
        attempt = worker.running
        if attempt is not None and (attempt.attempts >= MAX_ATTEMPTS or run.closing):
            run.outcomes.append(_failed(attempt, reason))
            attempt = None
        self.replaced += 1
        self._spawn(reserved=attempt)

    def _not_started(self, worker: _Worker, run: _Run, reason: str) -> None:
        """A worker never loaded the model: the model or the machine is at fault, not a job.

        It is not replaced (that could loop for ever); a retry it was keeping goes back to the
        queue, and `run` fails the queue if no worker is left.
        """
        self._unavailable = reason
        if worker.reserved is not None:
            run.pending.appendleft(worker.reserved)

    def _remove(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        worker.process.join(STOP_TIMEOUT_S)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()

    def _fail_pending(self, run: _Run, reason: str) -> None:
        while run.pending:
            run.outcomes.append(_failed(run.pending.popleft(), reason))


def _failed(attempt: _Attempt, reason: str) -> RecognitionOutcome:
    return RecognitionOutcome(attempt.job.job_id, None, None, 0.0, reason, attempt.attempts)


def _death_reason(process: BaseProcess) -> str:
    code = process.exitcode
    if code is None:
        return "worker stopped answering"
    if code < 0:
        try:
            return f"worker died with {signal.Signals(-code).name}"
        except ValueError:
            return f"worker died with signal {-code}"
    return f"worker exited with code {code}"


# Messages from a worker to the pool.


@dataclass(frozen=True, slots=True)
class _Ready:
    load_s: float


@dataclass(frozen=True, slots=True)
class _Unavailable:
    reason: str


@dataclass(frozen=True, slots=True)
class _Finished:
    free: Transcript | None
    grammar: Transcript | None
    seconds: float
    error: str | None
    closing: Transcript | None = None
    recognizer_call: int = 0


def _worker_main(
    model_path: str, conn: Connection, recognizer_calls: int, allow_raw_grammar: bool
) -> None:
    """A worker process: load the model, then answer jobs until told to stop (None) or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        engine = VoskEngine.load(model_path)
    except SpeechUnavailableError as exc:
        conn.send(_Unavailable(exc.reason))
        return
    conn.send(_Ready(engine.load_s))
    with engine.lease(recognizer_calls) as lease:
        while True:
            try:
                job = conn.recv()
            except EOFError:
                return
            if job is None:
                return
            conn.send(_recognise(lease, job, allow_raw_grammar))


def _grammar_or_none(engine: VoskEngine, phrases: tuple[str, ...]) -> str | None:
    """The grammar of ``phrases``, or None when the model knows none of their words."""
    try:
        return engine.build_grammar(phrases)
    except ValueError:
        return None


def _recognise(lease: RecognizerLease, job: RecognitionJob, allow_raw_grammar: bool) -> _Finished:
    """Run ``job``'s passes: the free one on the worker's kept recognizer, grammar ones fresh."""
    started = time.perf_counter()
    engine = lease.engine
    opening = Window(job.pcm, job.rate, job.spans)
    free = grammar = closing = None
    recognizer_call = 0
    try:
        if job.free:
            windows = [opening] if job.closing is None else [opening, job.closing]
            free, *rest = lease.transcribe_windows(windows)
            closing = rest[0] if rest else None
            recognizer_call = lease.last_call
        if job.raw_grammar is not None and allow_raw_grammar:
            grammar = engine.transcribe_unvalidated(job.pcm, job.rate, grammar=job.raw_grammar)
        elif job.grammar is not None:
            grammar = engine.transcribe_windows([opening], grammar=job.grammar)[0]
        elif job.phrases:
            built = _grammar_or_none(engine, job.phrases)
            if built is not None:
                grammar = engine.transcribe_windows([opening], grammar=built)[0]
    except (ValueError, EtykietaError) as exc:  # bad input: this job fails, the worker lives on
        return _Finished(None, None, time.perf_counter() - started, str(exc))
    return _Finished(free, grammar, time.perf_counter() - started, None, closing, recognizer_call)
