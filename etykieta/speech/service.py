"""The greeting check as a job: decide what the audio alone can, queue the rest, judge, store.

For every answered inbound or internal call (the employee answered, T1):

1. ``audio_verdict`` decides ``no_audio``, ``unsupported_codec`` and ``silent`` from the audio
   itself, with or without a model;
2. otherwise the call gets a ``SpeechJob`` row holding its two windows until judged (the queue
   lives in the database, so a restart loses nothing), or ``not_checked`` with the reason when
   no model is configured — and the `Cause` in ``Greeting.details["cause"]``, so ``speech run``
   can queue it later, reading its audio again from the capture files (`etykieta.speech.requeue`);
3. ``SpeechRunner`` drains the queue through a :class:`RecognitionPool` (worker processes: a
   Vosk crash costs one job) and stores the verdict of :func:`check_greeting`.

Recognition is the costly part (benchmarks/speech.py), so a job asks only for what can change
the verdict: the speech of the opening window (`speech_spans`) and the last speech of the
closing window (`closing_spans`, none when it is silent), both through one recognizer.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..config import Directory, Settings
from ..storage.models import Call, CallMedia, Greeting, SpeechJob
from .audio.assembler import RenderedAudio
from .audio.collector import CallAudio
from .audio.wav import pcm_samples
from .engine.jobs import closing_job, recognition_job
from .engine.model_conf import model_problem
from .engine.workers import RecognitionJob, RecognitionOutcome, RecognitionPool
from .greeting.gate import (
    MISSING_MODEL_PREFIX,
    NO_MODEL_REASON,
    RECOGNITION_FAILED_PREFIX,
    REQUEUED_BY_REQUEUE,
    Cause,
    Unchecked,
    expected_phrases,
    not_checked,
)
from .greeting.transcript import Transcript
from .greeting.verdict import GreetingResult, Verdict, check_greeting, closing_thanked

log = logging.getLogger(__name__)
BATCH_JOBS = 16
IDLE_POLL_S = 1.0
"""How often an idle monitor looks at the queue when nobody wakes it."""
SAME_ANSWER_S = 0.5
"""Answer times within this are the same answer (they went through float and the database)."""
CALL, OPENING, CLOSING = "call", "opening", "closing"
"""Kinds of speech job (see `SpeechJob`)."""


def not_checked_for(causes: Iterable[Cause]) -> ColumnElement[bool]:
    """SQL: the greeting is ``not_checked`` for one of ``causes``.

    Rows stored before the cause was recorded are known by their reason's text.
    """
    wanted = sorted(causes)
    marked = Greeting.details["cause"].as_string()
    by_text: list[ColumnElement[bool]] = []
    if Cause.NO_MODEL in wanted:
        by_text += [Greeting.reason == NO_MODEL_REASON,
                    Greeting.reason.like(MISSING_MODEL_PREFIX + "%")]
    if Cause.RECOGNITION_FAILED in wanted:
        by_text.append(Greeting.reason.like(RECOGNITION_FAILED_PREFIX + "%"))
    unmarked = and_(marked.is_(None), or_(*by_text)) if by_text else None
    matches = marked.in_([c.value for c in wanted])
    return and_(Greeting.verdict == Verdict.NOT_CHECKED.value,
                matches if unmarked is None else or_(matches, unmarked))


def pack_pcm(audio: RenderedAudio | None) -> bytes | None:
    return None if audio is None else zlib.compress(audio.pcm.astype("<i2").tobytes(), 6)


def unpack_pcm(blob: bytes) -> bytes:
    return zlib.decompress(blob)


def greeting_row(result: GreetingResult, *, grammar: Transcript | None = None) -> Greeting:
    data = result.to_dict()
    details: dict[str, Any] = {"elements": data.get("elements"), "mean_conf": result.mean_conf}
    if isinstance(result, Unchecked):
        details["cause"] = result.cause.value
    return Greeting(
        verdict=result.verdict.value, reason=result.reason,
        missing=[m.value for m in result.missing], transcript=result.transcript or None,
        grammar_transcript=grammar.text if grammar is not None else None,
        first_word_s=result.first_word_s, syllables_per_s=result.syllables_per_s,
        too_fast=result.too_fast, casual_words=list(result.casual_words),
        thanked=result.thanked, order_ok=result.order_ok,
        details=details,
        checked_at=datetime.now(UTC))


def queue_job(audio: CallAudio) -> SpeechJob:
    """A queued job holding a stored call's windows (compressed) until it is judged."""
    assert audio.opening is not None
    return SpeechJob(kind=CALL, status="queued", attempts=0,
                     sample_rate=audio.opening.sample_rate, opening=pack_pcm(audio.opening),
                     closing=pack_pcm(audio.closing), created_at=datetime.now(UTC))


def queue_opening(audio: CallAudio, extension: str | None, answered_at: datetime
                  ) -> SpeechJob:
    """The live monitor's job for an opening window, queued while the call goes on."""
    assert audio.opening is not None
    return SpeechJob(kind=OPENING, status="queued", attempts=0, leg_call_id=audio.leg_call_id,
                     answered_at=answered_at, extension=extension,
                     sample_rate=audio.opening.sample_rate, opening=pack_pcm(audio.opening),
                     created_at=datetime.now(UTC))


def queue_closing(closing: RenderedAudio) -> SpeechJob:
    """The closing window of a call whose opening was judged live (T10's "dziękuję")."""
    return SpeechJob(kind=CLOSING, status="queued", attempts=0, sample_rate=closing.sample_rate,
                     closing=pack_pcm(closing), created_at=datetime.now(UTC))


def link_live_greetings(session: Session, leg_call_ids: Iterable[str]) -> int:
    """Tie greetings and jobs judged while their call went on to the call, now it is stored.

    ``leg_call_ids`` are the answering legs of the calls just stored. The opening jobs are
    locked first (``FOR UPDATE`` on PostgreSQL; SQLite has one writer anyway), so a
    recognition worker storing a verdict at the same moment either finishes before — and its
    greeting is linked here — or after, and then finds the call itself (`SpeechRunner`).
    """
    legs = list(leg_call_ids)
    if not legs:
        return 0
    jobs = session.scalars(select(SpeechJob).where(
        SpeechJob.leg_call_id.in_(legs), SpeechJob.kind == OPENING,
        SpeechJob.call_pk.is_(None)).with_for_update()).all()
    for job in jobs:
        job.call_pk = stored_call(session, job.leg_call_id, job.answered_at)
    linked = 0
    for greeting in session.scalars(select(Greeting).where(
            Greeting.leg_call_id.in_(legs), Greeting.call_pk.is_(None))).all():
        linked += _link_greeting(session, greeting)
    session.flush()
    return linked


def _link_greeting(session: Session, greeting: Greeting) -> int:
    """Give a live greeting its stored call, unless that call has one; 1 if linked."""
    call_pk = stored_call(session, greeting.leg_call_id, greeting.answered_at)
    if call_pk is None or session.scalar(
            select(Greeting.id).where(Greeting.call_pk == call_pk)) is not None:
        return 0
    greeting.call_pk = call_pk
    return 1


def same_answer(one: datetime | None, other: datetime) -> bool:
    """Whether two stored answer times are the same answer (see `SAME_ANSWER_S`)."""
    return one is not None and abs((one - other).total_seconds()) < SAME_ANSWER_S


def stored_call(session: Session, leg_call_id: str | None, answered_at: datetime | None
                ) -> int | None:
    """The stored call whose answering leg is ``leg_call_id``, answered at ``answered_at``."""
    if leg_call_id is None:
        return None
    rows = session.execute(select(CallMedia.call_pk, CallMedia.answered_at)
                           .where(CallMedia.leg_call_id == leg_call_id)).all()
    for call_pk, at in rows:  # a Call-ID may come back (a re-used one): the answer tells
        if answered_at is None or same_answer(at, answered_at):
            return int(call_pk)
    return None


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The speech queue as ``etykieta speech status`` shows it."""

    counts: dict[tuple[str, str], int]
    """(kind, status) → jobs."""
    failures: tuple[tuple[str, str], ...]
    """(Call-ID or answering leg, error) of the newest failed jobs."""
    waiting_for_call: int
    """Greetings judged while their call went on whose call is not stored (yet)."""
    unchecked: dict[Cause, int] = field(default_factory=dict)
    """Stored calls' greetings ``not_checked`` for a cause a requeue can lift (not queued)."""

    def lines(self) -> list[str]:
        out = []
        for kind in (OPENING, CALL, CLOSING):
            found = {status: n for (k, status), n in self.counts.items() if k == kind}
            if found:
                out.append(f"{kind} jobs: " + ", ".join(
                    f"{found[s]} {s}" for s in ("queued", "running", "done", "failed")
                    if s in found))
        if not out:
            out.append("no speech jobs")
        for who, error in self.failures:
            out.append(f"failed: {who}: {error}")
        if self.waiting_for_call:
            out.append(f"{self.waiting_for_call} greetings judged live wait for their call "
                       "(a call still going on, or one a monitor crash lost with no journal)")
        if self.unchecked.get(Cause.NO_MODEL):
            out.append(f"{self.unchecked[Cause.NO_MODEL]} greetings not checked for lack of a "
                       "model: `etykieta speech run` reads their audio again from the "
                       "capture files and judges them")
        lost = self.unchecked.get(Cause.CAPTURE_GONE, 0) + self.unchecked.get(Cause.NO_RTP_FOUND, 0)
        if lost:
            out.append(f"{lost} greetings not checked: their capture files are gone or no "
                       "longer hold their audio (`etykieta speech requeue` tries again)")
        return out


def queue_status(session: Session, failures: int = 5) -> QueueStatus:
    """Jobs by kind and status, the newest failures, greetings waiting for their call."""
    counts = {(kind, status): int(n) for kind, status, n in session.execute(
        select(SpeechJob.kind, SpeechJob.status, func.count())
        .group_by(SpeechJob.kind, SpeechJob.status))}
    failed = session.execute(
        select(func.coalesce(Call.call_id, SpeechJob.leg_call_id), SpeechJob.error)
        .outerjoin(Call, Call.id == SpeechJob.call_pk).where(SpeechJob.status == "failed")
        .order_by(SpeechJob.id.desc()).limit(failures)).all()
    waiting = session.scalar(select(func.count()).select_from(Greeting)
                             .where(Greeting.call_pk.is_(None))) or 0
    requeued = select(SpeechJob.id).where(SpeechJob.call_pk == Greeting.call_pk,
                                          SpeechJob.status.in_(("queued", "running"))).exists()
    unchecked = {cause: int(session.scalar(
        select(func.count()).select_from(Greeting)
        .where(Greeting.call_pk.is_not(None), not_checked_for([cause]), ~requeued)) or 0)
        for cause in REQUEUED_BY_REQUEUE}
    return QueueStatus(counts, tuple((str(who), str(error)) for who, error in failed),
                       int(waiting), {c: n for c, n in unchecked.items() if n})


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


@dataclass(frozen=True, slots=True)
class _Claimed:
    kind: str
    call_pk: int | None
    extension: str | None


class SpeechRunner:
    """Drains the speech job queue (``speech run``, ``ingest --transcribe``, the monitor).

    Opening windows come first (a supervisor waits for those), then stored calls, then
    closing windows, which only complete a greeting already judged.
    """

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *,
                 directory: Directory | None = None,
                 pool_factory: PoolFactory = RecognitionPool) -> None:
        self.settings = settings
        self.sessions = sessions
        self.directory = directory or Directory(settings)
        self.pool_factory = pool_factory

    def pending(self) -> int:
        with self.sessions.begin() as session:
            return len(session.scalars(select(SpeechJob.id).where(
                SpeechJob.status.in_(("queued", "running")))).all())

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
        claimed: dict[int, _Claimed] = {}

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
            session.execute(update(SpeechJob).where(SpeechJob.status == "running")
                            .values(status="queued"))
        problem = model_problem(self.settings)
        if problem is not None:
            raise FileNotFoundError(problem)
        speech = self.settings.speech
        assert speech.model_path is not None
        if speech.recognizer_calls == 1:
            return self.pool_factory(speech.model_path, speech.workers)
        return self.pool_factory(speech.model_path, speech.workers,
                                 recognizer_calls=speech.recognizer_calls)

    def _claim(self, size: int) -> dict[int, _Claimed]:
        """Mark up to ``size`` queued jobs running, most urgent first.

        A closing job waits until its call's greeting is there to complete.
        """
        urgency = case((SpeechJob.kind == OPENING, 0), (SpeechJob.kind == CALL, 1), else_=2)
        judged = select(Greeting.id).where(Greeting.call_pk == SpeechJob.call_pk).exists()
        with self.sessions.begin() as session:
            rows = session.execute(
                select(SpeechJob.id, SpeechJob.kind, SpeechJob.call_pk,
                       func.coalesce(SpeechJob.extension, Call.answered_by))
                .outerjoin(Call, Call.id == SpeechJob.call_pk)
                .where(SpeechJob.status == "queued", or_(SpeechJob.kind != CLOSING, judged))
                .order_by(urgency, SpeechJob.id).limit(size)).all()
            ids = [row[0] for row in rows]
            if ids:
                session.execute(update(SpeechJob).where(SpeechJob.id.in_(ids))
                                .values(status="running", attempts=SpeechJob.attempts + 1))
            return {row[0]: _Claimed(row[1], row[2], row[3]) for row in rows}

    def _jobs(self, batch: dict[int, _Claimed]) -> Iterator[RecognitionJob]:
        with self.sessions.begin() as session:
            jobs = session.scalars(select(SpeechJob).where(SpeechJob.id.in_(list(batch))))
            for job in jobs:
                claimed = batch[job.id]
                if claimed.kind == CLOSING:
                    if job.closing is not None:
                        yield closing_job(job.id, unpack_pcm(job.closing), job.sample_rate)
                    continue
                if job.opening is None:
                    continue  # judged as failed: "no outcome"
                phrases = expected_phrases(self.settings, self.directory, claimed.extension)
                closing_pcm = (unpack_pcm(job.closing)
                               if job.closing is not None and claimed.kind == CALL else None)
                yield recognition_job(job.id, unpack_pcm(job.opening), closing_pcm,
                                      job.sample_rate, phrases)

    def _store(self, job_id: int, claimed: _Claimed, outcome: RecognitionOutcome | None,
               summary: RunSummary) -> None:
        failed = outcome is None or not outcome.ok or outcome.free is None
        with self.sessions.begin() as session:
            # locked as link_live_greetings locks it: the call may be stored right now
            job = session.get_one(SpeechJob, job_id, with_for_update=True)
            job.status = "failed" if failed else "done"
            job.error = (outcome.error if outcome is not None else "no outcome") if failed else None
            job.finished_at = datetime.now(UTC)
            if not self.settings.speech.keep_audio:
                job.opening = job.closing = None
            if failed:
                summary.failed += 1
            elif claimed.kind == CLOSING:
                summary.closings += 1
            else:
                summary.judged += 1
            if claimed.kind == CLOSING:
                self._complete_thanks(session, job, None if failed else outcome)
                return
            if failed:
                result: GreetingResult = not_checked(
                    f"{RECOGNITION_FAILED_PREFIX}{job.error}", Cause.RECOGNITION_FAILED)
                grammar = None
            else:
                assert outcome is not None and outcome.free is not None
                grammar = outcome.grammar
                extension = claimed.extension
                result = check_greeting(
                    outcome.free, grammar,
                    staff=self.directory.staff_at(extension) if extension else None,
                    unit=self.directory.unit_of(extension) if extension else None,
                    organisation=self.settings.organisation.name,
                    settings=self.settings.greeting, closing=outcome.closing)
            row = greeting_row(result, grammar=grammar)
            if claimed.kind == OPENING:
                row.thanked = None  # the closing window comes at hang-up
                row.leg_call_id, row.answered_at = job.leg_call_id, job.answered_at
                stale = select(Greeting).where(Greeting.leg_call_id == job.leg_call_id,
                                               Greeting.call_pk.is_(None))
                for old in session.scalars(stale):
                    session.delete(old)
            call = session.get(Call, job.call_pk) if job.call_pk is not None else None
            if call is not None and call.greeting is not None:
                session.delete(call.greeting)
            session.flush()
            if call is not None:
                call.greeting = row
            else:
                session.add(row)
                session.flush()
                if claimed.kind == OPENING:  # its call may have been stored meanwhile
                    _link_greeting(session, row)

    def _complete_thanks(self, session: Session, job: SpeechJob,
                         outcome: RecognitionOutcome | None) -> None:
        """A closing job's result: whether "dziękuję" was said at the end (T10)."""
        call = session.get(Call, job.call_pk) if job.call_pk is not None else None
        if call is None or call.greeting is None:
            return
        if outcome is None or outcome.free is None:
            call.greeting.details = {**call.greeting.details,
                                     "closing_error": job.error or "no outcome"}
            return
        call.greeting.thanked = closing_thanked(outcome.free)
        call.greeting.details = {**call.greeting.details, "closing": outcome.free.text}


def pcm_of(blob: bytes) -> np.ndarray[Any, np.dtype[np.int16]]:
    """The int16 samples of a stored window."""
    return pcm_samples(unpack_pcm(blob))

