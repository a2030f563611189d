"""Access rules, decided on the server: logins, roles, masked numbers, CSRF, headers, escaping.

Facts come from ``etykieta calls --format json`` over the same database (the real CLI), not
from the application's own builders.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import delete

from etykieta.storage import Call, make_engine, make_sessionmaker
from etykieta.storage.audit import AuditAction, entries

from .conftest import PASSWORD, Site, cli
from .rows import add_call

WEEK = {"since": "2026-11-23", "until": "2026-11-30"}  # the API's ISO instants
PAGES = ["/", "/calls", "/calls.csv", "/calls.xlsx", "/callbacks", "/report/units.csv",
         "/report/units.xlsx"]
API = ["/api/units", "/api/calls", "/api/callbacks"]
OWN_UNIT, OTHER_UNIT = "Wydział Komunikacji", "Wydział Podatków i Opłat Lokalnych"
WHOLE_NUMBER = re.compile(r"\+48600\d{6}")


def calls_json(site: Site, **period: str) -> list[dict]:
    args = [x for key, value in (period or WEEK).items() for x in (f"--{key}", value)]
    return json.loads(cli(site.db_url, "calls", "--format", "json", *args))


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_page(site: Site, path: str) -> None:
    answer = site.client().get(path, params={"unit": OWN_UNIT})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=" + path.replace("/", "%2F"))


@pytest.mark.parametrize("path", API)
def test_an_anonymous_api_call_is_401_with_a_basic_challenge(site: Site, path: str) -> None:
    answer = site.client().get(path)
    assert answer.status_code == 401
    assert answer.json() == {"error": "login required"}
    assert answer.headers["www-authenticate"].startswith("Basic ")


def test_every_response_carries_the_security_headers(site: Site) -> None:
    browser = site.login("ada")
    for answer in (browser.get("/"), browser.get("/login"), browser.get("/static/etykieta.css"),
                   browser.get("/no-such-page"), site.client().get("/api/calls"),
                   browser.get("/calls", params={"outcome": "nonsense"})):
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert browser.get("/").headers["cache-control"] == "no-store"
    assert browser.get("/no-such-page").status_code == 404


def test_a_wrong_password_is_refused_and_written_to_the_audit_log(site: Site) -> None:
    browser = site.client("192.0.2.10")
    page = browser.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = browser.post("/login", data={"username": "ada", "password": "not it",
                                          "csrf_token": token})
    assert answer.status_code == 401
    assert "Nieprawidłowa nazwa użytkownika lub hasło." in answer.text
    with make_sessionmaker(make_engine(site.db_url)).begin() as session:
        failed = entries(session, action=AuditAction.LOGIN_FAILED, limit=5)
    assert any(e.who == "ada" and e.address == "192.0.2.10" for e in failed)


def test_repeated_failed_logins_are_slowed_down(site: Site) -> None:
    browser = site.client("192.0.2.77")
    statuses = []
    for _ in range(8):
        token = re.search(r'name="csrf_token" value="([^"]+)"',  # type: ignore[union-attr]
                          browser.get("/login").text).group(1)
        statuses.append(browser.post("/login", data={"username": "nobody-here",
                                                     "password": "guess", "csrf_token": token}
                                     ).status_code)
    assert statuses[:5] == [401] * 5
    assert 429 in statuses[5:]


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(site: Site) -> None:
    browser = site.login("marek")
    assert browser.post("/logout", data={}).status_code == 403
    token = site.csrf(browser)
    foreign = browser.post("/logout", data={"csrf_token": token},
                           headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert browser.get("/").status_code == 200  # still logged in
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
    assert browser.get("/").status_code == 303  # logged out


def test_the_login_form_needs_its_token_too(site: Site) -> None:
    answer = site.client().post("/login", data={"username": "ada", "password": PASSWORD})
    assert answer.status_code == 403


def test_a_login_only_redirects_to_this_site(site: Site) -> None:
    browser = site.client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',  # type: ignore[union-attr]
                      browser.get("/login").text).group(1)
    answer = browser.post("/login", data={"username": "ada", "password": PASSWORD,
                                          "csrf_token": token, "next": "//evil.example/x"})
    assert answer.headers["location"] == "/"


def test_admin_sees_every_unit_and_whole_numbers(site: Site) -> None:
    browser = site.login("ada")
    units = browser.get("/api/units", params=WEEK).json()
    assert [u["unit"] for u in units] == [u.name for u in site.settings.units]
    expected = calls_json(site)
    got = browser.get("/api/calls", params=WEEK).json()
    assert sorted(c["call_id"] for c in got) == sorted(c["call_id"] for c in expected)
    assert {c["call_id"]: c["caller"] for c in got} == {c["call_id"]: c["caller"]
                                                        for c in expected}


def test_a_supervisor_sees_their_unit_only_with_numbers_masked(site: Site) -> None:
    browser = site.login("marek")
    units = browser.get("/api/units", params=WEEK).json()
    assert [u["unit"] for u in units] == [OWN_UNIT]
    for path in ("/api/units", "/api/calls", "/api/callbacks", "/calls", "/callbacks",
                 "/report/units.csv"):
        assert browser.get(path, params={"unit": OTHER_UNIT}).status_code == 403, path
    expected = [c for c in calls_json(site) if c["unit"] == OWN_UNIT]
    got = browser.get("/api/calls", params=WEEK).json()
    assert sorted(c["call_id"] for c in got) == sorted(c["call_id"] for c in expected)
    assert expected and not any(WHOLE_NUMBER.search(json.dumps(c)) for c in got)
    page = browser.get("/calls", params={"week": "2026-W48"}).text
    assert not WHOLE_NUMBER.search(page)
    assert "***" in page


def test_a_supervisor_gets_whole_numbers_in_their_callback_worklist_only(site: Site) -> None:
    browser = site.login("marek")
    open_duties = [c for c in calls_json(site, since="2026-11-01", until="2026-12-31")
                   if c["unit"] == OWN_UNIT and c["callback"]
                   and c["callback"]["status"] in ("pending", "missed")]
    work = browser.get("/api/callbacks").json()
    assert sorted(c["call_id"] for c in work) == sorted(c["call_id"] for c in open_duties)
    assert [c["caller"] for c in work] == [c["caller"] for c in sorted(
        open_duties, key=lambda c: c["callback"]["due_at"])]
    page = browser.get("/callbacks").text
    for duty in open_duties:
        assert duty["caller"] in page


def test_staff_see_only_calls_that_rang_or_were_answered_at_their_extension(site: Site) -> None:
    browser = site.login("anna")
    for path in ("/api/units", "/report/units.xlsx", "/units/Wydział Komunikacji"):
        assert browser.get(path).status_code == 403, path
    assert browser.get("/api/calls", params={"unit": OWN_UNIT}).status_code == 403
    for path in ("/api/callbacks", "/callbacks"):
        assert browser.get(path, params={"unit": OTHER_UNIT}).status_code == 403, path
    got = browser.get("/api/calls", params={"since": "2026-11-01", "until": "2026-12-31"})
    assert got.status_code == 200
    mine = got.json()
    answered_by_her = [c["call_id"] for c in calls_json(site, since="2026-11-01",
                                                        until="2026-12-31")
                       if c["answered_by"] == "1201"]
    assert answered_by_her and set(answered_by_her) <= {c["call_id"] for c in mine}
    # every call she sees rang at her phone or was answered there
    assert all(c["answered_by"] == "1201" or c["dialed"].endswith("1201")
               or c["transfer"] or c["outcome"] != "answered" for c in mine)
    assert not any(WHOLE_NUMBER.search(json.dumps(c)) for c in mine)
    others = browser.get("/api/calls", params={"since": "2026-11-01",
                                               "until": "2026-12-31"}).json()
    assert not any(c["answered_by"] == "1301" for c in others)


def test_staff_get_their_own_units_callback_worklist_with_the_numbers(site: Site) -> None:
    """The employees call back (T7): their unit's open duties, numbers whole; no other unit's."""
    open_duties = [c for c in calls_json(site, since="2026-11-01", until="2026-12-31")
                   if c["callback"] and c["callback"]["status"] in ("pending", "missed")]
    for name, unit in (("anna", OWN_UNIT), ("jan", OTHER_UNIT)):
        work = site.login(name).get("/api/callbacks").json()
        assert sorted(c["call_id"] for c in work) == sorted(
            c["call_id"] for c in open_duties if c["unit"] == unit), name
        assert {c["caller"] for c in work} == {c["caller"] for c in open_duties
                                               if c["unit"] == unit}
    page = site.login("anna").get("/callbacks")
    assert page.status_code == 200
    assert all(c["caller"] in page.text for c in open_duties if c["unit"] == OWN_UNIT)
    assert not any(c["caller"] in page.text for c in open_duties if c["unit"] != OWN_UNIT)


def test_wire_text_is_escaped_everywhere_it_is_shown(site: Site) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    sessions = make_sessionmaker(make_engine(site.db_url))
    with sessions.begin() as session:
        add_call(session, 9001, unit=OWN_UNIT, answered_by="1201", rang=("1201",),
                 caller_name=evil)
    try:
        for name in ("ada", "marek", "anna"):
            browser = site.login(name)
            page = browser.get("/calls", params={"week": "2026-W48"})
            assert page.status_code == 200
            assert "<script>alert" not in page.text and "<img src=x" not in page.text
            assert "&lt;script&gt;alert" in page.text, name
            api = browser.get("/api/calls", params=WEEK)
            assert api.headers["content-type"] == "application/json"
            assert evil in [c["caller_name"] for c in api.json()]  # data, never markup
    finally:
        with sessions.begin() as session:
            session.execute(delete(Call).where(Call.call_id == "c9001@test"))
