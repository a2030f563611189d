"""The read seam (storage/queries.py): its SQL says what counting the stored rows by hand says.

The calls are made here, each a plain spec first (what the test counts from) and then rows,
so that every figure the aggregates return is checked against a count that does not go
through them: outcomes, units no config lists and no unit at all, several transfers of one
call, callbacks of every status on both sides of their deadline, every verdict (one nobody
knows, and none), queued speech jobs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from etykieta.callbacks import CallbackStatus
from etykieta.callbacks.follow_ups import status_as_of
from etykieta.config import Settings
from etykieta.reports.greetings import greeting_table_units
from etykieta.reports.summary import NO_UNIT, call_table_units
from etykieta.reports.units import Period, report_scope
from etykieta.reports.views import CallView
from etykieta.storage import Call, CallbackObligation, Transfer, make_sessionmaker
from etykieta.storage.models import Greeting, SpeechJob
from etykieta.storage.queries import (
    callback_status_as_of,
    greeting_counts,
    list_calls,
    unit_call_counts,
    unit_callback_counts,
)
from etykieta.storage.report_queries import report_counts
from etykieta.telephony.numbers import Directory

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
UNITS = ("Wydział Komunikacji", "Wydział Podatków i Opłat Lokalnych", None, "Straż Miejska")
EXTENSIONS = ("1201", "1301", "1401", "9999", None)
OUTCOMES = ("answered", "abandoned", "busy", "no_answer", "voicemail", "rejected", "failed",
            "unknown", "answered")
DIRECTIONS = ("inbound", "internal", "inbound", "outbound", "inbound", "internal", "inbound")
VERDICTS = ("complete", "partial", "no_greeting", "silent", "unclear", "no_audio",
            "unsupported_codec", "not_checked", "a_verdict_nobody_knows", None)
STATUSES = tuple(s.value for s in CallbackStatus)
CALLBACK_UNITS = ("Wydział Komunikacji", "Straż Miejska", "Biuro Obsługi Mieszkańców", "Obcy")
JOBS = ("queued", "running", "done", "failed", None)


@dataclass
class Spec:
    """One call as the test makes it."""

    index: int
    started_at: datetime
    direction: str
    outcome: str
    unit: str | None
    answered_by: str | None
    within_target: bool | None
    transfers: list[str] = field(default_factory=list)  # outcomes, in seq order
    callback: tuple[str, str, datetime] | None = None  # unit, stored status, due_at
    verdict: str | None = None
    too_fast: bool | None = None
    casual: tuple[str, ...] = ()
    thanked: bool | None = None
    job: str | None = None


def _specs() -> list[Spec]:
    specs = []
    for i in range(90):
        spec = Spec(index=i, started_at=T0 + timedelta(minutes=7 * (i // 6)),  # ties by sixes
                    direction=DIRECTIONS[i % 7], outcome=OUTCOMES[i % 9], unit=UNITS[i % 4],
                    answered_by=EXTENSIONS[i % 5], within_target=(None, True, False)[i % 3])
        spec.transfers = [("failed", "connected")[(i + k) % 2] for k in range(i % 3)]
        if i % 4 == 1:
            spec.callback = (CALLBACK_UNITS[i // 4 % 4], STATUSES[i % 5],
                             T0 + timedelta(hours=i % 7))
        if spec.outcome == "answered" and (verdict := VERDICTS[i % 10]) is not None:
            spec.verdict = verdict
            spec.too_fast = (None, True, False)[i % 3]
            spec.casual = ("no",) if i % 4 == 0 else ()
            spec.thanked = (None, True, False, True)[i % 4]
        spec.job = JOBS[i % 5]
        specs.append(spec)
    return specs


SPECS = _specs()


def _store(session: Session) -> None:
    for spec in reversed(SPECS):  # ids do not follow start times: ties are broken by id
        call = Call(call_id=f"c{spec.index}@lab", started_at=spec.started_at,
                    ended_at=spec.started_at + timedelta(minutes=2), direction=spec.direction,
                    caller="+48741000000", caller_e164="+48741000000", dialed="1201",
                    dialed_e164="1201", unit=spec.unit, answered_by=spec.answered_by,
                    outcome=spec.outcome, within_target=spec.within_target, link="single")
        call.transfers = [Transfer(seq=seq, kind="blind", target="1202", outcome=outcome,
                                   at=spec.started_at) for seq, outcome in
                          enumerate(spec.transfers)]
        if spec.callback is not None:
            unit, status, due_at = spec.callback
            call.callback = CallbackObligation(
                unit=unit, number="+48741000000", reason="missed_call", opened_at=T0,
                due_at=due_at, status=status, attempts=spec.index % 2)
        if spec.verdict is not None:
            call.greeting = Greeting(verdict=spec.verdict, too_fast=spec.too_fast,
                                     casual_words=list(spec.casual), thanked=spec.thanked,
                                     missing=["name"], checked_at=T0)
        if spec.job is not None:
            call.speech_jobs = [SpeechJob(status=spec.job, sample_rate=8000, created_at=T0)]
        session.add(call)
        session.flush()


@pytest.fixture
def stored(engine: Engine) -> Engine:
    with make_sessionmaker(engine).begin() as session:
        _store(session)
    return engine


AS_OF = (T0 - timedelta(days=1), T0 + timedelta(hours=3),  # the deadline of open duties
         T0 + timedelta(hours=3, microseconds=1), T0 + timedelta(days=30))


@pytest.mark.parametrize("now", AS_OF, ids=["before", "at_a_deadline", "just_after", "after"])
def test_the_sql_callback_status_is_status_as_of(stored: Engine, now: datetime) -> None:
    with make_sessionmaker(stored).begin() as session:
        rows = session.execute(select(CallbackObligation.status, CallbackObligation.due_at,
                                      callback_status_as_of(now))).all()
    assert [sql for *_, sql in rows] == [status_as_of(s, due, now) for s, due, _ in rows]
    assert {sql for *_, sql in rows} >= ({"pending", "missed"} if now in AS_OF[1:3] else set())
    open_now = {due for status, due, _ in rows if status in ("pending", "missed")}
    assert AS_OF[1] in open_now  # a duty falls due exactly at one of the instants


def test_the_listing_gives_every_call_with_its_last_transfer_callback_and_greeting(
        stored: Engine) -> None:
    now = AS_OF[1]
    with make_sessionmaker(stored).begin() as session:
        calls = list_calls(session, as_of=now)
    by_index = {int(c.call_id[1:].split("@")[0]): c for c in calls}
    assert [c.key for c in calls] == sorted(c.key for c in calls)
    assert sorted(by_index) == [s.index for s in SPECS]
    for spec in SPECS:
        view = by_index[spec.index]
        assert (view.transfer.outcome if view.transfer else None) == (
            spec.transfers[-1] if spec.transfers else None)
        if spec.callback is None:
            assert view.callback is None
        else:
            assert view.callback is not None
            unit, status, due_at = spec.callback
            assert (view.callback.unit, view.callback.status) == (
                unit, status_as_of(status, due_at, now))
        assert (view.greeting.verdict if view.greeting else None) == spec.verdict
        assert view.speech_waiting == (spec.job in ("queued", "running"))


def test_pages_of_the_listing_add_up_to_the_whole(stored: Engine) -> None:
    with make_sessionmaker(stored).begin() as session:
        whole = list_calls(session, as_of=T0)
        pages: list[CallView] = []
        while page := list_calls(session, as_of=T0, limit=7,
                                 after=pages[-1].key if pages else None):
            pages.extend(page)
        since = list_calls(session, as_of=T0, since=SPECS[30].started_at,
                           until=SPECS[60].started_at, unit="Straż Miejska")
    assert pages == whole
    assert {int(c.call_id[1:].split("@")[0]) for c in since} == {
        s.index for s in SPECS[30:60] if s.unit == "Straż Miejska"}


def _first(specs: list[Spec], ids: dict[int, int]) -> tuple[datetime, int]:
    return min((s.started_at, ids[s.index]) for s in specs)


def _ids(engine: Engine) -> dict[int, int]:
    with make_sessionmaker(engine).begin() as session:
        return {int(call_id[1:].split("@")[0]): pk
                for pk, call_id in session.execute(select(Call.id, Call.call_id))}


def test_unit_call_counts_are_the_calls_counted_by_hand(stored: Engine) -> None:
    since, until = SPECS[6].started_at, SPECS[84].started_at
    with make_sessionmaker(stored).begin() as session:
        got = {c.unit: c for c in unit_call_counts(session, since=since, until=until)}
    period = [s for s in SPECS if since <= s.started_at < until]
    ids = _ids(stored)
    assert set(got) == {s.unit for s in period}
    for unit, counts in got.items():
        mine = [s for s in period if s.unit == unit]
        inbound = [s for s in mine if s.direction == "inbound"]
        outcomes = Counter(s.outcome for s in inbound)
        assert counts.first_call == _first(mine, ids)
        assert counts.inbound == len(inbound)
        assert counts.within_target == sum(bool(s.within_target) for s in inbound)
        assert (counts.answered, counts.abandoned, counts.voicemail, counts.busy,
                counts.no_answer, counts.rejected, counts.failed, counts.unknown) == tuple(
            outcomes[o] for o in ("answered", "abandoned", "voicemail", "busy", "no_answer",
                                  "rejected", "failed", "unknown"))
        assert counts.failed_transfers == sum(s.transfers.count("failed") for s in mine)


@pytest.mark.parametrize("now", AS_OF, ids=["before", "at_a_deadline", "just_after", "after"])
def test_unit_callback_counts_are_the_duties_counted_by_hand(stored: Engine,
                                                             now: datetime) -> None:
    with make_sessionmaker(stored).begin() as session:
        got = unit_callback_counts(session, as_of=now, since=SPECS[6].started_at)
    ids = _ids(stored)
    duties = [s for s in SPECS[6:] if s.callback is not None]
    want = {}
    for unit in {s.callback[0] for s in duties if s.callback}:
        mine = [s for s in duties if s.callback and s.callback[0] == unit]
        statuses = Counter(status_as_of(s.callback[1], s.callback[2], now)
                           for s in mine if s.callback)
        want[unit] = (_first(mine, ids), *(statuses[s] for s in (
            "pending", "missed", "done", "late", "caller_called_again")))
    assert {c.unit: (c.first_call, c.pending, c.missed, c.done, c.late, c.caller_called_again)
            for c in got} == want


def test_greeting_counts_are_the_greetings_counted_by_hand(stored: Engine) -> None:
    with make_sessionmaker(stored).begin() as session:
        got = greeting_counts(session)
    ids = _ids(stored)
    greeted = [s for s in SPECS if s.outcome == "answered"
               and s.direction in ("inbound", "internal")]
    want = {}
    for key in {(s.answered_by, s.unit) for s in greeted}:
        mine = [s for s in greeted if (s.answered_by, s.unit) == key]
        verdicts = Counter(s.verdict for s in mine)
        named = ("complete", "partial", "no_greeting", "silent", "unclear", "no_audio",
                 "unsupported_codec")
        want[key] = (_first(mine, ids), len(mine), *(verdicts[v] for v in named),
                     sum(n for v, n in verdicts.items() if v not in named),
                     sum(s.too_fast is True for s in mine), sum(bool(s.casual) for s in mine),
                     sum(s.thanked is True for s in mine),
                     sum(s.thanked is not None for s in mine))
    assert {(g.answered_by, g.unit): (
        g.first_call, g.answered, g.complete, g.partial, g.no_greeting, g.silent, g.unclear,
        g.no_audio, g.unsupported_codec, g.not_checked, g.too_fast, g.casual, g.thanked,
        g.closings_heard) for g in got} == want


def test_units_no_config_lists_come_after_in_the_order_of_their_first_call(
        stored: Engine, lab_settings: Settings) -> None:
    """Six calls start at each instant; their ids, not their names, order the units."""
    units = [u.name for u in lab_settings.units]
    with make_sessionmaker(stored).begin() as session:
        counts = report_counts(session, report_scope(lab_settings, Period.all_time(), as_of=T0,
                                                     staff=False))
    table = call_table_units(counts, units)
    greetings = greeting_table_units(counts, Directory(lab_settings), units)
    ids = _ids(stored)
    first: dict[str, tuple[datetime, int, int]] = {}
    for spec in sorted(SPECS, key=lambda s: ids[s.index]):
        for name, source in ((spec.unit or NO_UNIT, 0),
                             (spec.callback[0] if spec.callback else None, 1)):
            if name is not None:
                key = (spec.started_at, ids[spec.index], source)
                first[name] = min(first.get(name, key), key)
    others = sorted((n for n in first if n not in units), key=first.__getitem__)
    assert table == [*units, *others]
    directory = Directory(lab_settings)
    spoke: dict[str, tuple[datetime, int]] = {}
    for spec in SPECS:
        if spec.outcome == "answered" and spec.direction in ("inbound", "internal"):
            unit = directory.unit_of(spec.answered_by) if spec.answered_by else None
            name = unit.name if unit else spec.unit or NO_UNIT
            spoke[name] = min(spoke.get(name, (spec.started_at, ids[spec.index])),
                              (spec.started_at, ids[spec.index]))
    others = sorted((n for n in spoke if n not in units), key=spoke.__getitem__)
    assert greetings == [*units, *others]
    assert len(others) >= 2
