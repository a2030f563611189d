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

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...storage.queries import list_calls
from ..examples import examples
from ..privacy import masked
from ..units import GreetingFigures, StaffReport, UnitReport
from ..views import CallbackFigures, CallFigures
from .access import Viewer
from .auth import protected
from .context import web_context
from .grades import Thresholds
from .render import render
from .unit import (
    Links,
    catalogue,
    heatmap_of,
    most_missing,
    newest_week,
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
EXAMPLE_POOL = 1000
"""The calls of the period the talk sheet's examples are chosen from (a month of one person's
calls fits in it)."""


def staff_of(report: UnitReport, extension: str) -> StaffReport:
    """The employee's row of their unit's report (every configured employee has one)."""
    found = [p for p in report.staff if p.extension == extension]
    if found:
        return found[0]
    return StaffReport(extension, "", "", CallFigures(), CallbackFigures(), GreetingFigures())


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
        hint = newest_week(session, web, len(calls), extension=person.extension)
    numbers = viewer.numbers()
    me, before = staff_of(unit, person.extension), staff_of(unit_before, person.extension)
    context = page_context(request, web, period)
    gettext = catalogue().gettext
    target = web.settings.rings.target
    return {**context, **hint, "person": person, "me": me, "before": before, "unit": unit,
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
