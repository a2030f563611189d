"""What the read seam gives a supervisor (their units) and a staff member (their extension)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from etykieta.storage import make_sessionmaker
from etykieta.storage.queries import callback_worklist, list_calls

from .rows import T0, add_call

KOM, POD = "Wydział Komunikacji", "Wydział Podatków i Opłat Lokalnych"
BOM = "Biuro Obsługi Mieszkańców"


def test_a_persons_calls_are_those_that_rang_or_were_answered_at_their_extension(
        engine: Engine) -> None:
    with make_sessionmaker(engine).begin() as session:
        add_call(session, 1, unit=KOM, answered_by="1201", rang=("1201",))
        add_call(session, 2, unit=KOM, answered_by="1202", rang=("1201", "1202"))  # forked
        add_call(session, 3, unit=KOM, rang=("1201",))  # rang, nobody answered
        add_call(session, 4, unit=KOM, answered_by="1201")  # answered, no leg stored
        add_call(session, 5, unit=KOM, answered_by="1202", rang=("1202",))
        add_call(session, 6, unit=POD, answered_by="1301", rang=("1301",))
        mine = list_calls(session, as_of=T0, extension="1201")
        assert [c.call_id for c in mine] == ["c1@test", "c2@test", "c3@test", "c4@test"]
        page = list_calls(session, as_of=T0, extension="1201", after=mine[1].key, limit=1)
        assert [c.call_id for c in page] == ["c3@test"]


def test_a_supervisors_calls_are_those_of_their_units(engine: Engine) -> None:
    with make_sessionmaker(engine).begin() as session:
        for n, unit in enumerate((KOM, POD, BOM, None, KOM)):
            add_call(session, n, unit=unit)
        calls = list_calls(session, as_of=T0, units=(KOM, BOM),
                           until=T0 + timedelta(minutes=4))
        assert [c.call_id for c in calls] == ["c0@test", "c2@test"]
        assert list_calls(session, as_of=T0, units=()) == []


def test_the_worklist_is_the_open_callbacks_of_the_units_soonest_due_first(
        engine: Engine) -> None:
    hour = timedelta(hours=1)
    with make_sessionmaker(engine).begin() as session:
        add_call(session, 1, unit=KOM, callback=("pending", T0 + 3 * hour))
        add_call(session, 2, unit=KOM, callback=("pending", T0 + hour))
        add_call(session, 3, unit=KOM, callback=("done", T0 + hour))
        add_call(session, 4, unit=POD, callback=("pending", T0 + 2 * hour))
        add_call(session, 5, unit=KOM, callback=("missed", T0 - hour))
        work = callback_worklist(session, as_of=T0 + 2 * hour, units=(KOM,))
        assert [(c.call_id, c.callback.status if c.callback else None) for c in work] == [
            ("c5@test", "missed"), ("c2@test", "missed"), ("c1@test", "pending")]
        everyone = callback_worklist(session, as_of=T0)
        assert [c.call_id for c in everyone] == ["c5@test", "c2@test", "c4@test", "c1@test"]


def test_calls_can_be_listed_by_outcome(engine: Engine) -> None:
    with make_sessionmaker(engine).begin() as session:
        add_call(session, 1, unit=KOM, answered_by="1201")
        add_call(session, 2, unit=KOM)
        add_call(session, 3, unit=KOM, outcome="busy")
        assert [c.call_id for c in list_calls(session, as_of=T0, outcome="no_answer")] == [
            "c2@test"]
