"""Outer middlewares: one database session per update, and who is writing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.members import MemberDirectory
from bot.services.staff import StaffDirectory

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


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


class PeopleMiddleware(BaseMiddleware):
    """Who is behind the update: `member` (a MemberView) and `staff` (a StaffView), or None."""

    def __init__(self, members: MemberDirectory, staff: StaffDirectory) -> None:
        self.members = members
        self.staff = staff

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        data["member"] = await self.members.get(session, user.id) if user else None
        data["staff"] = await self.staff.get(session, user.id) if user else None
        return await handler(event, data)
