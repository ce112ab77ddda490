"""Filters used by the routers."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject
from aiogram.utils.i18n import I18n
from magic_filter import MagicFilter
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGES
from bot.services.members import MemberView, is_registered
from bot.services.staff import StaffView
from bot.storage.models import StaffRole
from bot.storage.outbox import appeal_of


class Registered(Filter):
    """The member finished onboarding (language, organisation, workplace)."""

    async def __call__(self, event: TelegramObject, member: MemberView | None = None) -> bool:
        return is_registered(member)


class HasRole(Filter):
    def __init__(self, *roles: StaffRole) -> None:
        self.roles = set(roles)

    async def __call__(self, event: TelegramObject, staff: StaffView | None = None) -> bool:
        return staff is not None and staff.role in self.roles


class MenuButton(Filter):
    """A main-menu button pressed, in whichever language the keyboard was drawn."""

    def __init__(self, *msgids: str) -> None:
        self.msgids = msgids

    async def __call__(self, message: Message, i18n: I18n) -> bool | dict[str, Any]:
        if not message.text:
            return False
        return any(
            message.text == i18n.gettext(msgid, locale=lang)
            for msgid in self.msgids
            for lang in LANGUAGES
        )


class Magic(Filter):
    """A magic filter checked in the event loop.

    aiogram runs a bare magic filter (`F.text`) as a synchronous callable through
    asyncio.to_thread: a thread round trip per check, which bench/updates.py showed
    to be a large share of an update's time. Wrapped in an async Filter it costs nothing.
    """

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> bool | dict[str, Any]:
        result = self.magic.resolve(event)
        return result if isinstance(result, dict) else bool(result)


WORDS = Magic(F.text & ~F.text.startswith("/"))  # a text that is not a command
COMMAND = Magic(F.text.startswith("/"))
FILE = Magic(F.photo | F.document)
NOT_COMMAND = Magic(~F.text.startswith("/"))  # anything but a command, stickers included


class RepliesToAppeal(Filter):
    """A Telegram reply to a message the bot delivered for an appeal: the handler gets
    `quoted_appeal`, the appeal it belongs to. `relayed_only`: only a message of the
    appeal's thread relayed from the other side (the desk: a reply to a staff notice such
    as a hand-over is not an answer to the member)."""

    def __init__(self, *, relayed_only: bool = False) -> None:
        self.relayed_only = relayed_only

    async def __call__(
        self, message: Message, session: AsyncSession | None = None
    ) -> bool | dict[str, Any]:
        reply = message.reply_to_message
        if reply is None or session is None:
            return False
        appeal_id = await appeal_of(
            session, message.chat.id, reply.message_id, relayed_only=self.relayed_only
        )
        return {"quoted_appeal": appeal_id} if appeal_id else False
