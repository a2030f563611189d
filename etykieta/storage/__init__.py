"""Storage: SQLAlchemy 2.0 models, the engine factory, Alembic migrations and the repository.

What the shells write goes through here: the call writer (`writer`), a capture's row
(`captures`), the speech queue and greetings (`speech_queue`), where a stored call's audio is
(`call_audio`). Nothing here reads the clock: times are passed in.
"""

from .db import make_engine, make_sessionmaker, upgrade
from .models import Base, Call, CallbackObligation, Capture, Leg, Transfer

__all__ = [
    "Base",
    "Call",
    "CallbackObligation",
    "Capture",
    "Leg",
    "Transfer",
    "make_engine",
    "make_sessionmaker",
    "upgrade",
]
