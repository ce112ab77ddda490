"""saved replies: a lawyer's own ready answers, and those shared with a member
organisation's lawyers or with the whole union

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_staff_id", sa.Integer(), nullable=True),
        sa.Column("member_org", sa.String(length=40), nullable=True),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_saved_reply_created_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["owner_staff_id"], ["staff.id"], name=op.f("fk_saved_reply_owner_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_reply")),
    )
    with op.batch_alter_table("saved_reply", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saved_reply_owner_staff_id"), ["owner_staff_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("saved_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_reply_owner_staff_id"))

    op.drop_table("saved_reply")
