"""The ``etykieta calls`` listing: one object per call, as JSON, CSV or a table.

The JSON keys are a contract other tools rely on (issue #2's CLI contract).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from ..storage.models import Call, CallbackObligation, Greeting

CSV_COLUMNS = (
    "call_id", "started_at", "direction", "caller", "dialed", "unit", "answered_by", "outcome",
    "ring_seconds", "rings", "within_target", "transfer_kind", "transfer_from",
    "transfer_target", "transfer_outcome", "transfer_reason", "callback_status",
    "callback_due_at", "callback_attempts", "callback_done_at", "greeting_verdict",
    "greeting_missing",
)


def callback_status(ob: CallbackObligation, now: datetime) -> str:
    """The status as of ``now``: an open obligation is pending until due, then missed (T8).

    Only closing statuses (done, late, caller_called_again) are final in the database; whether
    an open one is pending or missed depends on when one asks.
    """
    if ob.status in ("pending", "missed"):
        return "missed" if now >= ob.due_at else "pending"
    return ob.status


QUEUED_REASON = "queued for speech recognition (etykieta speech run)"


def greeting_to_dict(greeting: Greeting | None, call: Call) -> dict[str, Any] | None:
    """The ``greeting`` object (T1, T2, T9, T10); while queued it reads ``not_checked``."""
    if greeting is None:
        if any(job.status in ("queued", "running") for job in call.speech_jobs):
            return {"verdict": "not_checked", "missing": [], "transcript": None,
                    "first_word_s": None, "syllables_per_s": None, "casual_words": [],
                    "thanked": None, "reason": QUEUED_REASON}
        return None
    return {
        "verdict": greeting.verdict, "missing": list(greeting.missing),
        "transcript": greeting.transcript, "first_word_s": greeting.first_word_s,
        "syllables_per_s": greeting.syllables_per_s, "too_fast": greeting.too_fast,
        "casual_words": list(greeting.casual_words), "thanked": greeting.thanked,
        "order_ok": greeting.order_ok, "reason": greeting.reason,
    }


def call_to_dict(call: Call, *, now: datetime, zone: tzinfo) -> dict[str, Any]:
    """One call as the JSON contract describes it; times in UTC, due times in office time."""
    transfer = call.transfers[-1] if call.transfers else None
    ob = call.callback
    return {
        "call_id": call.call_id,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat(),
        "direction": call.direction,
        "caller": call.caller,
        "caller_e164": call.caller_e164,
        "dialed": call.dialed,
        "unit": call.unit,
        "answered_by": call.answered_by,
        "outcome": call.outcome,
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ring_seconds": call.ring_seconds,
        "rings": call.rings,
        "within_target": call.within_target,
        "post_dial_delay_s": call.post_dial_delay_s,
        "final_status": call.final_status,
        "transfer": None if transfer is None else {
            "kind": transfer.kind, "from": transfer.from_extension, "target": transfer.target,
            "outcome": transfer.outcome, "reason": transfer.reason,
        },
        "callback": None if ob is None else {
            "status": callback_status(ob, now),
            "reason": ob.reason,
            "unit": ob.unit,
            "due_at": ob.due_at.astimezone(zone).isoformat(),
            "attempts": ob.attempts,
            "done_at": ob.done_at.isoformat() if ob.done_at else None,
        },
        "greeting": greeting_to_dict(call.greeting, call),
    }


def render_json(calls: Sequence[Call], *, now: datetime, zone: tzinfo) -> str:
    return json.dumps([call_to_dict(c, now=now, zone=zone) for c in calls], ensure_ascii=False,
                      indent=2)


def _flat(call: Call, now: datetime, zone: tzinfo) -> dict[str, Any]:
    d = call_to_dict(call, now=now, zone=zone)
    transfer, callback = d.pop("transfer") or {}, d.pop("callback") or {}
    greeting = d.pop("greeting") or {}
    d["greeting_verdict"] = greeting.get("verdict")
    d["greeting_missing"] = " ".join(greeting.get("missing") or [])
    for key in ("kind", "from", "target", "outcome", "reason"):
        d[f"transfer_{key}"] = transfer.get(key)
    for key in ("status", "due_at", "attempts", "done_at"):
        d[f"callback_{key}"] = callback.get(key)
    return d


def render_csv(calls: Sequence[Call], *, now: datetime, zone: tzinfo) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for call in calls:
        writer.writerow(_flat(call, now, zone))
    return out.getvalue()


def render_table(calls: Sequence[Call], *, now: datetime, zone: tzinfo) -> str:
    """A fixed-width table for a terminal; times in office time."""
    header = ("started (local)", "dir", "caller", "dialed", "unit", "answered by", "outcome",
              "ring s", "rings", "transfer", "callback", "greeting")
    rows = [header]
    for call in calls:
        d = _flat(call, now, zone)
        transfer = (f"{d['transfer_kind']}→{d['transfer_target']} {d['transfer_outcome']}"
                    if d["transfer_kind"] else "")
        rows.append((
            call.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), call.direction[:3],
            call.caller, call.dialed, call.unit or "", call.answered_by or "", call.outcome,
            "" if call.ring_seconds is None else f"{call.ring_seconds:.1f}",
            "" if call.rings is None else str(call.rings), transfer,
            d["callback_status"] or "", d["greeting_verdict"] or ""))
    return format_table(rows)


def format_table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
