"""The wall clock, read in this one place.

The core is driven by capture time; what the services store is stamped with the wall clock,
and callbacks are judged as of it. Everything else is given a clock — a ``Clock`` — so a
test, a replay or ``--as-of`` can stand in for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)
