"""speech: call media, greetings, speech jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.Integer(), nullable=False),
        sa.Column("leg_call_id", sa.String(length=255), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=True),
        sa.Column("payload_types", sa.JSON(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("codec", sa.String(length=32), nullable=True),
        sa.Column("packets", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_pk"], ["calls.id"], name=op.f("fk_call_media_call_pk_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_media")),
        sa.UniqueConstraint("call_pk", name=op.f("uq_call_media_call_pk")),
    )
    op.create_table(
        "greetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("grammar_transcript", sa.Text(), nullable=True),
        sa.Column("first_word_s", sa.Float(), nullable=True),
        sa.Column("syllables_per_s", sa.Float(), nullable=True),
        sa.Column("too_fast", sa.Boolean(), nullable=True),
        sa.Column("casual_words", sa.JSON(), nullable=False),
        sa.Column("thanked", sa.Boolean(), nullable=True),
        sa.Column("order_ok", sa.Boolean(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_pk"], ["calls.id"], name=op.f("fk_greetings_call_pk_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_greetings")),
        sa.UniqueConstraint("call_pk", name=op.f("uq_greetings_call_pk")),
    )
    with op.batch_alter_table("greetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_greetings_verdict"), ["verdict"], unique=False)

    op.create_table(
        "speech_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("opening", sa.LargeBinary(), nullable=True),
        sa.Column("closing", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_pk"], ["calls.id"], name=op.f("fk_speech_jobs_call_pk_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speech_jobs")),
        sa.UniqueConstraint("call_pk", name=op.f("uq_speech_jobs_call_pk")),
    )
    with op.batch_alter_table("speech_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_speech_jobs_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("speech_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_speech_jobs_status"))

    op.drop_table("speech_jobs")
    with op.batch_alter_table("greetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_greetings_verdict"))

    op.drop_table("greetings")
    op.drop_table("call_media")
