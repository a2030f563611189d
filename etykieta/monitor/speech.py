"""The speech runner: queued greetings recognised in worker processes, their verdicts stored.

Used by the monitor's speech thread (`SpeechRunner.serve`), ``speech run`` and
``ingest --transcribe`` (`SpeechRunner.run`). The queue is in the database
(`etykieta.storage.speech_queue`): jobs are claimed there, their windows trimmed to their
speech (`etykieta.speech.engine.jobs`) and sent to a :class:`RecognitionPool` (a Vosk crash
costs one job, not the service), and the verdict of :func:`check_greeting` — or, for a closing
window, whether "dziękuję" was said (T10) — is stored there. This is where the wall clock
stamps a verdict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ..clock import utc_now
from ..config import Settings
from ..speech.engine.jobs import closing_job, recognition_job
from ..speech.engine.model_conf import model_problem
from ..speech.engine.workers import RecognitionJob, RecognitionOutcome, RecognitionPool
from ..speech.greeting.gate import (
    RECOGNITION_FAILED_PREFIX,
    Cause,
    expected_phrases,
    not_checked,
)
from ..speech.greeting.transcript import Transcript
from ..speech.greeting.verdict import GreetingResult, check_greeting, closing_thanked
from ..storage.speech_queue import (
    CALL,
    CLOSING,
    ClaimedJob,
    claim_jobs,
    claimed_audio,
    complete_thanks,
    finish_job,
    release_running,
    store_greeting,
    unfinished_jobs,
)
from ..telephony.numbers import Directory

BATCH_JOBS = 16
IDLE_POLL_S = 1.0
"""How often an idle monitor looks at the queue when nobody wakes it."""


@dataclass(slots=True)
class RunSummary:
    judged: int = 0
    failed: int = 0
    closings: int = 0
    """Closing windows checked for T10 (live calls; a stored call's closing is in its job)."""

    def line(self) -> str:
        text = f"speech: {self.judged} greetings judged"
        if self.closings:
            text += f", {self.closings} closings checked"
        return text + f", {self.failed} recognition jobs failed"


PoolFactory = Callable[..., RecognitionPool]


class SpeechRunner:
    """Drains the speech job queue (``speech run``, ``ingest --transcribe``, the monitor).

    Opening windows come first (a supervisor waits for those), then stored calls, then
    closing windows, which only complete a greeting already judged.
    """

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *,
                 directory: Directory | None = None,
                 pool_factory: PoolFactory = RecognitionPool,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.sessions = sessions
        self.directory = directory or Directory(settings)
        self.pool_factory = pool_factory
        self.clock = clock
        """When a verdict is stored (``checked_at``, the job's ``finished_at``)."""

    def pending(self) -> int:
        with self.sessions.begin() as session:
            return unfinished_jobs(session)

    def run(self, limit: int | None = None) -> RunSummary:
        """Judge queued greetings; jobs left ``running`` by a crash are taken up again."""
        summary = RunSummary()
        with self._pool() as pool:
            while limit is None or summary.judged + summary.failed < limit:
                size = BATCH_JOBS if limit is None else min(
                    BATCH_JOBS, limit - summary.judged - summary.failed)
                if not self.run_batch(pool, size, summary):
                    break
        return summary

    def serve(self, finish: threading.Event, halt: threading.Event, wake: threading.Event,
              summary: RunSummary | None = None) -> RunSummary:
        """Judge jobs as they are queued (the monitor's speech thread).

        Returns once ``finish`` is set and the queue is empty, or as soon as the jobs in hand
        are done once ``halt`` is set (what is left stays queued for the next start). ``wake``
        is set by whoever queues a job; without it the queue is looked at every
        `IDLE_POLL_S`. A job is claimed only when a worker is free for it, so a new opening
        window waits for no more than the jobs already running.
        """
        summary = summary if summary is not None else RunSummary()
        with self._pool() as pool:
            while not halt.is_set():
                wake.clear()
                if self._run_as_claimed(pool, summary, halt):
                    continue
                if finish.is_set():
                    break
                wake.wait(IDLE_POLL_S)
        return summary

    def run_batch(self, pool: RecognitionPool, size: int, summary: RunSummary) -> int:
        """Claim up to ``size`` jobs, recognise them, store the verdicts; how many were run."""
        batch = self._claim(size)
        if batch:
            outcomes = {o.job_id: o for o in pool.run(self._jobs(batch))}
            for job_id, claimed in batch.items():
                self._store(job_id, claimed, outcomes.get(job_id), summary)
        return len(batch)

    def _run_as_claimed(self, pool: RecognitionPool, summary: RunSummary,
                        halt: threading.Event) -> int:
        """Recognise queued jobs, claiming the most urgent one whenever a worker is free,
        until the queue is empty (or ``halt``); how many were run."""
        claimed: dict[int, ClaimedJob] = {}

        def most_urgent() -> Iterator[RecognitionJob]:
            while not halt.is_set():
                batch = self._claim(1)
                if not batch:
                    return
                claimed.update(batch)
                yield from list(self._jobs(batch))  # read in one short transaction

        done = 0
        for outcome in pool.run(most_urgent()):
            job_id = int(outcome.job_id)
            self._store(job_id, claimed.pop(job_id), outcome, summary)
            done += 1
        for job_id, left in claimed.items():  # no audio to send: failed, "no outcome"
            self._store(job_id, left, None, summary)
            done += 1
        return done

    def _pool(self) -> RecognitionPool:
        """The worker pool, after putting back jobs a crash left ``running``."""
        with self.sessions.begin() as session:
            release_running(session)
        problem = model_problem(self.settings)
        if problem is not None:
            raise FileNotFoundError(problem)
        speech = self.settings.speech
        assert speech.model_path is not None
        if speech.recognizer_calls == 1:
            return self.pool_factory(speech.model_path, speech.workers)
        return self.pool_factory(speech.model_path, speech.workers,
                                 recognizer_calls=speech.recognizer_calls)

    def _claim(self, size: int) -> dict[int, ClaimedJob]:
        with self.sessions.begin() as session:
            return claim_jobs(session, size)

    def _jobs(self, batch: dict[int, ClaimedJob]) -> Iterator[RecognitionJob]:
        with self.sessions.begin() as session:
            for audio in claimed_audio(session, batch):
                claimed = batch[audio.job_id]
                if claimed.kind == CLOSING:
                    if audio.closing is not None:
                        yield closing_job(audio.job_id, audio.closing, audio.sample_rate)
                    continue
                if audio.opening is None:
                    continue  # judged as failed: "no outcome"
                phrases = expected_phrases(self.settings, self.directory, claimed.extension)
                closing = audio.closing if claimed.kind == CALL else None
                yield recognition_job(audio.job_id, audio.opening, closing, audio.sample_rate,
                                      phrases)

    def _store(self, job_id: int, claimed: ClaimedJob, outcome: RecognitionOutcome | None,
               summary: RunSummary) -> None:
        failed = outcome is None or not outcome.ok or outcome.free is None
        error = (outcome.error if outcome is not None else "no outcome") if failed else None
        if failed:
            summary.failed += 1
        elif claimed.kind == CLOSING:
            summary.closings += 1
        else:
            summary.judged += 1
        now = self.clock()
        with self.sessions.begin() as session:
            job = finish_job(session, job_id, failed=failed, error=error,
                             keep_audio=self.settings.speech.keep_audio, finished_at=now)
            if claimed.kind == CLOSING:
                heard = None if failed or outcome is None else outcome.free
                complete_thanks(session, job, heard,
                                closing_thanked(heard) if heard is not None else None)
                return
            result, grammar = self._verdict(claimed, None if failed else outcome, error)
            store_greeting(session, job, result, grammar=grammar, checked_at=now)

    def _verdict(self, claimed: ClaimedJob, outcome: RecognitionOutcome | None,
                 error: str | None) -> tuple[GreetingResult, Transcript | None]:
        """The verdict on what was recognised (``outcome``, None if it failed with ``error``)."""
        if outcome is None:
            return not_checked(f"{RECOGNITION_FAILED_PREFIX}{error}",
                               Cause.RECOGNITION_FAILED), None
        assert outcome.free is not None
        extension = claimed.extension
        result = check_greeting(
            outcome.free, outcome.grammar,
            staff=self.directory.staff_at(extension) if extension else None,
            unit=self.directory.unit_of(extension) if extension else None,
            organisation=self.settings.organisation.name,
            settings=self.settings.greeting, closing=outcome.closing)
        return result, outcome.grammar
