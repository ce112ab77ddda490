"""the audit log by appeal: an appeal's card lists its status changes from it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_appeal", "audit", ["appeal_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_appeal", table_name="audit")
