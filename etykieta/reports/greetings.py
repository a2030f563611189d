"""Per-unit greeting summary: how the units' staff open and close their calls (T1, T2, T9, T10).

The unit of a greeting is the unit of the extension that answered (the person who spoke),
falling back to the unit the call was for. Only answered inbound and internal calls count
(T1 applies to them). A verdict is "judged" when the audio or the recogniser decided it
(complete, partial, no greeting, silent); ``unclear``, ``no_audio``/``unsupported_codec`` and
``not_checked`` (no model, queued, failed) are shown apart, so a share is never taken of calls
nobody could hear.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..telephony.numbers import Directory
from .calls_export import format_table
from .summary import in_table_order
from .units import UnitReport, greeting_unit
from .views import FirstCall, ReportCounts


def greeting_table_units(counts: ReportCounts, directory: Directory,
                         units: Sequence[str] = ()) -> list[str]:
    """The rows of the greetings table: every configured unit, in config order, then any other
    a greeting counts for, in the order of its first call."""
    seen: dict[str, FirstCall] = {}
    for group in counts.greetings:
        name = greeting_unit(group, directory)
        seen[name] = min(seen.get(name, group.first_call), group.first_call)
    return in_table_order(seen, units)


GREETING_SUMMARY_TITLE = (
    "greetings of answered calls, by the unit of the person who answered (answered: inbound "
    "and internal calls a person picked up; T1 \"Wydział …, imię nazwisko, Dzień dobry\", "
    "T2 pace, T9 casual words, T10 thanks):")


def render_greeting_summary(reports: Sequence[UnitReport]) -> str:
    """The table under its title line: one row per report."""
    header = ("unit", "answered", "judged", "complete", "partial", "no greeting", "silent",
              "unclear", "no audio", "not checked", "too fast", "casual words", "thanked")
    table = [header]
    for report in reports:
        r = report.greetings
        pct = r.complete_pct
        table.append((report.unit, str(r.answered), str(r.judged),
                      "–" if pct is None else f"{pct:.0f}%", str(r.partial),
                      str(r.no_greeting), str(r.silent), str(r.unclear),
                      str(r.no_audio + r.unsupported_codec), str(r.not_checked),
                      str(r.too_fast), str(r.casual_words),
                      f"{r.thanked}/{r.closings_heard}" if r.closings_heard else "–"))
    return f"{GREETING_SUMMARY_TITLE}\n{format_table(table)}"
