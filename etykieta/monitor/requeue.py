"""Greetings judged after the fact: calls stored ``not_checked`` get their audio read again.

A call ingested while no model was configured (or whose recognition failed) has no audio left in
the database, only where it was (``call_media``, ``captures``). `requeue` reads the windows of
all such calls from their capture files — each file once, for every call it holds — and queues
them as ordinary ``call`` speech jobs, which `SpeechRunner` judges like any other. Where their
audio is comes from the database (`etykieta.storage.call_audio`), the files are read by
`etykieta.speech.audio.reread`, and what it finds is stored through
`etykieta.storage.speech_queue`. The old
``not_checked`` greeting stays until a verdict replaces it; a call whose audio cannot be had
(its file is gone, or only the live monitor heard it) gets a new ``not_checked`` reason
instead, with its `Cause`, so it is not tried again by ``speech run``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ..clock import utc_now
from ..config import Settings
from ..speech.audio.collector import CallAudio
from ..speech.audio.reread import ReadResult, gone_text, read_requests
from ..speech.greeting.gate import Cause, audio_verdict, not_checked
from ..speech.greeting.verdict import GreetingResult
from ..storage.call_audio import UncheckedGreeting, unchecked_greetings
from ..storage.speech_queue import queue_again, replace_greeting

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


def requeue(settings: Settings, sessions: sessionmaker[Session], causes: Iterable[Cause], *,
            since: datetime | None = None, until: datetime | None = None,
            unit: str | None = None, clock: Callable[[], datetime] = utc_now,
            timer: Callable[[], float] = time.perf_counter) -> RequeueSummary:
    """Queue again the greetings ``not_checked`` for ``causes``, reading their capture files.

    ``since``/``until``/``unit`` select calls as ``etykieta calls`` does. Calls with a job
    queued or running already are left alone. ``clock`` stamps what is stored, ``timer``
    measures how long it took.
    """
    started = timer()
    summary = RequeueSummary()
    store = _Store(sessions, summary, clock)
    with sessions.begin() as session:
        unchecked = unchecked_greetings(session, settings, set(causes), since=since,
                                        until=until, unit=unit)
    summary.found = len(unchecked)
    readable = [u for u in unchecked if u.request is not None]
    summary.files_read = len({c.path for u in readable for c in u.plan.files})
    with sessions.begin() as session:
        for item in unchecked:
            if item.request is None:
                store.lost(session, item)
    by_key = {u.call_pk: u for u in readable}
    batch: list[tuple[UncheckedGreeting, ReadResult]] = []
    for result in read_requests(u.request for u in readable if u.request is not None):
        batch.append((by_key[result.request.key], result))
        if len(batch) >= STORE_BATCH:
            store.read(batch)
            batch = []
    store.read(batch)
    summary.seconds = timer() - started
    return summary


@dataclass(frozen=True, slots=True)
class _Store:
    """What the files said of each greeting, stored and counted."""

    sessions: sessionmaker[Session]
    summary: RequeueSummary
    clock: Callable[[], datetime]

    def lost(self, session: Session, item: UncheckedGreeting) -> None:
        """A call whose audio cannot be read again: say why in its greeting."""
        plan, summary = item.plan, self.summary
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
        self._replace(session, item, result)

    def read(self, batch: list[tuple[UncheckedGreeting, ReadResult]]) -> None:
        """The windows read for a batch of calls: a verdict, a job, or why neither."""
        if not batch:
            return
        summary = self.summary
        with self.sessions.begin() as session:
            for item, result in batch:
                if result.failed is not None:
                    why = result.error or "unreadable"
                    known = summary.unreadable.get(result.failed.path, (why, 0))
                    summary.unreadable[result.failed.path] = (known[0], known[1] + 1)
                    self._replace(session, item, not_checked(
                        f"capture file {result.failed.path} cannot be read ({why}): its audio "
                        f"cannot be read again", Cause.CAPTURE_GONE))
                    continue
                opening, closing = result.windows
                if opening.speech_packets == 0:  # ingest heard speech here: not the same files
                    summary.no_rtp += 1
                    names = ", ".join(c.path for c in item.plan.files)
                    self._replace(session, item, not_checked(
                        f"no RTP of the call in {names}: the capture files no longer hold what "
                        f"was ingested", Cause.NO_RTP_FOUND))
                    continue
                audio = CallAudio(item.leg_call_id, result.request.destination,
                                  dict(result.request.payload_types), opening, closing)
                verdict = audio_verdict(audio)
                if verdict is not None:
                    if self._replace(session, item, verdict):
                        summary.decided += 1
                elif queue_again(session, item.call_pk, item.greeting_id, audio,
                                 created_at=self.clock()):
                    summary.queued += 1

    def _replace(self, session: Session, item: UncheckedGreeting, result: GreetingResult
                 ) -> bool:
        return replace_greeting(session, item.call_pk, item.greeting_id, result,
                                checked_at=self.clock())


def _calls(n: int) -> str:
    return "1 call" if n == 1 else f"{n} calls"


def _stay(n: int) -> str:
    return "the 1 call in it stays" if n == 1 else f"the {n} calls in it stay"

