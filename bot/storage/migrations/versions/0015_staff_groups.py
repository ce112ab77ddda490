"""staff supergroups linked per region, and the forum topic of each appeal there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_group",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("linked_by", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_staff_group")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_staff_group_chat_id")),
    )
    op.create_table(
        "appeal_topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeal.id"], name=op.f("fk_appeal_topic_appeal_id_appeal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_topic")),
    )
    op.create_index("ix_appeal_topic_appeal_id", "appeal_topic", ["appeal_id"], unique=False)
    op.create_index("ix_appeal_topic_place", "appeal_topic", ["chat_id", "thread_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_appeal_topic_place", table_name="appeal_topic")
    op.drop_index("ix_appeal_topic_appeal_id", table_name="appeal_topic")
    op.drop_table("appeal_topic")
    op.drop_table("staff_group")
