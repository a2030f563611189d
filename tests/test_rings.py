"""Ring counting (rule T3): the ring at answer under the configured cadence, and the target."""

from __future__ import annotations

import pytest

from etykieta.config import RingCadence
from etykieta.telephony.rings import ring_number, within_target


@pytest.mark.parametrize(
    ("seconds", "ring"), [(0, 1), (4.99, 1), (5.0, 2), (14.99, 3), (15, 4), (15.01, 4)]
)
def test_ring_number(seconds: float, ring: int) -> None:
    assert ring_number(RingCadence(), seconds) == ring


def test_ring_number_follows_a_configured_cadence() -> None:
    assert ring_number(RingCadence(on_s=1.0, off_s=3.0), 8.5) == 3


def test_negative_ring_time_is_a_misuse() -> None:
    with pytest.raises(ValueError, match="ring time must be >= 0"):
        ring_number(RingCadence(), -0.1)


def test_nan_ring_time_is_a_misuse() -> None:
    with pytest.raises(ValueError, match="ring time must be >= 0"):
        ring_number(RingCadence(), float("nan"))


def test_within_target() -> None:
    cadence = RingCadence(target=3)
    assert within_target(cadence, 3) and not within_target(cadence, 4)
