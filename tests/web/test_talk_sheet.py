"""The talk sheet's example calls are fair: only calls the employee answered, and "to improve"
only for what they did — a late answer, a greeting that could be judged and lacked something;
a call without audio is never held against anyone.

Facts from ``etykieta calls --format json`` (the demo's week 48: Anna Kowalska, 1201, answered
calls, among them a late one, and some without audio in the capture)."""

from __future__ import annotations

import json
import re

from .conftest import Site, cli

UNJUDGED = {"no_audio", "unsupported_codec", "not_checked", "silent", "unclear"}


def test_examples_are_her_own_calls_and_none_is_blamed_for_missing_audio(site: Site) -> None:
    calls = json.loads(cli(site.db_url, "calls", "--format", "json", "--since", "2026-11-23",
                           "--until", "2026-11-30"))
    hers = [c for c in calls if c["answered_by"] == "1201" and c["outcome"] == "answered"]

    def improve(c: dict) -> bool:
        g = c["greeting"] or {}
        said = g.get("verdict") not in UNJUDGED
        return c["within_target"] is False or (said and (
            g.get("verdict") in ("partial", "no_greeting") or bool(g.get("too_fast"))
            or bool(g.get("casual_words"))))

    def good(c: dict) -> bool:
        g = c["greeting"] or {}
        return bool(c["within_target"] and g.get("verdict") == "complete"
                    and not g.get("too_fast") and not g.get("casual_words"))

    blameless = [c for c in hers if not improve(c) and not good(c)]
    assert blameless, "the demo week has calls of hers without audio answered in time"
    page = site.login("marek").get("/staff/1201/talk", params={"week": "2026-W48"})
    assert page.status_code == 200
    shown = re.findall(r'<li class="example (\w+)">', page.text)
    n_good = min(1, sum(map(good, hers)))
    n_improve = min(3 - n_good, sum(map(improve, hers)))
    n_more_good = min(3 - n_good - n_improve, max(0, sum(map(good, hers)) - n_good))
    assert shown == ["good"] * n_good + ["improve"] * n_improve + ["good"] * n_more_good
    if sum(map(improve, hers)) <= 3 - n_good:  # then every late answer of hers is shown
        for call in hers:
            if call["within_target"] is False:
                assert f"odebrane przy {call['rings']}. sygnale" in page.text


def test_a_week_with_nothing_to_talk_about_says_so(site: Site) -> None:
    calls = json.loads(cli(site.db_url, "calls", "--format", "json", "--since", "2026-11-23",
                           "--until", "2026-11-30"))
    assert not [c for c in calls if c["answered_by"] == "1299"]  # Marek Kamiński answered none
    page = site.login("ada").get("/staff/1299/talk", params={"week": "2026-W48"})
    assert page.status_code == 200
    assert 'class="example' not in page.text
    assert "W tym okresie nie ma rozmowy do omówienia" in page.text
