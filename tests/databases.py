"""Fresh databases for tests: a SQLite file, or a PostgreSQL database of its own; both start
as a copy of a template migrated once per test process."""

from __future__ import annotations

import asyncio
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
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import create_engine
from bot.storage.migrate import alembic_config, upgrade

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


def pg_url(name: str) -> str:
    assert PG_URL is not None
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


_pg_templates: list[str] = []


async def pg_template() -> str:
    """A PostgreSQL database migrated to the newest schema, made once per test process
    (each xdist worker has its own: a template cannot be copied while it is in use)."""
    if not _pg_templates:
        name = f"qorgau_template_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_at_exit, name)
        engine = create_engine(pg_url(name))
        await upgrade(engine)
        await engine.dispose()
        _pg_templates.append(name)
    return _pg_templates[0]


async def _pg_admin(statement: str) -> None:
    admin = create_engine(str(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


def _drop_at_exit(name: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def database(
    kind: str, tmp_path: Path, *, empty: bool = False, **engine_kwargs: Any
) -> AsyncIterator[AsyncEngine]:
    """A fresh database: a SQLite file or a PostgreSQL database of its own, migrated (a
    copy of the template) unless `empty`."""
    if kind == "sqlite":
        if not empty:
            migrated_sqlite(tmp_path / "store.db")
        eng = create_engine(f"sqlite:///{tmp_path / 'store.db'}", **engine_kwargs)
        yield eng
        await eng.dispose()
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run in CI)")
    # A database of its own per test, so parallel or repeated runs never collide.
    name = f"t_{uuid.uuid4().hex[:12]}"
    template = "" if empty else f' TEMPLATE "{await pg_template()}"'
    await _pg_admin(f'CREATE DATABASE "{name}"{template}')
    eng = create_engine(pg_url(name), **engine_kwargs)
    try:
        yield eng
    finally:
        await eng.dispose()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
