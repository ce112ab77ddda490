"""Outer middlewares every update passes: the live FAQ, updates in flight, one database
session per update, FAQ events written after the reply, who is writing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.faq.library import FaqLibrary
from bot.i18n import guess_language
from bot.services.faq_events import FaqEvents
from bot.services.members import MemberDirectory
from bot.services.staff import StaffDirectory, learn_language
from bot.storage.writer import SqliteWriter

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class LiveFaq(BaseMiddleware):
    """`faq` and `faq_index` for the handlers: the library's content at this update's
    start (an edit published meanwhile is seen by the next update)."""

    def __init__(self, library: FaqLibrary) -> None:
        self.library = library

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["faq"], data["faq_index"] = self.library.faq, self.library.index
        data["faq_library"] = self.library
        return await handler(event, data)


class InFlight(BaseMiddleware):
    """The updates being handled. At a stop the bot waits for them (`wait`, a shutdown
    hook) before it closes its connection to Telegram: aiogram's polling closes the bot's
    session as soon as polling stops, and a handler still sending its reply (the member's
    data already saved) failed with "Server disconnected" and the reply was lost."""

    GRACE_SECONDS = 10.0  # within the 25 s after which a stuck stop exits (bot/scale/webhook.py)

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def wait(self) -> None:
        if self.count:
            log.info("stopping: %d updates still being handled", self.count)
        try:
            await asyncio.wait_for(self._idle.wait(), self.GRACE_SECONDS)
        except TimeoutError:
            log.warning("stopping with %d updates still being handled", self.count)


class DbSessionMiddleware(BaseMiddleware):
    """Opens the update's session; the handler or service owning the unit of work commits.

    A session connects only when first used, so updates served from memory cost nothing here.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            return await handler(event, data)


class FaqEventsAfterReply(BaseMiddleware):
    """`faq_events` for the handlers; what they added is written once the handler is done
    (its reply sent), even when it failed after adding (bot/services/faq_events.py)."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], writer: SqliteWriter | None
    ) -> None:
        self.session_factory = session_factory
        self.writer = writer

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        events = data["faq_events"] = FaqEvents()
        try:
            return await handler(event, data)
        finally:
            if events.rows:
                await events.write(self.session_factory, self.writer)


class PeopleMiddleware(BaseMiddleware):
    """Who is behind the update: `member` (a MemberView) and `staff` (a StaffView), or None."""

    def __init__(self, members: MemberDirectory, staff: StaffDirectory) -> None:
        self.members = members
        self.staff = staff

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        data["member"] = await self.members.get(session, user.id) if user else None
        staff = data["staff"] = await self.staff.get(session, user.id) if user else None
        if user is not None and staff is not None and staff.language is None:
            # An admin from ADMIN_IDS writes for the first time: from now on what the bot
            # sends them unasked (approval requests) is in their Telegram's language.
            await learn_language(session, user.id, guess_language(user))
            await session.commit()
            self.staff.invalidate()
        if session.in_transaction():
            # Only read (the views are plain copies): hand the connection back before the
            # handler runs. Otherwise each update holds one while its FSM storage waits for
            # a second from the same pool, and a burst of new members empties the pool.
            await session.rollback()
        return await handler(event, data)
