"""The speech queue in the database: job rows, greeting rows, and the link between a greeting and
its call.

A call whose greeting needs recognition gets a ``SpeechJob`` row holding its windows
(compressed) until judged, so a restart loses nothing: ``call`` (a stored call's two windows),
``opening`` (the live monitor's opening window, queued while the call goes on, ``call_pk`` None
until the call is stored) and ``closing`` (that call's closing window, queued at hang-up for
T10). The runner (`etykieta.monitor.speech`) claims jobs here, has them recognised and stores
the verdict here. A greeting judged while its call went on waits under its answering leg;
`link_live_greetings` (when the call is stored) and `store_greeting` (when the verdict comes
after the call) are the only two places that tie it to its call, both through `_link_greeting`.

Nothing here reads the clock: the time a row is queued, judged or finished is passed in.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ..speech.audio.assembler import RenderedAudio
from ..speech.audio.collector import CallAudio
from ..speech.audio.wav import pcm_samples
from ..speech.greeting.gate import (
    MISSING_MODEL_PREFIX,
    NO_MODEL_REASON,
    RECOGNITION_FAILED_PREFIX,
    REQUEUED_BY_REQUEUE,
    Cause,
    Unchecked,
)
from ..speech.greeting.transcript import Transcript
from ..speech.greeting.verdict import GreetingResult, Verdict
from .models import Call, CallMedia, Greeting, SpeechJob

SAME_ANSWER_S = 0.5
"""Answer times within this are the same answer (they went through float and the database)."""
CALL, OPENING, CLOSING = "call", "opening", "closing"
"""Kinds of speech job (see `SpeechJob`)."""


def pack_pcm(audio: RenderedAudio | None) -> bytes | None:
    return None if audio is None else zlib.compress(audio.pcm.astype("<i2").tobytes(), 6)


def unpack_pcm(blob: bytes) -> bytes:
    return zlib.decompress(blob)


def pcm_of(blob: bytes) -> npt.NDArray[np.int16]:
    """The int16 samples of a stored window."""
    return pcm_samples(unpack_pcm(blob))


# -- rows ---------------------------------------------------------------------------------
def greeting_row(result: GreetingResult, *, checked_at: datetime,
                 grammar: Transcript | None = None) -> Greeting:
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
        checked_at=checked_at)


def live_greeting_row(result: GreetingResult, leg_call_id: str | None,
                      answered_at: datetime | None, *, checked_at: datetime,
                      grammar: Transcript | None = None) -> Greeting:
    """The greeting of a call still going on, under its answering leg until the call is stored."""
    row = greeting_row(result, checked_at=checked_at, grammar=grammar)
    row.thanked = None  # the closing window comes at hang-up
    row.leg_call_id, row.answered_at = leg_call_id, answered_at
    return row


def queue_job(audio: CallAudio, *, created_at: datetime) -> SpeechJob:
    """A queued job holding a stored call's windows (compressed) until it is judged."""
    assert audio.opening is not None
    return SpeechJob(kind=CALL, status="queued", attempts=0,
                     sample_rate=audio.opening.sample_rate, opening=pack_pcm(audio.opening),
                     closing=pack_pcm(audio.closing), created_at=created_at)


def queue_opening(audio: CallAudio, extension: str | None, answered_at: datetime, *,
                  created_at: datetime) -> SpeechJob:
    """The live monitor's job for an opening window, queued while the call goes on."""
    assert audio.opening is not None
    return SpeechJob(kind=OPENING, status="queued", attempts=0, leg_call_id=audio.leg_call_id,
                     answered_at=answered_at, extension=extension,
                     sample_rate=audio.opening.sample_rate, opening=pack_pcm(audio.opening),
                     created_at=created_at)


def queue_closing(closing: RenderedAudio, *, created_at: datetime) -> SpeechJob:
    """The closing window of a call whose opening was judged live (T10's "dziękuję")."""
    return SpeechJob(kind=CLOSING, status="queued", attempts=0, sample_rate=closing.sample_rate,
                     closing=pack_pcm(closing), created_at=created_at)


# -- a greeting and its call ----------------------------------------------------------------
def link_live_greetings(session: Session, leg_call_ids: Iterable[str]) -> int:
    """Tie greetings and jobs judged while their call went on to the call, now it is stored.

    ``leg_call_ids`` are the answering legs of the calls just stored. The opening jobs are
    locked first (``FOR UPDATE`` on PostgreSQL; SQLite has one writer anyway), so a
    recognition worker storing a verdict at the same moment either finishes before — and its
    greeting is linked here — or after, and then finds the call itself (`store_greeting`).
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


def judged_live(session: Session, leg_call_id: str, answered_at: datetime) -> bool:
    """Whether the monitor already queued or judged this leg's opening window."""
    jobs = select(SpeechJob.answered_at).where(SpeechJob.leg_call_id == leg_call_id,
                                               SpeechJob.kind == OPENING)
    greetings = select(Greeting.answered_at).where(Greeting.leg_call_id == leg_call_id)
    times = [*session.scalars(jobs), *session.scalars(greetings)]
    return any(same_answer(at, answered_at) for at in times)


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


# -- greetings judged again (``speech run``, ``speech requeue``) ---------------------------------
def replace_greeting(session: Session, call_pk: int, greeting_id: int, result: GreetingResult,
                     *, checked_at: datetime) -> bool:
    """``result`` is the call's greeting now, unless greeting ``greeting_id`` was replaced
    meanwhile; whether it was stored."""
    call = _still_unchecked(session, call_pk, greeting_id)
    if call is None:
        return False
    assert call.greeting is not None
    session.delete(call.greeting)
    session.flush()
    call.greeting = greeting_row(result, checked_at=checked_at)
    return True


def queue_again(session: Session, call_pk: int, greeting_id: int, audio: CallAudio, *,
                created_at: datetime) -> bool:
    """A ``call`` job for windows read again, unless greeting ``greeting_id`` was replaced
    meanwhile; failed jobs of the call before it are dropped. Whether it was queued."""
    call = _still_unchecked(session, call_pk, greeting_id)
    if call is None:
        return False
    session.execute(delete(SpeechJob).where(SpeechJob.call_pk == call.id,
                                            SpeechJob.kind == CALL,
                                            SpeechJob.status == "failed"))
    job = queue_job(audio, created_at=created_at)
    job.call_pk = call.id
    session.add(job)
    return True


def _still_unchecked(session: Session, call_pk: int, greeting_id: int) -> Call | None:
    """The call, if its greeting is still the one selected (nothing judged it meanwhile)."""
    call = session.get(Call, call_pk)
    if call is None or call.greeting is None or call.greeting.id != greeting_id:
        return None
    return call


# -- the queue as `speech status` shows it --------------------------------------------------
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


# -- what the runner claims and stores ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job marked running, and whose greeting it judges."""

    kind: str
    call_pk: int | None
    extension: str | None
    """The answering extension: the job's own (live), or its stored call's."""


@dataclass(frozen=True, slots=True)
class QueuedAudio:
    """The windows of a claimed job, as 16-bit PCM (None: the job has no such window)."""

    job_id: int
    sample_rate: int
    opening: bytes | None
    closing: bytes | None


def release_running(session: Session) -> None:
    """Put back in the queue the jobs a crash left ``running``."""
    session.execute(update(SpeechJob).where(SpeechJob.status == "running")
                    .values(status="queued"))


def unfinished_jobs(session: Session) -> int:
    """Jobs queued or running."""
    return len(session.scalars(select(SpeechJob.id).where(
        SpeechJob.status.in_(("queued", "running")))).all())


def claim_jobs(session: Session, size: int) -> dict[int, ClaimedJob]:
    """Mark up to ``size`` queued jobs running, most urgent first.

    Opening windows come first (a supervisor waits for those), then stored calls, then closing
    windows; a closing job waits until its call's greeting is there to complete.
    """
    urgency = case((SpeechJob.kind == OPENING, 0), (SpeechJob.kind == CALL, 1), else_=2)
    judged = select(Greeting.id).where(Greeting.call_pk == SpeechJob.call_pk).exists()
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
    return {row[0]: ClaimedJob(row[1], row[2], row[3]) for row in rows}


def claimed_audio(session: Session, job_ids: Iterable[int]) -> Iterator[QueuedAudio]:
    """The windows of the jobs ``job_ids``, one job at a time."""
    for job in session.scalars(select(SpeechJob).where(SpeechJob.id.in_(list(job_ids)))):
        yield QueuedAudio(job.id, job.sample_rate,
                          unpack_pcm(job.opening) if job.opening is not None else None,
                          unpack_pcm(job.closing) if job.closing is not None else None)


def finish_job(session: Session, job_id: int, *, failed: bool, error: str | None,
               keep_audio: bool, finished_at: datetime) -> SpeechJob:
    """Mark a claimed job done or failed (its audio dropped unless kept); the job, locked."""
    # locked as link_live_greetings locks it: the call may be stored right now
    job = session.get_one(SpeechJob, job_id, with_for_update=True)
    job.status = "failed" if failed else "done"
    job.error = error
    job.finished_at = finished_at
    if not keep_audio:
        job.opening = job.closing = None
    return job


def store_greeting(session: Session, job: SpeechJob, result: GreetingResult, *,
                   grammar: Transcript | None, checked_at: datetime) -> None:
    """The verdict of a ``call`` or ``opening`` job: its call's greeting from now on.

    An opening judged while its call goes on waits under its answering leg (replacing what
    was judged there before) and is linked to the call if it was stored meanwhile.
    """
    if job.kind == OPENING:
        row = live_greeting_row(result, job.leg_call_id, job.answered_at,
                                checked_at=checked_at, grammar=grammar)
        stale = select(Greeting).where(Greeting.leg_call_id == job.leg_call_id,
                                       Greeting.call_pk.is_(None))
        for old in session.scalars(stale):
            session.delete(old)
    else:
        row = greeting_row(result, checked_at=checked_at, grammar=grammar)
    call = session.get(Call, job.call_pk) if job.call_pk is not None else None
    if call is not None and call.greeting is not None:
        session.delete(call.greeting)
    session.flush()
    if call is not None:
        call.greeting = row
    else:
        session.add(row)
        session.flush()
        if job.kind == OPENING:  # its call may have been stored meanwhile
            _link_greeting(session, row)


def complete_thanks(session: Session, job: SpeechJob, closing: Transcript | None,
                    thanked: bool | None) -> None:
    """A closing job's result: whether "dziękuję" was said at the end (T10).

    ``closing`` None: the job failed, and the greeting says so instead.
    """
    call = session.get(Call, job.call_pk) if job.call_pk is not None else None
    if call is None or call.greeting is None:
        return
    if closing is None:
        call.greeting.details = {**call.greeting.details,
                                 "closing_error": job.error or "no outcome"}
        return
    call.greeting.thanked = thanked
    call.greeting.details = {**call.greeting.details, "closing": closing.text}
