"""Command menus, one per language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_

MEMBER_COMMANDS = (
    ("start", N_("Start / main menu")),
    ("faq", N_("Legal FAQ by topic")),
    ("ask", N_("Ask a union lawyer")),
    ("my", N_("My appeals")),
    ("feedback", N_("Write to the union mailbox")),
    ("lang", N_("Language / Тіл / Язык")),
    ("help", N_("Help")),
)


def member_commands(i18n: I18n, lang: str) -> list[BotCommand]:
    return [
        BotCommand(command=name, description=i18n.gettext(text, locale=lang))
        for name, text in MEMBER_COMMANDS
    ]


async def setup_command_menus(bot: Bot, i18n: I18n) -> None:
    await bot.set_my_commands(
        member_commands(i18n, DEFAULT_LANGUAGE), scope=BotCommandScopeDefault()
    )
    for lang in LANGUAGES:
        await bot.set_my_commands(
            member_commands(i18n, lang), scope=BotCommandScopeDefault(), language_code=lang
        )
