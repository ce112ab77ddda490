"""Flood control: more than 20 updates in 10 s from one person → ignored for a minute,
with exactly one localised notice; in one process or shared through Redis."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import ChatMemberBanned, ChatMemberMember, ChatMemberUpdated
from redis.asyncio import Redis
from sqlalchemy import event

from bot.app import create_dispatcher
from bot.context import Context
from bot.middlewares import (
    FLOOD_NOTICE,
    Flood,
    FloodControl,
    FloodLimits,
    MemoryFloodCounter,
    RedisFloodCounter,
)
from tests.driver import Person, texts
from tests.recording import BOT_USER, RecordingSession
from tests.test_member_flow import onboard

REDIS_URL = os.environ.get("TEST_REDIS_URL")


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def flood_dispatcher(ctx: Context, flood: FloodControl) -> Dispatcher:
    dp = create_dispatcher(ctx)
    dp.update.outer_middleware(flood)
    return dp


def notice(ctx: Context, lang: str) -> str:
    # From the catalogs.
    return ctx.i18n.gettext(FLOOD_NOTICE, locale=lang).format(seconds=60)


def methods(sent: list[Any]) -> list[str]:
    return [r.__api_method__ for r in sent]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def flood(ctx: Context, clock: Clock) -> FloodControl:
    return FloodControl(ctx.i18n, clock=clock)


@pytest.fixture
def someone(
    ctx: Context, flood: FloodControl, bot: Bot, recording: RecordingSession
) -> Callable[..., Person]:
    dp = flood_dispatcher(ctx, flood)

    def make(user_id: int, **kwargs: Any) -> Person:
        return Person(dp, bot, recording, user_id, **kwargs)

    return make


async def test_over_twenty_in_ten_seconds_ignored_for_a_minute_with_one_notice(
    someone: Callable[..., Person], flood: FloodControl, clock: Clock, ctx: Context
) -> None:
    member = someone(2001)
    await onboard(member, lang="ru")  # 5 updates
    for _ in range(15):  # 20 in all: still fine
        sent = await member.send("/help")
        assert methods(sent) == ["sendMessage"]
        clock.advance(0.1)
    sent = await member.send("/help")  # the 21st within 10 s
    assert methods(sent) == ["sendMessage"]
    assert texts(sent) == notice(ctx, "ru")  # the member's language
    for _ in range(50):  # ignored, silently: one notice only
        clock.advance(1.0)
        assert await member.send("/help") == []
        assert await member.press("menu:faq") == []
    assert flood.ignored == 101
    clock.advance(11.0)  # the minute is over
    sent = await member.send("/help")
    assert methods(sent) == ["sendMessage"] and texts(sent) != notice(ctx, "ru")


async def test_a_steady_pace_under_the_limit_is_never_blocked(
    someone: Callable[..., Person], flood: FloodControl, clock: Clock
) -> None:
    member = someone(2002)
    for _ in range(200):  # 2 a second for 100 s: at most 20 in any 10 s
        sent = await member.send("/start")
        assert sent, "ignored"
        clock.advance(0.5)
    assert flood.ignored == 0


async def test_button_flood_gets_the_notice_as_an_alert_in_kazakh(
    someone: Callable[..., Person], clock: Clock, ctx: Context
) -> None:
    member = someone(2003, language_code="en")
    await onboard(member, lang="kk")
    await member.send("/faq")  # 6 updates with onboarding
    for _ in range(14):
        await member.press("faq:open:")
    sent = await member.press("faq:open:")
    assert methods(sent) == ["answerCallbackQuery"]
    alert = sent[0]
    assert alert.show_alert and alert.text == notice(ctx, "kk")  # type: ignore[attr-defined]
    assert await member.press("faq:open:") == []


async def test_new_person_hears_their_telegram_language(
    someone: Callable[..., Person], clock: Clock, ctx: Context
) -> None:
    stranger = someone(2004, language_code="ru")
    for _ in range(20):
        await stranger.send_sticker()
    sent = await stranger.send_sticker()
    assert texts(sent) == notice(ctx, "ru")


async def test_one_person_flooding_does_not_touch_another(
    someone: Callable[..., Person], clock: Clock
) -> None:
    flooder, calm = someone(2005), someone(2006)
    for _ in range(21):
        await flooder.send("/start")
    assert await flooder.send("/start") == []
    assert await calm.send("/start")


async def test_blocking_the_bot_is_never_ignored(
    someone: Callable[..., Person], flood: FloodControl
) -> None:
    member = someone(2007)
    for _ in range(21):
        await member.send("/start")
    before = flood.ignored
    change = ChatMemberUpdated(
        chat=member.chat,
        from_user=member.user,
        date=datetime.now(UTC),
        old_chat_member=ChatMemberMember(user=BOT_USER),
        new_chat_member=ChatMemberBanned(user=BOT_USER, until_date=datetime.fromtimestamp(0, UTC)),
    )
    await member.feed(my_chat_member=change)
    assert flood.ignored == before


async def test_memory_is_bounded_idle_people_are_forgotten() -> None:
    counter = MemoryFloodCounter(max_people=500)
    limits = FloodLimits()
    for user_id in range(400):
        assert await counter.hit(user_id, 0.0, limits) is Flood.PASS
    assert len(counter) == 400
    assert await counter.hit(9999, 61.0, limits) is Flood.PASS  # the rest idle > 60 s
    assert len(counter) == 1
    for user_id in range(2000):  # all active at once: the cap holds
        await counter.hit(user_id, 62.0, limits)
    assert len(counter) == 500


async def test_window_slides() -> None:
    counter = MemoryFloodCounter()
    limits = FloodLimits(limit=3, window=10.0, block=60.0)
    for t in (0.0, 1.0, 2.0):
        assert await counter.hit(1, t, limits) is Flood.PASS
    assert await counter.hit(1, 10.5, limits) is Flood.PASS  # 0.0 left the window
    assert await counter.hit(1, 10.6, limits) is Flood.NOTICE
    assert await counter.hit(1, 70.5, limits) is Flood.IGNORE
    assert await counter.hit(1, 70.7, limits) is Flood.PASS


def test_limits_must_make_sense(ctx: Context) -> None:
    with pytest.raises(ValueError):
        FloodControl(ctx.i18n, limit=0)


# --- Redis: several instances share the count ------------------------------------------------


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (Redis tests run in CI)")
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_redis_counter_window_and_block(redis: Redis) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    counter = RedisFloodCounter(redis, prefix)
    limits = FloodLimits(limit=3, window=10.0, block=60.0)
    try:
        for t in (0.0, 1.0, 2.0):
            assert await counter.hit(1, 1e6 + t, limits) is Flood.PASS
        assert await counter.hit(1, 1e6 + 10.5, limits) is Flood.PASS
        assert await counter.hit(2, 1e6 + 10.5, limits) is Flood.PASS  # someone else
        assert await counter.hit(1, 1e6 + 10.6, limits) is Flood.NOTICE
        assert await counter.hit(1, 1e6 + 11.0, limits) is Flood.IGNORE
        assert await counter.hit(1, 1e6 + 70.7, limits) is Flood.PASS
        ttl = await redis.pttl(f"{prefix}:flood:{{1}}:until")
        assert 0 < ttl <= 61_000  # nothing stays behind for long
    finally:
        keys = [k async for k in redis.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)


@pytest.mark.redis
async def test_two_instances_share_the_count_and_send_one_notice(
    ctx: Context, redis: Redis, bot: Bot, recording: RecordingSession, clock: Clock
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    instances = [
        FloodControl(ctx.i18n, counter=RedisFloodCounter(redis, prefix), clock=clock)
        for _ in range(2)
    ]
    people = [Person(flood_dispatcher(ctx, f), bot, recording, 2010) for f in instances]
    try:
        for i in range(20):  # alternately through each instance: 10 each
            assert await people[i % 2].send("/start")
        sent = await people[0].send("/start") + await people[1].send("/start")
        assert len(sent) == 1 and texts(sent) == notice(ctx, "kk")
        for i in range(10):
            assert await people[i % 2].send("/start") == []
        clock.advance(61)
        assert await people[1].send("/start")
    finally:
        keys = [k async for k in redis.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)


async def test_redis_down_lets_updates_pass(
    someone: Callable[..., Person], ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    flood = FloodControl(ctx.i18n, counter=RedisFloodCounter(dead, "x"))
    member = Person(flood_dispatcher(ctx, flood), bot, recording, 2011)
    for _ in range(25):
        assert await member.send("/start")
    await dead.aclose()


async def test_the_production_flood_control_reads_no_database_for_ignored_updates(
    ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    """Flood control comes before every database lookup: a flooding person's ignored
    updates cost no query; their notice is still in the language they chose as a member."""
    strict = dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"flood_limit": 8}))
    dp = create_dispatcher(strict)
    member = Person(dp, bot, recording, 2100, language_code="kk")
    await onboard(member, lang="ru")  # 5 updates
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            await member.send("/help")
        sent = await member.send("/help")  # the 9th within 10 s
        assert texts(sent) == notice(ctx, "ru")
        statements.clear()
        for _ in range(20):
            # Cold directories (their TTL passed, or many people flood): a lookup would query.
            ctx.member_directory.drop_all()
            ctx.staff_directory.drop()
            assert await member.send("Привет, помогите") == []
            assert await member.press("menu:faq") == []
        assert statements == []
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", count)
