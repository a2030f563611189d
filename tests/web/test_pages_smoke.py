"""Smoke: each role logs in and reaches its start page."""

from __future__ import annotations

from .conftest import Site


def test_roles_reach_their_start_page(site: Site) -> None:
    for name in ("ada", "marek"):
        page = site.login(name).get("/")
        assert page.status_code == 200, page.text[:300]
    staff = site.login("anna").get("/", follow_redirects=True)
    assert staff.status_code == 200
