"""Smoke: each role logs in and reaches its start page."""

from __future__ import annotations

from .conftest import Site


def test_roles_reach_their_start_page(site: Site) -> None:
    for name in ("ada", "marek"):
        page = site.login(name).get("/")
        assert page.status_code == 200, page.text[:300]
    staff = site.login("anna").get("/", follow_redirects=True)
    assert staff.status_code == 200


def test_a_period_without_calls_points_to_the_week_of_the_newest_call(site: Site) -> None:
    for name, page in (("ada", "/"), ("marek", "/units/Wydział Komunikacji"),
                       ("anna", "/staff/1201")):
        html = site.login(name).get(page, params={"week": "2027-W02"}).text
        assert "W tym okresie nie ma połączeń. Ostatnie połączenie odbyło się 24 listopada " \
               "2026:" in html, (name, page)
        assert 'href="?week=2026-W48"' in html
    assert "W tym okresie nie ma połączeń" not in site.login("ada").get(
        "/", params={"week": "2026-W48"}).text
