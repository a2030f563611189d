"""The call list (``/calls``), its CSV export, the JSON API's ``/api/calls``, and the pending-
callback worklist (``/callbacks``, ``/api/callbacks``): what each viewer may see of calls.

A page of the list is :data:`PAGE_SIZE` calls after the previous page's last (keyset paging,
``?after=<start>,<id>``). Numbers are masked for all but admins (and for supervisors in their
worklist): the JSON and the CSV are :func:`~etykieta.reports.calls_export.call_to_dict`'s
objects with :func:`shown` applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...storage.audit import AuditAction, record
from ...storage.queries import OUTCOMES, callback_worklist, list_calls
from ..calls_export import call_to_dict, render_csv, render_xlsx
from ..privacy import NumberPolicy, masked
from ..views import CallView
from .access import Viewer
from .auth import protected
from .context import WebContext, client_address, web_context
from .drill import Drill
from .periods import Period, PeriodError, instant, period_from
from .render import render

PAGE_SIZE = 50
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
WORKLIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What the call list is asked for, checked against what the viewer may see."""

    period: Period
    unit: str | None
    outcome: str | None
    after: tuple[datetime, int] | None
    drill: Drill = Drill()
    """The calls behind one figure of a report page (:mod:`.drill`)."""

    def query(self, **changes: str | None) -> str:
        values: dict[str, str | None] = {**self.period.query(), "unit": self.unit,
                                         "outcome": self.outcome, **self.drill.query(),
                                         **changes}
        return urlencode({k: v for k, v in values.items() if v})


def read_filter(request: Request, viewer: Viewer) -> CallFilter:
    web = web_context(request)
    query = dict(request.query_params)
    try:
        period = period_from(query, now=web.clock(), zone=web.formats.zone)
    except PeriodError as exc:
        raise HTTPException(400, "period") from exc
    outcome = query.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise HTTPException(400, "outcome")
    drill = Drill.read(query)
    if drill.person is not None:
        viewer.person(drill.person)
    return CallFilter(period, viewer.unit(query.get("unit")), outcome,
                      _after(query.get("after")), drill)


def _after(value: str | None) -> tuple[datetime, int] | None:
    if not value:
        return None
    start, _, ident = value.rpartition(",")
    try:
        return datetime.fromisoformat(start), int(ident)
    except ValueError as exc:
        raise HTTPException(400, "after") from exc


def _calls(request: Request, viewer: Viewer, chosen: CallFilter, *, limit: int | None
           ) -> list[CallView]:
    web = web_context(request)
    unit, units, extension = viewer.call_scope(chosen.unit)
    drill = chosen.drill.storage(chosen.period.since, chosen.period.until, web.formats.zone)
    with web.sessions.begin() as session:
        return list_calls(session, as_of=web.clock(), since=chosen.period.since,
                          until=chosen.period.until, unit=unit, units=units,
                          extension=extension or chosen.drill.person, outcome=chosen.outcome,
                          after=chosen.after, limit=limit, drill=drill)


def _objects(request: Request, calls: list[CallView], numbers: NumberPolicy
             ) -> list[tuple[CallView, dict[str, Any]]]:
    """Each call, masked, with its JSON object."""
    web = web_context(request)
    shown = [masked(call, numbers) for call in calls]
    return [(call, call_to_dict(call, zone=web.formats.zone, directory=web.directory))
            for call in shown]


@protected
def calls_page(request: Request, viewer: Viewer) -> Response:
    chosen = read_filter(request, viewer)
    page = _calls(request, viewer, chosen, limit=PAGE_SIZE + 1)
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    rows = _objects(request, page, viewer.numbers())
    next_query = (chosen.query(after=f"{page[-1].started_at.isoformat()},{page[-1].id}")
                  if more else None)
    keep = {name: value for name, value in (("unit", chosen.unit), ("outcome", chosen.outcome),
                                            *chosen.drill.values) if value}
    return render(request, viewer, "calls.html", chosen=chosen, period=chosen.period, rows=rows,
                  next_query=next_query, first_query=chosen.query(after=None),
                  outcomes=OUTCOMES, units=viewer.units, keep=keep, page_size=PAGE_SIZE,
                  query_for=lambda p: replace(chosen, period=p, after=None).query(),
                  export_query=chosen.query(after=None))


@protected
def calls_csv(request: Request, viewer: Viewer) -> Response:
    """The call list of the filter as CSV (``excel-pl``: what a Polish Excel opens); audited."""
    dialect = "standard" if request.query_params.get("dialect") == "standard" else "excel-pl"
    return _export(request, viewer, "csv", lambda calls, web: render_csv(
        calls, zone=web.formats.zone, directory=web.directory, dialect=dialect).encode("utf-8"))


@protected
def calls_xlsx(request: Request, viewer: Viewer) -> Response:
    """The call list of the filter as an Excel workbook; audited."""
    return _export(request, viewer, "xlsx", lambda calls, web: render_xlsx(
        calls, zone=web.formats.zone, directory=web.directory))


def _export(request: Request, viewer: Viewer, form: str,
            write: Callable[[list[CallView], WebContext], bytes]) -> Response:
    """Every call of the filter (not one page), masked as the viewer sees them, written by
    ``write``; the export is written to the audit log with its filter and size."""
    chosen = read_filter(request, viewer)
    web = web_context(request)
    numbers = viewer.numbers()
    calls = [masked(call, numbers) for call in _calls(request, viewer, chosen, limit=None)]
    data = write(calls, web)
    with web.sessions.begin() as session:
        record(session, viewer.user.username, AuditAction.EXPORT, at=web.clock(),
               address=client_address(request), what="calls", format=form,
               filter=chosen.query(), rows=len(calls))
    name = f"polaczenia-{chosen.period.first.isoformat()}-{chosen.period.last.isoformat()}.{form}"
    return Response(data, media_type=EXPORT_TYPES[form],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@protected
def api_calls(request: Request, viewer: Viewer) -> Response:
    """``GET /api/calls?since=&until=&unit=``: the objects of ``etykieta calls --format json``
    (times as the CLI reads them: ISO, office time without an offset)."""
    web = web_context(request)
    query = request.query_params
    try:
        since = instant(query.get("since"), web.formats.zone)
        until = instant(query.get("until"), web.formats.zone)
    except PeriodError as exc:
        raise HTTPException(400, str(exc)) from exc
    unit, units, extension = viewer.call_scope(viewer.unit(query.get("unit")))
    with web.sessions.begin() as session:
        calls = list_calls(session, as_of=web.clock(), since=since, until=until, unit=unit,
                           units=units, extension=extension)
    return JSONResponse([obj for _, obj in _objects(request, calls, viewer.numbers())])


def _worklist(request: Request, viewer: Viewer) -> tuple[str | None, list[CallView]]:
    web = web_context(request)
    unit, units = viewer.worklist_units(request.query_params.get("unit"))
    with web.sessions.begin() as session:
        return unit, callback_worklist(session, as_of=web.clock(), units=units,
                                       limit=WORKLIST_LIMIT)


@protected
def callbacks_page(request: Request, viewer: Viewer) -> Response:
    unit, work = _worklist(request, viewer)
    rows = _objects(request, work, viewer.numbers(worklist=True))
    overdue = sum(1 for call in work if call.callback and call.callback.status == "missed")
    return render(request, viewer, "callbacks.html", rows=rows, unit=unit, units=viewer.units,
                  overdue=overdue, limit=WORKLIST_LIMIT)


@protected
def api_callbacks(request: Request, viewer: Viewer) -> Response:
    """``GET /api/callbacks?unit=``: the calls whose callback is still to do, soonest due
    first, each with its ``callback`` (status, due_at, attempts so far)."""
    _, work = _worklist(request, viewer)
    return JSONResponse([obj for _, obj in _objects(request, work, viewer.numbers(worklist=True))])
