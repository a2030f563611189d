"""The unit page, the employee page and the talk sheet over the demo captures (issue 10).

Figures are checked against what the test counts itself from ``etykieta calls --format json``,
not against the reports layer's own output.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from etykieta.reports.trends import SlotCounts, build_heatmap, local_slot, slot_intervals
from etykieta.reports.web.charts import ring_chart

from .conftest import Site, cli

UNIT = "Wydział Komunikacji"
WARSAW = ZoneInfo("Europe/Warsaw")
NBSP = "\u00a0"


def _calls(site: Site, since: str, until: str, unit: str = UNIT) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = json.loads(cli(
        site.db_url, "calls", "--format", "json", "--since", since, "--until", until,
        "--unit", unit))
    return [c for c in calls if c["direction"] == "inbound"]


def _unit_page(site: Site, query: str = "week=2026-W48", user: str = "marek") -> str:
    page = site.login(user).get(f"/units/{quote(UNIT)}?{query}")
    assert page.status_code == 200, page.text[:500]
    return page.text


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}".replace(".", ",") + f"{NBSP}%"


def test_the_unit_page_shows_the_weeks_headline_both_ways(site: Site) -> None:
    inbound = _calls(site, "2026-11-23", "2026-11-30")
    answered = [c for c in inbound if c["outcome"] == "answered"]
    within = [c for c in answered if c["within_target"]]
    given_up = [c for c in inbound if c["outcome"] == "abandoned"
                and (c["wait_seconds"] or 0) < 15]
    html = unescape(_unit_page(site))
    assert f"odebrane połączenia: {len(within)} z {len(answered)}" in html
    assert _pct(len(within), len(answered)) in html
    assert f"dzwoniący: {len(within)} z {len(inbound) - len(given_up)}" in html
    assert _pct(len(within), len(inbound) - len(given_up)) in html


def test_the_unit_page_counts_rings_and_outcomes_and_links_them(site: Site) -> None:
    inbound = _calls(site, "2026-11-23", "2026-11-30")
    html = unescape(_unit_page(site))
    rings: dict[int, int] = {}
    for call in inbound:
        if call["outcome"] == "answered":
            rings[int(str(call["rings"]))] = rings.get(int(str(call["rings"])), 0) + 1
    for ring, n in rings.items():
        assert re.search(rf"direction=inbound&ring={ring}\">{n}</a>", html), ring
    busy = sum(1 for c in inbound if c["outcome"] == "busy")
    assert re.search(rf"outcome=busy&direction=inbound\">{busy}</a>", html)
    assert f"\">{len(inbound)}</a>" in html


def test_a_month_is_both_weeks(site: Site) -> None:
    inbound = _calls(site, "2026-11-01", "2026-12-01")
    html = unescape(_unit_page(site, "month=2026-11"))
    assert "Listopad 2026" in html
    assert f"direction=inbound\">{len(inbound)}</a>" in html


def test_the_unit_page_draws_its_charts_as_svg_without_inline_style(site: Site) -> None:
    html = _unit_page(site)
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == 2
    assert 'role="img"' in html and "<title>" in html
    assert "style=" not in html and "<script" not in html


def test_a_heatmap_cell_counts_the_calls_of_its_hour_in_office_time(site: Site) -> None:
    inbound = _calls(site, "2026-11-23", "2026-11-30")
    cells: dict[tuple[int, int], int] = {}
    for call in inbound:
        local = datetime.fromisoformat(str(call["started_at"])).astimezone(WARSAW)
        cells[(local.weekday(), local.hour)] = cells.get((local.weekday(), local.hour), 0) + 1
    assert cells[(1, 7)] == 2  # Tuesday 07:42 and 07:55 (06:42 and 06:55 UTC)
    html = unescape(_unit_page(site))
    for (weekday, hour), n in cells.items():
        assert re.search(rf"weekday={weekday}&hour={hour}\" title=\"[^\"]+\">\s*"
                         rf"<span class=\"heat-n\">{n}</span>", html), (weekday, hour)
    listed = site.login("marek").get(
        f"/calls?week=2026-W48&unit={quote(UNIT)}&direction=inbound&weekday=1&hour=7").text
    assert listed.count("24.11.2026 07:") == 2 and "24.11.2026 08:" not in listed


def test_roles_see_only_the_unit_and_people_they_may(site: Site) -> None:
    other = quote("Wydział Podatków i Opłat Lokalnych")
    assert site.login("ada").get(f"/units/{other}").status_code == 200
    assert site.login("marek").get(f"/units/{other}").status_code == 403
    assert site.login("anna").get(f"/units/{quote(UNIT)}").status_code == 403
    assert site.login("marek").get("/units/nonexistent").status_code == 404
    assert site.login("marek").get("/staff/1201").status_code == 200
    assert site.login("marek").get("/staff/1301").status_code == 403
    assert site.login("marek").get("/staff/1301/talk").status_code == 403
    assert site.login("ada").get("/staff/1301/talk").status_code == 200
    assert site.login("anna").get("/staff/1201").status_code == 200
    assert site.login("anna").get("/staff/1202").status_code == 403
    assert site.login("jan").get("/staff/1201/talk").status_code == 403
    assert site.login("ada").get("/staff/9999").status_code == 404
    assert site.login("anna").get("/calls?person=1202").status_code == 403
    assert site.client().get("/staff/1201").status_code == 303


def test_staff_start_on_their_own_page(site: Site) -> None:
    home = site.login("anna").get("/")
    assert home.status_code == 303 and home.headers["location"] == "/staff/1201"
    page = site.login("anna").get("/staff/1201?week=2026-W48").text
    assert "Moje wyniki" in page
    assert "Piotr Nowak" not in page  # no colleague's figures


def test_the_employee_page_shows_their_figures_and_calls(site: Site) -> None:
    calls: list[dict[str, object]] = json.loads(cli(
        site.db_url, "calls", "--format", "json", "--since", "2026-11-23", "--until",
        "2026-11-30"))
    mine = [c for c in calls if c["answered_by"] == "1201" and c["direction"] == "inbound"]
    within = [c for c in mine if c["within_target"]]
    html = unescape(site.login("anna").get("/staff/1201?week=2026-W48").text)
    assert f"odebrane połączenia: {len(within)} z {len(mine)}" in html
    assert html.count('href="/calls/') >= len(mine)


def test_the_talk_sheet_escapes_what_was_heard(site: Site) -> None:
    engine = create_engine(site.db_url)
    start = datetime(2026, 11, 24, 6, 42, tzinfo=UTC).replace(tzinfo=None)
    heard = "<script>alert(1)</script> Wydział Komunikacji, dzień dobry"
    with engine.begin() as conn:
        pk = conn.execute(text("SELECT id FROM calls WHERE answered_by = '1201' "
                               "AND started_at >= :s ORDER BY started_at LIMIT 1"),
                          {"s": start}).scalar_one()
        before = conn.execute(text("SELECT transcript, verdict FROM greetings "
                                   "WHERE call_pk = :pk"), {"pk": pk}).one()
        # heard and lacking the name: a call the sheet shows as one to improve (T1)
        conn.execute(text("UPDATE greetings SET transcript = :t, verdict = 'partial' "
                          "WHERE call_pk = :pk"), {"t": heard, "pk": pk})
    try:
        sheet = site.login("marek").get("/staff/1201/talk?week=2026-W48")
        assert sheet.status_code == 200
        assert "<script>alert" not in sheet.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Wydział Komunikacji" in sheet.text
        assert f'href="/calls/{pk}"' in sheet.text
        assert "Rozmowy do omówienia" in sheet.text
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE greetings SET transcript = :t, verdict = :v "
                              "WHERE call_pk = :pk"),
                         {"t": before.transcript, "v": before.verdict, "pk": pk})
        engine.dispose()


def test_a_chart_escapes_its_texts() -> None:
    svg = ring_chart([(1, 2), (2, 1)], 3, title='<b>"x"</b>', ring_names=["<i>"],
                     counts=["2", "1"])
    assert "<b>" not in svg and "<i>" not in svg and "&lt;b&gt;" in svg


def test_office_hours_follow_daylight_saving() -> None:
    spring = datetime(2026, 3, 29, tzinfo=UTC)  # CET → CEST at 01:00 UTC
    hour = int(spring.timestamp()) // 3600
    assert local_slot(hour, WARSAW) == (6, 1)  # 00:00 UTC = 01:00 CET
    assert local_slot(hour + 1, WARSAW) == (6, 3)  # 01:00 UTC = 03:00 CEST
    autumn = int(datetime(2026, 10, 25, tzinfo=UTC).timestamp()) // 3600  # CEST → CET
    assert local_slot(autumn, WARSAW) == (6, 2)  # 00:00 UTC = 02:00 CEST
    assert local_slot(autumn + 1, WARSAW) == (6, 2)  # 01:00 UTC = 02:00 CET
    assert local_slot(autumn + 2, WARSAW) == (6, 3)
    heat = build_heatmap([SlotCounts(autumn, inbound_calls=2), SlotCounts(autumn + 1, 3)],
                         WARSAW, office=(7, 15), days=range(7))
    assert heat.cell(6, 2).calls.inbound_calls == 5
    day = (datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC))
    assert slot_intervals(*day, WARSAW, weekday=6, hour=2) == [
        (datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 25, 2, tzinfo=UTC))]
    summer = datetime(2026, 7, 6, 6, tzinfo=UTC)  # Monday 08:00 CEST
    assert local_slot(int(summer.timestamp()) // 3600, WARSAW) == (0, 8)
