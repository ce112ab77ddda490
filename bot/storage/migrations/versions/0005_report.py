"""legal-inspection report: economic effect, date indexes, running tally

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

FLAGS = (
    "consultations",
    "found_justified",
    "conciliation_commission",
    "court_cases",
    "court_claims_won",
    "mediation_agreements",
    "reinstated",
    "inspections",
    "outside_competence",
)
AMOUNTS = ("violations_found", "violations_remedied", "money_returned_kzt", "economic_effect_kzt")


def upgrade() -> None:
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("economic_effect_kzt", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_appeal_created", ["created_at"], unique=False)
        batch_op.create_index("ix_appeal_closed", ["closed_at"], unique=False)
        batch_op.create_index("ix_appeal_sla_breached", ["sla_breached_at"], unique=False)
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index("ix_member_org_created", ["member_org", "created_at"], unique=False)
    counters = [
        sa.Column(name, sa.Integer(), nullable=False)
        for name in ("n", *FLAGS, "r1", "r2", "r3", "r4", "r5")
    ] + [sa.Column(name, sa.BigInteger(), nullable=False) for name in AMOUNTS]
    op.create_table(
        "report_tally",
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("span", sa.String(length=10), nullable=False),
        sa.Column("member_org", sa.String(length=40), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        *counters,
        sa.PrimaryKeyConstraint(
            "basis", "span", "member_org", "topic", "channel", "bucket", name="pk_report_tally"
        ),
    )
    op.create_table(
        "report_tally_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_tally_state"),
    )


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index("ix_member_org_created")
    op.drop_table("report_tally_state")
    op.drop_table("report_tally")
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_sla_breached")
        batch_op.drop_index("ix_appeal_closed")
        batch_op.drop_index("ix_appeal_created")
        batch_op.drop_column("economic_effect_kzt")
