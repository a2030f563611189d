"""The facts of a call are enum members in the core and the same strings at every edge."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from etykieta.config import Settings
from etykieta.ingest import Ingestor
from etykieta.storage import make_sessionmaker
from etykieta.telephony.analyzer import SignallingAnalyzer
from etykieta.telephony.capture.pcap_file import open_capture
from etykieta.telephony.records import (
    CallRecord,
    Direction,
    LegRole,
    LinkKind,
    Outcome,
    TransferKind,
    TransferOutcome,
    TransferReason,
)

from .conftest import CALLS


def _calls(name: str, settings: Settings) -> list[CallRecord]:
    analyzer = SignallingAnalyzer(settings)
    with open_capture(CALLS / name) as capture:
        calls = [call for packet in capture for call in analyzer.receive(packet)]
    return calls + analyzer.close()


def test_a_transferred_call_carries_its_facts_as_members(lab_settings: Settings) -> None:
    [call] = _calls("transfer_attended.pcap", lab_settings)
    assert call.direction is Direction.INBOUND and call.outcome is Outcome.ANSWERED
    assert call.link is LinkKind.REFER
    assert [leg.role for leg in call.legs] == [
        LegRole.CALLER, LegRole.CONSULTATION, LegRole.TRANSFER]
    transfer = call.transfer
    assert transfer is not None
    assert (transfer.kind, transfer.outcome, transfer.reason) == (
        TransferKind.ATTENDED, TransferOutcome.CONNECTED, None)
    assert type(transfer.kind) is TransferKind


def test_a_failed_transfer_says_why_with_a_member(lab_settings: Settings) -> None:
    [call] = _calls("transfer_failed_busy.pcap", lab_settings)
    assert call.transfer is not None
    assert call.transfer.outcome is TransferOutcome.FAILED
    assert call.transfer.reason is TransferReason.BUSY


def test_members_read_as_their_strings(lab_settings: Settings) -> None:
    [call] = _calls("transfer_attended.pcap", lab_settings)
    assert call.outcome == "answered" and f"{call.direction}" == "inbound"
    assert str(call.link) == "refer" and "refer" in {call.link}
    assert json.dumps({"kind": TransferKind.ATTENDED}) == '{"kind": "attended"}'


def test_the_database_stores_the_plain_strings(lab_settings: Settings, engine: Engine) -> None:
    Ingestor(lab_settings, make_sessionmaker(engine)).ingest_file(CALLS / "transfer_attended.pcap")
    with engine.connect() as connection:
        call = connection.execute(text("SELECT direction, outcome, link FROM calls")).one()
        roles = connection.execute(text("SELECT role FROM legs ORDER BY id")).scalars().all()
        transfer = connection.execute(text("SELECT kind, outcome, reason FROM transfers")).one()
    assert tuple(call) == ("inbound", "answered", "refer")
    assert roles == ["caller", "consultation", "transfer"]
    assert tuple(transfer) == ("attended", "connected", None)
    assert all(type(value) is str for value in (*call, *roles, *transfer[:2]))
