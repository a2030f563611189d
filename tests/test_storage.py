"""The metrics database: migrations, idempotent ingest, damaged captures, both backends."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select, text

from etykieta.config import Settings
from etykieta.ingest import Ingestor
from etykieta.storage import Base, Call, Capture, Leg, make_engine, make_sessionmaker
from etykieta.storage.db import alembic_config, needs_upgrade, upgrade
from etykieta.storage.models import SpeechJob
from etykieta.telephony.capture.pcap_file import open_capture

from .conftest import CALLS


def _count(engine: Engine, model: type[Base]) -> int:
    with make_sessionmaker(engine).begin() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert not needs_upgrade(engine)


def test_a_database_of_the_previous_release_upgrades_with_its_calls(
        db_url: str, lab_settings: Settings) -> None:
    """0002 → 0003 → 0004 keep stored calls and every row that hangs on them (0004 rebuilds
    ``calls`` on SQLite); the newest downgrades to 0002 and back."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO calls (id, call_id, started_at, ended_at, direction, caller, "
                "caller_e164, dialed, dialed_e164, outcome, link, holds) VALUES (1, 'c1', "
                "'2026-11-20 09:00:00+00:00', '2026-11-20 09:01:00+00:00', 'inbound', '+48', "
                "'+48', '1201', '1201', 'answered', 'single', 0)"))
            conn.execute(text(
                "INSERT INTO speech_jobs (call_pk, status, attempts, sample_rate, created_at) "
                "VALUES (1, 'queued', 0, 8000, '2026-11-20 09:01:00+00:00')"))
        upgrade(engine, "0003")
        with engine.begin() as conn:  # a child of each kind, so a rebuilt parent must keep them
            conn.execute(text(
                "INSERT INTO legs (call_pk, call_id, role, started_at, caller, callee, transport, "
                "src, dst, first_packet, last_packet, retransmissions) VALUES (1, 'c1', "
                "'caller', '2026-11-20 09:00:00+00:00', '+48', '1201', 'UDP', 'a:1', 'b:2', 1, "
                "9, 0)"))
            conn.execute(text(
                "INSERT INTO greetings (call_pk, verdict, missing, casual_words, details, "
                "checked_at) VALUES (1, 'complete', '[]', '[]', '{}', "
                "'2026-11-20 09:02:00+00:00')"))
        upgrade(engine)
        with make_sessionmaker(engine).begin() as session:
            [job] = session.scalars(select(SpeechJob))
            assert (job.kind, job.call_pk, job.status) == ("call", 1, "queued")
            [call] = session.scalars(select(Call))
            assert call.in_progress is False and call.caller_name is None
            assert [leg.call_id for leg in call.legs] == ["c1"]
            assert call.greeting is not None and call.greeting.verdict == "complete"
        command.downgrade(alembic_config(engine), "0002")
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


def test_a_new_database_needs_an_upgrade(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert needs_upgrade(engine)
        upgrade(engine)
        assert not needs_upgrade(engine)
    finally:
        engine.dispose()


def test_ingesting_the_same_capture_twice_adds_nothing(engine: Engine,
                                                       lab_settings: Settings) -> None:
    ingestor = Ingestor(lab_settings, make_sessionmaker(engine))
    first = ingestor.ingest_file(CALLS / "direct_answered_ring1.pcap")
    again = ingestor.ingest_file(CALLS / "direct_answered_ring1.pcap")
    assert (first.calls, first.added) == (1, 1)
    assert (again.calls, again.added) == (1, 0)
    assert _count(engine, Call) == 1
    assert _count(engine, Capture) == 2  # both attempts are on record


def test_times_come_back_as_utc(engine: Engine, lab_settings: Settings) -> None:
    Ingestor(lab_settings, make_sessionmaker(engine)).ingest_file(
        CALLS / "direct_answered_ring1.pcap")
    with make_sessionmaker(engine).begin() as session:
        call = session.scalars(select(Call)).one()
        assert call.started_at.tzinfo is not None
        assert call.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert call.answered_at is not None and call.answered_at > call.started_at
        assert [leg.role for leg in call.legs] == ["caller"]


def test_a_truncated_capture_keeps_what_it_could_read(engine: Engine, lab_settings: Settings,
                                                      tmp_path: Path) -> None:
    whole = CALLS / "direct_answered_ring1.pcap"
    cut = tmp_path / "cut.pcap"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) - 40])  # the last packet is cut in two
    with open_capture(whole) as capture:
        frames = sum(1 for _ in capture)
    summary = Ingestor(lab_settings, make_sessionmaker(engine)).ingest_file(cut)
    assert summary.truncated
    assert summary.packets == frames - 1
    assert summary.calls == 1
    assert "truncated" in summary.line() or "capture damaged" in summary.line()
    assert _count(engine, Leg) == 1


def test_not_a_capture_stores_nothing(engine: Engine, lab_settings: Settings,
                                      tmp_path: Path) -> None:
    from etykieta.errors import CaptureFormatError

    text_file = tmp_path / "notes.pcap"
    text_file.write_text("this is not a capture\n")
    with pytest.raises(CaptureFormatError):
        Ingestor(lab_settings, make_sessionmaker(engine)).ingest_file(text_file)
    assert _count(engine, Capture) == 0


def test_reingest_after_a_crash_fills_only_the_gap(engine: Engine, lab_settings: Settings,
                                                  tmp_path: Path) -> None:
    """A crash after some batches were stored: the re-run adds exactly the calls missing."""
    sessions = make_sessionmaker(engine)
    ingestor = Ingestor(lab_settings, sessions)
    for name in ("direct_busy.pcap", "direct_answered_ring1.pcap"):
        shutil.copy(CALLS / name, tmp_path / name)
    ingestor.ingest_file(tmp_path / "direct_busy.pcap")  # stored before the "crash"
    merged = tmp_path / "both.pcap"
    _merge(merged, tmp_path / "direct_busy.pcap", tmp_path / "direct_answered_ring1.pcap")
    summary = ingestor.ingest_file(merged)
    assert (summary.calls, summary.added) == (2, 1)
    assert _count(engine, Call) == 2
    ingestor.refresh_callbacks(datetime(2026, 11, 18, 12, 0, tzinfo=UTC))


def _merge(out: Path, *inputs: Path) -> None:
    """Concatenate captures with Wireshark's mergecap (installed by ``make test``)."""
    subprocess.run(["mergecap", "-a", "-w", str(out), *map(str, inputs)], check=True)
