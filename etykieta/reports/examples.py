"""Which of an employee's calls to talk about: what went well, and what to improve.

Shared by the faces that show example calls (the web talk sheet, the weekly e-mail), so that
both choose them by the same rules of fairness: a call whose greeting nobody could judge (no
audio, a codec we cannot decode, not yet checked, silence, an unclear recognition) is never
held against anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .views import CallView

EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Example:
    """A call for the talk: what went well, or what to improve."""

    call: CallView
    good: bool


UNJUDGED = frozenset({"no_audio", "unsupported_codec", "not_checked", "silent", "unclear"})
"""Verdicts that say nothing of what the employee said: never a reason to talk about a call
(the audio was missing, or speech recognition could not tell)."""


def to_improve(call: CallView) -> bool:
    """Something the employee did can be better: answered after the target ring (T3), a
    greeting that lacked an element or was missing (T1), too fast (T2), casual words (T9)."""
    greeting = call.greeting
    said = greeting is not None and greeting.verdict not in UNJUDGED
    return (call.within_target is False
            or (said and greeting is not None and (
                greeting.verdict in ("partial", "no_greeting") or bool(greeting.too_fast)
                or bool(greeting.casual_words))))


def went_well(call: CallView) -> bool:
    """Answered by the target ring with a complete greeting, at a calm pace, no casual word."""
    greeting = call.greeting
    return bool(call.within_target and greeting is not None and greeting.verdict == "complete"
                and not greeting.too_fast and not greeting.casual_words)


def examples(calls: Sequence[CallView], extension: str) -> list[Example]:
    """Up to three calls the employee answered, to talk about: one that went well, then those
    with something to improve (most lacking first, then the newest), then more that went
    well. A call whose greeting could not be judged is no example either way: the sheet does
    not blame anyone for missing audio."""
    mine = [c for c in calls if c.outcome == "answered" and c.answered_by == extension]

    def heard(call: CallView) -> bool:
        return bool(call.greeting and call.greeting.transcript)

    good = sorted((c for c in mine if went_well(c)),
                  key=lambda c: (not heard(c), -c.started_at.timestamp()))
    improve = sorted(
        (c for c in mine if to_improve(c)),
        key=lambda c: (not heard(c), -len(c.greeting.missing if c.greeting else ()),
                       bool(c.within_target), -c.started_at.timestamp()))
    chosen = [Example(c, True) for c in good[:1]]
    chosen += [Example(c, False) for c in improve[:EXAMPLES - len(chosen)]]
    chosen += [Example(c, True) for c in good[1:1 + EXAMPLES - len(chosen)]]
    return chosen[:EXAMPLES]
