"""Migration 0009: a capture file larger than 2 GiB is recorded, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from etykieta.storage import Base, make_engine, make_sessionmaker
from etykieta.storage.db import alembic_config, upgrade
from etykieta.storage.models import Capture

BIG = 2_195_730_000  # a 2.2 GB capture file: out of range for a 32-bit INTEGER


def test_a_capture_over_2_gib_is_stored_and_0009_goes_down_and_up(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
        with make_sessionmaker(engine).begin() as session:
            session.add(Capture(path="/var/cap/big.pcap", size=BIG, mtime=0.0, ingested_at=at))
        with make_sessionmaker(engine).begin() as session:
            assert session.scalar(select(Capture.size)) == BIG
            session.execute(Capture.__table__.delete())
        command.downgrade(alembic_config(engine), "0008")
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()
