"""/join CODE: an invite code makes its holder staff (handled before onboarding)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import set_chat_commands
from bot.i18n import guess_language
from bot.services.members import MemberDirectory
from bot.services.staff import StaffDirectory, StaffError, join
from bot.staff_texts import role_title

router = Router(name=__name__)


@router.message(Command("join"))
async def cmd_join(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    staff_directory: StaffDirectory,
    member_directory: MemberDirectory,
    bot: Bot,
    i18n: I18n,
) -> None:
    code = (command.args or "").strip()
    if not code or message.from_user is None:
        await message.answer(_("Send the code with the command: /join CODE"))
        return
    known = await member_directory.get(session, message.from_user.id)
    lang = known.language if known else guess_language(message.from_user)
    try:
        staff = await join(
            session, message.from_user.id, code, message.from_user.full_name, language=lang
        )
        await session.commit()
    except StaffError:
        await session.rollback()
        await message.answer(
            _("This code is unknown, already used or expired. Ask an admin for a new one.")
        )
        return
    staff_directory.invalidate()
    await set_chat_commands(bot, message.from_user.id, lang, i18n, staff.role)
    await message.answer(
        _(
            "Welcome to the union's team! Your role: {role}. Send /help to see your commands."
        ).format(role=role_title(staff.role))
    )
