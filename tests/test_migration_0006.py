"""Migration 0006: the ladder of each leg and disputed greeting verdicts, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from etykieta.storage import Base, Call, make_engine, make_sessionmaker
from etykieta.storage.db import alembic_config, upgrade


def test_0006_keeps_legs_and_adds_an_empty_ladder_and_the_dispute_tables(db_url: str) -> None:
    """A leg stored under 0005 survives 0006 with no ladder (None: not kept then); 0006
    downgrades to 0005 and back, and the result is exactly the models."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO calls (id, call_id, started_at, ended_at, direction, caller, "
                "caller_e164, dialed, dialed_e164, outcome, link, holds, in_progress) VALUES "
                "(1, 'c1', '2026-11-20 09:00:00+00:00', '2026-11-20 09:01:00+00:00', "
                "'inbound', '+48', '+48', '1201', '1201', 'answered', 'single', 0, false)"))
            conn.execute(text(
                "INSERT INTO legs (call_pk, call_id, role, started_at, caller, callee, transport, "
                "src, dst, first_packet, last_packet, retransmissions) VALUES (1, 'c1', "
                "'caller', '2026-11-20 09:00:00+00:00', '+48', '1201', 'UDP', 'a:1', 'b:2', 1, "
                "9, 0)"))
        upgrade(engine, "0006")
        with make_sessionmaker(engine).begin() as session:
            [call] = session.scalars(select(Call))
            assert [(leg.call_id, leg.ladder) for leg in call.legs] == [("c1", None)]
            assert call.dispute is None
        command.downgrade(alembic_config(engine), "0005")
        tables = set(inspect(engine).get_table_names())
        assert "disputes" not in tables and "dispute_events" not in tables
        assert "ladder" not in {c["name"] for c in inspect(engine).get_columns("legs")}
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()
