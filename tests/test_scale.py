"""Pieces of scaled mode, each against the real servers: the scheduler lease (both
databases), the broadcast pace and 429 pauses shared through Redis, update ids handled
once, directories kept true across instances."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update
from redis.asyncio import Redis
from sqlalchemy import select, update

from bot.context import Context
from bot.runner import _scheduler, post_runner, redis_fsm_storage
from bot.scale.lease import ProcessLease
from bot.scale.once import MemorySeenUpdates, OnceMiddleware, RedisSeenUpdates
from bot.scale.pacer import SharedPacer
from bot.scale.sync import DirectorySync, SettledChanges
from bot.services.members import MemberDirectory, MemberView
from bot.services.staff import StaffDirectory
from bot.storage.fsm import DatabaseStorage
from bot.storage.migrate import upgrade
from bot.storage.models import Audit, FsmRecord, Member, utcnow
from tests.conftest import make_settings
from tests.databases import KINDS, database

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (Redis tests run in CI)")
    client = Redis.from_url(REDIS_URL)
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield client, prefix
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_one_process_holds_the_scheduler_lease_and_another_takes_over(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        # A lease of 2 s: the margins below (0.35 s before it runs out in the database, 0.5 s
        # after) hold on a loaded machine, where a statement may take a few tenths.
        first = ProcessLease(engine, "scheduler", "host:1", seconds=2.0)
        second = ProcessLease(engine, "scheduler", "host:2", seconds=2.0)
        got = await asyncio.gather(first.hold(), second.hold())  # both at once, first ever
        assert sorted(got) == [False, True]
        holder, other = (first, second) if got[0] else (second, first)
        assert holder.held and not other.held
        assert await holder.hold() and not await other.hold()  # renewed; still held
        assert await other.holder() == holder.owner

        await asyncio.sleep(1.65)  # 80 % of the lease: the holder stops trusting it
        assert not holder.held
        assert not await other.hold()  # but it has not run out yet in the database
        await asyncio.sleep(0.5)  # the holder died (no renewal): the lease ran out
        assert await other.hold() and other.held
        assert await other.holder() == other.owner
        assert not await holder.hold()  # the old holder comes back: it does not get it

        await other.release()  # a clean stop hands over at once
        assert not other.held and await holder.hold()


async def test_shared_pace_two_instances_never_exceed_the_rate(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    rate = 40
    pacers = [SharedPacer(client, prefix, rate), SharedPacer(client, prefix, rate)]
    stamps: list[float] = []
    until = time.monotonic() + 3.0

    async def sender(pacer: SharedPacer) -> None:
        while True:
            await pacer.slot()
            now = time.monotonic()
            if now >= until:
                return
            stamps.append(now)

    await asyncio.gather(*(sender(p) for p in pacers for _ in range(4)))
    stamps.sort()
    busiest = max(sum(1 for s in stamps[i:] if s < start + 1.0) for i, start in enumerate(stamps))
    assert busiest <= rate, busiest
    assert len(stamps) >= 0.9 * rate * 3 * 0.98, len(stamps)  # the two share the rate fully

    # A 429 seen by one instance pauses the other.
    pacers[0].pause(1.0)
    await asyncio.sleep(0.05)  # the pause reaches Redis
    started = time.monotonic()
    await pacers[1].slot()
    await pacers[1].slot()  # its already reserved slots were taken before the pause, or not
    assert time.monotonic() - started >= 0.85


async def test_update_ids_are_handled_once_across_instances(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    one, two = RedisSeenUpdates(client, prefix), RedisSeenUpdates(client, prefix)
    assert await one.begin(41) is True
    assert await two.begin(41) is False  # busy on the first instance
    await one.done(41)
    assert await two.begin(41) is False  # done
    assert await two.begin(42) is True
    await two.failed(42)  # its handler failed: a redelivery is handled again
    assert await one.begin(42) is True

    memory = MemorySeenUpdates(size=2)
    assert [await memory.begin(i) for i in (1, 1, 2, 3)] == [True, False, True, True]
    assert await memory.begin(1) is True  # forgotten beyond `size`


async def test_a_redelivery_waits_for_the_first_and_takes_over_when_its_instance_died(
    redis: tuple[Redis, str],
) -> None:
    """Instance one began update 51 and died (its busy mark is no longer renewed): the
    redelivery on instance two handles it once the mark lapses. Update 52 is still being
    handled by a live instance one: the redelivery waits and is dropped when it is done."""
    client, prefix = redis
    one = RedisSeenUpdates(client, prefix, busy_seconds=0.5)
    two = OnceMiddleware(RedisSeenUpdates(client, prefix, busy_seconds=0.5), wait_seconds=5)
    handled: list[int] = []

    async def handler(event: object, _data: dict[str, object]) -> None:
        assert isinstance(event, Update)
        handled.append(event.update_id)

    assert await one.begin(51)  # ...and instance one is killed here
    started = time.monotonic()
    await two(handler, Update(update_id=51), {})
    assert handled == [51] and 0.3 < time.monotonic() - started < 3

    first = OnceMiddleware(RedisSeenUpdates(client, prefix, busy_seconds=0.5))

    async def slow(event: object, data: dict[str, object]) -> None:
        await asyncio.sleep(1.5)  # three times the busy mark: it is renewed meanwhile
        await handler(event, data)

    running = asyncio.create_task(first(slow, Update(update_id=52), {}))
    await asyncio.sleep(0.1)
    await two(handler, Update(update_id=52), {})  # the redelivery waits for the first
    await running
    assert handled == [51, 52] and two.dropped == 1


def member_77(language: str) -> MemberView:
    return MemberView(
        id=1,
        telegram_id=77,
        language=language,
        member_org="almaty",
        workplace_type=None,
        consent_version="1",
    )


async def test_a_change_on_one_instance_is_dropped_from_the_others_copies(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    directories = [(MemberDirectory(), StaffDirectory()) for _ in range(2)]
    syncs = [DirectorySync(client, prefix, m, s) for m, s in directories]
    for sync in syncs:
        await sync.start()
    try:
        view = member_77("kk")
        (a_members, a_staff), (b_members, b_staff) = directories
        b_members._store(77, view)  # instance B read member 77 earlier
        b_staff._loaded_at = time.monotonic()
        a_members.remember(77, view)  # instance A changes member 77
        a_staff.invalidate()  # and staff
        for _ in range(100):
            if 77 not in b_members._views and b_staff._loaded_at == float("-inf"):
                break
            await asyncio.sleep(0.02)
        assert 77 not in b_members._views  # B reads the member afresh
        assert b_staff._loaded_at == float("-inf")
        assert 77 in a_members._views  # A keeps its own fresh copy
    finally:
        for sync in syncs:
            await sync.stop()


class _SlowSession:
    """Answers a directory's read only when `gate` opens: a read under way."""

    def __init__(self, answer: object) -> None:
        self.gate = asyncio.Event()
        self.answer = answer

    async def scalar(self, _query: object) -> object:
        await self.gate.wait()
        return self.answer

    async def scalars(self, _query: object) -> object:
        await self.gate.wait()
        return self.answer


async def test_a_read_under_way_when_a_drop_arrives_is_used_once_not_kept() -> None:
    """Instance B began reading member 77 before A's change; A's message arrives before
    B's read ends: B answers with what it read but does not keep it."""
    members = MemberDirectory()
    row = Member(id=1, telegram_id=77, language="kk", member_org="almaty")
    session = _SlowSession(row)
    reading = asyncio.create_task(members.get(session, 77))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    members.drop(77)  # the other instance's change is announced meanwhile
    session.gate.set()
    assert (await reading) is not None
    assert 77 not in members._views  # the next read goes to the database
    session = _SlowSession(row)
    session.gate.set()
    await members.get(session, 77)  # type: ignore[arg-type]
    assert 77 in members._views  # an undisturbed read is kept

    staff = StaffDirectory()
    session = _SlowSession([])
    loading = asyncio.create_task(staff.get(session, 5))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    staff.drop()
    session.gate.set()
    await loading
    assert staff._loaded_at == float("-inf")  # loaded again at the next read


class _SlowRedis:
    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, _channel: str, message: str) -> None:
        await asyncio.sleep(0.1)
        self.published.append(message)


async def test_a_change_is_told_before_the_update_lets_go_of_the_member() -> None:
    """The update that changed a member returns from the middleware chain (and so releases
    aiogram's per-member lock) only after the change reached Redis."""
    members, redis = MemberDirectory(), _SlowRedis()
    sync = DirectorySync(redis, "p", members, StaffDirectory())  # type: ignore[arg-type]
    view = member_77("ru")
    seen_in_handler: list[str] = []

    async def handler(_event: object, _data: dict[str, object]) -> str:
        members.remember(77, view)  # the handler changed member 77 and committed
        seen_in_handler.extend(redis.published)
        return "done"

    result = await SettledChanges(sync)(handler, Update(update_id=1), {})
    assert result == "done"
    assert seen_in_handler == []  # publishing takes a while...
    assert [m.split(" ", 1)[1] for m in redis.published] == ["member:77"]  # ...and is done


async def test_conversations_in_redis_expire_after_fsm_ttl_days(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    settings = make_settings("sqlite+aiosqlite:///unused.db", redis_prefix=prefix)
    assert settings.fsm_ttl_days == 30
    storage = redis_fsm_storage(settings, client)
    key = StorageKey(bot_id=1, chat_id=60, user_id=60)
    await storage.set_state(key, "AppealDraft:text")
    await storage.set_data(key, {"draft": {"text": "черновик"}})
    for part in ("state", "data"):
        name = storage.key_builder.build(key, part)
        assert name.startswith(f"{prefix}:fsm:")
        assert 30 * 86400 - 60 < await client.ttl(name) <= 30 * 86400, part


async def test_the_nightly_job_of_the_scheduler_holder_sweeps_old_conversations(
    ctx: Context, bot: Bot
) -> None:
    storage = DatabaseStorage(ctx.session_factory)
    old, fresh = StorageKey(bot_id=1, chat_id=61, user_id=61), StorageKey(1, 62, 62)
    for key in (old, fresh):
        await storage.set_state(key, "Mailbox:text")
    async with ctx.session_factory() as session, session.begin():
        await session.execute(
            update(FsmRecord)
            .where(FsmRecord.key == storage.key_builder.build(old))
            .values(updated_at=utcnow() - timedelta(days=31))
        )
    leader = ProcessLease(ctx.engine, "scheduler", "host:1", seconds=30.0)
    scheduler = _scheduler(ctx, bot, leader, post_runner(ctx, bot, "host:1", None), storage)
    nightly = scheduler.get_job("retention")
    await nightly.func()  # not the lease's holder: nothing happens
    assert await storage.get_state(old) == "Mailbox:text"
    assert await leader.hold()
    await nightly.func()
    assert await storage.get_state(old) is None
    assert await storage.get_state(fresh) == "Mailbox:text"
    async with ctx.session_factory() as session:
        audit = await session.scalar(select(Audit).where(Audit.action == "fsm-sweep"))
    assert audit is not None and audit.details == {"conversations": 1, "days": 30}
    await leader.release()


async def test_an_edit_published_on_one_instance_is_served_by_the_other(
    redis: tuple[Redis, str], tmp_path: Path
) -> None:
    """Two instances on one database: an editor publishes on the first; the second's
    members and search read the new text as soon as Redis carries the word."""
    from bot.faq.content import CONTENT_DIR
    from bot.faq.library import FaqLibrary
    from bot.scale.sync import FaqReload
    from bot.storage import faq as store
    from bot.storage.db import create_session_factory

    client, prefix = redis
    async with database("sqlite", tmp_path) as engine:
        await upgrade(engine)
        factory = create_session_factory(engine)
        libraries = [FaqLibrary.from_directory(CONTENT_DIR) for _ in range(2)]
        syncs = []
        for library in libraries:
            await library.open(factory)
            sync = DirectorySync(
                client, prefix, MemberDirectory(), StaffDirectory(), FaqReload(library, factory)
            )
            await sync.start()
            syncs.append(sync)
        try:
            first, second = libraries
            node = first.faq.get("pay-late-wages")
            assert node is not None
            texts = store.Texts.of_node(node)
            assert texts.answer is not None
            edited = store.Texts(
                texts.title,
                {**texts.answer, "ru": "Зарплата: новый текст юриста."},
                texts.keywords,
                texts.refs,
            )
            async with factory() as session:
                await store.publish(session, node.id, edited, store.Author(None, "Юрист"))
                await session.commit()
            await first.changed()  # tells the other instance
            await syncs[0].settle()
            for _ in range(200):
                live = second.faq.get(node.id)
                if live is not None and live.answer_in("ru") == "Зарплата: новый текст юриста.":
                    break
                await asyncio.sleep(0.02)
            live = second.faq.get(node.id)
            assert live is not None and live.answer_in("ru") == "Зарплата: новый текст юриста."
            assert second.index.search("новый текст юриста", limit=1)[0].node.id == node.id
        finally:
            for sync in syncs:
                await sync.stop()
