"""What a queued window asks of the recognizer: only the speech that can change the verdict.

Recognition is the costly part (benchmarks/speech.py), so a job carries the speech of the
opening window (`speech_spans`) and the last speech of the closing window (`closing_spans`,
none when it is silent), both decoded by one recognizer (`RecognitionJob.closing`).
"""

from __future__ import annotations

from ..audio.vad import VoiceActivity, detect_voice, is_silent
from ..audio.wav import pcm_samples
from .recognizer import Span, Window
from .workers import RecognitionJob

SPEECH_PADDING_S = 0.3
"""Audio kept on each side of a speech segment: the energy detector misses soft onsets and
endings, and the recognizer needs some silence around a word."""
CLOSING_TAIL_S = 4.0
"""Speech decoded at the end of the closing window, where T10's "dziękuję" is said: enough for
"Dziękuję." — the caller's answer — "Do widzenia, miłego dnia." (~3.4 s with padding). Whole
spans are kept, so the last one is decoded even when it is longer."""


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
    opening_spans = speech_spans(detect_voice(pcm_samples(opening), rate))
    closing_window = None
    if closing is not None:
        closing_window = Window(closing, rate,
                                closing_spans(detect_voice(pcm_samples(closing), rate)))
    return RecognitionJob(job_id, opening, rate, phrases=phrases, spans=opening_spans,
                          closing=closing_window)


def closing_job(job_id: int, closing: bytes, rate: int) -> RecognitionJob:
    """The work for a closing window alone (its opening was judged while the call went on)."""
    spans = closing_spans(detect_voice(pcm_samples(closing), rate))
    return RecognitionJob(job_id, closing, rate, spans=spans)
