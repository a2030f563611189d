"""What an employee's weekly e-mail says of their figures: the comparison table, what went
well, the change since the week before, and their greetings told fairly (a greeting nobody
could judge is never their failure). Pure: the report rows in, sentences out."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import Settings
from ...telephony.rings import target_end_s
from ..formats import Formats
from ..units import GreetingFigures, StaffReport, UnitReport
from ..views import CallFigures
from .render import plural
from .words import MISSING, pp


@dataclass(frozen=True, slots=True)
class Row:
    """One figure beside the week before, the unit and the target."""

    label: str
    now: str
    now_detail: str
    before: str
    unit: str
    target: str


def share(part: int, whole: int, fmt: Formats, of: str = "") -> str:
    """``8 z 10`` (``3 z 4 ocenionych``): the counts a share rests on."""
    if not whole:
        return ""
    return f"{fmt.number(part)}\u00a0z\u00a0{fmt.number(whole)}{' ' + of if of else ''}"


def staff_context(me: StaffReport, before: StaffReport, unit: UnitReport, fmt: Formats,
                  settings: Settings) -> dict[str, object]:
    target = settings.rings.target
    green = settings.reports.green_pct
    c, b, u = me.calls, before.calls, unit.calls
    g, bg, ug = me.greetings, before.greetings, unit.greetings
    rows = [
        Row("Połączenia przychodzące", fmt.number(c.inbound_calls),
            f"odebrane: {fmt.number(c.answered)}", fmt.number(b.inbound_calls),
            fmt.number(u.inbound_calls), "—"),
        Row(f"Odebrane do {target}. sygnału (T3)", fmt.pct(c.within_target_pct),
            share(c.answered_within_target, c.answered, fmt), fmt.pct(b.within_target_pct),
            fmt.pct(u.within_target_pct), f"co najmniej {fmt.pct(green)}"),
        Row("Mediana czasu do odebrania", fmt.seconds(c.ring_seconds_median), "",
            fmt.seconds(b.ring_seconds_median), fmt.seconds(u.ring_seconds_median),
            f"poniżej {fmt.seconds(target_end_s(settings.rings))}"),
        Row("Powitanie pełne (T1)", fmt.pct(g.complete_pct),
            share(g.complete, g.judged, fmt, "ocenionych"), fmt.pct(bg.complete_pct),
            fmt.pct(ug.complete_pct), "każda rozmowa"),
    ]
    return {"me": me, "before": before, "unit": unit, "rows": rows,
            "greeting": greeting_lines(g, fmt), "missing": most_missing(g),
            "went_well": went_well(c, g, b, fmt, target, green),
            "changes": changes(c, b, g, bg, fmt, target)}


def most_missing(g: GreetingFigures) -> list[tuple[str, int]]:
    """T1's elements the judged greetings lacked, most often missing first."""
    counts = [(MISSING[e], getattr(g.missing, e)) for e in MISSING]
    return sorted(((e, n) for e, n in counts if n), key=lambda item: -item[1])


def greeting_lines(g: GreetingFigures, fmt: Formats) -> dict[str, object]:
    """T1, T2, T9, T10 of the week, with what could not be judged said as such."""
    unjudged = g.answered - g.judged
    lines: dict[str, object] = {
        "judged": g.judged, "answered": g.answered, "unjudged": unjudged, "silent": g.silent,
        "too_fast": g.too_fast, "casual": g.casual_words, "thanked": g.thanked,
        "closings": g.closings_heard,
    }
    notes = []
    if unjudged:
        notes.append(f"{fmt.number(unjudged)} "
                     f"{plural(unjudged, 'powitania', 'powitań', 'powitań')} nie dało się "
                     "ocenić (brak dźwięku, nieobsługiwany kodek albo jeszcze nie "
                     "sprawdzono) – nie są one nikomu liczone na niekorzyść.")
    if g.silent:
        notes.append(f"W {fmt.number(g.silent)} "
                     f"{plural(g.silent, 'rozmowie', 'rozmowach', 'rozmowach')} na początku "
                     "była cisza na linii: warto najpierw sprawdzić telefon i połączenie.")
    lines["notes"] = notes
    return lines


def went_well(c: CallFigures, g: GreetingFigures, b: CallFigures, fmt: Formats, target: int,
              green: float) -> list[str]:
    """What the week's figures show went well (nothing invented when there is nothing)."""
    found = []
    pct = c.within_target_pct
    if pct is not None and pct >= green:
        found.append(f"{fmt.pct(pct)} odebranych połączeń odebrano do {target}. sygnału "
                     f"({share(c.answered_within_target, c.answered, fmt)}) – to co najmniej "
                     f"wymagane {fmt.pct(green)}.")
    before = b.within_target_pct
    if pct is not None and before is not None and pct - before >= 5 and pct < green:
        found.append(f"Więcej połączeń odebrano do {target}. sygnału niż tydzień wcześniej "
                     f"({pp(pct - before, fmt)}).")
    if g.judged and g.complete == g.judged:
        found.append("Wszystkie ocenione powitania były pełne "
                     f"({share(g.complete, g.judged, fmt)}).")
    if g.closings_heard and g.thanked == g.closings_heard:
        found.append("Każda odsłuchana rozmowa zakończyła się podziękowaniem "
                     f"({share(g.thanked, g.closings_heard, fmt)}).")
    if g.complete + g.partial + g.no_greeting and not g.casual_words:
        found.append("W ocenionych powitaniach nie było słów potocznych.")
    return found


def changes(c: CallFigures, b: CallFigures, g: GreetingFigures, bg: GreetingFigures,
            fmt: Formats, target: int) -> list[str]:
    """The week against the week before, one sentence per figure."""
    found = [f"Połączenia przychodzące: {fmt.number(c.inbound_calls)} "
             f"(tydzień wcześniej: {fmt.number(b.inbound_calls)})."]
    for label, now, then in (
            (f"Odebrane do {target}. sygnału", c.within_target_pct, b.within_target_pct),
            ("Powitanie pełne", g.complete_pct, bg.complete_pct)):
        if now is None:
            continue
        if then is None:
            found.append(f"{label}: {fmt.pct(now)}; tydzień wcześniej nie było czego porównać.")
        else:
            found.append(f"{label}: {fmt.pct(now)} wobec {fmt.pct(then)} tydzień wcześniej "
                         f"({pp(now - then, fmt)}).")
    return found


