"""an appeal message remembers the Telegram message it was written as, and its earlier
texts when the writer edits it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeal_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("source_message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            # Bulk inserts (demo-data, the register import) leave it out: an empty history.
            sa.Column("edits", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.create_index(
            "ix_appeal_message_source", ["source_chat_id", "source_message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("appeal_message", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_message_source")
        batch_op.drop_column("edits")
        batch_op.drop_column("edited_at")
        batch_op.drop_column("source_message_id")
        batch_op.drop_column("source_chat_id")
