"""What every press screen works with, made once per update.

A press handler needs the database session, its FSM state, the staff member, the reader's
language, the organisations, the time zone, the bot and the outbox, and passes most of them
on to the helpers it calls: `PressContext` holds them, and `WithPressContext` (an inner
middleware on the press routers, so it runs only for an update a press handler takes)
puts it into the handler's data as `press`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcast.lifecycle import PostError, get_post
from bot.callbacks import PostCb
from bot.handlers.press.texts import refusal_text
from bot.handlers.shared.common import outdated, reader_language
from bot.outbox import Outbox
from bot.services.members import MemberDirectory
from bot.services.staff import StaffView
from bot.storage.models import Broadcast, PostStatus
from bot.topics import MemberOrgs


@dataclass(frozen=True)
class PressContext:
    bot: Bot
    chat_id: int  # the press secretary's (or admin's) private chat
    state: FSMContext
    session: AsyncSession
    staff: StaffView
    lang: str  # the reader's language, for dates, weekdays and regions' names
    i18n: I18n
    orgs: MemberOrgs
    tz: ZoneInfo
    outbox: Outbox
    members: MemberDirectory

    @classmethod
    def of(cls, data: dict[str, Any]) -> PressContext:
        """From a press handler's data (the press routers let only staff through)."""
        user = data.get("event_from_user")
        return cls(
            bot=data["bot"],
            chat_id=user.id if user else 0,
            state=data["state"],
            session=data["session"],
            staff=data["staff"],
            lang=reader_language(data.get("member"), data["i18n"]),
            i18n=data["i18n"],
            orgs=data["orgs"],
            tz=data["tz"],
            outbox=data["outbox"],
            members=data["member_directory"],
        )

    async def send(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        await self.bot.send_message(self.chat_id, text, reply_markup=markup)

    async def draft(self, query: CallbackQuery, callback_data: PostCb) -> Broadcast | None:
        """The draft of this dialogue, or None (the press was answered: outdated)."""
        data = await self.state.get_data()
        post = None
        if data.get("post") == callback_data.post:
            post = await get_post(self.session, callback_data.post)
        if post is None or post.status != PostStatus.DRAFT:
            await query.answer(outdated(), show_alert=True)
            return None
        return post

    async def refuse(
        self, event: Message | CallbackQuery, exc: PostError, ask_again: str = ""
    ) -> None:
        await self.session.rollback()
        text = refusal_text(exc, self.tz)
        if isinstance(event, CallbackQuery):
            await event.answer(text[:200], show_alert=True)
            return
        if ask_again:
            text = _("⚠️ Not saved: {reason}").format(reason=text) + "\n" + ask_again
        await event.answer(text)


class WithPressContext(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["press"] = PressContext.of(data)
        return await handler(event, data)
