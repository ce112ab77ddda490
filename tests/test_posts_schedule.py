"""When posts run (due, quiet hours, weekly copies), the in-process runner with its report
to the author, and the members' side: /news, blocking the bot, survey answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Chat, ChatMemberBanned, ChatMemberMember, ChatMemberUpdated, PollAnswer
from aiogram.types import User as TgUser
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Context
from bot.broadcast.engine import Broadcaster, SendSettings
from bot.broadcast.limiter import Pacer
from bot.broadcast.schedule import advance
from bot.broadcast.worker import PostRunner
from bot.services.calendar import WorkCalendar
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import Broadcast, Delivery, Member, PostStatus, SurveyAnswer
from tests.conftest import ADMIN_ID
from tests.databases import KINDS, database
from tests.driver import Person, texts
from tests.fake_bot_api import FakeBotAPI
from tests.test_member_flow import onboard

TZ = ZoneInfo("Asia/Almaty")
CALENDAR = WorkCalendar(TZ)
TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


async def _post(engine: AsyncEngine, **values: object) -> int:
    fields: dict[str, object] = {
        "created_by": ADMIN_ID,
        "status": PostStatus.SCHEDULED,
        "text_kk": "Жаңалық",
        "text_ru": "Новость",
        "orgs": [],
        "workplace_types": [],
        "urgent": False,
        **values,
    }
    async with create_session_factory(engine)() as session:
        post = Broadcast(**fields)
        session.add(post)
        await session.commit()
        return post.id


@pytest.mark.parametrize("kind", KINDS)
async def test_due_posts_start_nights_wait_weekly_posts_copy_once(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        due = await _post(engine, run_at=local("2026-12-07 09:00"))
        later = await _post(engine, run_at=local("2026-12-07 12:00"))
        night = await _post(engine, run_at=local("2026-12-07 23:00"))
        urgent = await _post(engine, run_at=local("2026-12-07 23:00"), urgent=True)
        weekly = await _post(
            engine, run_at=local("2026-12-07 10:00"), repeat_weekday=0, repeat_time="10:00"
        )
        sessions = create_session_factory(engine)
        async with sessions() as session:
            morning = await advance(session, local("2026-12-07 10:00"), CALENDAR)
            await session.commit()
        async with sessions() as session:  # a second scheduler at the same moment
            again = await advance(session, local("2026-12-07 10:00"), CALENDAR)
            await session.commit()
        assert due in morning.started and later not in morning.started
        assert len(morning.started) == 2  # `due` and this week's copy of `weekly`
        assert again.started == []
        async with sessions() as session:
            template = await session.get_one(Broadcast, weekly)
            copies = list(
                await session.scalars(select(Broadcast).where(Broadcast.parent_id == weekly))
            )
        assert template.status == PostStatus.SCHEDULED
        assert template.run_at == local("2026-12-14 10:00")
        assert [c.status for c in copies] == [PostStatus.RUNNING]
        assert copies[0].text_ru == "Новость"

        async with sessions() as session:  # 23:30: `due` is still running; night falls
            late = await advance(session, local("2026-12-07 23:30"), CALENDAR)
            await session.commit()
            held = await session.get_one(Broadcast, due)
            waiting = await session.get_one(Broadcast, night)
        assert urgent in late.started and night not in late.started
        assert due in late.held and copies[0].id in late.held
        assert held.status == PostStatus.SCHEDULED
        assert held.run_at == local("2026-12-08 08:00")
        assert waiting.status == PostStatus.SCHEDULED
        async with sessions() as session:
            dawn = await advance(session, local("2026-12-08 08:00"), CALENDAR)
            await session.commit()
        assert {due, night, later} <= set(dawn.started)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def test_runner_sends_a_due_post_and_reports_to_its_author_once(
    ctx: Context, api: FakeBotAPI
) -> None:
    now = datetime.now(UTC)
    async with ctx.engine.begin() as conn:
        await conn.execute(
            insert(Member),
            [
                {
                    "telegram_id": 20_000 + i,
                    "language": "kk",
                    "member_org": "almaty",
                    "consent_version": "1",
                    "consent_at": now,
                    "created_at": now,
                }
                for i in range(30)
            ],
        )
    post = await _post(ctx.engine, run_at=now - timedelta(minutes=1), urgent=True)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        broadcaster = Broadcaster(bot, ctx.engine, Pacer(500), owner="t", settings=SendSettings())
        runner = PostRunner(ctx, bot, broadcaster)
        await runner.tick()
        await asyncio.wait_for(asyncio.gather(*runner.tasks.values()), timeout=30)
        await runner.tick()  # nothing more: done, reported
        await asyncio.gather(*runner.tasks.values())
        assert await runner.report(post) is False  # told once
    finally:
        await bot.session.close()
    reports = [c for c in api.calls_for("sendMessage") if c.chat_id == ADMIN_ID]
    assert len(reports) == 1
    assert "30" in str(reports[0].params["text"])
    async with ctx.session_factory() as session:
        done = await session.get_one(Broadcast, post)
    assert done.status == PostStatus.DONE and done.reported_at is not None


async def test_news_off_on_blocking_and_survey_answers(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(901)
    await onboard(member, lang="ru", org="almaty")
    sent = await member.send("/news off")
    assert "/news on" in texts(sent)
    async with ctx.session_factory() as session:
        row = await session.scalar(select(Member).where(Member.telegram_id == 901))
        assert row is not None and row.news_opt_out is True
    await member.send("/news on")
    async with ctx.session_factory() as session:
        row = await session.scalar(select(Member).where(Member.telegram_id == 901))
        assert row is not None and row.news_opt_out is False
        member_id = row.id

    user = TgUser(id=901, is_bot=False, first_name="M")
    chat = Chat(id=901, type="private")
    bot_user = TgUser(id=1000, is_bot=True, first_name="Qorgau")
    await member.feed(
        my_chat_member=ChatMemberUpdated(
            chat=chat,
            from_user=user,
            date=datetime.now(UTC),
            old_chat_member=ChatMemberMember(user=bot_user),
            new_chat_member=ChatMemberBanned(
                user=bot_user, until_date=datetime(1970, 1, 1, tzinfo=UTC)
            ),
        )
    )
    async with ctx.session_factory() as session:
        row = await session.get_one(Member, member_id)
        assert row.active is False

    post = await _post(ctx.engine, status=PostStatus.DONE)
    async with ctx.engine.begin() as conn:
        await conn.execute(
            insert(Delivery).values(
                broadcast_id=post,
                member_id=member_id,
                chat_id=901,
                language="ru",
                member_org="almaty",
                status="delivered",
                attempts=1,
                poll_id="poll-1",
            )
        )
    await member.feed(
        poll_answer=PollAnswer(
            poll_id="poll-1", user=user, option_ids=[1], option_persistent_ids=["b"]
        )
    )
    await member.feed(
        poll_answer=PollAnswer(
            poll_id="unknown", user=user, option_ids=[0], option_persistent_ids=["a"]
        )
    )
    async with ctx.session_factory() as session:
        answers = list(await session.scalars(select(SurveyAnswer)))
    assert [(a.broadcast_id, a.options) for a in answers] == [(post, [1])]
    await member.feed(
        poll_answer=PollAnswer(poll_id="poll-1", user=user, option_ids=[], option_persistent_ids=[])
    )
    async with ctx.session_factory() as session:
        assert list(await session.scalars(select(SurveyAnswer))) == []  # withdrawn
