"""the outbox (messages to another person, stored with what caused them) and the appeal
draft's one-time token (a second Send of one draft makes no second appeal)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX_STATUS = sa.Enum(
    "pending",
    "sending",
    "sent",
    "blocked",
    "failed",
    "cancelled",
    name="outboxstatus",
    native_enum=False,
    length=24,
)


def upgrade() -> None:
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft_token", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_appeal_draft_token"), ["draft_token"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("appeal_message_id", sa.Integer(), nullable=True),
        sa.Column("writer_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("writer_language", sa.String(length=8), nullable=True),
        sa.Column("status", OUTBOX_STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeal.id"], name=op.f("fk_outbox_appeal_id_appeal")
        ),
        sa.ForeignKeyConstraint(
            ["appeal_message_id"],
            ["appeal_message.id"],
            name=op.f("fk_outbox_appeal_message_id_appeal_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "not_before"], unique=False)
        batch_op.create_index("ix_outbox_chat", ["chat_id", "status", "id"], unique=False)
        batch_op.create_index("ix_outbox_sent_message", ["chat_id", "message_id"], unique=False)
        batch_op.create_index("ix_outbox_appeal", ["appeal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_appeal")
        batch_op.drop_index("ix_outbox_sent_message")
        batch_op.drop_index("ix_outbox_chat")
        batch_op.drop_index("ix_outbox_due")
    op.drop_table("outbox")
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_appeal_draft_token"), type_="unique")
        batch_op.drop_column("draft_token")
