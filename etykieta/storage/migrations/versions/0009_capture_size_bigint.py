"""capture size as a 64-bit integer: a capture file may be larger than 2 GiB

``captures.size`` was an INTEGER: PostgreSQL refused to record a 2.2 GB file (value out of
range for type integer). SQLite's INTEGER already holds 64 bits; the column is altered there
too so that both schemas say the same.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.alter_column("size", existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.alter_column("size", existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False)
