"""Writing the demo's rows: ids reserved up front, SQLAlchemy Core executemany on tables
typed for the driver, a transaction per part while the next parts are drawn."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.models import UTCDateTime

PG_WRITERS = 2  # PostgreSQL connections writing at once (SQLite has one writer)

# A transaction's worth of rows: (table, rows) in the order they are inserted.
Parts = list[tuple[Table, list[dict[str, Any]]]]


async def reserve_ids(conn: AsyncConnection, table: str, count: int) -> int:
    """The id after which `count` ids are ours. PostgreSQL: the sequence moves past them
    first, so the bot's own inserts (and later ones) never collide with them."""
    if conn.dialect.name != "postgresql":
        return int(await conn.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")) or 0)
    seq = f"pg_get_serial_sequence('{table}', 'id')"
    current = await conn.scalar(
        text(
            f"SELECT GREATEST(COALESCE((SELECT MAX(id) FROM {table}), 0), "
            f"COALESCE(pg_sequence_last_value({seq}::regclass), 0))"
        )
    )
    base = int(current or 0)
    if count > 0:
        await conn.execute(text(f"SELECT setval({seq}, :value)"), {"value": base + count})
    return base


@cache
def bulk_table(table: Table, sqlite: bool) -> Table:
    """The same table with types that take values as the driver wants them, so a million
    rows skip SQLAlchemy's per-value conversions: timestamps come pre-made (see
    values.stamps), enums as their text; on SQLite JSON as its text and booleans as the
    integers it stores (asyncpg casts a text parameter to varchar, which a json column does
    not take)."""
    columns = []
    for column in table.columns:
        kind: Any = column.type
        if isinstance(kind, UTCDateTime):
            kind = String() if sqlite else DateTime(timezone=True)
        elif isinstance(kind, Enum) or (isinstance(kind, JSON) and sqlite):
            kind = String()
        elif isinstance(kind, Boolean) and sqlite:
            kind = Integer()
        columns.append(Column(column.name, kind, primary_key=column.primary_key))
    return Table(table.name, MetaData(), *columns)


async def write_all(
    engine: AsyncEngine, conn: AsyncConnection, parts: Iterator[Parts | None]
) -> None:
    """Write each part in a transaction of its own while the next ones are made in a worker
    thread (the driver and the server work outside the GIL meanwhile). PostgreSQL takes
    parts on two connections at once; None from `parts` waits until everything before it
    is committed (appeals need their members)."""
    sqlite = conn.dialect.name == "sqlite"
    writers = 1 if sqlite else PG_WRITERS
    queue: asyncio.Queue[Parts | None] = asyncio.Queue(maxsize=writers)
    done = object()

    async def write(connection: AsyncConnection) -> None:
        while (current := await queue.get()) is not None:
            try:
                async with connection.begin():
                    for table, rows in current:
                        if rows:
                            await connection.execute(insert(bulk_table(table, sqlite)), rows)
            finally:
                queue.task_done()
        queue.task_done()

    async def extra_writer() -> None:
        async with engine.connect() as connection:
            await write(connection)

    tasks = [asyncio.ensure_future(write(conn))]
    tasks += [asyncio.ensure_future(extra_writer()) for _ in range(writers - 1)]
    try:
        while (current := await asyncio.to_thread(next, parts, done)) is not done:
            if current is None:
                await _join(queue, tasks)
            else:
                await _put(queue, current, tasks)  # type: ignore[arg-type]
        for _ in tasks:
            await _put(queue, None, tasks)
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _put(queue: asyncio.Queue[Parts | None], item: Parts | None, tasks: list[Any]) -> None:
    """queue.put, but a writer's failure stops the producer at once."""
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait([put, *tasks], return_when=asyncio.FIRST_COMPLETED)
    _raise_failed(tasks)
    await put


async def _join(queue: asyncio.Queue[Parts | None], tasks: list[Any]) -> None:
    joined = asyncio.ensure_future(queue.join())
    await asyncio.wait([joined, *tasks], return_when=asyncio.FIRST_COMPLETED)
    _raise_failed(tasks)
    await joined


def _raise_failed(tasks: list[Any]) -> None:
    for task in tasks:
        if task.done() and not task.cancelled() and (error := task.exception()) is not None:
            raise error
