"""report indexes: a unit's calls of a period by (unit, started_at)

``calls(unit, started_at)`` replaces ``calls(unit)``, a prefix of it. A unit's report, its
page's trend and heatmap, and the call list of a unit read the unit's calls of a period: with
the unit alone indexed they read every call the unit ever had (SQLite, without ANALYZE
statistics, even chose that index for ``unit IN (every unit)``); with both, one index range
per unit. Measured in benchmarks/README.md (reports over a synthetic year).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_unit_started_at", ["unit", "started_at"], unique=False)
        batch_op.drop_index("ix_calls_unit")


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_unit", ["unit"], unique=False)
        batch_op.drop_index("ix_calls_unit_started_at")
