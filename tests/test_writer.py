"""The SQLite writer thread: whole transactions, grouped, each write on its own savepoint."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import OperationalError

from bot.context import Context
from bot.storage.fsm import DatabaseStorage
from bot.storage.models import FaqEvent, FaqEventKind, FsmRecord, utcnow
from bot.storage.writer import SqliteWriter


def event_row(node: str, member_id: int | None = None) -> dict[str, object]:
    return {"node_id": node, "kind": FaqEventKind.VIEWED, "member_id": member_id, "at": utcnow()}


async def count_events(ctx: Context) -> int:
    async with ctx.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(FaqEvent)) or 0)


def test_only_a_sqlite_file_gets_a_writer(tmp_path: Path) -> None:
    assert SqliteWriter.for_url(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") is not None
    assert SqliteWriter.for_url("sqlite+aiosqlite:///:memory:") is None
    assert SqliteWriter.for_url("sqlite:///file:x?mode=memory&uri=true") is None
    assert SqliteWriter.for_url("postgresql://u@127.0.0.1/test") is None


async def test_a_write_is_committed_when_it_returns(ctx: Context) -> None:
    assert ctx.writer is not None
    await ctx.writer.write([insert(FaqEvent).values([event_row("a1")])])
    # Another connection (the session's) sees it at once: committed, not only queued.
    assert await count_events(ctx) == 1


async def test_writes_queued_together_share_one_transaction(ctx: Context) -> None:
    writer = ctx.writer
    assert writer is not None
    await writer.flush()  # the thread is up
    before = writer.transactions
    await asyncio.gather(
        *(writer.write([insert(FaqEvent).values([event_row(f"n{i}")])]) for i in range(50))
    )
    assert await count_events(ctx) == 50
    # 50 writes queued while the thread was busy take far fewer transactions.
    assert writer.transactions - before < 50


async def test_a_failing_write_fails_alone(ctx: Context) -> None:
    writer = ctx.writer
    assert writer is not None
    good = [writer.write([insert(FaqEvent).values([event_row(f"ok{i}")])]) for i in range(5)]
    # member 999 does not exist: the foreign key refuses this one write.
    bad = writer.write([insert(FaqEvent).values([event_row("bad", member_id=999)])])
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(r is None for r in results[:5])
    assert isinstance(results[5], Exception)
    async with ctx.session_factory() as session:
        nodes = set(await session.scalars(select(FaqEvent.node_id)))
    assert nodes == {f"ok{i}" for i in range(5)}


async def test_the_writer_waits_for_a_lock_held_elsewhere(ctx: Context, tmp_path: Path) -> None:
    """Another connection holds the write lock for 0.3 s: the write waits, then lands."""
    writer = ctx.writer
    assert writer is not None
    await writer.flush()
    held = threading.Event()

    def hold() -> None:
        con = sqlite3.connect(tmp_path / "bot.db", isolation_level=None, timeout=5)
        con.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(0.3)
        con.execute("COMMIT")
        con.close()

    holder = threading.Thread(target=hold)
    holder.start()
    await asyncio.to_thread(held.wait)
    started = time.monotonic()
    await writer.write([insert(FaqEvent).values([event_row("late")])])
    waited = time.monotonic() - started
    holder.join()
    assert 0.2 < waited < 2.0
    assert await count_events(ctx) == 1


async def test_fsm_writes_go_through_the_writer(ctx: Context) -> None:
    writer = ctx.writer
    assert writer is not None
    storage = DatabaseStorage(ctx.session_factory, writer=writer)
    key = StorageKey(bot_id=1, chat_id=5, user_id=5)
    before = writer.writes
    await storage.set_state(key, "Draft:text")
    await storage.set_data(key, {"text": "x"})
    assert writer.writes - before == 2
    async with ctx.session_factory() as session:
        row = (await session.execute(select(FsmRecord.state, FsmRecord.data))).one()
    assert tuple(row) == ("Draft:text", {"text": "x"})
    await storage.set_state(key, None)
    await storage.set_data(key, {})
    async with ctx.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(FsmRecord)) == 0


async def test_close_writes_what_is_queued(ctx: Context) -> None:
    writer = ctx.writer
    assert writer is not None
    writes = [
        asyncio.create_task(writer.write([insert(FaqEvent).values([event_row(f"q{i}")])]))
        for i in range(20)
    ]
    await asyncio.sleep(0)  # queued
    await writer.close()
    await asyncio.gather(*writes)
    assert await count_events(ctx) == 20
    # A closed writer starts again when used (a context closed and reused in tests).
    await writer.write([text("SELECT 1")])


async def test_a_database_that_cannot_be_opened_fails_the_write(tmp_path: Path) -> None:
    writer = SqliteWriter(str(tmp_path / "missing" / "dir" / "bot.db"))
    try:
        with pytest.raises(OperationalError, match="unable to open"):
            await asyncio.wait_for(writer.write([text("SELECT 1")]), 5)
    finally:
        await writer.close()
