"""Greetings judged after the fact: calls ingested without a model, judged once there is one.

Their audio is read again from the lab's real captures (sipp streaming espeak-ng Polish speech),
whole or cut into rotated pieces with ``editcap``. Only one test runs the Korean model (the
engine path); the others queue (``speech requeue --queue-only``) and compare what was queued.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from etykieta.cli import main
from etykieta.config import load_settings
from etykieta.monitor.requeue import requeue
from etykieta.monitor.speech import PoolFactory, SpeechRunner
from etykieta.speech.audio.reread import CaptureFile, plan_files, read_window
from etykieta.speech.audio.wav import read_wav
from etykieta.speech.greeting.gate import REQUEUED_BY_RUN
from etykieta.storage import make_engine, make_sessionmaker
from etykieta.storage.models import Call, Capture, Greeting, SpeechJob
from etykieta.telephony.capture.pcap_file import open_capture

from .conftest import CALLS, LAB_CONFIG
from .test_speech_pipeline import CrashingPool

SPOKEN = ("audio_pcma_greeting", "audio_pcmu_greeting", "audio_closing_thanks")
"""Lab captures whose greeting needs a model: ingested without one, they read not_checked."""
JUDGED = {"complete", "partial", "no_greeting", "unclear"}

Jobs = dict[str, tuple[bytes, bytes | None]]


def _cli(config: Path, db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), "--db", db_url, *args])
    return result.exit_code, result.stdout, result.stderr


def _greetings(db_url: str) -> dict[str, Greeting]:
    """Call-ID → its greeting row."""
    with make_sessionmaker(make_engine(db_url)).begin() as session:
        rows = session.execute(select(Call.call_id, Greeting)
                               .join(Greeting, Greeting.call_pk == Call.id)).all()
        return {call_id: greeting for call_id, greeting in rows}


def _jobs(db_url: str) -> Jobs:
    """Call-ID → the PCM of its queued call job's opening and closing windows."""
    with make_sessionmaker(make_engine(db_url)).begin() as session:
        rows = session.execute(select(Call.call_id, SpeechJob)
                               .join(Call, Call.id == SpeechJob.call_pk)
                               .where(SpeechJob.status == "queued")).all()
        return {call_id: (zlib.decompress(job.opening or b""),
                          zlib.decompress(job.closing) if job.closing else None)
                for call_id, job in rows}


def _copies(tmp_path: Path, *cases: str) -> list[Path]:
    out = []
    for case in cases:
        out.append(tmp_path / f"{case}.pcap")
        shutil.copy(CALLS / f"{case}.pcap", out[-1])
    return out


def _pieces(tmp_path: Path, case: str, packets: int) -> list[Path]:
    """``case`` cut every ``packets`` packets, as a rotating capture writes it."""
    folder = tmp_path / "rotated"
    folder.mkdir()
    subprocess.run(["editcap", "-c", str(packets), str(CALLS / f"{case}.pcap"),
                    str(folder / f"{case}.pcap")], check=True)
    return sorted(folder.iterdir())


@pytest.fixture
def spoken(tmp_path: Path) -> list[Path]:
    return _copies(tmp_path, *SPOKEN)


def test_without_a_model_the_greeting_says_why_in_machine_terms(db_url: str,
                                                               spoken: list[Path]) -> None:
    code, _, err = _cli(LAB_CONFIG, db_url, "ingest", *map(str, spoken))
    assert code == 0, err
    greetings = _greetings(db_url)
    assert len(greetings) == 3
    for greeting in greetings.values():
        assert greeting.verdict == "not_checked" and greeting.details["cause"] == "no_model"
    code, out, _ = _cli(LAB_CONFIG, db_url, "speech", "status")
    assert code == 0 and out.splitlines() == [
        "no speech jobs",
        "3 greetings not checked for lack of a model: `etykieta speech run` reads their audio "
        "again from the capture files and judges them"]


def _forget_causes(db_url: str) -> None:
    """Make the greetings look like rows stored before causes were recorded."""
    with make_sessionmaker(make_engine(db_url)).begin() as session:
        for greeting in session.scalars(select(Greeting)):
            greeting.details = {k: v for k, v in greeting.details.items() if k != "cause"}


def test_rows_stored_before_the_cause_are_known_by_their_reason(
        db_url: str, model_config: Path, spoken: list[Path]) -> None:
    _cli(LAB_CONFIG, db_url, "ingest", str(spoken[0]))
    _forget_causes(db_url)
    _, out, _ = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert out.startswith("speech: 1 greetings requeued from 1 capture files")


@pytest.mark.slow
def test_speech_run_judges_calls_ingested_without_a_model(model_config: Path, spoken: list[Path],
                                                          tmp_path: Path) -> None:
    """The engine path, with the real Korean model: requeued from the captures, judged.

    On SQLite only: the model costs seconds, and the other tests requeue on every backend.
    """
    db_url = f"sqlite:///{tmp_path / 'etykieta.db'}"
    _cli(LAB_CONFIG, db_url, "ingest", *map(str, spoken))
    gone = spoken[2]
    with make_sessionmaker(make_engine(db_url)).begin() as session:
        gone_call = session.scalars(select(Call.call_id).join(Capture).where(
            Capture.path == str(gone.resolve()))).one()
    gone.unlink()
    code, out, err = _cli(model_config, db_url, "speech", "run")
    assert code == 0, err
    assert err.splitlines() == [
        f"speech: capture file {gone.resolve()} is gone: the 1 call in it stays not_checked"]
    lines = out.splitlines()
    assert lines[0].startswith("speech: 2 greetings requeued from 2 capture files in ")
    assert lines[1] == "speech: 2 greetings judged, 0 recognition jobs failed"
    greetings = _greetings(db_url)
    lost = greetings.pop(gone_call)
    assert lost.verdict == "not_checked" and lost.details["cause"] == "capture_gone"
    assert lost.reason == f"capture file {gone.resolve()} is gone: its audio cannot be read again"
    for greeting in greetings.values():  # Korean words for Polish speech: judged, not right
        assert greeting.verdict in JUDGED and greeting.transcript
        assert "cause" not in greeting.details
    code, out, _ = _cli(model_config, db_url, "speech", "status")
    assert out.splitlines() == [
        "call jobs: 2 done",
        "1 greetings not checked: their capture files are gone or no longer hold their audio "
        "(`etykieta speech requeue` tries again)"]


def test_requeued_windows_are_what_ingest_with_a_model_queues_each_file_read_once(
        db_url: str, model_config: Path, spoken: list[Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # two calls in one file, both answered with RTP sent to the same address (127.0.4.1:30001)
    merged = tmp_path / "merged.pcap"
    subprocess.run(["mergecap", "-F", "pcap", "-w", str(merged), str(spoken[0]), str(spoken[1])],
                   check=True)
    files = [str(merged), str(spoken[2])]
    with_model = f"sqlite:///{tmp_path / 'with_model.db'}"
    assert _cli(model_config, with_model, "ingest", *files)[0] == 0
    _cli(LAB_CONFIG, db_url, "ingest", *files)
    opened: list[str] = []

    def counting(path: str | Path) -> object:
        opened.append(Path(path).name)
        return open_capture(path)

    monkeypatch.setattr("etykieta.speech.audio.reread.open_capture", counting)
    code, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert code == 0, err
    assert out.startswith("speech: 3 greetings requeued from 2 capture files in ")
    assert sorted(opened) == sorted(Path(f).name for f in files)
    expected, requeued = _jobs(with_model), _jobs(db_url)
    assert len(expected) == 3 and requeued == expected
    code, out, _ = _cli(model_config, db_url, "speech", "status")
    assert out.splitlines() == ["call jobs: 3 queued"]  # the old verdict waits for the new one
    assert {g.details.get("cause") for g in _greetings(db_url).values()} == {"no_model"}
    code, out, _ = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert out.startswith("speech: 0 greetings requeued from 0 capture files")  # not twice


def test_requeue_takes_only_the_calls_asked_for(db_url: str, model_config: Path,
                                                spoken: list[Path]) -> None:
    _cli(LAB_CONFIG, db_url, "ingest", *map(str, spoken))
    # audio_closing_thanks starts at 10:00 UTC, the PCMA/PCMU greetings at 09:00 and 09:10
    code, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only",
                          "--since", "2026-11-19T09:05:00+00:00",
                          "--until", "2026-11-19T09:55:00+00:00")
    assert code == 0, err
    assert out.startswith("speech: 1 greetings requeued from 1 capture files")
    code, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only",
                          "--unit", "Wydział Podatków i Opłat Lokalnych")
    assert code == 0 and out.startswith("speech: 0 greetings requeued")
    code, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only",
                          "--unit", "Wydział Komunikacji")
    assert code == 0 and out.startswith("speech: 2 greetings requeued")


def test_failed_recognitions_are_requeued_only_when_asked(db_url: str, model_config: Path,
                                                          spoken: list[Path]) -> None:
    _cli(model_config, db_url, "ingest", str(spoken[0]))
    runner = SpeechRunner(load_settings(model_config), make_sessionmaker(make_engine(db_url)),
                          pool_factory=cast(PoolFactory, CrashingPool))
    assert runner.run().failed == 1
    (failed,) = _greetings(db_url).values()
    assert failed.details["cause"] == "recognition_failed"
    _, out, _ = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert out.startswith("speech: 0 greetings requeued")
    _forget_causes(db_url)  # "recognition failed: …" is known without it, and is not no_model
    _, out, _ = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert out.startswith("speech: 0 greetings requeued")
    _, out, _ = _cli(model_config, db_url, "speech", "requeue", "--queue-only", "--failed")
    assert out.startswith("speech: 1 greetings requeued from 1 capture files")
    _, out, _ = _cli(model_config, db_url, "speech", "status")
    assert out.splitlines() == ["call jobs: 1 queued"]  # the failed job made way for it


def test_a_call_cut_across_rotated_files_is_read_whole(db_url: str, model_config: Path,
                                                       tmp_path: Path) -> None:
    pieces = _pieces(tmp_path, "audio_pcma_greeting", 400)
    assert len(pieces) == 3
    code, _, err = _cli(LAB_CONFIG, db_url, "ingest", *map(str, reversed(pieces)))
    assert code == 0, err
    settings = load_settings(model_config)
    with make_sessionmaker(make_engine(db_url)).begin() as session:
        (call,) = session.scalars(select(Call)).all()
        assert call.media is not None and call.media.destination is not None
        answered = call.media.answered_at.timestamp()
        ended = call.media.ended_at.timestamp() if call.media.ended_at else answered
        cuts = sorted(c.first_at.timestamp() for c in session.scalars(select(Capture))
                      if c.first_at is not None)[1:]
        host, _, port = call.media.destination.rpartition(":")
        types = {int(pt): (str(v[0]), int(v[1])) for pt, v in call.media.payload_types.items()}
    opening_end = answered + settings.speech.window_s
    assert len(cuts) == 2 and all(answered < cut < opening_end for cut in cuts)
    code, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert code == 0, err
    assert out.startswith("speech: 1 greetings requeued from 3 capture files")
    ((opening, closing),) = _jobs(db_url).values()
    uncut = CALLS / "audio_pcma_greeting.pcap"
    closing_start = max(answered, ended - settings.speech.closing_window_s)
    whole_opening = read_window(uncut, (host, int(port)), types, answered, answered,
                                settings.speech.window_s)
    whole_closing = read_window(uncut, (host, int(port)), types, answered, closing_start,
                                ended - closing_start)
    assert whole_opening.speech_packets > 400
    assert np.array_equal(np.frombuffer(opening, "<i2"), whole_opening.pcm)
    assert closing is not None
    assert np.array_equal(np.frombuffer(closing, "<i2"), whole_closing.pcm)
    # `etykieta audio` reads the same pieces once the job no longer holds the audio
    with make_sessionmaker(make_engine(db_url)).begin() as session:
        for job in session.scalars(select(SpeechJob)):
            job.opening = job.closing = None
    wav = tmp_path / "heard.wav"
    call_id = json.loads(_cli(LAB_CONFIG, db_url, "calls", "--format", "json")[1])[0]["call_id"]
    code, out, err = _cli(LAB_CONFIG, db_url, "audio", call_id, "--out", str(wav))
    assert code == 0, err
    heard, rate = read_wav(wav)
    assert rate == 8000 and np.array_equal(heard, whole_opening.pcm)


def test_a_gone_piece_is_named_and_its_call_stays_not_checked(
        db_url: str, model_config: Path, tmp_path: Path) -> None:
    pieces = _pieces(tmp_path, "audio_pcma_greeting", 400)
    _cli(LAB_CONFIG, db_url, "ingest", *map(str, pieces))
    aside = tmp_path / "aside.pcap"
    pieces[1].rename(aside)
    code, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert code == 0
    assert err.splitlines() == [
        f"speech: capture file {pieces[1].resolve()} is gone: the 1 call in it stays "
        "not_checked"]
    assert out.startswith("speech: 0 greetings requeued from 0 capture files")
    (greeting,) = _greetings(db_url).values()
    assert greeting.verdict == "not_checked" and greeting.details["cause"] == "capture_gone"
    assert greeting.reason == (f"capture file {pieces[1].resolve()} is gone: its audio cannot "
                               "be read again")
    sessions = make_sessionmaker(make_engine(db_url))  # what `speech run` requeues: not it
    assert requeue(load_settings(model_config), sessions, REQUEUED_BY_RUN).found == 0
    call_id = json.loads(_cli(LAB_CONFIG, db_url, "calls", "--format", "json")[1])[0]["call_id"]
    code, _, err = _cli(LAB_CONFIG, db_url, "audio", call_id, "--out", str(tmp_path / "x.wav"))
    assert code == 1 and f"capture file {pieces[1].resolve()} is gone" in err
    aside.rename(pieces[1])  # restored from a backup: `speech requeue` tries again
    _, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert err == "" and out.startswith("speech: 1 greetings requeued from 3 capture files")


def test_calls_heard_only_by_the_live_monitor_say_their_audio_was_not_kept(
        db_url: str, model_config: Path) -> None:
    code, _, err = _cli(LAB_CONFIG, db_url, "monitor", "--read",
                        str(CALLS / "audio_pcma_greeting.pcap"))
    assert code == 0, err
    code, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert code == 0
    assert err.splitlines() == ["speech: 1 call heard by the live monitor, whose audio is not "
                                "kept: they stay not_checked"]
    (greeting,) = _greetings(db_url).values()
    assert greeting.details["cause"] == "audio_not_kept"
    assert greeting.reason is not None and greeting.reason.startswith(
        "no speech model configured ([speech] model_path); its audio cannot be read again: "
        "it was heard by the live monitor (stream:")
    _, out, err = _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    assert err == ""  # said once


def test_requeue_without_a_model_says_why(db_url: str) -> None:
    code, _, err = _cli(LAB_CONFIG, db_url, "speech", "requeue")
    assert code == 3
    assert err == "speech: not run: no speech model configured ([speech] model_path)\n"


def _file(id_: int, path: str, first: float | None, last: float | None,
          stream: str | None = "default") -> CaptureFile:
    return CaptureFile(id_, path, first, last, stream)


def test_plan_reads_every_piece_overlapping_a_window_in_time_order() -> None:
    pieces = [_file(3, "c", 20.0, 30.0), _file(1, "a", 0.0, 10.0), _file(2, "b", 10.0, 20.0),
              _file(4, "d", 40.0, 50.0), _file(5, "other", 0.0, 50.0, stream="second")]
    plan = plan_files([(5.0, 10.0), (22.0, 3.0)], pieces[0], pieces, exists=lambda _: True)
    assert [c.path for c in plan.files] == ["a", "b", "c"] and plan.readable


def test_plan_reads_a_whole_file_once_instead_of_its_pieces() -> None:
    pieces = [_file(1, "a", 0.0, 10.0), _file(2, "b", 10.0, 20.0), _file(3, "whole", 0.0, 20.0)]
    plan = plan_files([(5.0, 10.0)], pieces[1], pieces, exists=lambda _: True)
    assert [c.path for c in plan.files] == ["whole"]
    gone_pieces = plan_files([(5.0, 10.0)], pieces[1], pieces, exists=lambda p: p == "whole")
    assert [c.path for c in gone_pieces.files] == ["whole"] and not gone_pieces.gone
    gone_whole = plan_files([(5.0, 10.0)], pieces[1], pieces, exists=lambda p: p != "whole")
    assert [c.path for c in gone_whole.files] == ["a", "b"] and not gone_whole.gone


def test_plan_of_a_call_stored_before_capture_times_were_kept_is_its_own_file() -> None:
    old = _file(1, "old.pcap", None, None, stream=None)
    newer = _file(2, "new.pcap", 0.0, 100.0)
    plan = plan_files([(5.0, 10.0)], old, [old, newer], exists=lambda _: True)
    assert [c.path for c in plan.files] == ["old.pcap"]
    assert plan_files([(5.0, 10.0)], old, [old], exists=lambda _: False).gone == (old,)


def test_plan_of_a_live_call_has_nothing_to_read() -> None:
    live = _file(1, "live:eth1", 0.0, 100.0, stream=None)
    plan = plan_files([(5.0, 10.0)], live, [live], exists=lambda _: True)
    assert plan.files == () and plan.gone == () and not plan.readable


def test_read_window_of_a_file_that_is_not_there_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.pcap"
    with pytest.raises(OSError, match="gone.pcap: it is gone"):
        read_window(missing, ("127.0.0.1", 4000), {}, 0.0, 0.0, 1.0)



def test_a_requeued_greeting_says_it_is_queued_in_the_listing(db_url: str, model_config: Path,
                                                              spoken: list[Path]) -> None:
    """Until its new verdict is stored, ``calls`` says the greeting waits for recognition,
    not that there is no model (which is no longer true)."""
    _cli(LAB_CONFIG, db_url, "ingest", str(spoken[0]))
    _, out, _ = _cli(LAB_CONFIG, db_url, "calls", "--format", "json")
    [before] = json.loads(out)
    assert before["greeting"]["reason"] == "no speech model configured ([speech] model_path)"
    _cli(model_config, db_url, "speech", "requeue", "--queue-only")
    _, out, _ = _cli(model_config, db_url, "calls", "--format", "json")
    [after] = json.loads(out)
    assert after["greeting"]["verdict"] == "not_checked"
    assert after["greeting"]["reason"] == "queued for speech recognition (etykieta speech run)"
    assert set(after["greeting"]) == set(before["greeting"])
