"""The live monitor on replayed streams: the same calls as ``ingest``, greetings judged while the
call goes on (at answer + window_s), nothing stored twice, and the closing window completing
T10 after hang-up.

The streams are lab C's captures (sipp streaming an espeak-ng Polish greeting) read through the
real `StreamCapture` adapter, as ``ssh pbx tcpdump -U -w - | etykieta monitor --read -`` would
feed it. tests/test_monitor_live.py runs the monitor on a live interface.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from etykieta.cli import main
from etykieta.speech.audio.assembler import aligned_correlation
from etykieta.speech.audio.wav import read_wav
from etykieta.storage import make_engine, make_sessionmaker
from etykieta.storage.models import Greeting, SpeechJob
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import CapturedPacket

from .conftest import CALLS, DATA, LAB_CONFIG

LIVE = ("audio_pcma_greeting", "audio_silent", "audio_closing_thanks")
"""Calls longer than the 10 s window: their opening is judged before the hang-up."""
AT_HANGUP = ("audio_no_rtp", "audio_g729_unsupported")
"""8 s calls: over before their window is, so judged at hang-up like ``ingest`` does."""
JUDGED = {"complete", "partial", "no_greeting", "unclear"}
ETYKIETA = Path(sys.executable).parent / "etykieta"
FACTS = ("call_id", "caller", "dialed", "outcome", "answered_by", "answered_at", "ring_seconds",
         "rings", "ended_at", "direction", "unit")


def _cli(config: Path, db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), "--db", db_url, *args])
    return result.exit_code, result.stdout, result.stderr


def _calls(config: Path, db_url: str) -> dict[str, dict[str, object]]:
    _, out, _ = _cli(config, db_url, "calls", "--format", "json")
    return {row["call_id"]: row for row in json.loads(out)}


def _monitor(config: Path, db_url: str, case: str) -> str:
    code, out, err = _cli(config, db_url, "monitor", "--read", str(CALLS / f"{case}.pcap"))
    assert code == 0, err
    return out


def _live_greetings(db_url: str) -> list[Greeting]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            rows = list(session.scalars(select(Greeting)))
            session.expunge_all()
            return rows
    finally:
        engine.dispose()


def test_a_replayed_stream_gives_the_calls_ingest_gives(db_url: str, tmp_path: Path) -> None:
    for case in LIVE + AT_HANGUP:
        out = _monitor(LAB_CONFIG, db_url, case)
        assert "1 calls (1 new)" in out
    ingested = f"sqlite:///{tmp_path / 'ingested.db'}"
    _cli(LAB_CONFIG, ingested, "ingest", *(str(CALLS / f"{c}.pcap") for c in LIVE + AT_HANGUP))
    live, reference = _calls(LAB_CONFIG, db_url), _calls(LAB_CONFIG, ingested)
    assert live.keys() == reference.keys() and len(live) == 5
    for call_id, call in live.items():
        assert {k: call[k] for k in FACTS} == {k: reference[call_id][k] for k in FACTS}
        assert call["greeting"]["verdict"] == reference[call_id]["greeting"]["verdict"]


def test_openings_are_judged_while_the_call_goes_on(db_url: str) -> None:
    out = _monitor(LAB_CONFIG, db_url, "audio_silent")
    assert "1 decided from the audio alone, 0 queued at hang-up" in out
    _monitor(LAB_CONFIG, db_url, "audio_no_rtp")
    greetings = {g.verdict: g for g in _live_greetings(db_url)}
    silent = greetings["silent"]
    assert silent.leg_call_id is not None and silent.call_pk is not None  # judged, then tied
    assert silent.thanked is None  # the closing was not listened to without a model
    assert silent.checked_at is not None
    at_hangup = greetings["no_audio"]
    assert at_hangup.leg_call_id is None and at_hangup.call_pk is not None


def test_replaying_a_stream_again_stores_nothing_twice(db_url: str) -> None:
    _monitor(LAB_CONFIG, db_url, "audio_silent")
    out = _monitor(LAB_CONFIG, db_url, "audio_silent")
    assert "1 calls (0 new)" in out and "0 decided from the audio alone" in out
    greetings = _live_greetings(db_url)
    assert len(greetings) == 1 and greetings[0].call_pk is not None


def test_with_a_model_the_opening_and_then_the_closing_are_recognised(
        db_url: str, model_config: Path) -> None:
    out = _monitor(model_config, db_url, "audio_closing_thanks")
    assert "1 queued at answer + window" in out
    assert "speech: 1 greetings judged, 1 closings checked, 0 recognition jobs failed" in out
    [call] = _calls(model_config, db_url).values()
    greeting = call["greeting"]
    assert isinstance(greeting, dict)
    assert greeting["verdict"] in JUDGED and isinstance(greeting["thanked"], bool)
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as session:
        kinds = dict(session.execute(select(SpeechJob.kind, SpeechJob.status)).all())
        audio_left = session.scalar(select(func.count()).select_from(SpeechJob).where(
            (SpeechJob.opening.is_not(None)) | (SpeechJob.closing.is_not(None))))
    engine.dispose()
    assert kinds == {"opening": "done", "closing": "done"}
    assert audio_left == 0  # keep_audio = false: judged audio is dropped
    code, out, _ = _cli(model_config, db_url, "speech", "status")
    assert code == 0 and out.splitlines() == ["opening jobs: 1 done", "closing jobs: 1 done"]


def test_audio_of_a_live_call_is_kept_only_with_keep_audio(db_url: str, tmp_path: Path,
                                                          model_config: Path) -> None:
    _monitor(LAB_CONFIG, db_url, "audio_pcma_greeting")  # no model: judged "not_checked"
    [call_id] = _calls(LAB_CONFIG, db_url)
    wav = tmp_path / "heard.wav"
    code, _, err = _cli(LAB_CONFIG, db_url, "audio", call_id, "--out", str(wav))
    assert code == 1 and "heard by the live monitor" in err and "keep_audio" in err

    keep = tmp_path / "keep.toml"
    keep.write_text(model_config.read_text().replace("workers = 2", "workers = 1\n"
                                                     "keep_audio = true"))
    other = f"sqlite:///{tmp_path / 'kept.db'}"
    _monitor(keep, other, "audio_pcma_greeting")
    code, _, err = _cli(keep, other, "audio", call_id, "--out", str(wav))
    assert code == 0, err
    pcm, rate = read_wav(wav)
    source, _ = read_wav(DATA / "audio_src" / "greeting_pl.wav")
    assert rate == 8000 and aligned_correlation(pcm, source) >= 0.9


def test_a_stream_that_is_not_a_capture_is_refused(db_url: str, tmp_path: Path) -> None:
    bogus = tmp_path / "not.pcap"
    bogus.write_bytes(b"this is not a capture at all" * 10)
    code, _, err = _cli(LAB_CONFIG, db_url, "monitor", "--read", str(bogus))
    assert code == 2 and f"stream:{bogus}: not a capture" in err


def test_a_damaged_stream_keeps_the_calls_before_the_damage(db_url: str, tmp_path: Path) -> None:
    data = (CALLS / "audio_no_rtp.pcap").read_bytes()
    damaged = tmp_path / "damaged.pcap"
    damaged.write_bytes(data + b"\xff" * 40)  # a record header claiming a huge packet
    code, out, err = _cli(LAB_CONFIG, db_url, "monitor", "--read", str(damaged))
    assert code == 0, err
    assert "1 calls (1 new)" in out and "capture damaged" in out


def _pcap_stream(packets: list[CapturedPacket]) -> bytes:
    """A classic pcap (µs) of ``packets``, as tcpdump -w - writes it."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, packets[0].linktype)]
    for packet in packets:
        seconds = int(packet.timestamp)
        micros = round((packet.timestamp - seconds) * 1e6)
        out.append(struct.pack("<IIII", seconds, micros, len(packet.data), len(packet.data)))
        out.append(bytes(packet.data))
    return b"".join(out)


def test_a_killed_monitor_loses_no_call(db_url: str, tmp_path: Path) -> None:
    """SIGKILL in the middle of a call: the next start replays the journal and stores it."""
    with open_capture(CALLS / "audio_pcma_greeting.pcap") as capture:
        packets = list(capture)
    reference = f"sqlite:///{tmp_path / 'ingested.db'}"
    _cli(LAB_CONFIG, reference, "ingest", str(CALLS / "audio_pcma_greeting.pcap"))
    [expected] = _calls(LAB_CONFIG, reference).values()
    answered = datetime.fromisoformat(str(expected["answered_at"])).timestamp()
    split = next(i for i, p in enumerate(packets) if p.timestamp > answered + 3.0)
    journal = tmp_path / "journal"
    command = [str(ETYKIETA), "--config", str(LAB_CONFIG), "--db", db_url, "monitor",
               "--read", "-", "--journal", str(journal)]
    first = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert first.stdin is not None
    first.stdin.write(_pcap_stream(packets[:split]))
    first.stdin.flush()  # the stream stays open: the monitor is in the middle of the call
    deadline = time.monotonic() + 20
    while sum(f.stat().st_size for f in journal.glob("*.pcap")) < 2000:
        assert time.monotonic() < deadline, "the monitor journaled nothing"
        time.sleep(0.1)
    time.sleep(1.0)  # an idle tick syncs the journal
    first.kill()
    first.communicate()
    assert _calls(LAB_CONFIG, db_url) == {}  # nothing finished, nothing stored
    code, out, _ = _cli(LAB_CONFIG, db_url, "speech", "status")
    assert code == 0 and "no speech jobs" in out

    second = subprocess.run(command, input=_pcap_stream(packets[split:]), capture_output=True,
                            timeout=60)
    assert second.returncode == 0, second.stderr
    assert b"replayed from the journal" in second.stdout and b"1 calls (1 new)" in second.stdout
    [call] = _calls(LAB_CONFIG, db_url).values()
    assert {k: call[k] for k in FACTS} == {k: expected[k] for k in FACTS}
    greeting = call["greeting"]
    assert isinstance(greeting, dict) and greeting["verdict"] == "not_checked"
    assert "not listening" in str(greeting["reason"])  # part of its audio was never heard
    assert list(journal.glob("*.pcap"))  # pruned only once calls older than the margin end


def test_a_live_verdict_stored_after_its_call_finds_the_call(db_url: str,
                                                             model_config: Path) -> None:
    """The race of a worker storing a verdict while the monitor stores the call: the worker
    read its job before the call was linked, and still ends up on the call."""
    code, out, err = _cli(model_config, db_url, "monitor", "--no-speech", "--read",
                          str(CALLS / "audio_pcma_greeting.pcap"))
    assert code == 0 and "1 queued at answer + window" in out, err
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as session:
        job = session.scalars(select(SpeechJob).where(SpeechJob.kind == "opening")).one()
        assert job.call_pk is not None  # linked when the call was stored
        job.call_pk = None  # what the worker saw
    engine.dispose()
    code, out, err = _cli(model_config, db_url, "speech", "run")
    assert code == 0 and "1 greetings judged, 1 closings checked" in out, err
    [call] = _calls(model_config, db_url).values()
    assert call["greeting"]["verdict"] in JUDGED  # type: ignore[index]
    assert not [g for g in _live_greetings(db_url) if g.call_pk is None]


def test_a_call_going_on_when_the_stream_ends_is_stored_as_final(db_url: str) -> None:
    """Nothing continues what a monitor without a journal was following: unlike ``ingest``'s
    calls cut by the end of a file, it is not left ``in_progress``."""
    out = _monitor(LAB_CONFIG, db_url, "direct_unknown")
    assert "1 calls (1 new)" in out
    [call] = _calls(LAB_CONFIG, db_url).values()
    assert (call["outcome"], call["in_progress"]) == ("unknown", False)
