"""Drill-down: the calls behind one figure of the unit, employee and organisation pages.

Every figure links to the call list with what it counts in the query string, e.g.
``/calls?week=2026-W48&unit=Wydział+Komunikacji&direction=inbound&within_target=no``. This
module reads those parameters (400 for a value that cannot be one), writes them back into the
list's links, and turns them into :class:`~etykieta.storage.queries.CallDrill`. A heatmap
cell (``weekday`` 0–6, ``hour`` 0–23, office time) becomes the UTC intervals of the period
at which the office clock showed them (:func:`~etykieta.reports.trends.slot_intervals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urlencode

from starlette.exceptions import HTTPException

from ...storage.queries import GREETING_FILTERS, CallDrill
from ..trends import slot_intervals
from .labels import N_

DIRECTIONS = ("inbound", "outbound", "internal")
TRANSFERS = ("any", "connected", "failed")
CALLBACKS = ("pending", "missed", "done", "late", "caller_called_again")
YES_NO = ("yes", "no")
KEYS = ("person", "direction", "within_target", "ring", "transfer", "callback", "greeting",
        "weekday", "hour")
NAMES = {
    "person": N_("employee (extension)"),
    "direction": N_("direction"),
    "within_target": N_("answered by the target ring"),
    "ring": N_("answered on ring"),
    "transfer": N_("transfer"),
    "callback": N_("callback"),
    "greeting": N_("greeting"),
    "weekday": N_("weekday"),
    "hour": N_("hour"),
}
"""What each parameter is called where the call list says how it is filtered."""


ALLOWED: dict[str, set[str] | None] = {
    "person": None, "direction": set(DIRECTIONS), "within_target": set(YES_NO),
    "ring": {str(n) for n in range(1, 100)}, "transfer": set(TRANSFERS),
    "callback": set(CALLBACKS), "greeting": set(GREETING_FILTERS),
    "weekday": {str(n) for n in range(7)}, "hour": {str(n) for n in range(24)},
}


@dataclass(frozen=True, slots=True)
class Drill:
    """The drill-down parameters of a call list, in :data:`KEYS` order, each checked."""

    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def read(cls, query: Mapping[str, str]) -> Drill:
        found = []
        for key in KEYS:
            value = (query.get(key) or "").strip()
            if not value:
                continue
            allowed = ALLOWED[key]
            if (allowed is not None and value not in allowed) or len(value) > 32:
                raise HTTPException(400, key)
            found.append((key, value))
        return cls(tuple(found))

    def get(self, key: str) -> str | None:
        return dict(self.values).get(key)

    @property
    def person(self) -> str | None:
        return self.get("person")

    def query(self) -> dict[str, str]:
        return dict(self.values)

    def storage(self, since: datetime, until: datetime, zone: tzinfo) -> CallDrill | None:
        """What :func:`~etykieta.storage.queries.list_calls` filters by (None: nothing)."""
        if not [key for key, _ in self.values if key != "person"]:
            return None
        weekday, hour = self.get("weekday"), self.get("hour")
        intervals = None
        if weekday is not None or hour is not None:
            intervals = tuple(slot_intervals(
                since, until, zone, weekday=None if weekday is None else int(weekday),
                hour=None if hour is None else int(hour)))
        within = self.get("within_target")
        ring = self.get("ring")
        return CallDrill(direction=self.get("direction"),
                         within_target=None if within is None else within == "yes",
                         ring=None if ring is None else int(ring),
                         transfer=self.get("transfer"), callback=self.get("callback"),
                         greeting=self.get("greeting"), intervals=intervals)


def calls_link(period: Mapping[str, str], *, unit: str | None = None,
               outcome: str | None = None, **drill: str | int | None) -> str:
    """The query string of the call list behind a figure: ``period`` (a period's query),
    the unit, the outcome and the drill-down parameters (names of :data:`KEYS`)."""
    unknown = set(drill) - set(KEYS)
    if unknown:
        raise ValueError(f"not a drill-down parameter: {sorted(unknown)}")
    values = {**period, "unit": unit, "outcome": outcome,
              **{key: None if value is None else str(value) for key, value in drill.items()}}
    return urlencode({key: value for key, value in values.items() if value})
