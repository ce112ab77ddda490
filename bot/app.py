"""Factories: nothing connects at import time. Production and tests build the same way."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.compat import requests as response_types
from bot.compat.routers import detach
from bot.compat.sends import BotSession
from bot.config import Settings
from bot.faq.content import Faq
from bot.faq.library import FaqLibrary
from bot.faq.search import FaqIndex
from bot.handlers import get_routers
from bot.handlers.errors import on_error
from bot.handlers.question import ForgetSearch
from bot.i18n import MemberI18nMiddleware, create_i18n
from bot.isolation import MemberIsolation
from bot.metrics import CountingMiddleware
from bot.middlewares import (
    DbSessionMiddleware,
    EditsThatChangeNothing,
    FaqEventsAfterReply,
    FloodControl,
    FloodCounter,
    InFlight,
    LiveFaq,
    PeopleMiddleware,
)
from bot.outbox import Outbox
from bot.private_chats import PrivateChatsOnly
from bot.report.tally import configure as configure_tally
from bot.scale.once import OnceMiddleware
from bot.scale.sync import DirectorySync, SettledChanges
from bot.services.calendar import WorkCalendar, load_holidays
from bot.services.members import MemberDirectory
from bot.services.sla import SlaSettings
from bot.services.staff import StaffDirectory
from bot.storage.db import create_engine, create_session_factory
from bot.storage.fsm import DatabaseStorage
from bot.storage.writer import SqliteWriter
from bot.topics import MemberOrgs

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What the handlers need, built once per process."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    faq_library: FaqLibrary
    orgs: MemberOrgs
    i18n: I18n
    member_directory: MemberDirectory
    staff_directory: StaffDirectory
    calendar: WorkCalendar
    sla: SlaSettings
    outbox: Outbox
    owner: str  # this process, among the instances (leases, the outbox's marks)
    writer: SqliteWriter | None = None  # a SQLite file's short writes (bot/storage/writer.py)

    @property
    def faq(self) -> Faq:
        return self.faq_library.faq

    @property
    def faq_index(self) -> FaqIndex:
        return self.faq_library.index

    async def open_faq(self) -> None:
        """The live FAQ from the database (seeded from the YAML at the first start)."""
        await self.faq_library.open(self.session_factory)

    async def close(self) -> None:
        """What is queued is written; then the database's connections are closed."""
        if self.writer is not None:
            await self.writer.close()
        await self.engine.dispose()


def build_context(settings: Settings) -> Context:
    faq_library = FaqLibrary.from_directory(settings.faq_dir)
    configure_tally(ZoneInfo(settings.timezone))
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    i18n = create_i18n()
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return Context(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        faq_library=faq_library,
        orgs=MemberOrgs.load(settings.member_orgs_file),
        i18n=i18n,
        member_directory=MemberDirectory(),
        staff_directory=StaffDirectory(),
        calendar=WorkCalendar(ZoneInfo(settings.timezone), load_holidays(settings.holidays_file)),
        sla=SlaSettings(settings.sla_first_answer_days, settings.sla_idle_claim_days),
        outbox=Outbox(session_factory, i18n, owner),
        owner=owner,
        writer=SqliteWriter.for_url(settings.database_url),
    )


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
    dp.update.outer_middleware(PrivateChatsOnly(ctx.i18n))
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
