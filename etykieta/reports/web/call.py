"""The call page (``/calls/{id}``) and the dispute of its greeting verdict.

The page shows one call as a supervisor talks it through with an employee, or as the telecom
admin checks what Etykieta made of it: the legs, the SIP ladder of the messages that decided
them, the ring count against the target (T3), the transfer and its outcome (T4–T5), the
callback duty (T6–T8), and the greeting — verdict, transcript with what was recognised
marked, too fast (T2), casual words (T9), thanks (T10).

Who may see a call: an admin any; a supervisor the calls of their units — the unit called,
or the unit of an extension it rang at or was answered at; an employee the calls that rang
at or were answered at their extension. Anyone else gets 403, a call that does not exist 404.
Numbers are masked as everywhere (:meth:`Viewer.numbers`).

Disputes (POST, with the CSRF token): the employee who answered disputes the verdict with a
comment; a supervisor of the unit the greeting counts for (the answering extension's) confirms
it or sets another verdict. Each step is stored with who and when and written to the audit log
(:mod:`etykieta.storage.disputes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ...storage.call_detail import call_detail
from ...storage.disputes import (
    DISPUTABLE_VERDICTS,
    SETTABLE_VERDICTS,
    DisputeError,
    DisputeStatus,
    decide_dispute,
    file_dispute,
)
from ...storage.users import Role
from ...telephony.rings import target_end_s
from ..call_detail import CallDetail, elements_heard, ladder_diagram, transcript_marks
from ..privacy import masked
from .access import Viewer
from .auth import protected, viewer_of
from .context import client_address, web_context
from .labels import N_
from .render import render
from .security import check_csrf

ELEMENT_ORDER = ("unit", "office", "name", "dzien_dobry")
"""The elements of T1 in the order the handbook's example greeting says them."""
ELEMENTS = {"unit": N_("name of the unit"), "office": N_("name of the office"),
            "name": N_("first and last name"), "dzien_dobry": N_("“Dzień dobry”")}
TRANSFER_KINDS = {"blind": N_("blind transfer"), "attended": N_("attended transfer"),
                  "pbx": N_("transfer by the exchange")}
TRANSFER_REASONS = {
    "busy": N_("the person was busy"), "no_answer": N_("the person did not answer"),
    "caller_hung_up": N_("the caller hung up while being transferred"),
    "rejected": N_("the call was rejected"), "refer_rejected": N_("the exchange refused"),
    "no_target_leg": N_("no call to the person followed"),
    "unknown": N_("the capture does not show the end"), "error": N_("network error")}
LEG_ROLES = {"caller": N_("caller's leg"), "phone": N_("to a phone"),
             "transfer": N_("transfer"), "consultation": N_("consultation")}
END_CAUSES = {"caller_bye": N_("the caller hung up"), "callee_bye": N_("the called side hung up"),
              "caller_cancel": N_("the caller hung up before the answer"),
              "final_response": N_("response of the network"),
              "no_response": N_("no response"), "capture_ended": N_("capture ended"),
              "timeout": N_("no further messages")}
DISPUTE_STATUSES = {"open": N_("awaiting the supervisor's decision"),
                    "confirmed": N_("verdict confirmed"),
                    "overridden": N_("verdict changed by the supervisor")}
DISPUTE_ACTIONS = {"disputed": N_("disputed the verdict"),
                   "confirmed": N_("confirmed the verdict"),
                   "overridden": N_("changed the verdict")}


def _detail(request: Request) -> CallDetail:
    web = web_context(request)
    try:
        call_pk = int(request.path_params["call"])
    except (KeyError, ValueError) as exc:
        raise HTTPException(404) from exc
    with web.sessions.begin() as session:
        detail = call_detail(session, call_pk, as_of=web.clock())
    if detail is None:
        raise HTTPException(404, "no such call")
    return detail


def may_see(viewer: Viewer, detail: CallDetail) -> bool:
    """Whether ``viewer`` may open the call (see the module's docstring)."""
    if viewer.role is Role.ADMIN:
        return True
    extensions = detail.extensions()
    if viewer.role is Role.STAFF:
        return viewer.extension is not None and viewer.extension in extensions
    units = {detail.call.unit} | {u.name for ext in extensions
                                  if (u := viewer.directory.unit_of(ext)) is not None}
    return any(unit is not None and viewer.may_see_unit(unit) for unit in units)


def greeting_unit(viewer: Viewer, detail: CallDetail) -> str | None:
    """The unit the call's greeting counts for: the answering extension's, else the unit called."""
    answered_by = detail.call.answered_by
    unit = viewer.directory.unit_of(answered_by) if answered_by else None
    return unit.name if unit is not None else detail.call.unit


def may_dispute(viewer: Viewer, detail: CallDetail) -> bool:
    greeting = detail.call.greeting
    return (viewer.role is Role.STAFF and greeting is not None and greeting.dispute is None
            and greeting.verdict in DISPUTABLE_VERDICTS
            and detail.call.answered_by == viewer.extension)


def may_decide(viewer: Viewer, detail: CallDetail) -> bool:
    greeting = detail.call.greeting
    unit = greeting_unit(viewer, detail)
    return (viewer.role is Role.SUPERVISOR and greeting is not None
            and greeting.dispute is not None and unit is not None and unit in viewer.units)


def _visible(request: Request, viewer: Viewer) -> CallDetail:
    detail = _detail(request)
    if not may_see(viewer, detail):
        raise HTTPException(403)
    return detail


@protected
def call_page(request: Request, viewer: Viewer) -> Response:
    detail = _visible(request, viewer)
    web = web_context(request)
    numbers = viewer.numbers()
    call = masked(detail.call, numbers)
    legs = tuple(replace(leg, caller=numbers.shown(leg.caller) or "",
                         callee=numbers.shown(leg.callee) or "") for leg in detail.legs)
    transfers = tuple(replace(t, target=numbers.shown(t.target)) for t in detail.transfers)
    greeting = call.greeting
    elements = detail.greeting.elements if detail.greeting is not None else {}
    pieces = (transcript_marks(greeting.transcript, elements, greeting.casual_words)
              if greeting is not None and greeting.transcript else ())
    person = web.directory.staff_at(call.answered_by) if call.answered_by else None
    cadence = web.settings.rings
    return render(
        request, viewer, "call.html", call=call, legs=legs, transfers=transfers,
        ladder=ladder_diagram(detail.legs), greeting=greeting, pieces=pieces,
        heard=elements_heard(elements, ELEMENT_ORDER), detail=detail, person=person,
        cadence=cadence, target_end_s=target_end_s(cadence),
        may_dispute=may_dispute(viewer, detail), may_decide=may_decide(viewer, detail),
        settable=SETTABLE_VERDICTS, error=request.query_params.get("error"),
        done=request.query_params.get("done"), statuses=DisputeStatus,
        greeting_rules=web.settings.greeting, elements=ELEMENTS, kinds=TRANSFER_KINDS,
        reasons=TRANSFER_REASONS, roles=LEG_ROLES, causes=END_CAUSES,
        dispute_statuses=DISPUTE_STATUSES, dispute_actions=DISPUTE_ACTIONS)


async def dispute(request: Request) -> Response:
    """``POST /calls/{id}/dispute``: the answering employee disputes the verdict (a comment)."""
    return await _step(request, _dispute)


async def decision(request: Request) -> Response:
    """``POST /calls/{id}/decision``: the unit's supervisor confirms or overrides."""
    return await _step(request, _decide)


Step = Callable[[Request, Viewer, Mapping[str, object]], Response]


async def _step(request: Request, step: Step) -> Response:
    """A dispute step: the CSRF token first, then the login, then ``step`` (it reads and
    writes the database, so in the thread pool)."""
    form = await request.form()
    check_csrf(request, form)
    viewer = await run_in_threadpool(viewer_of, request)
    if viewer is None:
        return RedirectResponse("/login", status_code=303)
    fields = {key: value for key, value in form.items()}
    return await run_in_threadpool(step, request, viewer, fields)


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _dispute(request: Request, viewer: Viewer, form: Mapping[str, object]) -> Response:
    detail = _visible(request, viewer)
    if not may_dispute(viewer, detail):
        raise HTTPException(403)
    comment = _text(form, "comment").strip()
    if not comment:
        return _back(request, detail, error="comment")
    web = web_context(request)
    try:
        with web.sessions.begin() as session:
            file_dispute(session, detail.call.id, who=viewer.user.username, comment=comment,
                         at=web.clock(), address=client_address(request))
    except DisputeError:
        return _back(request, detail, error="state")
    return _back(request, detail, done="disputed")


def _decide(request: Request, viewer: Viewer, form: Mapping[str, object]) -> Response:
    detail = _visible(request, viewer)
    if not may_decide(viewer, detail):
        raise HTTPException(403)
    choice = _text(form, "verdict")
    if choice != "confirm" and choice not in SETTABLE_VERDICTS:
        return _back(request, detail, error="verdict")
    web = web_context(request)
    try:
        with web.sessions.begin() as session:
            decide_dispute(session, detail.call.id, who=viewer.user.username,
                           verdict=None if choice == "confirm" else choice,
                           comment=_text(form, "comment"), at=web.clock(),
                           address=client_address(request))
    except DisputeError:
        return _back(request, detail, error="state")
    return _back(request, detail, done="decided")


def _back(request: Request, detail: CallDetail, **query: str) -> Response:
    root = request.scope.get("root_path", "")
    (key, value), = query.items()
    return RedirectResponse(f"{root}/calls/{detail.call.id}?{key}={value}#greeting",
                            status_code=303)
