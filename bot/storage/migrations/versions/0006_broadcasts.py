"""press secretary's broadcasts: posts, deliveries, survey answers, bot settings

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=24)


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            _enum(
                "poststatus",
                "draft",
                "awaiting-approval",
                "scheduled",
                "running",
                "paused",
                "done",
                "cancelled",
            ),
            nullable=False,
        ),
        sa.Column("text_kk", sa.Text(), nullable=True),
        sa.Column("text_ru", sa.Text(), nullable=True),
        sa.Column("media_kind", sa.String(length=16), nullable=True),
        sa.Column("media_file_id", sa.String(length=256), nullable=True),
        sa.Column("orgs", sa.JSON(), nullable=False),
        sa.Column("workplace_types", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("survey", sa.JSON(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repeat_weekday", sa.Integer(), nullable=True),
        sa.Column("repeat_time", sa.String(length=5), nullable=True),
        sa.Column("approved_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["broadcast.id"], name="fk_broadcast_parent_id_broadcast"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_broadcast"),
    )
    op.create_index("ix_broadcast_status_run", "broadcast", ["status", "run_at"])
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("member_org", sa.String(length=40), nullable=True),
        sa.Column(
            "status",
            _enum(
                "deliverystatus",
                "pending",
                "sending",
                "delivered",
                "blocked",
                "failed",
                "opted-out",
                "skipped",
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("poll_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcast.id"], name="fk_delivery_broadcast_id_broadcast"
        ),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_delivery_member_id_member"),
        sa.PrimaryKeyConstraint("id", name="pk_delivery"),
    )
    op.create_index("ix_delivery_post_status", "delivery", ["broadcast_id", "status", "id"])
    op.create_index(
        "ix_delivery_post_member", "delivery", ["broadcast_id", "member_id"], unique=True
    )
    op.create_index("ix_delivery_poll", "delivery", ["poll_id"])
    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcast.id"], name="fk_survey_answer_broadcast_id_broadcast"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name="fk_survey_answer_member_id_member"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_survey_answer"),
    )
    op.create_index(
        "ix_survey_answer_post", "survey_answer", ["broadcast_id", "member_id"], unique=True
    )


    op.create_table(
        "bot_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("changed_by", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_bot_setting"),
    )


def downgrade() -> None:
    op.drop_table("bot_setting")
    op.drop_table("survey_answer")
    op.drop_table("delivery")
    op.drop_table("broadcast")
