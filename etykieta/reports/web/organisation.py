"""The start page of admins and supervisors: the units side by side (``/``), and the JSON of
``etykieta report units`` (``/api/units``).

Units are ranked by the headline, % of answered calls answered by the target ring (T3), shown
both ways — of the answered calls, and the caller's view (every inbound call but those given
up before the target ring ended) — green, amber or red against ``[reports]`` thresholds, next
to the share of complete greetings (T1) and the callbacks not made in time (T8), each with the
counts it rests on and the figure of the period before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...storage.audit import AuditAction, record
from ...storage.report_queries import report_counts
from ...storage.users import Role
from ..units import Period as ReportPeriod
from ..units import UnitReport, build_unit_reports, report_scope
from ..units_export import render_csv, render_xlsx, unit_to_dict
from .access import Viewer
from .auth import protected
from .calls import EXPORT_TYPES
from .context import WebContext, client_address, web_context
from .periods import PeriodError, instant, period_from
from .render import render
from .unit import Links, heatmap_of, newest_week, page_context


@dataclass(frozen=True, slots=True)
class UnitLine:
    """One unit's row: its report of the period and, beside it, of the period before."""

    report: UnitReport
    before: UnitReport | None


@dataclass(frozen=True, slots=True)
class Totals:
    """The shown units together: the tiles above the table."""

    inbound_calls: int
    answered: int
    within_target: int
    callers_counted: int
    judged: int
    complete: int
    missed_callbacks: int
    pending_callbacks: int

    @classmethod
    def of(cls, reports: Sequence[UnitReport]) -> Totals:
        return cls(
            inbound_calls=sum(r.calls.inbound_calls for r in reports),
            answered=sum(r.calls.answered for r in reports),
            within_target=sum(r.calls.answered_within_target for r in reports),
            callers_counted=sum(r.calls.callers_counted for r in reports),
            judged=sum(r.greetings.judged for r in reports),
            complete=sum(r.greetings.complete for r in reports),
            missed_callbacks=sum(r.callbacks.missed for r in reports),
            pending_callbacks=sum(r.callbacks.pending for r in reports))

    @property
    def within_target_pct(self) -> float | None:
        return 100.0 * self.within_target / self.answered if self.answered else None

    @property
    def callers_within_target_pct(self) -> float | None:
        return (100.0 * self.within_target / self.callers_counted if self.callers_counted
                else None)

    @property
    def complete_pct(self) -> float | None:
        return 100.0 * self.complete / self.judged if self.judged else None


def unit_reports(web: WebContext, period: ReportPeriod, units: Sequence[str],
                 *, unit: str | None = None, staff: bool = False) -> list[UnitReport]:
    """The reports of ``units`` for ``period``, callbacks judged now."""
    scope = report_scope(web.settings, period, as_of=web.clock(), unit=unit, staff=staff)
    with web.sessions.begin() as session:
        counts = report_counts(session, scope)
    return build_unit_reports(counts, web.directory, scope, units=list(units))


def ranked(lines: Sequence[UnitLine]) -> list[UnitLine]:
    """Best headline first; units without answered calls last, in config order."""
    def key(line: UnitLine) -> tuple[bool, float]:
        pct = line.report.calls.within_target_pct
        return pct is None, -(pct or 0.0)
    return sorted(lines, key=key)


def organisation(request: Request, viewer: Viewer) -> Response:
    """The units side by side (the start page of admins and supervisors)."""
    viewer.require(Role.ADMIN, Role.SUPERVISOR)
    web = web_context(request)
    try:
        period = period_from(dict(request.query_params), now=web.clock(), zone=web.formats.zone)
    except PeriodError as exc:
        raise HTTPException(400, "period") from exc
    before_period = period.shifted(-1)
    now = unit_reports(web, ReportPeriod(period.since, period.until), viewer.units)
    before = {r.unit: r for r in unit_reports(
        web, ReportPeriod(before_period.since, before_period.until), viewer.units)}
    lines = ranked([UnitLine(r, before.get(r.unit)) for r in now])
    totals = Totals.of(now)
    with web.sessions.begin() as session:
        heat = heatmap_of(session, web, period, units=viewer.units)
        hint = newest_week(session, web, totals.inbound_calls, units=viewer.units)
    return render(request, viewer, "organisation.html", **page_context(request, web, period),
                  **hint, lines=lines, totals=totals,
                  before_totals=Totals.of(list(before.values())), heat=heat, link=Links(period))


organisation_page = protected(organisation)


@protected
def api_units(request: Request, viewer: Viewer) -> Response:
    """``GET /api/units?since=&until=&unit=``: the JSON of ``etykieta report units``; a
    supervisor's own units only, 403 for staff."""
    viewer.require(Role.ADMIN, Role.SUPERVISOR)
    web = web_context(request)
    unit = viewer.unit(request.query_params.get("unit"))
    week = ReportPeriod.iso_week(web.clock(), web.formats.zone)
    try:
        since = instant(request.query_params.get("since"), web.formats.zone) or week.since
        until = instant(request.query_params.get("until"), web.formats.zone) or week.until
    except PeriodError as exc:
        raise HTTPException(400, str(exc)) from exc
    if since >= until:
        raise HTTPException(400, "since must be before until")
    reports = unit_reports(web, ReportPeriod(since, until), (unit,) if unit else viewer.units,
                           unit=unit, staff=True)
    return JSONResponse([unit_to_dict(r, zone=web.formats.zone) for r in reports])


@protected
def report_export(request: Request, viewer: Viewer) -> Response:
    """``/report/units.csv`` and ``.xlsx``: the unit report of the period a page shows
    (``?week=`` or ``?since=&until=`` days, ``&unit=``), as ``report units`` writes it, for
    the units the viewer sees; audited. The report holds no caller's number."""
    viewer.require(Role.ADMIN, Role.SUPERVISOR)
    web = web_context(request)
    form = request.path_params["form"]
    if form not in EXPORT_TYPES:
        raise HTTPException(404)
    unit = viewer.unit(request.query_params.get("unit"))
    try:
        period = period_from(dict(request.query_params), now=web.clock(), zone=web.formats.zone)
    except PeriodError as exc:
        raise HTTPException(400, "period") from exc
    reports = unit_reports(web, ReportPeriod(period.since, period.until),
                           (unit,) if unit else viewer.units, unit=unit, staff=True)
    target, zone = web.settings.rings.target, web.formats.zone
    data = (render_xlsx(reports, zone=zone, target=target) if form == "xlsx" else
            render_csv(reports, zone=zone, target=target, dialect="excel-pl").encode("utf-8"))
    with web.sessions.begin() as session:
        record(session, viewer.user.username, AuditAction.EXPORT, at=web.clock(),
               address=client_address(request), what="units", format=form,
               filter=urlencode({**period.query(), **({"unit": unit} if unit else {})}),
               rows=len(reports))
    name = f"raport-{period.first.isoformat()}-{period.last.isoformat()}.{form}"
    return Response(data, media_type=EXPORT_TYPES[form],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
