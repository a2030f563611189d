"""One employee's page (``/staff/{extension}``) and talk sheet (``/staff/{extension}/talk``).

The same figures as the unit page, for the calls that rang or were answered at the
employee's extension, with the unit's figures and the target beside them, the 12-week trend
and their own calls to look at. The talk sheet is the one printable A4 page a supervisor
takes to the talk the handbook asks for: their figures against the unit and the target, the
trend, the greeting elements they miss most, and three calls with what was heard — one that
went well where there is one, and those to talk about.

Access (:meth:`~.access.Viewer.person`): admins any employee, a supervisor those of their
units, an employee only themselves (their start page); 403 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...storage.queries import list_calls
from ..units import GreetingFigures, StaffReport, UnitReport
from ..views import CallbackFigures, CallFigures, CallView
from .access import Viewer
from .auth import protected
from .calls import masked
from .context import web_context
from .grades import Thresholds
from .render import render
from .unit import (
    Links,
    catalogue,
    heatmap_of,
    most_missing,
    page_context,
    read_period,
    reasons_of,
    reports_of,
    rings_svg,
    trend_of,
    trend_svg,
)

OWN_CALLS = 100
"""The employee's calls listed on their page; the call list pages on from there."""
EXAMPLES = 3
EXAMPLE_POOL = 1000
"""The calls of the period the talk sheet's examples are chosen from (a month of one person's
calls fits in it)."""


@dataclass(frozen=True, slots=True)
class Example:
    """A call for the talk: what went well, or what to improve."""

    call: CallView
    good: bool


def staff_of(report: UnitReport, extension: str) -> StaffReport:
    """The employee's row of their unit's report (every configured employee has one)."""
    found = [p for p in report.staff if p.extension == extension]
    if found:
        return found[0]
    return StaffReport(extension, "", "", CallFigures(), CallbackFigures(), GreetingFigures())


UNJUDGED = frozenset({"no_audio", "unsupported_codec", "not_checked", "silent", "unclear"})
"""Verdicts that say nothing of what the employee said: never a reason to talk about a call
(the audio was missing, or speech recognition could not tell)."""


def to_improve(call: CallView) -> bool:
    """Something the employee did can be better: answered after the target ring (T3), a
    greeting that lacked an element or was missing (T1), too fast (T2), casual words (T9)."""
    greeting = call.greeting
    said = greeting is not None and greeting.verdict not in UNJUDGED
    return (call.within_target is False
            or (said and greeting is not None and (
                greeting.verdict in ("partial", "no_greeting") or bool(greeting.too_fast)
                or bool(greeting.casual_words))))


def went_well(call: CallView) -> bool:
    """Answered by the target ring with a complete greeting, at a calm pace, no casual word."""
    greeting = call.greeting
    return bool(call.within_target and greeting is not None and greeting.verdict == "complete"
                and not greeting.too_fast and not greeting.casual_words)


def examples(calls: Sequence[CallView], extension: str) -> list[Example]:
    """Up to three calls the employee answered, to talk about: one that went well, then those
    with something to improve (most lacking first, then the newest), then more that went
    well. A call whose greeting could not be judged is no example either way: the sheet does
    not blame anyone for missing audio."""
    mine = [c for c in calls if c.outcome == "answered" and c.answered_by == extension]

    def heard(call: CallView) -> bool:
        return bool(call.greeting and call.greeting.transcript)

    good = sorted((c for c in mine if went_well(c)),
                  key=lambda c: (not heard(c), -c.started_at.timestamp()))
    improve = sorted(
        (c for c in mine if to_improve(c)),
        key=lambda c: (not heard(c), -len(c.greeting.missing if c.greeting else ()),
                       bool(c.within_target), -c.started_at.timestamp()))
    chosen = [Example(c, True) for c in good[:1]]
    chosen += [Example(c, False) for c in improve[:EXAMPLES - len(chosen)]]
    chosen += [Example(c, True) for c in good[1:1 + EXAMPLES - len(chosen)]]
    return chosen[:EXAMPLES]


def _figures(request: Request, viewer: Viewer, *, pool: int) -> dict[str, Any]:
    web = web_context(request)
    person = viewer.person(request.path_params["extension"])
    period = read_period(request, web)
    with web.sessions.begin() as session:
        unit, unit_before = reports_of(session, web, period, person.unit)
        trend = trend_of(session, web, period, extension=person.extension)
        heat = heatmap_of(session, web, period, extension=person.extension)
        reasons = reasons_of(session, period, extension=person.extension)
        calls = list_calls(session, as_of=web.clock(), since=period.since, until=period.until,
                           extension=person.extension, limit=pool)
    numbers = viewer.numbers()
    me, before = staff_of(unit, person.extension), staff_of(unit_before, person.extension)
    context = page_context(request, web, period)
    gettext = catalogue().gettext
    target = web.settings.rings.target
    return {**context, "person": person, "me": me, "before": before, "unit": unit,
            "trend": trend, "heat": heat, "reasons": reasons,
            "calls": [masked(c, numbers) for c in calls],
            "link": Links(period, person=person.extension),
            "unit_link": Links(period, unit=person.unit),
            "missing": most_missing(me.greetings),
            "may_see_unit": viewer.may_see_unit(person.unit),
            "trend_svg": trend_svg(trend, Thresholds.of(web.settings), web.formats, gettext),
            "rings_svg": rings_svg(me.calls, target, web.formats, gettext)}


@protected
def employee_page(request: Request, viewer: Viewer) -> Response:
    context = _figures(request, viewer, pool=OWN_CALLS + 1)
    calls = context.pop("calls")
    assert isinstance(calls, list)
    return render(request, viewer, "employee.html", **context, own_calls=calls[:OWN_CALLS],
                  more_calls=len(calls) > OWN_CALLS)


@protected
def talk_sheet(request: Request, viewer: Viewer) -> Response:
    context = _figures(request, viewer, pool=EXAMPLE_POOL)
    calls = context.pop("calls")
    assert isinstance(calls, list)
    person = context["person"]
    return render(request, viewer, "talk.html", **context,
                  examples=examples(calls, person.extension))
