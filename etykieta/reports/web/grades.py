"""Green, amber, red: how a share answered by the target ring (T3) is coloured, from
``[reports] green_pct`` and ``amber_pct``, as supervisors' tools (QueueMetrics, 3CX) show it."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import Settings


@dataclass(frozen=True, slots=True)
class Thresholds:
    """At or above ``green``: green; at or above ``amber``: amber; below: red."""

    green: float
    amber: float

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(settings.reports.green_pct, settings.reports.amber_pct)

    def grade(self, pct: float | None) -> str:
        if pct is None:
            return "none"
        return "good" if pct >= self.green else "fair" if pct >= self.amber else "poor"
