"""The greeting check as a job: decide what the audio alone can, queue the rest, judge, store.

For every answered inbound or internal call (the employee answered, T1):

1. ``audio_verdict`` decides ``no_audio``, ``unsupported_codec`` and ``silent`` from the audio
   itself, with or without a model;
2. otherwise the call gets a ``SpeechJob`` row holding its two windows until judged (the queue
   lives in the database, so a restart loses nothing), or ``not_checked`` with the reason when
   no model is configured;
3. ``SpeechRunner`` drains the queue through a :class:`RecognitionPool` (worker processes: a
   Vosk crash costs one job) and stores the verdict of :func:`check_greeting`.

Recognition is the costly part (benchmarks/speech.py), so a job asks only for what can change
the verdict: the speech of the opening window (`speech_spans`) and the last speech of the
closing window (`closing_spans`, none when it is silent), both through one recognizer.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ..config import Directory, Settings
from ..storage.models import Call, Greeting, SpeechJob
from ..telephony.records import CallRecord
from .audio import RenderedAudio
from .collector import CallAudio
from .greeting import GreetingResult, Verdict, check_greeting
from .recognizer import Span, Window
from .transcript import Transcript
from .vad import VoiceActivity, detect_voice, is_silent
from .workers import RecognitionJob, RecognitionOutcome, RecognitionPool

log = logging.getLogger(__name__)
BATCH_JOBS = 16
GREETED_DIRECTIONS = frozenset({"inbound", "internal"})
FIXED_PHRASES = ("dzień dobry", "dzień dobry państwu", "dziękuję", "do widzenia")
SPEECH_PADDING_S = 0.3
"""Audio kept on each side of a speech segment: the energy detector misses soft onsets and
endings, and the recognizer needs some silence around a word."""
CLOSING_TAIL_S = 4.0
"""Speech decoded at the end of the closing window, where T10's "dziękuję" is said: enough for
"Dziękuję." — the caller's answer — "Do widzenia, miłego dnia." (~3.4 s with padding). Whole
spans are kept, so the last one is decoded even when it is longer."""


def greeting_applies(record: CallRecord) -> bool:
    """T1 applies when a staff member answered someone who called in."""
    return record.outcome == "answered" and record.direction in GREETED_DIRECTIONS


def audio_verdict(audio: CallAudio | None) -> GreetingResult | None:
    """The verdict the audio alone decides, or None when there is speech to recognise."""
    if audio is None or audio.opening is None:
        reason = audio.reason if audio is not None else "no answering leg"
        return GreetingResult.without_speech(Verdict.NO_AUDIO, reason or "no media")
    opening = audio.opening
    if opening.unsupported_codec is not None:
        return GreetingResult.without_speech(
            Verdict.UNSUPPORTED_CODEC, f"codec {opening.unsupported_codec} cannot be decoded")
    if opening.speech_packets == 0:
        return GreetingResult.without_speech(
            Verdict.NO_AUDIO, "no RTP from the answering phone in the capture")
    if is_silent(detect_voice(opening.pcm, opening.sample_rate)):
        return GreetingResult.without_speech(Verdict.SILENT, "no speech in the opening window")
    return None


def model_problem(settings: Settings) -> str | None:
    """Why recognition cannot run with this config, or None if a model is there to load."""
    path = settings.speech.model_path
    if not path:
        return "no speech model configured ([speech] model_path)"
    if not (Path(path) / "conf").is_dir() and not (Path(path) / "am").is_dir():
        return f"no Vosk model at {path}"
    return None


def expected_phrases(settings: Settings, directory: Directory, extension: str | None
                     ) -> tuple[str, ...]:
    """What the answering person is expected to say: the grammar of the biased pass."""
    phrases: list[str] = [settings.organisation.name, *FIXED_PHRASES,
                          *settings.greeting.casual_words]
    if extension is not None:
        unit = directory.unit_of(extension)
        if unit is not None:
            phrases += unit.aliases
        staff = directory.staff_at(extension)
        if staff is not None:
            phrases += [f"{staff.first_name} {staff.last_name}", staff.last_name]
    return tuple(dict.fromkeys(p.lower() for p in phrases))


def speech_spans(activity: VoiceActivity, padding_s: float = SPEECH_PADDING_S
                 ) -> tuple[Span, ...]:
    """The speech segments of a window, padded, merged where the paddings meet."""
    spans: list[Span] = []
    for start, end in activity.segments:
        start = round(max(0.0, start - padding_s), 6)
        end = round(min(activity.duration_s, end + padding_s), 6)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return tuple(spans)


def closing_spans(activity: VoiceActivity, tail_s: float = CLOSING_TAIL_S) -> tuple[Span, ...]:
    """The last speech spans of a closing window, up to ``tail_s`` of them; none if silent."""
    if is_silent(activity):
        return ()
    kept: list[Span] = []
    total_s = 0.0
    for start, end in reversed(speech_spans(activity)):
        total_s += end - start
        if kept and total_s > tail_s:
            break
        kept.append((start, end))
    return tuple(reversed(kept))


def recognition_job(job_id: int, opening: bytes, closing: bytes | None, rate: int,
                    phrases: tuple[str, ...]) -> RecognitionJob:
    """The work for one queued call: its windows (stored PCM) trimmed to what is judged."""
    opening_spans = speech_spans(detect_voice(_samples(opening), rate))
    closing_window = None
    if closing is not None:
        closing_window = Window(closing, rate, closing_spans(detect_voice(_samples(closing), rate)))
    return RecognitionJob(job_id, opening, rate, phrases=phrases, spans=opening_spans,
                          closing=closing_window)


def pack_pcm(audio: RenderedAudio | None) -> bytes | None:
    return None if audio is None else zlib.compress(audio.pcm.astype("<i2").tobytes(), 6)


def unpack_pcm(blob: bytes) -> bytes:
    return zlib.decompress(blob)


def greeting_row(result: GreetingResult, *, grammar: Transcript | None = None) -> Greeting:
    data = result.to_dict()
    return Greeting(
        verdict=result.verdict.value, reason=result.reason,
        missing=[m.value for m in result.missing], transcript=result.transcript or None,
        grammar_transcript=grammar.text if grammar is not None else None,
        first_word_s=result.first_word_s, syllables_per_s=result.syllables_per_s,
        too_fast=result.too_fast, casual_words=list(result.casual_words),
        thanked=result.thanked, order_ok=result.order_ok,
        details={"elements": data.get("elements"), "mean_conf": result.mean_conf},
        checked_at=datetime.now(UTC))


def queue_job(audio: CallAudio) -> SpeechJob:
    """A queued job holding the call's windows (compressed) until it is judged."""
    assert audio.opening is not None
    return SpeechJob(status="queued", attempts=0, sample_rate=audio.opening.sample_rate,
                     opening=pack_pcm(audio.opening), closing=pack_pcm(audio.closing),
                     created_at=datetime.now(UTC))


@dataclass(slots=True)
class RunSummary:
    judged: int = 0
    failed: int = 0

    def line(self) -> str:
        return f"speech: {self.judged} greetings judged, {self.failed} recognition jobs failed"


PoolFactory = Callable[[str, int], RecognitionPool]


class SpeechRunner:
    """Drains the speech job queue (``etykieta speech run``, ``ingest --transcribe``)."""

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
        with self.sessions.begin() as session:
            session.execute(update(SpeechJob).where(SpeechJob.status == "running")
                            .values(status="queued"))
        problem = model_problem(self.settings)
        if problem is not None:
            raise FileNotFoundError(problem)
        assert self.settings.speech.model_path is not None
        with self.pool_factory(self.settings.speech.model_path,
                               self.settings.speech.workers) as pool:
            while limit is None or summary.judged + summary.failed < limit:
                batch = self._claim(BATCH_JOBS if limit is None
                                    else min(BATCH_JOBS, limit - summary.judged - summary.failed))
                if not batch:
                    break
                outcomes = {o.job_id: o for o in pool.run(self._jobs(batch))}
                for job_id, (call_pk, extension) in batch.items():
                    self._store(job_id, call_pk, extension, outcomes, summary)
        return summary

    def _claim(self, size: int) -> dict[int, tuple[int, str | None]]:
        """Mark up to ``size`` queued jobs running; return job id → (call pk, extension)."""
        with self.sessions.begin() as session:
            rows = session.execute(
                select(SpeechJob.id, SpeechJob.call_pk, Call.answered_by)
                .join(Call, Call.id == SpeechJob.call_pk)
                .where(SpeechJob.status == "queued").order_by(SpeechJob.id).limit(size)).all()
            ids = [row[0] for row in rows]
            if ids:
                session.execute(update(SpeechJob).where(SpeechJob.id.in_(ids))
                                .values(status="running", attempts=SpeechJob.attempts + 1))
            return {row[0]: (row[1], row[2]) for row in rows}

    def _jobs(self, batch: dict[int, tuple[int, str | None]]) -> Iterator[RecognitionJob]:
        with self.sessions.begin() as session:
            jobs = session.scalars(select(SpeechJob).where(SpeechJob.id.in_(list(batch))))
            for job in jobs:
                if job.opening is None:
                    continue  # judged as failed: "no outcome"
                phrases = expected_phrases(self.settings, self.directory, batch[job.id][1])
                closing = unpack_pcm(job.closing) if job.closing is not None else None
                yield recognition_job(job.id, unpack_pcm(job.opening), closing,
                                      job.sample_rate, phrases)

    def _store(self, job_id: int, call_pk: int, extension: str | None,
               outcomes: dict[Any, RecognitionOutcome], summary: RunSummary) -> None:
        outcome = outcomes.get(job_id)
        with self.sessions.begin() as session:
            job = session.get_one(SpeechJob, job_id)
            call = session.get_one(Call, call_pk)
            if outcome is None or not outcome.ok or outcome.free is None:
                error = outcome.error if outcome is not None else "no outcome"
                job.status, job.error = "failed", error
                result = GreetingResult.without_speech(
                    Verdict.NOT_CHECKED, f"recognition failed: {error}")
                grammar = None
                summary.failed += 1
            else:
                grammar = outcome.grammar
                staff = self.directory.staff_at(extension) if extension else None
                unit = self.directory.unit_of(extension) if extension else None
                result = check_greeting(
                    outcome.free, grammar, staff=staff, unit=unit,
                    organisation=self.settings.organisation.name,
                    settings=self.settings.greeting, closing=outcome.closing)
                job.status, job.error = "done", None
                summary.judged += 1
            job.finished_at = datetime.now(UTC)
            if not self.settings.speech.keep_audio:
                job.opening = job.closing = None
            if call.greeting is not None:
                session.delete(call.greeting)
                session.flush()
            call.greeting = greeting_row(result, grammar=grammar)


def pcm_of(blob: bytes) -> np.ndarray[Any, np.dtype[np.int16]]:
    """The int16 samples of a stored window."""
    return _samples(unpack_pcm(blob))


def _samples(pcm: bytes) -> np.ndarray[Any, np.dtype[np.int16]]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16)
