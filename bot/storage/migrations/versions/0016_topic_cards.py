"""the outbox row of each topic's card, so the card's buttons follow the appeal's status.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeal_topic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_outbox_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appeal_topic", schema=None) as batch_op:
        batch_op.drop_column("card_outbox_id")
