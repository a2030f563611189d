"""The unit page (``/units/{name}``): one unit's figures of a period, beside the period before.

The headline — % answered by the target ring (T3), of the answered calls and in the callers'
view — graded against ``[reports]`` thresholds; the rings calls were answered on and the
median and 90th percentile ring time; outcomes; transfers and why they failed (T5);
callbacks (T6–T8); greetings and the element most often missing (T1), too fast (T2), casual
words (T9), thanks at the end (T10); the employees; a 12-week trend; and when callers wait,
by weekday and hour. Every figure links to the calls it counts (:mod:`.drill`).

All the figures come from the one reports layer (:mod:`etykieta.reports.units`,
:mod:`etykieta.reports.trends`) over SQL aggregates, in one database session.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from babel.dates import get_day_names
from babel.support import Translations
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ...storage.report_queries import report_counts
from ...storage.trend_queries import (
    failed_transfer_reasons,
    hourly_calls,
    last_call_at,
    weekly_calls,
    weekly_greetings,
)
from ...storage.users import Role
from ...telephony.rings import target_end_s
from ..trends import (
    Heatmap,
    ReasonCount,
    TrendWeek,
    build_heatmap,
    build_trend,
    top_reasons,
    week_boundaries,
)
from ..units import GreetingFigures, UnitReport, build_unit_reports, report_scope
from ..units import Period as ReportPeriod
from .access import Viewer
from .auth import protected
from .charts import Mark, Series, line_chart, ring_chart
from .context import WebContext, web_context
from .drill import calls_link
from .grades import Thresholds
from .i18n import Formats, translations
from .labels import N_
from .periods import Period, PeriodError, period_from, week_of
from .render import render

MISSING = {
    "unit": N_("the unit's name"),
    "office": N_("the office's name"),
    "name": N_("first and last name"),
    "dzien_dobry": N_("“Dzień dobry”"),
}
"""The elements of T1's greeting, as "missing: …" names them."""
TRANSFER_REASONS = {
    "busy": N_("the line was busy"),
    "no_answer": N_("nobody answered"),
    "caller_hung_up": N_("the caller hung up while waiting"),
    "rejected": N_("the call was rejected"),
    "refer_rejected": N_("the phone system refused the transfer"),
    "no_target_leg": N_("the transfer was not put through"),
    "unknown": N_("reason unknown"),
    "error": N_("connection error"),
}


def read_period(request: Request, web: WebContext) -> Period:
    try:
        return period_from(dict(request.query_params), now=web.clock(), zone=web.formats.zone)
    except PeriodError as exc:
        raise HTTPException(400, "period") from exc


def reports_of(session: Session, web: WebContext, period: Period, unit: str
               ) -> tuple[UnitReport, UnitReport]:
    """The unit's report of ``period`` and of the period before, with its employees."""
    found = []
    for each in (period, period.shifted(-1)):
        scope = report_scope(web.settings, ReportPeriod(each.since, each.until),
                             as_of=web.clock(), unit=unit)
        found.append(build_unit_reports(report_counts(session, scope), web.directory, scope)[0])
    return found[0], found[1]


def trend_of(session: Session, web: WebContext, period: Period, *, unit: str | None = None,
             extension: str | None = None) -> tuple[TrendWeek, ...]:
    """The 12 ISO weeks that end with the period's last week, of the unit or the employee."""
    edges = week_boundaries(period.last, web.formats.zone)
    target = target_end_s(web.settings.rings)
    calls = weekly_calls(session, edges, target_end_s=target, unit=unit, extension=extension)
    greetings = weekly_greetings(session, edges, extension=extension)
    return build_trend(edges, calls, greetings, web.directory,
                       unit=unit if extension is None else None)


def heatmap_of(session: Session, web: WebContext, period: Period, *, unit: str | None = None,
               units: Sequence[str] | None = None, extension: str | None = None) -> Heatmap:
    hours = hourly_calls(session, since=period.since, until=period.until,
                         target_end_s=target_end_s(web.settings.rings), unit=unit, units=units,
                         extension=extension)
    office = web.settings.business_hours
    last = office.close.hour - (1 if office.close.minute == 0 else 0)
    return build_heatmap(hours, web.formats.zone, office=(office.open.hour, last),
                         days=sorted(office.days))


def reasons_of(session: Session, period: Period, *, unit: str | None = None,
               extension: str | None = None) -> tuple[ReasonCount, ...]:
    return top_reasons(failed_transfer_reasons(session, since=period.since, until=period.until,
                                               unit=unit, extension=extension))


def most_missing(greetings: GreetingFigures) -> list[tuple[str, int]]:
    """The elements of T1 the greetings lacked, most often missing first (none: empty)."""
    counts = [(element, getattr(greetings.missing, element)) for element in MISSING]
    return sorted(((e, n) for e, n in counts if n), key=lambda item: -item[1])


def trend_svg(trend: Sequence[TrendWeek], grades: Thresholds, fmt: Formats,
              gettext: Any) -> Markup:
    """% answered by the target ring of each week, both ways, with the thresholds marked."""
    labels = [str(week.week) for week in trend]
    answered = Series(gettext("of answered calls"), "answered",
                      [w.calls.within_target_pct for w in trend],
                      [fmt.pct(w.calls.within_target_pct) for w in trend])
    callers = Series(gettext("the callers' view"), "callers",
                     [w.calls.callers_within_target_pct for w in trend],
                     [fmt.pct(w.calls.callers_within_target_pct) for w in trend])
    marks = [Mark(grades.green, "mark-good", gettext("green from %(pct)s") % {
                 "pct": fmt.pct(grades.green)}),
             Mark(grades.amber, "mark-fair", gettext("amber from %(pct)s") % {
                 "pct": fmt.pct(grades.amber)})]
    return line_chart(labels, [answered, callers], marks=marks, title=gettext(
        "Answered by the target ring, the last 12 weeks (ISO week numbers)"))


def rings_svg(report_calls: Any, target: int, fmt: Formats, gettext: Any) -> Markup:
    rings = list(report_calls.rings)
    names = [f"{n}." for n, _ in rings] or [f"{n}." for n in range(1, target + 2)]
    return ring_chart(rings, target, ring_names=names,
                      counts=[fmt.number(n) for _, n in rings],
                      title=gettext("Answered calls by the ring they were answered on"))


@dataclass(frozen=True, slots=True)
class Links:
    """The query strings of the call lists behind a page's figures."""

    period: Period
    unit: str | None = None
    person: str | None = None

    def for_person(self, extension: str) -> Links:
        """The links of one employee's figures (any unit's calls that reached them)."""
        return Links(self.period, None, extension)

    def __call__(self, **drill: str | int | None) -> str:
        outcome = drill.pop("outcome", None)
        if self.person is not None:
            drill.setdefault("person", self.person)
        return calls_link(self.period.query(), unit=self.unit,
                          outcome=None if outcome is None else str(outcome), **drill)


@functools.cache
def catalogue() -> Translations:
    """The Polish catalogue, compiled once: the charts' texts are drawn in Python."""
    return translations()


def weekday_names(width: Literal["abbreviated", "wide"] = "abbreviated") -> dict[int, str]:
    names = get_day_names(width, locale="pl")
    return {day: str(names[day]) for day in range(7)}


def newest_week(session: Session, web: WebContext, calls: int, *,
                units: Sequence[str] | None = None, extension: str | None = None
                ) -> dict[str, Any]:
    """When the period shows no call: the newest call's day and its week, for the page to
    offer (``latest``, ``last_call``); nothing otherwise."""
    if calls:
        return {}
    last = last_call_at(session, units=units, extension=extension)
    if last is None:
        return {}
    zone = web.formats.zone
    return {"latest": week_of(last.astimezone(zone).date(), zone), "last_call": last}


def page_context(request: Request, web: WebContext, period: Period) -> dict[str, Any]:
    """What the unit, employee and talk pages share: the period's links, grades, names."""
    return {"period": period, "keep": {}, "grades": Thresholds.of(web.settings),
            "query_for": lambda p: urlencode(p.query()), "missing_names": MISSING,
            "reason_names": TRANSFER_REASONS, "weekdays": weekday_names(),
            "weekdays_wide": weekday_names("wide"), "target_s": target_end_s(web.settings.rings)}


@protected
def unit_page(request: Request, viewer: Viewer) -> Response:
    """``/units/{name}``: admins and the unit's supervisors (403 for others, 404 for a name
    no unit has)."""
    viewer.require(Role.ADMIN, Role.SUPERVISOR)
    web = web_context(request)
    name = viewer.unit(request.path_params["name"])
    assert name is not None
    period = read_period(request, web)
    with web.sessions.begin() as session:
        report, before = reports_of(session, web, period, name)
        trend = trend_of(session, web, period, unit=name)
        heat = heatmap_of(session, web, period, unit=name)
        reasons = reasons_of(session, period, unit=name)
        hint = newest_week(session, web, report.calls.inbound_calls,
                           units=[name])
    context = {**page_context(request, web, period), **hint}
    gettext = catalogue().gettext
    grades: Thresholds = context["grades"]
    target = web.settings.rings.target
    return render(request, viewer, "unit.html", **context, report=report, before=before,
                  trend=trend, heat=heat, reasons=reasons, link=Links(period, unit=name),
                  missing=most_missing(report.greetings),
                  trend_svg=trend_svg(trend, grades, web.formats, gettext),
                  rings_svg=rings_svg(report.calls, target, web.formats, gettext))
