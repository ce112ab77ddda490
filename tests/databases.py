"""Fresh databases for tests: a SQLite file, or a PostgreSQL schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import create_engine

PG_URL = os.environ.get("TEST_DATABASE_URL")
KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@asynccontextmanager
async def database(kind: str, tmp_path: Path, **engine_kwargs: Any) -> AsyncIterator[AsyncEngine]:
    """A fresh database: a SQLite file, or a PostgreSQL schema of its own."""
    if kind == "sqlite":
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
