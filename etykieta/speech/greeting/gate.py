"""Before the verdict: which calls are greeted, what the audio alone decides, what to listen for.

For every answered inbound or internal call (the employee answered, T1), `audio_verdict`
decides ``no_audio``, ``unsupported_codec`` and ``silent`` from the audio itself, with or
without a model; what it leaves is recognised and judged by `check_greeting`, listening for
`expected_phrases`. A greeting that cannot be judged is ``not_checked`` with its `Cause`, so it
can be queued again later (``speech run``, ``speech requeue``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ...config import Settings
from ...telephony.numbers import Directory
from ...telephony.records import CallRecord
from ..audio.collector import CallAudio
from ..audio.vad import detect_voice, is_silent
from .verdict import GreetingResult, Verdict

GREETED_DIRECTIONS = frozenset({"inbound", "internal"})
"""Calls whose answering employee owes a greeting (T1): someone called in."""
FIXED_PHRASES = ("dzień dobry", "dzień dobry państwu", "dziękuję", "do widzenia")


class Cause(enum.StrEnum):
    """Why a greeting is ``not_checked`` (``Greeting.details["cause"]``), machine-readable."""

    NO_MODEL = "no_model"
    """No model was configured (or none was at ``model_path``): ``speech run`` queues it
    once there is one."""
    RECOGNITION_FAILED = "recognition_failed"
    """Its recognition job failed (``speech requeue --failed`` tries again)."""
    NOT_CAPTURED = "not_captured"
    """Part of the opening window was said while the live monitor was not listening."""
    CAPTURE_GONE = "capture_gone"
    """Queued again, but a capture file holding its windows is gone or unreadable
    (``speech requeue`` tries again, e.g. once the file is restored)."""
    NO_RTP_FOUND = "no_rtp_found"
    """Queued again, but its capture files no longer hold its RTP (``speech requeue`` tries
    again)."""
    AUDIO_NOT_KEPT = "audio_not_kept"
    """Heard by the live monitor, whose audio is not kept in any file: never to be had again."""


REQUEUED_BY_RUN = frozenset({Cause.NO_MODEL})
"""What ``speech run`` queues again by itself when a model is configured now."""
REQUEUED_BY_REQUEUE = frozenset({Cause.NO_MODEL, Cause.CAPTURE_GONE, Cause.NO_RTP_FOUND})
"""What ``speech requeue`` queues again (``--failed`` adds `Cause.RECOGNITION_FAILED`)."""
NO_MODEL_REASON = "no speech model configured ([speech] model_path)"
MISSING_MODEL_PREFIX = "no Vosk model at "
RECOGNITION_FAILED_PREFIX = "recognition failed: "


@dataclass(frozen=True, slots=True)
class Unchecked(GreetingResult):
    """A ``not_checked`` verdict with its `Cause` (stored in ``Greeting.details``)."""

    cause: Cause = field(kw_only=True)


def not_checked(reason: str, cause: Cause) -> Unchecked:
    """The ``not_checked`` verdict for ``reason``, marked with why (see `Cause`)."""
    return Unchecked(verdict=Verdict.NOT_CHECKED, reason=reason, thanked=None, cause=cause)


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
