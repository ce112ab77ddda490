"""Running the bot: migrate, seed admins, set command menus, then long polling (embedded)
or a webhook server (scaled: WEBHOOK_URL, with REDIS_URL for several instances)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram.utils.backoff import Backoff, BackoffConfig
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis

from bot.access import refresh_menu, settle_access
from bot.app import create_bot, create_dispatcher
from bot.broadcast.engine import Broadcaster, SendSettings
from bot.broadcast.limiter import Pacer
from bot.broadcast.worker import PostRunner
from bot.clock.desk import desk_job
from bot.clock.faq_digest import faq_digest_job
from bot.clock.faq_review import faq_review_job
from bot.clock.retention import fsm_sweep_job, retention_job
from bot.clock.topics import TopicRetries, topics_job
from bot.commands import set_chat_commands, setup_command_menus
from bot.compat import check as check_compat
from bot.compat.lean_types import warm_up
from bot.config import Settings
from bot.context import Context, build_context
from bot.faq.content import FaqError
from bot.metrics import serve_in_polling
from bot.middlewares import RedisFloodCounter
from bot.scale.lease import ProcessLease
from bot.scale.once import MemorySeenUpdates, OnceMiddleware, RedisSeenUpdates
from bot.scale.pacer import SharedPacer
from bot.scale.sync import DirectorySync, FaqReload
from bot.scale.webhook import CannotListen, exit_if_stuck, stopped
from bot.scale.webhook import serve as serve_webhook
from bot.services.calendar import warn_uncovered_years
from bot.storage import appeal_search
from bot.storage.migrate import upgrade
from bot.storage.models import StaffRole

log = logging.getLogger(__name__)
# How often each instance compares the stored FAQ revision with the one it serves.
FAQ_CHECK_SECONDS = 30
TOPICS_RETRY_SECONDS = 60  # the staff groups' topics Telegram refused (bot/clock/topics.py)


def post_runner(ctx: Context, bot: Bot, owner: str, redis: Redis | None) -> PostRunner:
    """This process's sender of posts: one pace (BROADCAST_RATE) for all of them, shared
    by every instance through Redis in scaled mode."""
    settings = ctx.settings
    pacer = (
        SharedPacer(redis, settings.redis_prefix, settings.broadcast_rate)
        if redis is not None
        else Pacer(settings.broadcast_rate)
    )
    broadcaster = Broadcaster(
        bot,
        ctx.engine,
        pacer,
        owner=owner,
        settings=SendSettings(
            paid=settings.broadcast_paid, lease_seconds=settings.broadcast_lease_seconds
        ),
    )
    return PostRunner(ctx, bot, broadcaster)


async def index_appeals(ctx: Context) -> None:
    """/find's words for appeals that have none yet (written before the search existed, or
    by demo-data's bulk inserts); every later text keeps them in step as it is written."""
    async with ctx.session_factory() as session:
        written = await appeal_search.ensure(session)
        await session.commit()
    if written:
        log.info("appeal search: words written for %d appeals", written)


def _fail(line: str) -> int:
    print(line.splitlines()[0] if line else "error", file=sys.stderr)
    return 1


async def _connect_redis(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    redis = Redis.from_url(settings.redis_url)
    await cast("Awaitable[bool]", redis.ping())  # redis-py types it sync or async
    return redis


def redis_fsm_storage(settings: Settings, redis: Redis) -> RedisStorage:
    """Conversations in Redis (scaled mode): a key untouched for FSM_TTL_DAYS expires."""
    ttl = timedelta(days=settings.fsm_ttl_days)
    keys = DefaultKeyBuilder(prefix=f"{settings.redis_prefix}:fsm")
    return RedisStorage(redis, key_builder=keys, state_ttl=ttl, data_ttl=ttl)


def stops_quietly(job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A job cut short by the stop (APScheduler cancels the running ones at shutdown) ends
    without APScheduler's "raised an exception" and traceback: the next start does it."""

    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            log.debug("scheduled job %s stopped with the bot", job.__name__)

    run.__name__ = job.__name__
    return run


def _scheduler(
    ctx: Context, bot: Bot, leader: ProcessLease, runner: PostRunner, storage: BaseStorage
) -> AsyncIOScheduler:
    """Every instance runs one; only the scheduler lease's holder does the clock's work
    (the desk's notices, due posts, the nightly retention and sweep of old conversations,
    the FAQ editors' weekly digest, the staff groups' refused topics). Any instance sends
    running posts."""
    settings = ctx.settings
    scheduler = AsyncIOScheduler(timezone=settings.timezone)
    now = datetime.now(UTC)

    async def lead() -> None:
        await leader.hold()

    async def desk() -> None:
        if leader.held:
            await desk_job(ctx, bot)

    async def posts() -> None:
        await runner.tick(schedule=leader.held)

    retries = TopicRetries()

    async def topics() -> None:
        if leader.held:
            await topics_job(ctx, bot, retries)

    async def faq() -> None:
        # Every instance: content changed by `faq import`, or a sync message that was lost.
        await ctx.faq_library.refresh(ctx.session_factory)

    async def retention() -> None:
        if leader.held:
            await retention_job(ctx)
            await fsm_sweep_job(ctx, storage)

    async def faq_digest() -> None:
        if leader.held:
            await faq_digest_job(ctx, bot)

    jobs: list[tuple[Callable[[], Awaitable[None]], str, float]] = [
        (lead, "lease", settings.scheduler_lease_seconds / 3),
        (desk, "desk", settings.desk_job_minutes * 60),
        (posts, "posts", settings.posts_tick_seconds),
        (faq, "faq", FAQ_CHECK_SECONDS),
        (topics, "topics", TOPICS_RETRY_SECONDS),
    ]
    for job, name, seconds in jobs:
        scheduler.add_job(
            stops_quietly(job),
            "interval",
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            # The lease first; the others a moment later, when it is known who leads.
            next_run_time=now if name == "lease" else now + timedelta(seconds=1),
        )
    # Texts past APPEAL_TEXT_RETENTION_MONTHS, conversations past FSM_TTL_DAYS: every night
    # (idempotent), and a minute after start, so a bot that was down at night still does it.
    scheduler.add_job(
        stops_quietly(retention),
        "cron",
        hour=3,
        minute=30,
        id="retention",
        max_instances=1,
        coalesce=True,
        next_run_time=now + timedelta(minutes=1),
    )
    # The FAQ editors' digest: Mondays at 09:00. Tried again every hour until 17:00 (a
    # week's digest is sent once, bot/clock/faq_digest.py), so a lease that changed hands or a
    # restart at nine does not skip the week.
    scheduler.add_job(
        stops_quietly(faq_digest),
        "cron",
        day_of_week="mon",
        hour="9-17",
        minute=0,
        id="faq_digest",
        max_instances=1,
        coalesce=True,
    )

    async def faq_review() -> None:
        if leader.held:
            await faq_review_job(ctx, bot)

    # The monthly list of answers to sign off: the 1st to the 3rd of each month from 09:00,
    # hourly (a month's is sent once, bot/clock/faq_review.py), so a day the bot was down
    # does not skip the month.
    scheduler.add_job(
        stops_quietly(faq_review),
        "cron",
        day="1-3",
        hour="9-17",
        minute=0,
        id="faq_review",
        max_instances=1,
        coalesce=True,
    )
    return scheduler


async def run(settings: Settings) -> int:
    try:
        ctx = build_context(settings)
    except FaqError as exc:
        print(
            f"the FAQ content is invalid, the bot will not start ({len(exc.problems)} problems):",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    try:
        await upgrade(ctx.engine)
        await ctx.open_faq()
        admins_ended = await settle_access(ctx)
        await index_appeals(ctx)
    except Exception as exc:
        await ctx.close()
        return _fail(f"database error: {type(exc).__name__}: {exc}")
    try:
        redis = await _connect_redis(settings)
    except Exception as exc:
        await ctx.close()
        return _fail(f"Redis error (REDIS_URL): {type(exc).__name__}: {exc}")
    warn_uncovered_years(settings.holidays_file, datetime.now(ctx.calendar.tz).date())
    owner = ctx.owner
    # aiogram's and pydantic's internals as the patches rely on them (bot/compat/): a patch
    # whose assumption does not hold is switched off before the bot is built.
    await check_compat()
    warm_up()  # the first member's update does not wait for the Telegram types' builds
    bot = create_bot(settings)
    sync: DirectorySync | None = None
    if redis is not None:
        prefix = settings.redis_prefix
        # A client of their own: the dispatcher closes its storage's client when it stops.
        fsm_redis = Redis.from_url(str(settings.redis_url))
        storage = redis_fsm_storage(settings, fsm_redis)
        sync = DirectorySync(
            redis,
            prefix,
            ctx.member_directory,
            ctx.staff_directory,
            FaqReload(ctx.faq_library, ctx.session_factory),
        )
        dp = create_dispatcher(
            ctx,
            storage=storage,
            isolation=RedisEventIsolation(fsm_redis, key_builder=storage.key_builder),
            flood_counter=RedisFloodCounter(redis, prefix),
            once=OnceMiddleware(RedisSeenUpdates(redis, prefix)) if settings.webhook_url else None,
            sync=sync,
        )
        await sync.start()
    else:
        dp = create_dispatcher(
            ctx, once=OnceMiddleware(MemorySeenUpdates()) if settings.webhook_url else None
        )
    leader = ProcessLease(ctx.engine, "scheduler", owner, settings.scheduler_lease_seconds)
    runner = post_runner(ctx, bot, owner, redis)
    scheduler = _scheduler(ctx, bot, leader, runner, dp.storage)
    failure = ""  # said last, after the stop's own log lines
    try:
        await wait_for_bot_api(bot)
        try:
            await setup_command_menus(bot, ctx.i18n)
            for admin_id in settings.admin_ids:
                try:
                    await set_chat_commands(bot, admin_id, "kk", ctx.i18n, StaffRole.ADMIN)
                except TelegramBadRequest:  # the admin has not opened the bot yet
                    log.info("admin %s has no chat with the bot yet; menu set at /join", admin_id)
            for telegram_id, lang in admins_ended.items():  # no longer in ADMIN_IDS
                await refresh_menu(bot, ctx.i18n, telegram_id, lang, None)
        except TelegramNetworkError as exc:
            # Polling retries by itself with backoff; the menus are set on the next start.
            log.warning("Bot API unreachable, command menus not set: %s", exc)
        scheduler.start()
        ctx.outbox.start(bot)  # what earlier runs left unsent goes out first
        if settings.webhook_url:
            await serve_webhook(dp, bot, settings, ctx.engine, redis)
        else:
            await bot.delete_webhook(drop_pending_updates=False)  # polling needs none set
            async with serve_in_polling(settings, ctx.engine, redis):  # /healthz, /metrics
                log.info("Qorgau starts polling: %d FAQ answers", len(ctx.faq.answers))
                await dp.start_polling(bot, handle_signals=True, close_bot_session=True)
    except TelegramUnauthorizedError:
        failure = "BOT_TOKEN was refused by Telegram (Unauthorized)"
    except CannotListen as exc:
        failure = str(exc)
    finally:
        exit_if_stuck()
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await runner.stop()
        await ctx.outbox.stop()
        await leader.release()
        if sync is not None:
            await sync.stop()
        if redis is not None:
            await redis.aclose()
        await bot.session.close()
        await ctx.close()
        stopped()
    return _fail(failure) if failure else 0


async def wait_for_bot_api(bot: Bot) -> None:
    """getMe until the Bot API answers: a network outage or a 5xx at boot is waited out.

    (aiogram's polling retries by itself, but only after its own first getMe succeeds.)
    """
    backoff = Backoff(BackoffConfig(min_delay=1.0, max_delay=60.0, factor=1.6, jitter=0.1))
    while True:
        try:
            await bot.me()
            return
        except (TelegramNetworkError, TelegramServerError) as exc:
            log.warning("Bot API unreachable (%s); retrying in %.0f s", exc, backoff.next_delay)
            await backoff.asleep()
