"""live speech: opening jobs queued while the call goes on, greetings before their call row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("speech_jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_speech_jobs_call_pk"), type_="unique")
        batch_op.alter_column("call_pk", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False,
                                      server_default="call"))
        batch_op.add_column(sa.Column("leg_call_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("extension", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_speech_jobs_call_pk"), ["call_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_speech_jobs_leg_call_id"), ["leg_call_id"],
                              unique=False)
    with op.batch_alter_table("greetings", schema=None) as batch_op:
        batch_op.alter_column("call_pk", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("leg_call_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_greetings_leg_call_id"), ["leg_call_id"],
                              unique=False)


def downgrade() -> None:
    # live greetings and jobs not yet tied to a call cannot exist in the old schema
    op.execute("DELETE FROM greetings WHERE call_pk IS NULL")
    op.execute("DELETE FROM speech_jobs WHERE call_pk IS NULL OR kind = 'closing'")
    with op.batch_alter_table("greetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_greetings_leg_call_id"))
        batch_op.drop_column("answered_at")
        batch_op.drop_column("leg_call_id")
        batch_op.alter_column("call_pk", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("speech_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_speech_jobs_leg_call_id"))
        batch_op.drop_index(batch_op.f("ix_speech_jobs_call_pk"))
        batch_op.drop_column("extension")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("leg_call_id")
        batch_op.drop_column("kind")
        batch_op.alter_column("call_pk", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_speech_jobs_call_pk"), ["call_pk"])
