"""streams: calls followed across capture files, capture time ranges, caller names, waits

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_streams",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("carry", sa.LargeBinary(), nullable=True),
        sa.Column("carry_packets", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("resume_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open_calls", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ingest_streams")),
    )
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("first_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mtime", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_captures_path"), ["path"], unique=False)
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_progress", sa.Boolean(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("caller_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("wait_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("wait_seconds")
        batch_op.drop_column("caller_name")
        batch_op.drop_column("in_progress")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_captures_path"))
        batch_op.drop_column("mtime")
        batch_op.drop_column("finished_at")
        batch_op.drop_column("last_at")
        batch_op.drop_column("first_at")
        batch_op.drop_column("stream")
    op.drop_table("ingest_streams")
