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
VERDICT_NOTES = {
    # what a verdict reached without speech means, for the person reading it
    "no_audio": N_("The capture held no audio from the phone that answered (e.g. a phone with "
                   "encrypted SRTP, or a mirror port without RTP): this greeting could not be "
                   "judged, and it counts against no one."),
    "unsupported_codec": N_("The phone sent its audio in a codec Etykieta cannot decode: this "
                            "greeting could not be judged, and it counts against no one."),
    "silent": N_("There was silence on the line in the first seconds after the answer. Check "
                 "the phone and the connection before anything else."),
    "not_checked": N_("The greeting has not been checked yet (speech recognition is queued or "
                      "not configured)."),
    "unclear": N_("Speech recognition gave no certain result: listen to the call before drawing "
                  "conclusions."),
}
SPOKEN_VERDICTS = frozenset({"complete", "partial", "no_greeting"})
"""Verdicts reached by listening to what was said: only these say anything of T2 and T9."""
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
    verdict_note: dict[str, str] = field(default_factory=lambda: VERDICT_NOTES)
    spoken: frozenset[str] = SPOKEN_VERDICTS
    transfer: dict[str, str] = field(default_factory=lambda: TRANSFER_OUTCOMES)
    role: dict[str, str] = field(default_factory=lambda: ROLES)


LABELS = Labels()
