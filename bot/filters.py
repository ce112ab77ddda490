"""Filters used by the routers."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject
from aiogram.utils.i18n import I18n

from bot.i18n import LANGUAGES
from bot.services.members import is_registered
from bot.storage.models import Member, Staff, StaffRole


class Registered(Filter):
    """The member finished onboarding (language, organisation, workplace)."""

    async def __call__(self, event: TelegramObject, member: Member | None = None) -> bool:
        return is_registered(member)


class HasRole(Filter):
    def __init__(self, *roles: StaffRole) -> None:
        self.roles = set(roles)

    async def __call__(self, event: TelegramObject, staff: Staff | None = None) -> bool:
        return staff is not None and staff.active and staff.role in self.roles


class MenuButton(Filter):
    """A main-menu button pressed, in whichever language the keyboard was drawn."""

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    async def __call__(self, message: Message, i18n: I18n) -> bool | dict[str, Any]:
        if not message.text:
            return False
        return any(message.text == i18n.gettext(self.msgid, locale=lang) for lang in LANGUAGES)
