"""Per-unit greeting summary: how the units' staff open and close their calls (T1, T2, T9, T10).

The unit of a greeting is the unit of the extension that answered (the person who spoke),
falling back to the unit the call was for. Only answered inbound and internal calls count
(T1 applies to them). A verdict is "judged" when the audio or the recogniser decided it
(complete, partial, no greeting, silent); ``unclear``, ``no_audio``/``unsupported_codec`` and
``not_checked`` (no model, queued, failed) are shown apart, so a share is never taken of calls
nobody could hear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..telephony.numbers import Directory
from .calls_export import format_table
from .summary import NO_UNIT, in_table_order
from .views import FirstCall, GreetingCounts


@dataclass(slots=True)
class GreetingSummary:
    unit: str
    answered: int = 0
    complete: int = 0
    partial: int = 0
    no_greeting: int = 0
    silent: int = 0
    unclear: int = 0
    no_audio: int = 0  # no_audio and unsupported_codec: nothing to hear
    not_checked: int = 0  # no model, queued, failed, or no verdict at all
    too_fast: int = 0  # T2
    casual: int = 0  # T9: calls with a casual word in the opening window
    thanked: int = 0  # T10
    closings_heard: int = 0

    @property
    def judged(self) -> int:
        return self.complete + self.partial + self.no_greeting + self.silent

    @property
    def complete_pct(self) -> float | None:
        """Share of judged greetings that were complete (T1), in percent."""
        return 100.0 * self.complete / self.judged if self.judged else None


def build_greeting_summary(counts: Iterable[GreetingCounts], directory: Directory,
                           units: Sequence[str] = ()) -> list[GreetingSummary]:
    """One row per unit: every configured unit, in config order, then any other, in the order
    of its first call."""
    rows: dict[str, GreetingSummary] = {name: GreetingSummary(name) for name in units}
    seen: dict[str, FirstCall] = {}
    for group in counts:
        spoke = directory.unit_of(group.answered_by) if group.answered_by else None
        name = spoke.name if spoke is not None else group.unit or NO_UNIT
        seen[name] = min(seen.get(name, group.first_call), group.first_call)
        row = rows.setdefault(name, GreetingSummary(name))
        row.answered += group.answered
        row.complete += group.complete
        row.partial += group.partial
        row.no_greeting += group.no_greeting
        row.silent += group.silent
        row.unclear += group.unclear
        row.no_audio += group.no_audio + group.unsupported_codec
        row.not_checked += group.not_checked
        row.too_fast += group.too_fast
        row.casual += group.casual
        row.thanked += group.thanked
        row.closings_heard += group.closings_heard
    return in_table_order(rows, units, seen)


GREETING_SUMMARY_TITLE = (
    "greetings of answered calls, by the unit of the person who answered (answered: inbound "
    "and internal calls a person picked up; T1 \"Wydział …, imię nazwisko, Dzień dobry\", "
    "T2 pace, T9 casual words, T10 thanks):")


def render_greeting_summary(rows: Sequence[GreetingSummary]) -> str:
    """The table under its title line."""
    header = ("unit", "answered", "judged", "complete", "partial", "no greeting", "silent",
              "unclear", "no audio", "not checked", "too fast", "casual words", "thanked")
    table = [header]
    for r in rows:
        pct = r.complete_pct
        table.append((r.unit, str(r.answered), str(r.judged),
                      "–" if pct is None else f"{pct:.0f}%", str(r.partial),
                      str(r.no_greeting), str(r.silent), str(r.unclear), str(r.no_audio),
                      str(r.not_checked), str(r.too_fast), str(r.casual),
                      f"{r.thanked}/{r.closings_heard}" if r.closings_heard else "–"))
    return f"{GREETING_SUMMARY_TITLE}\n{format_table(table)}"
