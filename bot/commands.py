"""Command menus, one per language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_
from bot.storage.models import StaffRole

MEMBER_COMMANDS = (
    ("start", N_("Start / main menu")),
    ("faq", N_("Legal FAQ by topic")),
    ("ask", N_("Ask a union lawyer")),
    ("my", N_("My appeals")),
    ("feedback", N_("Write to the union mailbox")),
    ("news", N_("Union news on or off")),
    ("mydata", N_("My data: everything the bot stores about me")),
    ("forget", N_("Erase my data")),
    ("lang", N_("Language / Тіл / Язык")),
    ("help", N_("Help")),
)


LAWYER_COMMANDS = (
    ("queue", N_("Appeals waiting in your regions")),
    ("mine", N_("Your open appeals")),
    ("log", N_("Log a written or oral appeal")),
    ("mystats", N_("Your statistics")),
    ("stats", N_("Legal inspection report")),
)
PRESS_COMMANDS = (
    ("post", N_("Write a post for members")),
    ("posts", N_("Posts: scheduled, sending, sent")),
)
STAFF_COMMANDS: dict[StaffRole, tuple[tuple[str, str], ...]] = {
    StaffRole.LAWYER: LAWYER_COMMANDS,
    StaffRole.HEAD_LAWYER: (
        *LAWYER_COMMANDS,
        ("faqedit", N_("FAQ answers: edit and sign off")),
    ),
    StaffRole.ADMIN: (
        ("inbox", N_("Union mailbox")),
        ("invite", N_("Invite a staff member")),
        ("invites", N_("Open invites: see or revoke")),
        ("staff", N_("Staff and roles")),
        ("stats", N_("Legal inspection report")),
        *PRESS_COMMANDS,
        ("approval", N_("Posts need approval: on or off")),
    ),
    StaffRole.PRESS: PRESS_COMMANDS,
}


def member_commands(i18n: I18n, lang: str, role: StaffRole | None = None) -> list[BotCommand]:
    extra = STAFF_COMMANDS.get(role, ()) if role else ()
    return [
        BotCommand(command=name, description=i18n.gettext(text, locale=lang))
        for name, text in (*MEMBER_COMMANDS, *extra)
    ]


async def setup_command_menus(bot: Bot, i18n: I18n) -> None:
    await bot.set_my_commands(
        member_commands(i18n, DEFAULT_LANGUAGE), scope=BotCommandScopeDefault()
    )
    for lang in LANGUAGES:
        await bot.set_my_commands(
            member_commands(i18n, lang), scope=BotCommandScopeDefault(), language_code=lang
        )


async def set_chat_commands(
    bot: Bot, chat_id: int, lang: str, i18n: I18n, role: StaffRole | None = None
) -> None:
    """One person's menu: in the language they chose, with their staff commands."""
    await bot.set_my_commands(
        member_commands(i18n, lang, role), scope=BotCommandScopeChat(chat_id=chat_id)
    )
