"""The broadcast engine against the fake Bot API: pacing, Telegram's errors, resuming after a
stop, and two senders on one database never sending one delivery twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.broadcast.engine import Broadcaster, SendSettings, delivery_counts
from bot.broadcast.limiter import Pacer
from bot.storage.migrate import upgrade
from bot.storage.models import Broadcast, Delivery, Member, PostStatus
from tests.databases import KINDS, database
from tests.fake_bot_api import FakeBotAPI

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
FIRST_CHAT = 10_000
FAST = SendSettings(concurrency=8, batch=16, backoff_seconds=0.01, max_attempts=3)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


def make_bot(api: FakeBotAPI) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))


async def _members(engine: AsyncEngine, n: int, **extra: object) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Member),
            [
                {
                    "telegram_id": FIRST_CHAT + i,
                    "language": "ru" if i % 3 == 0 else "kk",
                    "member_org": "almaty" if i % 2 else "astana",
                    "consent_version": "1",
                    "consent_at": now,
                    "created_at": now,
                    **extra,
                }
                for i in range(n)
            ],
        )


async def _post(engine: AsyncEngine, **extra: object) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(Broadcast)
            .values(
                created_by=1,
                status=PostStatus.RUNNING,
                text_kk="<b>Жаңалық</b>",
                text_ru="<b>Новость</b>",
                orgs=[],
                workplace_types=[],
                urgent=False,
                created_at=datetime.now(UTC),
                **extra,
            )
            .returning(Broadcast.id)
        )
        return int(result.scalar_one())


def _sent_per_chat(api: FakeBotAPI) -> Counter[int]:
    return Counter(
        int(c.chat_id) for c in api.calls_for("sendMessage") if c.ok and c.chat_id is not None
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_everyone_once_in_their_language_despite_telegrams_errors(
    kind: str, tmp_path: Path, api: FakeBotAPI
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        await _members(engine, 40)
        async with engine.begin() as conn:  # one opted out, one inactive
            from sqlalchemy import update

            await conn.execute(
                update(Member).where(Member.telegram_id == FIRST_CHAT + 1).values(news_opt_out=True)
            )
            await conn.execute(
                update(Member).where(Member.telegram_id == FIRST_CHAT + 2).values(active=False)
            )
        post = await _post(engine)
        api.inject("sendMessage", status=429, retry_after=1, times=2)
        api.inject("sendMessage", status=403, chat_id=FIRST_CHAT + 3)
        api.inject(
            "sendMessage", status=400, description="Bad Request: chat not found",
            chat_id=FIRST_CHAT + 4,
        )  # fmt: skip
        api.inject("sendMessage", status=502, chat_id=FIRST_CHAT + 5, times=2)  # then fine
        api.inject("sendMessage", status=500, chat_id=FIRST_CHAT + 6, times=-1)  # never
        bot = make_bot(api)
        try:
            pacer = Pacer(200)
            result = await Broadcaster(bot, engine, pacer, owner="a", settings=FAST).run(post)
        finally:
            await bot.session.close()
        assert result is not None and result.finished
        assert result.counts == {
            "pending": 0,
            "sending": 0,
            "delivered": 35,  # 40 - opted out - inactive - blocked - not found - 5xx forever
            "blocked": 1,
            "failed": 2,
            "opted-out": 1,
            "skipped": 1,
        }
        assert pacer.pauses >= 1  # the 429 paused the senders
        sent = _sent_per_chat(api)
        assert set(sent.values()) == {1}  # nobody twice
        assert FIRST_CHAT + 1 not in sent and FIRST_CHAT + 2 not in sent
        assert FIRST_CHAT + 5 in sent  # retried after two 5xx
        ru = [c for c in api.calls_for("sendMessage") if c.ok and c.chat_id == FIRST_CHAT + 0]
        assert ru[0].params["text"] == "<b>Новость</b>"
        async with engine.connect() as conn:
            blocked = await conn.scalar(
                select(Member.active).where(Member.telegram_id == FIRST_CHAT + 3)
            )
            status = await conn.scalar(select(Broadcast.status).where(Broadcast.id == post))
            reason = await conn.scalar(
                select(Delivery.error).where(Delivery.chat_id == FIRST_CHAT + 4)
            )
        assert blocked is False
        assert status == PostStatus.DONE
        assert reason is not None and "chat not found" in reason


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stopped_sender_resumes_from_pending_rows(
    kind: str, tmp_path: Path, api: FakeBotAPI
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        await _members(engine, 120)
        post = await _post(engine)
        api.latency = 0.02
        bot = make_bot(api)
        try:
            settings = SendSettings(concurrency=4, batch=8, lease_seconds=0.5)
            first = asyncio.create_task(
                Broadcaster(bot, engine, Pacer(100), owner="a", settings=settings).run(post)
            )
            while len(_sent_per_chat(api)) < 30:  # noqa: ASYNC110 - polls the fake server
                await asyncio.sleep(0.01)
            first.cancel()  # the process dies mid-post: its lease runs out
            with pytest.raises(asyncio.CancelledError):
                await first
            await asyncio.sleep(0.6)
            second = Broadcaster(bot, engine, Pacer(100), owner="b", settings=settings)
            result = await second.run(post)
        finally:
            await bot.session.close()
        assert result is not None and result.finished
        assert result.counts["delivered"] == 120
        sent = _sent_per_chat(api)
        assert len(sent) == 120  # nobody skipped
        twice = [chat for chat, n in sent.items() if n > 1]
        assert len(twice) <= settings.concurrency  # only what was in flight at the stop


@pytest.mark.parametrize("kind", KINDS)
async def test_two_senders_on_one_database_never_send_a_delivery_twice(
    kind: str, tmp_path: Path, api: FakeBotAPI
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        await _members(engine, 60)
        post = await _post(engine)
        api.latency = 0.005
        bot = make_bot(api)
        try:
            pacer = Pacer(500)
            results = await asyncio.gather(
                Broadcaster(bot, engine, pacer, owner="a", settings=FAST).run(post),
                Broadcaster(bot, engine, pacer, owner="b", settings=FAST).run(post),
            )
        finally:
            await bot.session.close()
        ran = [r for r in results if r is not None]
        assert len(ran) == 1  # the lease: one process sends a post
        assert set(_sent_per_chat(api).values()) == {1}
        assert len(_sent_per_chat(api)) == 60
        assert (await delivery_counts(engine, post))["delivered"] == 60


async def test_the_pace_never_exceeds_the_rate() -> None:
    clock = [0.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    pacer = Pacer(25, clock=lambda: clock[0], sleep=sleep)
    stamps = []
    for _ in range(100):
        await pacer.slot()
        stamps.append(clock[0])
    for i, start in enumerate(stamps):
        in_window = [t for t in stamps[i:] if t < start + 1.0]
        assert len(in_window) <= 25
    assert stamps[-1] == pytest.approx(99 / 25)
    pacer.pause(5)
    await pacer.slot()
    assert clock[0] >= stamps[-1] + 5
