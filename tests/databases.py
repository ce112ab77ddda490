"""Fresh databases for tests: a SQLite file, or a PostgreSQL schema of its own."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import create_engine
from bot.storage.migrate import alembic_config

PG_URL = os.environ.get("TEST_DATABASE_URL")
KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@functools.cache
def sqlite_template() -> Path:
    """A SQLite file migrated to the newest schema, made once per test process: a test's
    database starts as a copy (milliseconds) instead of running every migration (about
    half a second). The migrations themselves are tested from an empty database
    (tests/test_schema.py, tests/test_storage.py)."""
    directory = Path(tempfile.mkdtemp(prefix="qorgau-template-"))
    atexit.register(shutil.rmtree, directory, True)
    path = directory / "template.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    engine.dispose()
    return path


def migrated_sqlite(path: Path) -> Path:
    """`path` becomes a migrated SQLite database (a copy of the template)."""
    shutil.copyfile(sqlite_template(), path)
    return path


@asynccontextmanager
async def database(
    kind: str, tmp_path: Path, *, empty: bool = False, **engine_kwargs: Any
) -> AsyncIterator[AsyncEngine]:
    """A fresh database: a SQLite file (already migrated unless `empty`), or a PostgreSQL
    schema of its own (empty: the test migrates it)."""
    if kind == "sqlite":
        if not empty:
            migrated_sqlite(tmp_path / "store.db")
        eng = create_engine(f"sqlite:///{tmp_path / 'store.db'}", **engine_kwargs)
        yield eng
        await eng.dispose()
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run in CI)")
    # A schema of its own per test, so parallel or repeated runs never collide.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # search_path as a connection parameter: a SET inside the driver's first transaction
    # would be undone if that transaction rolled back.
    eng = create_engine(
        PG_URL, connect_args={"server_settings": {"search_path": schema}}, **engine_kwargs
    )

    yield eng
    await eng.dispose()
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()
