"""Read a call's audio again from the capture file it was ingested from (``etykieta audio``).

The database keeps where the employee's RTP went (``call_media``), not the audio: the file is
read again with the same packet pipeline and stream assembler the ingest used, so what an
admin hears is exactly what was judged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import EtykietaError
from ..storage.models import Call, Capture
from ..telephony.capture.pcap_file import open_capture
from ..telephony.media import MediaRouter
from ..telephony.packets import Datagram
from ..telephony.pipeline import SipExtractor
from .audio import RenderedAudio, RtpStreamAssembler
from .service import pcm_of

KEY = "call"
LIVE_SOURCES = ("live:", "stream:")
"""How the live monitor names its capture: nothing to read again."""


def read_window(path: str | Path, destination: tuple[str, int],
                payload_types: dict[int, tuple[str, int]], since: float, start: float,
                duration: float) -> RenderedAudio:
    """Render ``duration`` seconds from ``start`` of the stream sent to ``destination``."""
    router = MediaRouter()
    router.watch(KEY, destination, since)
    assembler = RtpStreamAssembler(payload_types, keep=[(start, start + duration)])

    def take(datagram: Datagram) -> None:
        if router.route(datagram) is not None:
            assembler.push(datagram.timestamp, datagram.payload)

    extractor = SipExtractor(on_datagram=take, wants_port=router.watches_port)
    with open_capture(path) as capture:
        for packet in capture:
            if packet.timestamp > start + duration + 1.0:
                break
            extractor.receive(packet)
    return assembler.render(start, duration)


class AudioUnavailableError(EtykietaError):
    """The audio of a call cannot be had any more (or never could), and why."""


def audio_for_call(session: Session, settings: Settings, call_id: str, window: str
                   ) -> tuple[npt.NDArray[np.int16], int]:
    """PCM and sample rate of a call's ``opening``, ``closing`` or ``all`` of the employee's side.

    Kept windows (``[speech] keep_audio``, or not judged yet) are used as they are; otherwise
    the capture file the call came from is read again.
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
    capture = session.get(Capture, call.capture_id) if call.capture_id is not None else None
    if capture is None or not Path(capture.path).is_file():
        if capture is None or capture.path.startswith(LIVE_SOURCES):
            where = "it was heard by the live monitor"
            where += f" ({capture.path})" if capture is not None else ""
        else:
            where = f"capture file {capture.path} is gone"
        raise AudioUnavailableError(
            f"the audio of call {call_id} is no longer available: {where} and its audio was "
            f"not kept ([speech] keep_audio = false keeps audio only until it is judged)")
    if media.destination is None:
        raise AudioUnavailableError(f"call {call_id} has no employee audio: {media.reason}")
    host, _, port = media.destination.rpartition(":")
    answered = media.answered_at.timestamp()
    ended = media.ended_at.timestamp() if media.ended_at else answered + settings.speech.window_s
    if window == "opening":
        start, duration = answered, settings.speech.window_s
    elif window == "closing":
        start = max(answered, ended - settings.speech.closing_window_s)
        duration = ended - start
    else:
        start, duration = answered, max(0.0, ended - answered)
    types = {int(pt): (str(v[0]), int(v[1])) for pt, v in media.payload_types.items()}
    rendered = read_window(capture.path, (host, int(port)), types, answered, start, duration)
    if rendered.packets == 0:
        why = f": {media.reason}" if media.reason else ""
        raise AudioUnavailableError(f"no RTP of call {call_id} in {capture.path}{why}")
    return rendered.pcm, rendered.sample_rate
