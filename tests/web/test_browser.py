"""The real application in Debian's headless Chromium (Playwright, never a downloaded browser).

``etykieta serve`` runs in a subprocess over the ``site`` database (the demo captures and the
four users); each role logs in through the form as a person would, sees what it may and is
refused what it may not; files are downloaded and read back; a screenshot of the unit page is
taken (kept in ``var/screenshots/`` for a person to look at) and its chart is checked.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from .conftest import PASSWORD, Site, cli
from .test_server import _free_port, serving

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parents[2] / "var" / "screenshots"
WEEK = "week=2026-W48"
OWN_UNIT = "Wydział Komunikacji"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                       reason="Debian's chromium is missing: `make test` installs it"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def base(site: Site, tmp_path: Path) -> Iterator[str]:
    with serving(site, tmp_path, "--port", str(_free_port())) as (_, port):
        yield f"http://127.0.0.1:{port}"


def page_of(browser: object, base: str, username: str):  # noqa: ANN201 (Playwright's Page)
    context = browser.new_context(viewport={"width": 1366, "height": 768},  # type: ignore[attr-defined]
                                  accept_downloads=True, locale="pl-PL")
    page = context.new_page()
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:500]
    return page


def test_each_role_signs_in_and_sees_what_it_may(browser: object, base: str,
                                                 site: Site) -> None:
    admin = page_of(browser, base, "ada")
    admin.goto(f"{base}/?{WEEK}")
    names = admin.locator("table.units tbody tr").all_inner_texts()
    assert {u.name for u in site.settings.units} <= {
        unit.name for unit in site.settings.units if any(unit.name in n for n in names)}

    supervisor = page_of(browser, base, "marek")
    supervisor.goto(f"{base}/?{WEEK}")
    rows = supervisor.locator("table.units tbody tr").all_inner_texts()
    assert len(rows) == 1 and OWN_UNIT in rows[0]
    other = supervisor.goto(f"{base}/calls?unit=Wydzia%C5%82%20Podatk%C3%B3w%20i%20Op%C5%82at"
                            f"%20Lokalnych")
    assert other is not None and other.status == 403
    assert "403" in supervisor.content() or "dostęp" in supervisor.content().lower()

    staff = page_of(browser, base, "anna")
    other_unit = staff.goto(f"{base}/callbacks?unit=Biuro%20Obs%C5%82ugi%20Mieszka%C5%84c%C3%B3w")
    assert other_unit is not None and other_unit.status == 403
    assert staff.goto(f"{base}/units/{OWN_UNIT}").status == 403  # type: ignore[union-attr]
    api = staff.goto(f"{base}/api/units")
    assert api is not None and api.status == 403
    mine = staff.goto(f"{base}/api/calls?since=2026-11-01&until=2026-12-31")
    assert mine is not None and mine.status == 200
    calls = json.loads(staff.inner_text("body"))
    assert calls and all("1201" in (c["answered_by"] or "") or c["dialed"].endswith("1201")
                         or c["outcome"] != "answered" or c["transfer"] for c in calls)


def test_the_call_list_downloads_as_csv_and_xlsx(browser: object, base: str,
                                                 site: Site) -> None:
    page = page_of(browser, base, "ada")
    page.goto(f"{base}/calls?{WEEK}")
    expected = json.loads(cli(site.db_url, "calls", "--format", "json", "--since",
                              "2026-11-23", "--until", "2026-11-30"))
    with page.expect_download() as csv_download:
        page.click("a.export[href*='calls.csv']")
    assert csv_download.value.suggested_filename == "polaczenia-2026-11-23-2026-11-29.csv"
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert sorted(r["call_id"] for r in rows) == sorted(c["call_id"] for c in expected)
    with page.expect_download() as xlsx_download:
        page.click("a.export[href*='calls.xlsx']")
    assert xlsx_download.value.suggested_filename == "polaczenia-2026-11-23-2026-11-29.xlsx"
    sheet = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))["calls"]
    header, *values = list(sheet.values)
    assert sorted(dict(zip(header, v, strict=True))["call_id"] for v in values) == sorted(
        c["call_id"] for c in expected)


def test_a_screenshot_of_the_organisation_page(browser: object, base: str) -> None:
    page = page_of(browser, base, "marek")
    page.goto(f"{base}/?{WEEK}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "organisation-supervisor.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.locator(".tile").count() >= 3


def test_the_unit_page_shows_the_weeks_figures_and_its_charts(browser: object, base: str,
                                                              site: Site) -> None:
    calls = json.loads(cli(site.db_url, "calls", "--format", "json", "--since", "2026-11-23",
                           "--until", "2026-11-30"))
    inbound = [c for c in calls if c["direction"] == "inbound" and c["unit"] == OWN_UNIT]
    answered = [c for c in inbound if c["outcome"] == "answered"]
    within = [c for c in answered if c["within_target"]]
    pct = f"{100 * len(within) / len(answered):.1f}".replace(".", ",") + "\u00a0%"
    page = page_of(browser, base, "marek")
    page.goto(f"{base}/units/{OWN_UNIT}?{WEEK}")
    assert page.locator("h1").inner_text().startswith(OWN_UNIT)
    headline = page.locator(".tile").first.inner_text()
    assert pct in headline and f"{len(within)} z {len(answered)}" in headline
    assert page.locator("svg.ring-chart rect").count() == len({c["rings"] for c in answered})
    assert page.locator("svg.line-chart").count() == 1
    assert page.locator("table.heatmap").count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "unit-supervisor.png"), full_page=True)
    other = page.goto(f"{base}/units/Wydzia%C5%82%20Podatk%C3%B3w%20i%20Op%C5%82at"
                      f"%20Lokalnych?{WEEK}")
    assert other is not None and other.status == 403


def test_staff_dispute_a_verdict_and_the_supervisor_overrides_it(browser: object, base: str,
                                                                site: Site) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from etykieta.storage import Call, make_engine, make_sessionmaker

    from .greetings import judge
    from .rows import add_call

    sessions = make_sessionmaker(make_engine(site.db_url))
    with sessions.begin() as session:
        call = add_call(session, 7301, unit=OWN_UNIT, answered_by="1201", rang=("1201",),
                        started_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
        judge(session, call.id, site.settings, "1201", [("dzień", 0.5), ("dobry", 0.8)])
        pk = call.id
    try:
        anna = page_of(browser, base, "anna")
        anna.goto(f"{base}/calls/{pk}")
        anna.fill("#comment", "Przedstawiłam się pełnym imieniem i nazwiskiem.")
        anna.click(".dispute-form button[type=submit]")
        anna.wait_for_load_state()
        assert "Przedstawiłam się pełnym imieniem i nazwiskiem." in anna.content()

        marek = page_of(browser, base, "marek")
        marek.goto(f"{base}/calls/{pk}")
        marek.select_option("#verdict", "complete")
        marek.fill("#decision-comment", "Odsłuchałem nagranie: powitanie pełne.")
        marek.click(".dispute-form button[type=submit]")
        marek.wait_for_load_state()
        text = marek.inner_text("#greeting")
        assert "powitanie pełne" in text.lower() and "Odsłuchałem nagranie" in text
        api = marek.goto(f"{base}/api/calls?since=2026-11-25&until=2026-11-26")
        assert api is not None
        [mine] = [c for c in json.loads(marek.inner_text("body"))
                  if c["call_id"] == "c7301@test"]
        assert mine["greeting"]["verdict"] == "complete"
        assert [e["who"] for e in mine["greeting"]["dispute"]["history"]] == ["anna", "marek"]
    finally:
        with sessions.begin() as session:
            session.execute(delete(Call).where(Call.call_id == "c7301@test"))
