"""Finished calls → rows: the call, its callback obligation, media, greeting or speech job.

Shared by the two shells around the signalling core: ``ingest`` (capture files) and the live
monitor. One batch is one transaction, and a call already stored (same Call-ID and start time)
is not stored again, so replaying a file or restarting the monitor never duplicates a call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from ..callbacks import BusinessCalendar
from ..callbacks.opening import calendar_for, obligation_for
from ..config import Settings
from ..speech.audio.collector import CallAudio
from ..speech.engine.model_conf import model_problem
from ..speech.greeting.gate import Cause, audio_verdict, greeting_applies, not_checked
from ..speech.greeting.verdict import GreetingResult
from ..telephony.numbers import Directory
from ..telephony.records import CallRecord
from .models import Call, CallMedia
from .repository import StoredCall, refresh_callbacks, store_calls
from .speech_queue import (
    greeting_row,
    judged_live,
    link_live_greetings,
    live_greeting_row,
    queue_closing,
    queue_job,
    queue_opening,
    same_answer,
    stored_call,
)

BATCH_CALLS = 100
"""Calls a shell stores per transaction; each holds its audio windows (~0.3 MB) until stored."""
Finished = tuple[CallRecord, CallAudio | None]
OpeningFate = Literal["queued", "decided", "stored"]
"""What became of an opening window: a recognition job, a verdict from the audio alone, or
nothing (its call was stored before)."""


@dataclass(slots=True)
class WriteResult:
    calls: int = 0
    added: int = 0
    replaced: int = 0
    """Calls stored before from less of them, now brought up to date."""
    greetings_queued: int = 0


class CallWriter:
    """Stores finished calls; one per database and configuration."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *,
                 clock: Callable[[], datetime], as_of: Callable[[], datetime] | None = None,
                 directory: Directory | None = None,
                 calendar: BusinessCalendar | None = None, live: bool = False) -> None:
        self.settings = settings
        self.clock = clock
        """The wall clock: when a speech job is queued, a greeting judged from its audio."""
        self.as_of = as_of or clock
        """The time callbacks are judged at (``ingest --as-of`` sets one)."""
        self.live = live
        """Greetings may have been judged before their call is stored (the monitor); a file's
        calls (``ingest``) never were, which spares two queries per call."""
        self.sessions = sessions
        self.directory = directory or Directory(settings)
        self.calendar = calendar or calendar_for(settings.business_hours)
        self.model_problem = model_problem(settings)
        self.gaps: list[tuple[float, float]] = []
        """Times (capture time) when nothing was captured: the live monitor was not running.
        A window that overlaps one is not judged, because part of what was said is missing."""

    def store(self, calls: Sequence[Finished], capture_id: int) -> WriteResult:
        """Store ``calls`` (with their audio) in one transaction; what was new."""
        if not calls:
            return WriteResult()
        with self.sessions.begin() as session:
            return self.store_in(session, calls, capture_id)

    def store_in(self, session: Session, calls: Sequence[Finished], capture_id: int | None
                 ) -> WriteResult:
        """Store ``calls`` in the caller's transaction: rows, greetings, callbacks judged.

        A call stored before from less of it (still going on at the end of a capture file,
        or cut by a truncated one) is brought up to date, its greeting following. Whoever
        stores a call, the callbacks it could fulfil or open are judged at once (T6–T8).
        """
        result = WriteResult(calls=len(calls))
        if not calls:
            return result
        records = [record for record, _ in calls]
        obligations = [None if r.in_progress else obligation_for(
            r, directory=self.directory, calendar=self.calendar, policy=self.settings.callbacks)
            for r in records]
        written = store_calls(session, records, obligations, capture_id)
        numbers: set[str] = set()
        for stored in written:
            record, audio = calls[stored.index]
            numbers.update(n for n in (record.caller_e164, record.dialed_e164) if n)
            if stored.previous is None:
                result.added += 1
                if greeting_applies(record) and not record.in_progress:
                    result.greetings_queued += self._attach_speech(session, stored.row,
                                                                   record, audio)
            else:
                result.replaced += 1
                numbers.update(stored.previous.numbers)
                result.greetings_queued += self._follow_speech(session, stored, record, audio)
        new_rows = [stored.row for stored in written if stored.previous is None]
        if new_rows and self.live:
            link_live_greetings(session, (row.media.leg_call_id for row in new_rows
                                          if row.media is not None))
        refresh_callbacks(session, self.as_of(), numbers)
        return result

    def queue_opening(self, audio: CallAudio, extension: str | None, answered_at: float
                      ) -> OpeningFate:
        """The live monitor's opening window: its verdict if the audio decides it, else a job.

        The greeting (or job) waits for its call row under the answering leg's Call-ID;
        `store` ties them together. A call stored before (a replayed stream) is left alone.
        """
        at = datetime.fromtimestamp(answered_at, UTC)
        verdict = self._verdict_without_speech(audio)
        with self.sessions.begin() as session:
            if (stored_call(session, audio.leg_call_id, at) is not None
                    or judged_live(session, audio.leg_call_id, at)):
                return "stored"
            if verdict is not None:
                session.add(live_greeting_row(verdict, audio.leg_call_id, at,
                                              checked_at=self.clock()))
                return "decided"
            session.add(queue_opening(audio, extension, at, created_at=self.clock()))
            return "queued"

    def _attach_speech(self, session: Session, row: Call, record: CallRecord,
                       audio: CallAudio | None) -> bool:
        """Media locator and greeting (or its queued job) of a new call; True if queued."""
        leg = record.answering_leg
        if leg is not None and leg.answered_at is not None:
            row.media = _media_row(record, audio)
            if self.live and judged_live(session, leg.call_id, leg.answered_at):
                # the opening was queued (or judged) while the call went on: only the closing
                # window is left, for T10 (and only if a model can hear it)
                if audio is not None and audio.closing is not None and self.model_problem is None:
                    row.speech_jobs.append(queue_closing(audio.closing,
                                                         created_at=self.clock()))
                return False
        verdict = self._verdict_without_speech(audio)
        if verdict is not None:
            row.greeting = greeting_row(verdict, checked_at=self.clock())
            return False
        assert audio is not None
        row.speech_jobs.append(queue_job(audio, created_at=self.clock()))
        return True

    def _follow_speech(self, session: Session, stored: StoredCall, record: CallRecord,
                       audio: CallAudio | None) -> bool:
        """The greeting of a call whose record was replaced by a newer one; True if queued.

        A verdict on the same answer still holds (the opening window is the same): the media
        locator follows the longer call and its closing window is heard again for T10. A call
        still going on keeps what it has until its end is stored. Anything else — another
        answer, a call no longer greeted, a job not yet judged — starts again.
        """
        row, previous = stored.row, stored.previous
        assert previous is not None
        leg = record.answering_leg
        same = (leg is not None and leg.answered_at is not None
                and previous.answering_leg == leg.call_id
                and same_answer(previous.answered_at, leg.answered_at))
        if same and greeting_applies(record) and (record.in_progress or row.greeting is not None):
            if record.in_progress:
                return False
            _update_media(row, record, audio)
            if audio is not None and audio.closing is not None and self.model_problem is None:
                row.speech_jobs.append(queue_closing(audio.closing, created_at=self.clock()))
            return False
        row.greeting = None
        row.speech_jobs = []
        row.media = None
        session.flush()  # the old rows go before new ones take their place (unique call_pk)
        if record.in_progress or not greeting_applies(record):
            return False
        return self._attach_speech(session, row, record, audio)

    def _verdict_without_speech(self, audio: CallAudio | None) -> GreetingResult | None:
        """The verdict that needs no recognition, or None when the audio must be recognised."""
        opening = audio.opening if audio is not None else None
        if opening is not None:
            end = opening.start + opening.duration
            for gap_start, gap_end in self.gaps:
                if opening.start < gap_end and gap_start < end:
                    until = (f"to {_clock(gap_end)} UTC" if math.isfinite(gap_end)
                             else "until it was restarted")
                    return not_checked(
                        f"part of the opening window was not captured: the monitor was not "
                        f"listening from {_clock(gap_start)} UTC {until}", Cause.NOT_CAPTURED)
        verdict = audio_verdict(audio)
        if verdict is None and self.model_problem is not None:
            verdict = not_checked(self.model_problem, Cause.NO_MODEL)
        return verdict


def _media_row(record: CallRecord, audio: CallAudio | None) -> CallMedia:
    row = CallMedia()
    _fill_media(row, record, audio)
    return row


def _update_media(row: Call, record: CallRecord, audio: CallAudio | None) -> None:
    if row.media is None:
        row.media = _media_row(record, audio)
    else:
        _fill_media(row.media, record, audio)


def _fill_media(media: CallMedia, record: CallRecord, audio: CallAudio | None) -> None:
    """Where the answering employee's audio of ``record`` is (`etykieta audio` reads it)."""
    leg = record.answering_leg
    assert leg is not None and leg.answered_at is not None
    opening = audio.opening if audio is not None else None
    media.leg_call_id, media.answered_at, media.ended_at = (leg.call_id, leg.answered_at,
                                                            leg.ended_at)
    media.destination = (f"{audio.destination[0]}:{audio.destination[1]}"
                         if audio is not None and audio.destination else None)
    media.payload_types = {str(pt): list(v) for pt, v in
                           (audio.payload_types.items() if audio is not None else ())}
    media.codec = opening.codec if opening is not None else None
    media.packets = opening.packets if opening is not None else 0
    media.reason = audio.reason if audio is not None else "no answering leg"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
