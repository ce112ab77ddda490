"""Storage on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services.appeals import (
    AppealError,
    Draft,
    add_member_message,
    create_appeal,
    list_member_appeals,
)
from bot.services.members import MemberView, save_onboarding
from bot.storage.db import create_engine, create_session_factory, normalise_url, to_its_end
from bot.storage.fsm import DatabaseStorage
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import AppealSource, AppealStatus, FsmRecord, WorkplaceType, utcnow
from tests.databases import database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    # Empty: the stairway below starts from nothing.
    async with database(request.param, tmp_path, empty=True) as eng:
        yield eng


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_migrations_stairway(engine: AsyncEngine) -> None:
    await upgrade(engine)
    assert {
        "member",
        "appeal",
        "appeal_message",
        "faq_event",
        "feedback",
        "staff",
        "audit",
    } <= await tables(engine)
    await downgrade(engine, "base")
    assert await tables(engine) <= {"alembic_version"}
    await upgrade(engine)
    assert "appeal" in await tables(engine)


async def new_member(
    session: AsyncSession, telegram_id: int, org: str, *, consent: bool = True
) -> MemberView:
    saved = await save_onboarding(
        session,
        telegram_id,
        language="kk",
        member_org=org,
        workplace_type=WorkplaceType.SCHOOL,
        consent=consent,
    )
    return MemberView.of(saved)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    await upgrade(engine)
    return create_session_factory(engine)


async def test_appeal_round_trip_and_ownership(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        alice = await new_member(session, 1, "abai")
        bob = await new_member(session, 2, "atyrau")
        appeal = await create_appeal(
            session,
            alice,
            Draft(
                topic="leave",
                text="Демалыс ақысы төленбеді",
                source=AppealSource.DIRECT,
                attachments=[{"kind": "photo", "file_id": "F1", "name": None}],
            ),
            full_name="Әлия",
            username=None,
        )
        await session.commit()
        appeal_id = appeal.id
    async with sessions() as session:
        alice = await new_member(session, 1, "abai")
        rows, total = await list_member_appeals(session, alice, offset=0, limit=5)
        assert total == 1 and rows[0].status == AppealStatus.QUEUED
        assert rows[0].created_at.tzinfo is not None
        assert rows[0].attachments[0]["file_id"] == "F1"
        bob_row = await new_member(session, 2, "atyrau")
        with pytest.raises(AppealError):
            await add_member_message(session, bob_row, appeal_id, text="чужое", attachments=[])
        await add_member_message(session, alice, appeal_id, text="қосымша", attachments=[])
        await session.commit()
    assert bob is not None


async def test_appeal_requires_consent(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        member = await new_member(session, 3, "abai", consent=False)
        with pytest.raises(AppealError) as err:
            await create_appeal(
                session,
                member,
                Draft(topic="pay", text="x", source=AppealSource.DIRECT),
                full_name=None,
                username=None,
            )
        assert err.value.code == "consent"


async def test_fsm_storage_survives_a_new_storage_instance(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    first = DatabaseStorage(sessions)
    await first.set_state(key, "AppealDraft:text")
    await first.update_data(key, {"draft": {"topic": "pay", "text": "жалақы"}})
    second = DatabaseStorage(sessions)  # as after a restart
    assert await second.get_state(key) == "AppealDraft:text"
    assert (await second.get_data(key))["draft"]["text"] == "жалақы"
    await second.set_state(key, None)
    await second.set_data(key, {})
    assert await second.get_state(key) is None and await second.get_data(key) == {}


async def age(sessions: async_sessionmaker[AsyncSession], key: str, days: float) -> None:
    """Make a conversation look last written `days` ago."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(FsmRecord)
            .where(FsmRecord.key == key)
            .values(updated_at=utcnow() - timedelta(days=days))
        )


async def test_fsm_sweep_deletes_what_is_past_the_ttl_and_the_cache_forgets_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    storage = DatabaseStorage(sessions)
    old, fresh = StorageKey(bot_id=1, chat_id=50, user_id=50), StorageKey(1, 51, 51)
    for key in (old, fresh):
        await storage.set_state(key, "AppealDraft:text")
        await storage.update_data(key, {"draft": {"text": f"черновик {key.user_id}"}})
    await age(sessions, storage.key_builder.build(old), days=31)
    await age(sessions, storage.key_builder.build(fresh), days=29)
    assert await storage.get_state(old) == "AppealDraft:text"  # read from the cache

    assert await storage.sweep(utcnow() - timedelta(days=30)) == 1
    async with sessions() as session:
        keys = list(await session.scalars(select(FsmRecord.key)))
    assert keys == [storage.key_builder.build(fresh)]
    # This process's cache does not bring the swept conversation back.
    assert await storage.get_state(old) is None and await storage.get_data(old) == {}
    assert await storage.get_state(fresh) == "AppealDraft:text"
    assert (await storage.get_data(fresh))["draft"]["text"] == "черновик 51"
    assert await storage.sweep(utcnow() - timedelta(days=30)) == 0


class PausedRead:
    """A session factory whose first statement, once run, waits for `go`: a read of the
    conversation caught half-way while the sweep deletes it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.reading, self.go = asyncio.Event(), asyncio.Event()

    def __call__(self) -> AsyncSession:
        session = self.sessions()
        if self.reading.is_set():
            return session
        self.reading.set()
        execute = session.execute

        async def paused(*args: Any, **kwargs: Any) -> Any:
            result = await execute(*args, **kwargs)
            await self.go.wait()
            return result

        session.execute = paused  # type: ignore[method-assign]
        return session


async def test_a_read_under_way_during_the_sweep_does_not_cache_the_swept_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = StorageKey(bot_id=1, chat_id=52, user_id=52)
    await DatabaseStorage(sessions).set_state(key, "Mailbox:confirm")
    storage = DatabaseStorage(sessions)  # as after a restart: nothing cached yet
    await age(sessions, storage.key_builder.build(key), days=31)
    paused = PausedRead(sessions)
    storage.session_factory = paused  # type: ignore[assignment]
    read = asyncio.create_task(storage.get_state(key))
    await paused.reading.wait()
    await asyncio.sleep(0.05)  # the read has its row and waits
    assert await storage.sweep(utcnow() - timedelta(days=30)) == 1
    paused.go.set()
    assert await read == "Mailbox:confirm"  # read before the sweep: its answer stands
    assert await storage.get_state(key) is None  # but it was not kept


def test_url_normalisation() -> None:
    assert normalise_url("sqlite:///data/x.db") == "sqlite+aiosqlite:///data/x.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalise_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    eng = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    async with eng.connect() as conn:
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
    await eng.dispose()
    assert mode == "wal"


@pytest.mark.parametrize("finished", [True, False])
async def test_a_write_cancelled_mid_statement_runs_to_its_end(
    tmp_path: Path, finished: bool
) -> None:
    """Cancelled while SQLite runs one of its statements, a plain transaction is abandoned:
    its work is lost, and its connection may keep SQLite's write lock until it happens to
    be collected (a stop mid-post left the results writer waiting for minutes). Run
    `to_its_end`, the transaction commits first and the next writer gets through at once."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}"
    engine = create_engine(url)
    paused = threading.Event()

    def pause(seconds: float) -> None:  # in aiosqlite's thread
        paused.set()
        time.sleep(seconds)

    @event.listens_for(engine.sync_engine, "connect")
    def _slow_function(connection: Any, _record: Any) -> None:
        connection.create_function("pause", 1, pause)

    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        await conn.execute(text("INSERT INTO counter VALUES (0)"))

    async def write_slowly() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE counter SET n = n + 1"))
            await conn.execute(text("SELECT pause(0.5)"))  # cancelled in here

    writing = asyncio.create_task(to_its_end(write_slowly)() if finished else write_slowly())
    assert await asyncio.to_thread(paused.wait, 10)
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    other = create_engine(url, busy_timeout=0.5)
    try:
        async with other.connect() as conn:  # a reader is never kept waiting
            assert await conn.scalar(text("SELECT n FROM counter")) == (1 if finished else 0)
        if finished:
            async with other.begin() as conn:
                await conn.execute(text("UPDATE counter SET n = n + 10"))
            async with other.connect() as conn:
                assert await conn.scalar(text("SELECT n FROM counter")) == 11
    finally:
        await other.dispose()
        await engine.dispose()
