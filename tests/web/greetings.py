"""A judged greeting for a stored call, as the speech worker would store it (for web tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from etykieta.config import Settings
from etykieta.speech.greeting.transcript import Transcript
from etykieta.speech.greeting.verdict import check_greeting
from etykieta.storage.models import Call
from etykieta.storage.speech_queue import greeting_row
from etykieta.telephony.numbers import Directory


def judge(session: Session, call_pk: int, settings: Settings, extension: str,
          words: list[tuple[str, float]], *, closing: list[tuple[str, float]] | None = None
          ) -> None:
    """Replace the greeting of call ``call_pk`` with the verdict on ``words`` (each a word and
    its start, 0.3 s long), as if the recogniser had heard them at ``extension``."""
    directory = Directory(settings)

    def vosk(items: list[tuple[str, float]]) -> Transcript:
        result = [{"word": w, "start": s, "end": s + 0.3, "conf": 0.95} for w, s in items]
        return Transcript.from_vosk(json.dumps(
            {"result": result, "text": " ".join(w for w, _ in items)}))

    result = check_greeting(vosk(words), None, staff=directory.staff_at(extension),
                            unit=directory.unit_of(extension),
                            organisation=settings.organisation.name,
                            settings=settings.greeting,
                            closing=vosk(closing) if closing else None)
    call = session.get(Call, call_pk)
    assert call is not None
    if call.greeting is not None:
        session.delete(call.greeting)
        session.flush()
    call.greeting = greeting_row(result, checked_at=datetime(2026, 11, 24, 12, tzinfo=UTC))
    session.flush()
