"""A stored call's audio: its kept windows, or where its capture files hold it.

``etykieta audio`` (`audio_for_call`) and the requeue of greetings judged after the fact
(`unchecked_greetings`) look up here where the employee's RTP of a call went (``call_media``)
and which captures hold its windows (`etykieta.storage.captures`); the files themselves are
read by `etykieta.speech.audio.reread`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import EtykietaError
from ..speech.audio.reread import (
    FilePlan,
    ReadRequest,
    Window,
    gone_text,
    plan_files,
    read_requests,
)
from ..speech.greeting.gate import Cause
from .captures import captures_near
from .models import Call, CallMedia, Greeting, SpeechJob
from .repository import in_period
from .speech_queue import CALL, not_checked_for, pcm_of


class AudioUnavailableError(EtykietaError):
    """The audio of a call cannot be had any more (or never could), and why."""


def call_windows(media: CallMedia, settings: Settings) -> dict[str, Window]:
    """The ``opening``, ``closing`` and ``all`` windows of the employee's side of a call."""
    answered = media.answered_at.timestamp()
    ended = media.ended_at.timestamp() if media.ended_at else answered + settings.speech.window_s
    closing = max(answered, ended - settings.speech.closing_window_s)
    return {"opening": (answered, settings.speech.window_s),
            "closing": (closing, ended - closing),
            "all": (answered, max(0.0, ended - answered))}


def request_for(key: int, media: CallMedia, windows: Sequence[Window], plan: FilePlan
                ) -> ReadRequest:
    """What to read for ``windows`` of a call whose media is ``media`` (with a destination)."""
    assert media.destination is not None
    host, _, port = media.destination.rpartition(":")
    types = {int(pt): (str(v[0]), int(v[1])) for pt, v in media.payload_types.items()}
    return ReadRequest(key, (host, int(port)), types, media.answered_at.timestamp(),
                       tuple(windows), plan.files)


def audio_for_call(session: Session, settings: Settings, call_id: str, window: str
                   ) -> tuple[npt.NDArray[np.int16], int]:
    """PCM and sample rate of a call's ``opening``, ``closing`` or ``all`` of the employee's side.

    Kept windows (``[speech] keep_audio``, or not judged yet) are used as they are; otherwise
    the capture files that hold the window are read again.
    """
    call = session.scalars(select(Call).where(Call.call_id == call_id)
                           .order_by(Call.started_at.desc())).first()
    if call is None:
        raise AudioUnavailableError(f"no call with Call-ID {call_id!r}")
    media = call.media
    if media is None:
        raise AudioUnavailableError(f"call {call_id} was not answered: there is no employee audio")
    for job in call.speech_jobs:  # kept, or not judged yet
        blob = {"opening": job.opening, "closing": job.closing}.get(window)
        if blob is not None:
            return pcm_of(blob), job.sample_rate
    span = call_windows(media, settings)[window]
    captures = captures_near(session, [span], [call.capture_id])
    own = next((c for c in captures if c.id == call.capture_id), None)
    plan = plan_files([span], own, captures)
    if not plan.readable:
        raise AudioUnavailableError(
            f"the audio of call {call_id} is no longer available: {gone_text(plan)} and its "
            f"audio was not kept ([speech] keep_audio = false keeps audio only until it is "
            f"judged)")
    if media.destination is None:
        raise AudioUnavailableError(f"call {call_id} has no employee audio: {media.reason}")
    (result,) = read_requests([request_for(call.id, media, [span], plan)])
    if result.failed is not None:
        raise AudioUnavailableError(
            f"the audio of call {call_id} cannot be read: capture file {result.failed.path}: "
            f"{result.error}")
    rendered = result.windows[0]
    if rendered.packets == 0:
        why = f": {media.reason}" if media.reason else ""
        names = ", ".join(c.path for c in plan.files)
        raise AudioUnavailableError(f"no RTP of call {call_id} in {names}{why}")
    return rendered.pcm, rendered.sample_rate


@dataclass(frozen=True, slots=True)
class UncheckedGreeting:
    """A stored call whose greeting is to be judged again, and where its audio is."""

    call_pk: int
    greeting_id: int
    reason: str | None
    leg_call_id: str
    plan: FilePlan
    request: ReadRequest | None
    """What to read; None when the plan cannot be read (or no audio stream is recorded)."""


def unchecked_greetings(session: Session, settings: Settings, causes: set[Cause], *,
                        since: datetime | None = None, until: datetime | None = None,
                        unit: str | None = None) -> list[UncheckedGreeting]:
    """The greetings ``not_checked`` for ``causes``, with the files that hold their windows.

    ``since``/``until``/``unit`` select calls as ``etykieta calls`` does; calls with a job
    queued or running already are left alone.
    """
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
        out.append(UncheckedGreeting(call_pk, greeting_id, reason, media.leg_call_id, plan,
                                     request))
    return out


def _judged_windows(media: CallMedia, settings: Settings) -> tuple[Window, ...]:
    windows = call_windows(media, settings)
    return (windows["opening"], windows["closing"])
