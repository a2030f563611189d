"""The call page: who may open it, what it shows (escaped), and the dispute of a verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from etykieta.storage import Call, make_engine, make_sessionmaker
from etykieta.storage.audit import AuditAction, entries
from etykieta.storage.models import Dispute

from .conftest import Site, cli
from .greetings import judge
from .rows import add_call

TRANSFER = "1-5886@127.0.2.1"  # transfer_attended.pcap: 1201 answers, transfers to 1202
AUDIO = "1-30314@127.0.4.1"  # an audio capture answered at 1201
GREETING = [("wydział", 0.4), ("komunikacji", 0.8), ("aha", 1.6), ("anna", 2.0),
            ("kowalska", 2.4), ("dzień", 3.0), ("dobry", 3.3)]


@pytest.fixture
def db(site: Site) -> Iterator[object]:
    engine = make_engine(site.db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _id(db: object, call_id: str) -> int:
    with db.begin() as session:  # type: ignore[attr-defined]
        found = session.scalar(select(Call.id).where(Call.call_id == call_id))
    assert found is not None
    return int(found)


def test_the_ladder_of_an_attended_transfer_is_drawn_with_every_deciding_message(
        site: Site, db: object) -> None:
    page = site.login("ada").get(f"/calls/{_id(db, TRANSFER)}")
    assert page.status_code == 200
    html = page.text
    ladder = html[html.index('<svg class="ladder"'):html.index("</svg>")]
    # tshark -Y sip on transfer_attended.pcap: 3 INVITEs, 2 × 180, 3 × 200 to INVITE, REFER,
    # 202, 2 NOTIFYs, 3 BYEs; ACKs and the 200s to NOTIFY and BYE are not on the ladder
    labels = [label.split(">")[-1] for label in ladder.split("</text>") if "ladder-label" in label]
    assert sorted(labels) == sorted(["INVITE"] * 3 + ["180 Ringing"] * 2 + ["200 OK"] * 3 + [
        "REFER", "202 Accepted", "NOTIFY (100)", "NOTIFY (200)"] + ["BYE"] * 3)
    for address in ("127.0.2.1:25001", "127.0.3.1:25201", "127.0.3.2:25202"):
        assert f">{address}</text>" in ladder
    assert "przełączenie z zapowiedzią" in html and "T4–T5" in html
    assert "Odebrane przy 1. sygnale" in html


def test_roles_see_their_calls_and_get_403_for_others(site: Site, db: object) -> None:
    call = _id(db, TRANSFER)  # Wydział Komunikacji, rang at 1201 and 1202
    assert site.login("ada").get(f"/calls/{call}").status_code == 200
    assert site.login("marek").get(f"/calls/{call}").status_code == 200
    assert site.login("anna").get(f"/calls/{call}").status_code == 200
    assert site.login("jan").get(f"/calls/{call}").status_code == 403
    assert site.login("ada").get("/calls/999999").status_code == 404
    anonymous = site.client().get(f"/calls/{call}")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_a_supervisor_sees_a_call_of_another_unit_that_rang_at_their_staff(
        site: Site, db: object) -> None:
    with db.begin() as session:  # type: ignore[attr-defined]
        other = add_call(session, 901, unit="Wydział Podatków i Opłat Lokalnych",
                         rang=("1201",)).id
        foreign = add_call(session, 902, unit="Wydział Podatków i Opłat Lokalnych",
                           answered_by="1301").id
    assert site.login("marek").get(f"/calls/{other}").status_code == 200
    assert site.login("marek").get(f"/calls/{foreign}").status_code == 403
    assert site.login("anna").get(f"/calls/{foreign}").status_code == 403
    assert site.login("jan").get(f"/calls/{foreign}").status_code == 200


def test_numbers_are_masked_for_staff_and_whole_for_admins(site: Site, db: object) -> None:
    call = _id(db, TRANSFER)
    assert "+48512345678" in site.login("ada").get(f"/calls/{call}").text
    staff = site.login("anna").get(f"/calls/{call}").text
    assert "+48512345678" not in staff and "***" in staff


def test_script_in_a_display_name_and_in_a_transcript_is_shown_as_text(
        site: Site, db: object) -> None:
    with db.begin() as session:  # type: ignore[attr-defined]
        call = add_call(session, 903, unit="Wydział Komunikacji", answered_by="1201",
                        caller_name='<script>alert("x")</script>')
        judge(session, call.id, site.settings, "1201",
              [*GREETING, ("<script>alert(1)</script>", 4.0)])
        pk = call.id
    html = site.login("ada").get(f"/calls/{pk}").text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_the_transcript_marks_each_element_with_its_time(site: Site, db: object) -> None:
    with db.begin() as session:  # type: ignore[attr-defined]
        call = add_call(session, 904, unit="Wydział Komunikacji", answered_by="1201")
        judge(session, call.id, site.settings, "1201", GREETING)
        pk = call.id
    html = site.login("anna").get(f"/calls/{pk}").text
    assert '<mark class="mark mark-unit">wydział komunikacji</mark>' in html
    assert '<mark class="mark mark-name">anna kowalska</mark>' in html
    assert '<mark class="mark mark-dzien_dobry">dzień dobry</mark>' in html
    assert '<mark class="mark mark-casual">aha</mark>' in html
    assert "0,4–1,1 s" in html  # "wydział komunikacji": 0.4 s to 0.8 + 0.3 s


def _greeting_counts(site: Site) -> dict[str, object]:
    out = cli(site.db_url, "report", "units", "--since", "2026-11-23", "--until", "2026-11-24",
              "--unit", "Wydział Komunikacji", "--format", "json")
    [unit] = json.loads(out)
    return dict(unit["greetings"])


def test_a_dispute_overridden_by_the_supervisor_counts_as_set_and_is_audited(
        site: Site, db: object) -> None:
    with db.begin() as session:  # type: ignore[attr-defined]
        session.execute(delete(Dispute))
        call = add_call(session, 905, unit="Wydział Komunikacji", answered_by="1201",
                        started_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
        judge(session, call.id, site.settings, "1201", [("dzień", 0.5), ("dobry", 0.8)])
        pk = call.id
    before = _greeting_counts(site)
    anna = site.login("anna")
    page = anna.get(f"/calls/{pk}").text
    assert f'action="/calls/{pk}/dispute"' in page
    refused = anna.post(f"/calls/{pk}/dispute", data={"comment": "no token"})
    assert refused.status_code == 403
    filed = anna.post(f"/calls/{pk}/dispute", data={
        "comment": "Przedstawiłam się w całości.", "csrf_token": site.csrf(anna)})
    assert filed.status_code == 303
    assert site.login("jan").post(f"/calls/{pk}/decision", data={
        "verdict": "complete", "csrf_token": site.csrf(site.login("jan"))}).status_code == 403
    assert anna.post(f"/calls/{pk}/decision", data={
        "verdict": "complete", "csrf_token": site.csrf(anna)}).status_code == 403
    marek = site.login("marek")
    assert f'action="/calls/{pk}/decision"' in marek.get(f"/calls/{pk}").text
    decided = marek.post(f"/calls/{pk}/decision", data={
        "verdict": "complete", "comment": "Odsłuchałem: powitanie pełne.",
        "csrf_token": site.csrf(marek)})
    assert decided.status_code == 303
    after = _greeting_counts(site)
    machine = "partial" if before["partial"] else "no_greeting"
    assert after["complete"] == before["complete"] + 1  # type: ignore[operator]
    assert after[machine] == before[machine] - 1  # type: ignore[operator]
    assert after["overridden"] == before["overridden"] + 1  # type: ignore[operator]
    [obj] = [c for c in site.login("ada").get("/api/calls", params={
        "since": "2026-11-23", "until": "2026-11-24"}).json() if c["call_id"] == "c905@test"]
    dispute = obj["greeting"]["dispute"]
    assert obj["greeting"]["verdict"] == "complete"
    assert (dispute["status"], dispute["machine_verdict"], dispute["verdict"]) == (
        "overridden", machine, "complete")
    assert [(e["who"], e["action"]) for e in dispute["history"]] == [
        ("anna", "disputed"), ("marek", "overridden")]
    with db.begin() as session:  # type: ignore[attr-defined]
        disputed = entries(session, action=AuditAction.DISPUTE)
        overrides = entries(session, action=AuditAction.OVERRIDE)
    assert any(e.who == "anna" and e.detail["call"] == "c905@test" for e in disputed)
    assert any(e.who == "marek" and e.detail["verdict"] == "complete" for e in overrides)
    html = marek.get(f"/calls/{pk}").text
    assert "Przedstawiłam się w całości." in html and "ocena zmieniona przez przełożonego" in html
    # the figure's drill-down lists the call where the report now counts it
    listed = marek.get("/calls", params={"week": "2026-W48", "greeting": "complete"}).text
    assert f'href="/calls/{pk}"' in listed
    listed = marek.get("/calls", params={"week": "2026-W48", "greeting": machine}).text
    assert f'href="/calls/{pk}"' not in listed


def test_a_confirmed_dispute_changes_no_count(site: Site, db: object) -> None:
    with db.begin() as session:  # type: ignore[attr-defined]
        call = add_call(session, 906, unit="Wydział Komunikacji", answered_by="1201",
                        started_at=datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
        judge(session, call.id, site.settings, "1201", [("dzień", 0.5), ("dobry", 0.8)])
        pk = call.id
    anna = site.login("anna")
    anna.post(f"/calls/{pk}/dispute", data={"comment": "Proszę sprawdzić.",
                                            "csrf_token": site.csrf(anna)})
    before = _greeting_counts(site)
    marek = site.login("marek")
    assert marek.post(f"/calls/{pk}/decision", data={
        "verdict": "confirm", "csrf_token": site.csrf(marek)}).status_code == 303
    assert _greeting_counts(site) == before
    again = anna.post(f"/calls/{pk}/dispute", data={"comment": "Jeszcze raz.",
                                                    "csrf_token": site.csrf(anna)})
    assert again.status_code == 403  # one dispute per call
