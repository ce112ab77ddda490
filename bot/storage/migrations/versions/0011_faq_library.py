"""the live FAQ: entries and their versions (who changed what, a lawyer's sign-off), FAQ
candidates from closed appeals, anonymised questions behind "did not help", and the
editor right. The content itself is loaded from the YAML at the first start.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_entry",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_answer", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "origin",
            sa.Enum("repository", "bot", "appeal", name="faqorigin", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("origin_appeal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entry")),
    )
    op.create_table(
        "faq_miss_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_miss_question")),
    )
    with op.batch_alter_table("faq_miss_question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_miss_question_at"), ["at"], unique=False)
        batch_op.create_index("ix_faq_miss_question_node_at", ["node_id", "at"], unique=False)

    op.create_table(
        "faq_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("author_staff_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("signed_by_name", sa.String(length=200), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_staff_id"], ["staff.id"], name=op.f("fk_faq_version_author_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["faq_entry.id"], name=op.f("fk_faq_version_entry_id_faq_entry")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_staff_id"],
            ["staff.id"],
            name=op.f("fk_faq_version_signed_by_staff_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_version")),
    )
    with op.batch_alter_table("faq_version", schema=None) as batch_op:
        batch_op.create_index("ix_faq_version_entry_number", ["entry_id", "number"], unique=True)

    op.create_table(
        "faq_candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("proposed_by_staff_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "published",
                "dismissed",
                name="faqcandidatestatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("entry_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeal.id"], name=op.f("fk_faq_candidate_appeal_id_appeal")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_staff_id"],
            ["staff.id"],
            name=op.f("fk_faq_candidate_proposed_by_staff_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_candidate")),
        sa.UniqueConstraint("appeal_id", name=op.f("uq_faq_candidate_appeal_id")),
    )
    with op.batch_alter_table("faq_candidate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_faq_candidate_created_at"), ["created_at"], unique=False
        )

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("faq_editor", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("faq_editor")

    with op.batch_alter_table("faq_candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_candidate_created_at"))

    op.drop_table("faq_candidate")
    with op.batch_alter_table("faq_version", schema=None) as batch_op:
        batch_op.drop_index("ix_faq_version_entry_number")

    op.drop_table("faq_version")
    with op.batch_alter_table("faq_miss_question", schema=None) as batch_op:
        batch_op.drop_index("ix_faq_miss_question_node_at")
        batch_op.drop_index(batch_op.f("ix_faq_miss_question_at"))

    op.drop_table("faq_miss_question")
    op.drop_table("faq_entry")
