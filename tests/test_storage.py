"""Storage on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services.appeals import (
    AppealError,
    Draft,
    add_member_message,
    create_appeal,
    list_member_appeals,
)
from bot.services.members import MemberView, save_onboarding
from bot.storage.db import create_engine, create_session_factory, normalise_url
from bot.storage.fsm import DatabaseStorage
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import AppealSource, AppealStatus, WorkplaceType
from tests.databases import database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with database(request.param, tmp_path) as eng:
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
