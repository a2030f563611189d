"""The Polish words of the e-mails for what the records say, as the dashboard names them
(its catalogue's Polish: "Odebrane do 3. sygnału", "brak: imienia i nazwiska", …)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_date

from ..examples import UNJUDGED
from ..formats import Formats
from ..views import CallView
from .render import plural

MISSING = {
    "unit": "nazwy wydziału",
    "office": "nazwy urzędu",
    "name": "imienia i nazwiska",
    "dzien_dobry": "„Dzień dobry”",
}
"""T1's elements, as "brak: …" names them."""
VERDICTS = {
    "complete": "powitanie pełne",
    "partial": "powitanie niepełne",
    "no_greeting": "brak powitania",
    "silent": "cisza na linii",
    "unclear": "niewyraźne nagranie",
    "no_audio": "brak dźwięku",
    "unsupported_codec": "nieobsługiwany kodek dźwięku",
    "not_checked": "nie sprawdzono",
}
CALLBACK_REASONS = {
    "missed_call": "nieodebrane połączenie",
    "failed_transfer": "nieudane przełączenie",
}
CALLBACK_STATUSES = {
    "pending": "do wykonania",
    "missed": "zaległe (nieoddzwonione)",
    "done": "wykonane",
    "late": "wykonane po terminie",
    "caller_called_again": "dzwoniący zadzwonił ponownie",
}


def day_and_time(value: datetime, zone: tzinfo) -> str:
    """``wtorek, 24 listopada, 09:05`` in office time."""
    local = value.astimezone(zone)
    return f"{format_date(local.date(), format='EEEE, d MMMM', locale='pl')}, {local:%H:%M}"


def missing_text(elements: tuple[str, ...] | list[str]) -> str:
    """``brak: imienia i nazwiska, nazwy urzędu`` (empty when nothing is missing)."""
    names = [MISSING.get(e, e) for e in elements]
    return f"brak: {', '.join(names)}" if names else ""


def call_notes(call: CallView, fmt: Formats, target: int) -> list[str]:
    """What to say of one example call: its ring, its greeting — never its number or caller."""
    notes = []
    if call.rings:
        late = "" if call.within_target else f"; cel: do {target}. sygnału"
        notes.append(f"odebrane przy {call.rings}. sygnale "
                     f"({fmt.seconds(call.ring_seconds)}{late})")
    greeting = call.greeting
    if greeting is None:
        return notes
    verdict = VERDICTS.get(greeting.verdict, greeting.verdict)
    if greeting.verdict in UNJUDGED:
        notes.append(f"powitania nie oceniono ({verdict})")
        return notes
    lacking = missing_text(greeting.missing)
    notes.append(f"{verdict}" + (f" – {lacking}" if lacking else ""))
    if greeting.too_fast:
        rate = (f" ({fmt.number(greeting.syllables_per_s, 1)} sylaby na sekundę)"
                if greeting.syllables_per_s else "")
        notes.append(f"powitanie za szybko{rate}")
    if greeting.casual_words:
        said = ", ".join(f"„{w}”" for w in greeting.casual_words)
        notes.append(f"słowa potoczne: {said}")
    return notes


def times(n: int) -> str:
    """``1 raz``, ``2 razy``, ``5 razy``."""
    return f"{n} {plural(n, 'raz', 'razy', 'razy')}"


def calls_word(n: int) -> str:
    return plural(n, "połączenie", "połączenia", "połączeń")


def pp(delta: float, fmt: Formats) -> str:
    """A change of a share: ``+20,0 pp``, ``−5,5 pp``, ``bez zmian``."""
    if abs(delta) < 0.05:
        return "bez zmian"
    sign = "+" if delta > 0 else "−"
    return f"{sign}{fmt.number(abs(delta), 1)}\u00a0pp"
