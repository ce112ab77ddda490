"""Alembic migrations driven from code, on the application's own async engine."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def _heads() -> frozenset[str]:
    """The newest revisions of the migrations shipped (their files read once a process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _upgrade(connection: Connection, revision: str) -> None:
    # A database at the newest revision already (every start but an upgrade's) is seen
    # from its alembic_version row alone: Alembic would read every migration file again.
    if revision == "head" and set(MigrationContext.configure(connection).get_current_heads()) == (
        _heads()
    ):
        return
    command.upgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


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
