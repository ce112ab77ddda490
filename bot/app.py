"""Factories: nothing connects at import time. Production and tests build the same way."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage

from bot.compat import requests as response_types
from bot.compat.routers import detach
from bot.compat.sends import BotSession
from bot.config import Settings
from bot.context import Context
from bot.handlers import get_routers
from bot.handlers.errors import on_error
from bot.handlers.member.question import ForgetSearch
from bot.i18n import MemberI18nMiddleware
from bot.metrics import CountingMiddleware
from bot.middlewares import (
    DbSessionMiddleware,
    EditsThatChangeNothing,
    FaqEventsAfterReply,
    FloodControl,
    FloodCounter,
    InFlight,
    LiveFaq,
    MemberIsolation,
    PeopleMiddleware,
    PrivateChatsOnly,
)
from bot.scale.once import OnceMiddleware
from bot.scale.sync import DirectorySync, SettledChanges
from bot.services.staff_groups import StaffGroups
from bot.storage.fsm import DatabaseStorage
from bot.storage.models import StaffRole

log = logging.getLogger(__name__)


def create_bot(settings: Settings, session: AiohttpSession | None = None) -> Bot:
    if session is None:
        session = (
            BotSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
            if settings.telegram_api_url
            else BotSession()
        )
    bot = Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    return with_request_middlewares(bot)


def with_request_middlewares(bot: Bot) -> Bot:
    """What every request of the bot goes through (create_bot; a benchmark's own bot)."""
    # Tapping a button whose screen is already shown: Telegram refuses the same edit with
    # 400 "message is not modified"; that is not an error for the member.
    bot.session.middleware(EditsThatChangeNothing())
    if response_types.PATCH.on:  # off when the start-up check found pydantic's cache changed
        bot.session.middleware(response_types.KeepResponseTypes())
    return bot


def create_dispatcher(
    ctx: Context,
    storage: BaseStorage | None = None,
    isolation: BaseEventIsolation | None = None,
    once: OnceMiddleware | None = None,
    flood_counter: FloodCounter | None = None,
    sync: DirectorySync | None = None,
) -> Dispatcher:
    """Embedded mode by default (FSM state in the database, isolation in this process);
    scaled mode passes Redis's storage and isolation, and `once` against redeliveries."""
    dp = Dispatcher(
        storage=storage or DatabaseStorage(ctx.session_factory, writer=ctx.writer),
        # One update at a time per member: an album's photos must not race on the draft.
        # A member's lock lives only while their updates hold or wait for it.
        events_isolation=isolation or MemberIsolation(),
        settings=ctx.settings,
        faq_library=ctx.faq_library,
        orgs=ctx.orgs,
        tz=ZoneInfo(ctx.settings.timezone),
        member_directory=ctx.member_directory,
        staff_directory=ctx.staff_directory,
        outbox=ctx.outbox,
    )
    in_flight = InFlight()
    dp.update.outer_middleware(in_flight)
    dp.shutdown.register(in_flight.wait)  # before aiogram closes the bot's session
    # Groups and channels are turned away before anything reads the database or Redis.
    staff_groups = StaffGroups(ctx.session_factory)
    dp["staff_groups"] = staff_groups

    async def is_admin(telegram_id: int) -> bool:
        async with ctx.session_factory() as session:
            staff = await ctx.staff_directory.get(session, telegram_id)
        return staff is not None and staff.role == StaffRole.ADMIN

    dp.update.outer_middleware(PrivateChatsOnly(ctx.i18n, groups=staff_groups, is_admin=is_admin))
    if once is not None:
        dp.update.outer_middleware(once)  # a redelivered update goes no further
    dp.update.outer_middleware(CountingMiddleware())
    if sync is not None:
        dp.update.outer_middleware(SettledChanges(sync))
    settings = ctx.settings

    async def member_language(telegram_id: int) -> str | None:
        async with ctx.session_factory() as session:
            member = await ctx.member_directory.get(session, telegram_id)
        return member.language if member is not None else None

    # Before anything reads the database: a flood costs a counter, not a query per update.
    dp.update.outer_middleware(
        FloodControl(
            ctx.i18n,
            limit=settings.flood_limit,
            window=settings.flood_window_seconds,
            block=settings.flood_block_seconds,
            counter=flood_counter,
            language=member_language,
        )
    )
    dp.update.outer_middleware(LiveFaq(ctx.faq_library))
    dp.update.outer_middleware(DbSessionMiddleware(ctx.session_factory))
    dp.update.outer_middleware(FaqEventsAfterReply(ctx.session_factory, ctx.writer))
    dp.update.outer_middleware(PeopleMiddleware(ctx.member_directory, ctx.staff_directory))
    MemberI18nMiddleware(ctx.i18n).setup(dp)
    dp.update.middleware(ForgetSearch())  # the typed question lives until the next step
    dp.errors.register(on_error)
    routers = get_routers()
    for router in routers:
        # Module-level routers keep their parent; a fresh Dispatcher (each test builds one)
        # takes them over.
        detach(router)
    dp.include_routers(*routers)
    return dp
