"""staff access: invite codes stored as their SHA-256 only, invites revocable, and which
admins came from ADMIN_IDS (they lose the role when their id leaves it)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 19:00:00
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

invites = sa.table(
    "staff_invite",
    sa.column("id", sa.Integer()),
    sa.column("code", sa.String()),
    sa.column("code_hash", sa.String()),
)
staff = sa.table(
    "staff",
    sa.column("id", sa.Integer()),
    sa.column("telegram_id", sa.BigInteger()),
    sa.column("role", sa.String()),
    sa.column("from_admin_ids", sa.Boolean()),
)
audit = sa.table(
    "audit",
    sa.column("staff_telegram_id", sa.BigInteger()),
    sa.column("action", sa.String()),
    sa.column("details", sa.JSON()),
)


def _made_admin_by_someone(conn: sa.Connection) -> tuple[set[int], set[int]]:
    """Staff ids and telegram ids whose admin role another admin gave (a role change) or
    an invite (a join): the audit log has every one since the staff tables exist."""
    by_change: set[int] = set()
    by_join: set[int] = set()
    rows = conn.execute(
        sa.select(audit.c.staff_telegram_id, audit.c.action, audit.c.details).where(
            audit.c.action.in_(("join", "change-role"))
        )
    )
    for telegram_id, action, details in rows:
        found: dict[str, Any] = details or {}
        if found.get("role") != "admin":
            continue
        if action == "join":
            by_join.add(int(telegram_id))
        elif found.get("staff_id") is not None:
            by_change.add(int(found["staff_id"]))
    return by_change, by_join


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("from_admin_ids", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Admins nobody made admin came from ADMIN_IDS: marked, so removing their id from
    # ADMIN_IDS takes the role away from the next start on, as for admins made later.
    by_change, by_join = _made_admin_by_someone(conn)
    admins = conn.execute(
        sa.select(staff.c.id, staff.c.telegram_id).where(staff.c.role == "admin")
    ).all()
    for staff_id, telegram_id in admins:
        if staff_id not in by_change and telegram_id not in by_join:
            conn.execute(
                staff.update().where(staff.c.id == staff_id).values(from_admin_ids=True)
            )

    # Codes already given out keep working until they expire: each is replaced by its hash.
    with op.batch_alter_table("staff_invite", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    for invite_id, code in conn.execute(sa.select(invites.c.id, invites.c.code)).all():
        digest = hashlib.sha256(str(code).encode()).hexdigest()
        conn.execute(invites.update().where(invites.c.id == invite_id).values(code_hash=digest))
    with op.batch_alter_table("staff_invite", schema=None) as batch_op:
        batch_op.alter_column("code_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_staff_invite_code_hash"), ["code_hash"])
        batch_op.drop_constraint(batch_op.f("uq_staff_invite_code"), type_="unique")
        batch_op.drop_column("code")


def downgrade() -> None:
    conn = op.get_bind()
    # A hash cannot be turned back into its code: the old column gets a value nobody knows,
    # so invites not yet used cannot be used any more.
    with op.batch_alter_table("staff_invite", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=32), nullable=True))
    for invite_id, digest in conn.execute(sa.select(invites.c.id, invites.c.code_hash)).all():
        conn.execute(invites.update().where(invites.c.id == invite_id).values(code=digest[:32]))
    with op.batch_alter_table("staff_invite", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_staff_invite_code"), ["code"])
        batch_op.drop_constraint(batch_op.f("uq_staff_invite_code_hash"), type_="unique")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("code_hash")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("from_admin_ids")
