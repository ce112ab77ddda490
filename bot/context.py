"""The composition root's product: what the handlers, jobs and workers need, built once
per process (`build_context`). Jobs and workers import this, never the Dispatcher's
assembly in bot/app.py."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.faq.content import Faq
from bot.faq.library import FaqLibrary
from bot.faq.search import FaqIndex
from bot.i18n import create_i18n
from bot.outbox import Outbox
from bot.services.calendar import WorkCalendar, load_holidays
from bot.services.members import MemberDirectory
from bot.services.sla import SlaSettings
from bot.services.staff import StaffDirectory
from bot.storage.db import create_engine, create_session_factory
from bot.storage.writer import SqliteWriter
from bot.topics import MemberOrgs


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
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine, ZoneInfo(settings.timezone))
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
