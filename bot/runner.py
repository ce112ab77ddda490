"""Running the bot: migrate, seed admins, set command menus, long polling."""

from __future__ import annotations

import logging
import os
import socket
import sys
import uuid
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.utils.backoff import Backoff, BackoffConfig
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import Context, build_context, create_bot, create_dispatcher
from bot.broadcast.engine import Broadcaster, SendSettings
from bot.broadcast.limiter import Pacer
from bot.broadcast.worker import PostRunner
from bot.commands import set_chat_commands, setup_command_menus
from bot.config import Settings
from bot.faq.content import FaqError
from bot.jobs import desk_job
from bot.services.staff import ensure_admins
from bot.storage.migrate import upgrade
from bot.storage.models import StaffRole

log = logging.getLogger(__name__)


def post_runner(ctx: Context, bot: Bot) -> PostRunner:
    """This process's sender of posts: one pace (BROADCAST_RATE) for all of them."""
    settings = ctx.settings
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    broadcaster = Broadcaster(
        bot,
        ctx.engine,
        Pacer(settings.broadcast_rate),
        owner=owner,
        settings=SendSettings(
            paid=settings.broadcast_paid, lease_seconds=settings.broadcast_lease_seconds
        ),
    )
    return PostRunner(ctx, bot, broadcaster)


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
        async with ctx.session_factory() as session:
            await ensure_admins(session, settings.admin_ids)
            await session.commit()
    except Exception as exc:
        print(f"database error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        await ctx.engine.dispose()
        return 1
    bot = create_bot(settings)
    dp = create_dispatcher(ctx)
    scheduler = AsyncIOScheduler(timezone=settings.timezone)
    runner: PostRunner | None = None
    try:
        await wait_for_bot_api(bot)
        try:
            await setup_command_menus(bot, ctx.i18n)
            for admin_id in settings.admin_ids:
                try:
                    await set_chat_commands(bot, admin_id, "kk", ctx.i18n, StaffRole.ADMIN)
                except TelegramBadRequest:  # the admin has not opened the bot yet
                    log.info("admin %s has no chat with the bot yet; menu set at /join", admin_id)
        except TelegramNetworkError as exc:
            # Polling retries by itself with backoff; the menus are set on the next start.
            log.warning("Bot API unreachable, command menus not set: %s", exc)
        scheduler.add_job(
            desk_job,
            "interval",
            minutes=settings.desk_job_minutes,
            args=[ctx, bot],
            id="desk",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        runner = post_runner(ctx, bot)
        scheduler.add_job(
            runner.tick,
            "interval",
            seconds=settings.posts_tick_seconds,
            id="posts",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        scheduler.start()
        log.info("Qorgau starts polling: %d FAQ answers", len(ctx.faq.answers))
        await dp.start_polling(bot, handle_signals=True, close_bot_session=True)
    except TelegramUnauthorizedError:
        print("BOT_TOKEN was refused by Telegram (Unauthorized)", file=sys.stderr)
        return 1
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if runner is not None:
            await runner.stop()
        await bot.session.close()
        await ctx.engine.dispose()
    return 0


async def wait_for_bot_api(bot: Bot) -> None:
    """getMe until the Bot API answers: a network outage at boot is waited out, not fatal.

    (aiogram's polling retries by itself, but only after its own first getMe succeeds.)
    """
    backoff = Backoff(BackoffConfig(min_delay=1.0, max_delay=60.0, factor=1.6, jitter=0.1))
    while True:
        try:
            await bot.me()
            return
        except TelegramNetworkError as exc:
            log.warning("Bot API unreachable (%s); retrying in %.0f s", exc, backoff.next_delay)
            await backoff.asleep()
