"""Greetings judged after the fact: calls stored ``not_checked`` get their audio read again.

A call ingested while no model was configured (or whose recognition failed) has no audio left in
the database, only where it was (``call_media``, ``captures``). `requeue` reads the windows of
all such calls from their capture files — each file once, for every call it holds — and queues
them as ordinary ``call`` speech jobs, which `SpeechRunner` judges like any other. The old
``not_checked`` greeting stays until a verdict replaces it; a call whose audio cannot be had
(its file is gone, or only the live monitor heard it) gets a new ``not_checked`` reason
instead, with its `Cause`, so it is not tried again by ``speech run``.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..storage.models import Call, CallMedia, Greeting, SpeechJob
from ..storage.repository import in_period
from ..storage.speech_queue import CALL, greeting_row, not_checked_for, queue_job
from .audio.collector import CallAudio
from .greeting.gate import Cause, audio_verdict, not_checked
from .greeting.verdict import GreetingResult
from .reread import (
    FilePlan,
    ReadRequest,
    ReadResult,
    call_windows,
    captures_near,
    gone_text,
    plan_files,
    read_requests,
    request_for,
)

STORE_BATCH = 50
"""Calls stored per transaction: a crash loses at most these reads, never a greeting."""


@dataclass(slots=True)
class RequeueSummary:
    """What a requeue did, as ``speech run`` and ``speech requeue`` print it."""

    found: int = 0
    """Greetings not_checked for a cause asked for."""
    queued: int = 0
    decided: int = 0
    """The audio read again decided the verdict by itself (silent, no audio, codec)."""
    files_read: int = 0
    gone: Counter[str] = field(default_factory=Counter)
    """Path of a capture file that is gone → calls it held."""
    unreadable: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Path → (why it cannot be read, calls it held)."""
    no_rtp: int = 0
    not_kept: int = 0
    seconds: float = 0.0

    def warnings(self) -> list[str]:
        """One line per capture file that is gone (or unreadable), then the calls left."""
        out = [f"speech: capture file {path} is gone: {_stay(n)} not_checked"
               for path, n in sorted(self.gone.items())]
        out += [f"speech: capture file {path} cannot be read ({why}): {_stay(n)} not_checked"
                for path, (why, n) in sorted(self.unreadable.items())]
        if self.no_rtp:
            out.append(f"speech: the capture files of {_calls(self.no_rtp)} no longer hold "
                       "their RTP: they stay not_checked")
        if self.not_kept:
            out.append(f"speech: {_calls(self.not_kept)} heard by the live monitor, whose audio "
                       "is not kept: they stay not_checked")
        return out

    def line(self) -> str:
        text = (f"speech: {self.queued} greetings requeued from {self.files_read} capture "
                f"files in {self.seconds:.1f} s")
        if self.decided:
            text += f", {self.decided} decided by the audio alone"
        return text


@dataclass(frozen=True, slots=True)
class _Unchecked:
    """A call whose greeting is to be judged again, and where its audio is."""

    call_pk: int
    greeting_id: int
    reason: str | None
    leg_call_id: str
    plan: FilePlan
    request: ReadRequest | None


def requeue(settings: Settings, sessions: sessionmaker[Session], causes: Iterable[Cause], *,
            since: datetime | None = None, until: datetime | None = None,
            unit: str | None = None) -> RequeueSummary:
    """Queue again the greetings ``not_checked`` for ``causes``, reading their capture files.

    ``since``/``until``/``unit`` select calls as ``etykieta calls`` does. Calls with a job
    queued or running already are left alone.
    """
    started = time.perf_counter()
    summary = RequeueSummary()
    with sessions.begin() as session:
        unchecked = _select(session, settings, set(causes), since, until, unit)
    summary.found = len(unchecked)
    readable = [u for u in unchecked if u.request is not None]
    summary.files_read = len({c.path for u in readable for c in u.plan.files})
    with sessions.begin() as session:
        for item in unchecked:
            if item.request is None:
                _lost(session, item, summary)
    by_key = {u.call_pk: u for u in readable}
    batch: list[tuple[_Unchecked, ReadResult]] = []
    for result in read_requests(u.request for u in readable if u.request is not None):
        batch.append((by_key[result.request.key], result))
        if len(batch) >= STORE_BATCH:
            _store(sessions, batch, summary)
            batch = []
    _store(sessions, batch, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _select(session: Session, settings: Settings, causes: set[Cause], since: datetime | None,
            until: datetime | None, unit: str | None) -> list[_Unchecked]:
    busy = (select(SpeechJob.id).where(SpeechJob.call_pk == Call.id, SpeechJob.kind == CALL,
                                       SpeechJob.status.in_(("queued", "running"))).exists())
    stmt = (select(Call.id, Call.capture_id, Greeting.id, Greeting.reason, CallMedia)
            .join(Greeting, Greeting.call_pk == Call.id)
            .join(CallMedia, CallMedia.call_pk == Call.id)
            .where(not_checked_for(causes), ~busy))
    stmt = in_period(stmt, since=since, until=until, unit=unit)
    rows = session.execute(stmt.order_by(Call.started_at, Call.id)).all()
    if not rows:
        return []
    windows = {call_pk: _judged_windows(media, settings) for call_pk, _, _, _, media in rows}
    captures = captures_near(session, [w for ws in windows.values() for w in ws],
                             {capture_id for _, capture_id, _, _, _ in rows})
    by_id = {c.id: c for c in captures}
    exists = functools.cache(lambda path: Path(path).is_file())
    out = []
    for call_pk, capture_id, greeting_id, reason, media in rows:
        own = by_id.get(capture_id) if capture_id is not None else None
        plan = plan_files(windows[call_pk], own, captures, exists=exists)
        request = (request_for(call_pk, media, windows[call_pk], plan)
                   if plan.readable and media.destination is not None else None)
        out.append(_Unchecked(call_pk, greeting_id, reason, media.leg_call_id, plan, request))
    return out


def _judged_windows(media: CallMedia, settings: Settings) -> tuple[tuple[float, float], ...]:
    windows = call_windows(media, settings)
    return (windows["opening"], windows["closing"])


def _lost(session: Session, item: _Unchecked, summary: RequeueSummary) -> None:
    """A call whose audio cannot be read again: say why in its greeting."""
    plan = item.plan
    if plan.gone:
        for capture in plan.gone:
            summary.gone[capture.path] += 1
        result = not_checked(f"{gone_text(plan)}: its audio cannot be read again",
                             Cause.CAPTURE_GONE)
    else:  # only the live monitor heard it (or no stream was recorded)
        summary.not_kept += 1
        where = gone_text(plan) if not plan.files else "no employee audio stream is recorded"
        reason = f"its audio cannot be read again: {where}, and its audio was not kept"
        result = not_checked(f"{item.reason}; {reason}" if item.reason else reason,
                             Cause.AUDIO_NOT_KEPT)
    _replace_greeting(session, item, result)


def _store(sessions: sessionmaker[Session], batch: list[tuple[_Unchecked, ReadResult]],
           summary: RequeueSummary) -> None:
    if not batch:
        return
    with sessions.begin() as session:
        for item, result in batch:
            if result.failed is not None:
                why = result.error or "unreadable"
                known = summary.unreadable.get(result.failed.path, (why, 0))
                summary.unreadable[result.failed.path] = (known[0], known[1] + 1)
                _replace_greeting(session, item, not_checked(
                    f"capture file {result.failed.path} cannot be read ({why}): its audio "
                    f"cannot be read again", Cause.CAPTURE_GONE))
                continue
            opening, closing = result.windows
            if opening.speech_packets == 0:  # ingest heard speech here: not the same files
                summary.no_rtp += 1
                names = ", ".join(c.path for c in item.plan.files)
                _replace_greeting(session, item, not_checked(
                    f"no RTP of the call in {names}: the capture files no longer hold what "
                    f"was ingested", Cause.NO_RTP_FOUND))
                continue
            audio = CallAudio(item.leg_call_id, result.request.destination,
                              dict(result.request.payload_types), opening, closing)
            verdict = audio_verdict(audio)
            if verdict is not None:
                if _replace_greeting(session, item, verdict):
                    summary.decided += 1
            elif _queue(session, item, audio):
                summary.queued += 1


def _current(session: Session, item: _Unchecked) -> Call | None:
    """The call, if its greeting is still the one selected (nothing judged it meanwhile)."""
    call = session.get(Call, item.call_pk)
    if call is None or call.greeting is None or call.greeting.id != item.greeting_id:
        return None
    return call


def _replace_greeting(session: Session, item: _Unchecked, result: GreetingResult) -> bool:
    call = _current(session, item)
    if call is None:
        return False
    assert call.greeting is not None
    session.delete(call.greeting)
    session.flush()
    call.greeting = greeting_row(result, checked_at=datetime.now(UTC))
    return True


def _queue(session: Session, item: _Unchecked, audio: CallAudio) -> bool:
    """A ``call`` job for the windows read; failed jobs of the call before it are dropped."""
    call = _current(session, item)
    if call is None:
        return False
    session.execute(delete(SpeechJob).where(SpeechJob.call_pk == call.id,
                                            SpeechJob.kind == CALL,
                                            SpeechJob.status == "failed"))
    job = queue_job(audio, created_at=datetime.now(UTC))
    job.call_pk = call.id
    session.add(job)
    return True


def _calls(n: int) -> str:
    return "1 call" if n == 1 else f"{n} calls"


def _stay(n: int) -> str:
    return "the 1 call in it stays" if n == 1 else f"the {n} calls in it stay"

