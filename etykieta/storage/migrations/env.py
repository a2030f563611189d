"""Alembic environment: the engine comes from ``etykieta.storage.db.upgrade``."""

from alembic import context

from etykieta.storage.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
