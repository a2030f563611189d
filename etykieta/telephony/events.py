"""Events the leg tracker emits (typed, like h11's events)."""

from __future__ import annotations

from dataclasses import dataclass

from .legs import Leg
from .sdp import SessionDescription


@dataclass(frozen=True, slots=True)
class LegStarted:
    """An initial INVITE opened a leg; the leg object keeps growing after this event."""

    leg: Leg


@dataclass(frozen=True, slots=True)
class LegAnswered:
    """The first 2xx of a leg's INVITE: media from the callee's side may flow from now."""

    leg: Leg
    at: float


@dataclass(frozen=True, slots=True)
class MediaMoved:
    """A re-INVITE or UPDATE from the caller's side announced a new media address."""

    leg: Leg
    sdp: SessionDescription
    at: float


@dataclass(frozen=True, slots=True)
class LegEnded:
    """A leg reached a final state (or the capture ended around it)."""

    leg: Leg


LegEvent = LegStarted | LegAnswered | MediaMoved | LegEnded
