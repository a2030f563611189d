"""The Polish names of what the records say: outcomes, statuses, verdicts, roles.

Each is a message of the catalogue, marked here with :func:`N_` and translated where it is
shown (``_(labels.outcome[call.outcome])`` in a template).
"""

from __future__ import annotations

from dataclasses import dataclass, field


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translated later"
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


OUTCOMES = {
    "answered": N_("answered"),
    "voicemail": N_("voicemail"),
    "abandoned": N_("caller hung up before answer"),
    "busy": N_("busy"),
    "no_answer": N_("no answer"),
    "rejected": N_("rejected"),
    "failed": N_("failed (network error)"),
    "unknown": N_("outcome unknown"),
}
DIRECTIONS = {
    "inbound": N_("inbound"),
    "outbound": N_("outbound"),
    "internal": N_("internal"),
}
CALLBACK_STATUSES = {
    "pending": N_("to do"),
    "missed": N_("overdue (not called back)"),
    "done": N_("done"),
    "late": N_("done late"),
    "caller_called_again": N_("the caller called again"),
}
CALLBACK_REASONS = {
    "missed_call": N_("missed call"),
    "failed_transfer": N_("failed transfer"),
}
VERDICTS = {
    "complete": N_("complete greeting"),
    "partial": N_("partial greeting"),
    "no_greeting": N_("no greeting"),
    "silent": N_("silence"),
    "unclear": N_("unclear"),
    "no_audio": N_("no audio"),
    "unsupported_codec": N_("audio codec not supported"),
    "not_checked": N_("not checked"),
}
TRANSFER_OUTCOMES = {
    "connected": N_("transferred"),
    "failed": N_("failed transfer (caller left without a connection)"),
}
ROLES = {
    "admin": N_("administrator"),
    "supervisor": N_("supervisor"),
    "staff": N_("employee"),
}


@dataclass(frozen=True, slots=True)
class Labels:
    outcome: dict[str, str] = field(default_factory=lambda: OUTCOMES)
    direction: dict[str, str] = field(default_factory=lambda: DIRECTIONS)
    callback: dict[str, str] = field(default_factory=lambda: CALLBACK_STATUSES)
    reason: dict[str, str] = field(default_factory=lambda: CALLBACK_REASONS)
    verdict: dict[str, str] = field(default_factory=lambda: VERDICTS)
    transfer: dict[str, str] = field(default_factory=lambda: TRANSFER_OUTCOMES)
    role: dict[str, str] = field(default_factory=lambda: ROLES)


LABELS = Labels()
