"""Alembic environment: the engine comes from ``etykieta.storage.db.upgrade``.

Alembic loads this file as a script, not as a module of the package: its import of the
models is the one absolute import in ``etykieta``.

On SQLite a batch migration rebuilds a table (copy, drop, rename); with foreign keys on, the
drop would cascade to every child row (a rebuilt ``calls`` would empty ``legs``, ``greetings``
…). So foreign keys are off while migrations run, and checked before they are turned on again.
"""

from alembic import context

from etykieta.storage.models import Base

config = context.config
engine = config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"

with engine.connect() as connection:
    if sqlite:  # outside any transaction, or SQLite ignores it
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"migration left rows without their parent: {broken[:5]}")
    finally:
        if sqlite:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
