"""the words `/find` searches in each appeal, with a full-text index: SQLite's FTS5 (a
virtual table over appeal_search kept by triggers), PostgreSQL's GIN over the `simple`
tsvector. The rows of existing appeals are written at the next start
(bot/storage/appeal_search.py `ensure`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FULL_TEXT = (
    "CREATE VIRTUAL TABLE appeal_fts USING fts5("
    "body, content='appeal_search', content_rowid='appeal_id', tokenize='unicode61')",
    "CREATE TRIGGER appeal_search_ai AFTER INSERT ON appeal_search BEGIN "
    "INSERT INTO appeal_fts(rowid, body) VALUES (new.appeal_id, new.body); END",
    "CREATE TRIGGER appeal_search_ad AFTER DELETE ON appeal_search BEGIN "
    "INSERT INTO appeal_fts(appeal_fts, rowid, body) VALUES ('delete', old.appeal_id, old.body); "
    "END",
    "CREATE TRIGGER appeal_search_au AFTER UPDATE ON appeal_search BEGIN "
    "INSERT INTO appeal_fts(appeal_fts, rowid, body) VALUES ('delete', old.appeal_id, old.body); "
    "INSERT INTO appeal_fts(rowid, body) VALUES (new.appeal_id, new.body); END",
)


def upgrade() -> None:
    op.create_table(
        "appeal_search",
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeal.id"], name=op.f("fk_appeal_search_appeal_id_appeal")
        ),
        sa.PrimaryKeyConstraint("appeal_id", name=op.f("pk_appeal_search")),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FULL_TEXT:
            op.execute(statement)
    else:
        op.execute(
            "CREATE INDEX ix_appeal_search_body ON appeal_search "
            "USING gin (to_tsvector('simple'::regconfig, body))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("appeal_search_ai", "appeal_search_ad", "appeal_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS appeal_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_appeal_search_body")
    op.drop_table("appeal_search")
