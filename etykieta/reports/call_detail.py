"""One call in full, as its page shows it: legs, the ladder diagram, transfers, the greeting.

:class:`CallDetail` is what :func:`etykieta.storage.call_detail.call_detail` reads; the
builders here are pure. :func:`ladder_diagram` lays the messages of every leg out the way
RFC 3665's call flows draw them — a column per address, an arrow per message, time going
down — and :func:`transcript_marks` cuts the greeting's transcript into the pieces that were
recognised as each element of T1, as casual words (T9) or as the closing thanks (T10).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..telephony.ladder import LadderStep
from .views import CallView

COLUMN_WIDTH = 190
COLUMN_GAP_LEFT = 120  # room for the time at the left of the diagram
ROW_HEIGHT = 30
HEAD_HEIGHT = 58
THANKS = ("dziękuję", "dziękujemy", "dzięki")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class LegDetail:
    """One stored leg, with the messages that decided it (None: stored before they were kept)."""

    call_id: str
    role: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    caller: str
    callee: str
    extension: str | None
    final_status: int | None
    end_cause: str | None
    transport: str
    src: str
    dst: str
    retransmissions: int
    ladder: tuple[LadderStep, ...] | None


@dataclass(frozen=True, slots=True)
class TransferDetail:
    kind: str
    from_extension: str | None
    target: str | None
    outcome: str
    reason: str | None
    at: datetime
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class GreetingDetail:
    """What the stored greeting rests on (``Greeting.details``): each element's words and times."""

    elements: Mapping[str, Any]
    grammar_transcript: str | None
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class CallDetail:
    call: CallView
    legs: tuple[LegDetail, ...]
    transfers: tuple[TransferDetail, ...]
    greeting: GreetingDetail | None
    callback_opened_at: datetime | None

    def extensions(self) -> set[str]:
        """The extensions the call rang at or was answered at (whose it is, T3–T8)."""
        found = {leg.extension for leg in self.legs if leg.extension}
        if self.call.answered_by:
            found.add(self.call.answered_by)
        return found


# -- the ladder diagram --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Column:
    address: str
    x: int
    hint: str | None  # "caller" or an extension: who is at the address


@dataclass(frozen=True, slots=True)
class Arrow:
    step: LadderStep
    leg: int  # index of the leg in the call
    y: int
    x1: int
    x2: int
    at: datetime
    offset_s: float  # seconds from the call's first message
    kind: str  # request / provisional / success / failure: how it is drawn

    @property
    def label_x(self) -> int:
        return (self.x1 + self.x2) // 2

    @property
    def rightwards(self) -> bool:
        return self.x2 >= self.x1


@dataclass(frozen=True, slots=True)
class LadderDiagram:
    columns: tuple[Column, ...]
    arrows: tuple[Arrow, ...]
    width: int
    height: int
    legs_without_ladder: int  # legs stored before the ladder was kept


def ladder_diagram(legs: Sequence[LegDetail]) -> LadderDiagram:
    """Every leg's messages in one diagram, by capture time; an address is a column, in the
    order the messages first name them (the caller's on the left)."""
    steps = sorted(((step, n) for n, leg in enumerate(legs) for step in leg.ladder or ()),
                   key=lambda pair: (pair[0].at, pair[1]))
    order: dict[str, int] = {}
    for step, _ in steps:
        for address in (step.src, step.dst):
            order.setdefault(address, len(order))
    hints = _hints(legs)
    columns = tuple(Column(address, COLUMN_GAP_LEFT + COLUMN_WIDTH * i + COLUMN_WIDTH // 2,
                           hints.get(address)) for address, i in order.items())
    x = {c.address: c.x for c in columns}
    start = steps[0][0].at if steps else 0.0
    arrows = tuple(Arrow(step, n, HEAD_HEIGHT + ROW_HEIGHT * (i + 1), x[step.src], x[step.dst],
                         datetime.fromtimestamp(step.at, UTC), step.at - start, _kind(step))
                   for i, (step, n) in enumerate(steps))
    return LadderDiagram(columns, arrows,
                         width=COLUMN_GAP_LEFT + COLUMN_WIDTH * max(len(columns), 2),
                         height=HEAD_HEIGHT + ROW_HEIGHT * (len(arrows) + 1) + 10,
                         legs_without_ladder=sum(1 for leg in legs if leg.ladder is None))


def _hints(legs: Sequence[LegDetail]) -> dict[str, str]:
    """Who is at an address: the caller at the first leg's first sender; a leg's extension
    at the far end of its INVITE's last hop."""
    hints: dict[str, str] = {}
    for n, leg in enumerate(legs):
        invites = [s for s in leg.ladder or () if s.method == "INVITE" and not s.in_dialog]
        if not invites:
            continue
        if n == 0 or (leg.caller and leg.caller == legs[0].caller):
            hints.setdefault(invites[0].src, "caller")
        last_hop = max(s.hop for s in invites)
        if leg.extension:
            for step in invites:
                if step.hop == last_hop:
                    hints.setdefault(step.dst, leg.extension)
    return hints


def _kind(step: LadderStep) -> str:
    if step.method is not None:
        return "request"
    status = step.status or 0
    if status < 200:
        return "provisional"
    return "success" if status < 300 else "failure"


# -- the transcript ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of the transcript and what it was recognised as (None: plain words)."""

    text: str
    mark: str | None  # an Element value, "casual" or "thanks"


@dataclass(frozen=True, slots=True)
class ElementHeard:
    element: str
    text: str | None
    start: float | None
    end: float | None


def elements_heard(elements: Mapping[str, Any], order: Sequence[str]) -> tuple[ElementHeard, ...]:
    """Each element of T1 in ``order``, with the words it was heard in and when (None: missing)."""
    heard = []
    for name in order:
        match = elements.get(name)
        if isinstance(match, Mapping):
            heard.append(ElementHeard(name, match.get("text"), match.get("start"),
                                      match.get("end")))
        else:
            heard.append(ElementHeard(name, None, None, None))
    return tuple(heard)


def transcript_marks(transcript: str, elements: Mapping[str, Any],
                     casual: Sequence[str]) -> tuple[Piece, ...]:
    """``transcript`` cut into pieces, the words of each element (their text as recognised,
    found in order), of each casual word and of the thanks marked."""
    words = [(m.start(), m.end(), m.group().casefold()) for m in _WORD.finditer(transcript)]
    marks: list[str | None] = [None] * len(words)
    for name, match in elements.items():
        if isinstance(match, Mapping) and match.get("text"):
            _mark_run(words, marks, str(match["text"]).casefold().split(), name)
    for phrase in casual:
        _mark_run(words, marks, phrase.casefold().split(), "casual", every=True)
    for n, (_, _, word) in enumerate(words):
        if marks[n] is None and word in THANKS:
            marks[n] = "thanks"
    pieces: list[Piece] = []
    at = 0
    n = 0
    while n < len(words):
        mark = marks[n]
        if mark is None:
            n += 1
            continue
        first = n
        while n + 1 < len(words) and marks[n + 1] == mark:
            n += 1
        begin, end = words[first][0], words[n][1]
        if begin > at:
            pieces.append(Piece(transcript[at:begin], None))
        pieces.append(Piece(transcript[begin:end], mark))
        at = end
        n += 1
    if at < len(transcript):
        pieces.append(Piece(transcript[at:], None))
    return tuple(pieces)


def _mark_run(words: list[tuple[int, int, str]], marks: list[str | None], run: list[str],
              mark: str, *, every: bool = False) -> None:
    tokens = [w for phrase in run for w in _WORD.findall(phrase)]
    if not tokens:
        return
    for n in range(len(words) - len(tokens) + 1):
        window = range(n, n + len(tokens))
        if all(words[i][2] == tokens[k] and marks[i] is None
               for k, i in enumerate(window)):
            for i in window:
                marks[i] = mark
            if not every:
                return
