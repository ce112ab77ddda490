"""Alembic migrations driven from code, on the application's own async engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


FULL_TEXT_TABLES = "appeal_fts"  # SQLite's virtual table and its shadow tables
FULL_TEXT_INDEX = "ix_appeal_search_body"  # PostgreSQL's GIN index on an expression


def is_modelled(name: str | None, type_: str, _parents: Any) -> bool:
    """For Alembic's `include_name`: the full-text index is the migration's, not a model's
    (SQLite's tables are kept by triggers; PostgreSQL's index is on an expression)."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(FULL_TEXT_TABLES)
    return not (type_ == "index" and name == FULL_TEXT_INDEX)
