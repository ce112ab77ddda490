"""legal-inspection report: economic effect, date indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("economic_effect_kzt", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_appeal_created", ["created_at"], unique=False)
        batch_op.create_index("ix_appeal_closed", ["closed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_closed")
        batch_op.drop_index("ix_appeal_created")
        batch_op.drop_column("economic_effect_kzt")
