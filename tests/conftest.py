from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from pydantic import SecretStr

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.context import Context, build_context
from bot.services.staff import ensure_admins
from bot.storage.migrate import upgrade
from tests.databases import migrated_sqlite
from tests.driver import Person
from tests.recording import RecordingSession

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
ADMIN_ID = 500


def make_settings(db_url: str, **extra: object) -> Settings:
    # The flows drive the bot at machine speed: flood control (tests/test_flood.py) would
    # take a fast tester for a flood.
    extra = {"flood_limit": 10_000, **extra}
    return Settings(bot_token=SecretStr(TOKEN), database_url=db_url, admin_ids=[ADMIN_ID], **extra)  # type: ignore[arg-type]


async def open_context(database_url: str) -> Context:
    """The app's context on a database, migrated, its FAQ open, ADMIN_ID an admin."""
    context = build_context(make_settings(database_url))
    await upgrade(context.engine)
    await context.open_faq()
    async with context.session_factory() as session:
        await ensure_admins(session, [ADMIN_ID])
        await session.commit()
    return context


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[Context]:
    # A SQLite *file*: :memory: would hide concurrency problems.
    database = migrated_sqlite(tmp_path / "bot.db")
    context = await open_context(f"sqlite+aiosqlite:///{database}")
    yield context
    await context.close()


@pytest.fixture
def recording() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def bot(ctx: Context, recording: RecordingSession) -> Bot:
    return create_bot(ctx.settings, session=recording)  # type: ignore[arg-type]


@pytest.fixture
def dp(ctx: Context) -> Dispatcher:
    return create_dispatcher(ctx)


@pytest.fixture
def person(dp: Dispatcher, bot: Bot, recording: RecordingSession) -> Callable[..., Person]:
    def make(user_id: int, **kwargs: object) -> Person:
        return Person(dp, bot, recording, user_id, **kwargs)  # type: ignore[arg-type]

    return make


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL")
