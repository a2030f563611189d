"""Calls for the web tests, stored as rows: each says only what its test needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from etykieta.storage import Call, CallbackObligation, Leg

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday of ISO week 48, 09:00 in Warsaw


def add_call(session: Session, n: int, *, unit: str | None, answered_by: str | None = None,
             rang: tuple[str, ...] = (), caller: str = "+48748861212",
             caller_name: str | None = None, direction: str = "inbound",
             outcome: str | None = None, dialed: str = "+48748861201",
             callback: tuple[str, datetime] | None = None,
             started_at: datetime | None = None) -> Call:
    """Call ``n`` (``c{n}@test``), ``n`` minutes after T0 unless ``started_at`` says; ``rang``:
    the extensions its legs rang; ``callback``: (status, due_at) of a duty of ``unit``."""
    start = started_at or T0 + timedelta(minutes=n)
    answered = outcome or ("answered" if answered_by else "no_answer")
    call = Call(call_id=f"c{n}@test", started_at=start, ended_at=start + timedelta(minutes=2),
                direction=direction, caller=caller, caller_e164=caller, dialed=dialed,
                dialed_e164=dialed, unit=unit, answered_by=answered_by, outcome=answered,
                answered_at=start + timedelta(seconds=6) if answered_by else None,
                ring_seconds=6.0 if answered_by else None, rings=2 if answered_by else None,
                within_target=True if answered_by else None, link="single",
                caller_name=caller_name)
    call.legs = [Leg(call_id=f"c{n}-{ext}@test", role="phone", started_at=start,
                     caller=caller, callee=ext, extension=ext, transport="udp", src="a",
                     dst="b", first_packet=1, last_packet=2) for ext in rang]
    if callback is not None and unit is not None:
        status, due_at = callback
        call.callback = CallbackObligation(unit=unit, number=caller, reason="missed_call",
                                           opened_at=start, due_at=due_at, status=status,
                                           attempts=n % 3)
    session.add(call)
    session.flush()
    return call
