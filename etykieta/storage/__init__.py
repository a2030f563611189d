"""Storage: SQLAlchemy 2.0 models, the engine factory, Alembic migrations and the repository."""

from etykieta.storage.db import make_engine, make_sessionmaker, upgrade
from etykieta.storage.models import Base, Call, CallbackObligation, Capture, Leg, Transfer

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
