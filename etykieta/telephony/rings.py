"""Ring counting for rule T3: which ring was sounding when a call was answered.

Rule T3 (``docs/phone-standard.md``): "staraj się odbierać telefon nie później niż po trzecim
sygnale" — answer by the third ring. Its reading there ("Ringback cadence and ring counting
(T3)", from the field notes' "Ring counting"): the Polish ringback cadence is 1 s of tone and
4 s of pause (Asterisk ``indications.conf [pl]``: ``ring = 425/1000,0/4000``), a 5 s cycle;
counting from the first 180/183, ring *n* starts at 5·(n−1) s, so the ring at answer is
``floor(ring_seconds / 5) + 1`` and T3 is met while that is at most 3 (ring time under 15 s).
The cadence and the target are configuration (``[rings]``, :class:`~etykieta.config.RingCadence`):
a strict reading (before the third tone ends, ≤ 11 s) is a config choice, not a code change.
"""

from __future__ import annotations

import math

from ..config import RingCadence


def ring_number(cadence: RingCadence, ring_seconds: float) -> int:
    """The ring that was sounding (or last sounded) after ``ring_seconds`` of ringing.

    The first ring starts at 0 s, so 0 s → ring 1 and one full cycle → ring 2.
    """
    if ring_seconds < 0 or math.isnan(ring_seconds):
        raise ValueError(f"ring time must be >= 0 s, got {ring_seconds}")
    return math.floor(ring_seconds / (cadence.on_s + cadence.off_s)) + 1


def within_target(cadence: RingCadence, rings: int) -> bool:
    """True if a call answered on ring ``rings`` meets T3's target (by the target-th ring)."""
    return rings <= cadence.target


def target_end_s(cadence: RingCadence) -> float:
    """The ring time at which the target ring is over: the next ring starts.

    The inverse of :func:`ring_number` at the target: ``within_target(cadence,
    ring_number(cadence, s))`` exactly while ``s < target_end_s(cadence)``. A caller who gave
    up before it (an unanswered call's wait) was never owed an answer by the target ring.
    """
    return cadence.target * (cadence.on_s + cadence.off_s)
