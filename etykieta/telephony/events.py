"""Events the leg tracker emits (typed, like h11's events)."""

from __future__ import annotations

from dataclasses import dataclass

from .legs import Leg


@dataclass(frozen=True, slots=True)
class LegStarted:
    """An initial INVITE opened a leg; the leg object keeps growing after this event."""

    leg: Leg


@dataclass(frozen=True, slots=True)
class LegEnded:
    """A leg reached a final state (or the capture ended around it)."""

    leg: Leg


LegEvent = LegStarted | LegEnded
