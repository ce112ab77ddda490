"""Command menus, one per language, and the bot's description and short description."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_
from bot.storage.models import StaffRole

log = logging.getLogger(__name__)

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
    ("find", N_("Find appeals: number, member, words")),
    ("appeal", N_("Open an appeal by its number")),
    ("log", N_("Log a written or oral appeal")),
    ("mystats", N_("Your statistics")),
    ("replies", N_("Saved replies: yours and shared")),
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
        ("links", N_("Regions' start links and QR codes for posters")),
    ),
    StaffRole.ADMIN: (
        ("inbox", N_("Union mailbox")),
        ("invite", N_("Invite a staff member")),
        ("invites", N_("Open invites: see or revoke")),
        ("links", N_("Regions' start links and QR codes for posters")),
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


# What Telegram shows before the first /start (the description, up to 512 characters) and
# on the bot's profile and in shared links (the short description, up to 120).
DESCRIPTION = N_(
    "Qorgau is the legal help of the union of education and science workers of Kazakhstan "
    "for its members. Type a question about your work in your own words and get the answer "
    "to common questions on labour law; if it is not there, send an appeal to a union lawyer "
    "of your region and talk with them here. The union's news comes here too, if you want "
    "it. Start the bot and choose your language and region."
)
SHORT_DESCRIPTION = N_(
    "Legal help of the education and science workers' union: answers, a union lawyer, news."
)
DESCRIPTION_LIMIT = 512
SHORT_DESCRIPTION_LIMIT = 120


async def setup_command_menus(bot: Bot, i18n: I18n) -> None:
    await bot.set_my_commands(
        member_commands(i18n, DEFAULT_LANGUAGE), scope=BotCommandScopeDefault()
    )
    for lang in LANGUAGES:
        await bot.set_my_commands(
            member_commands(i18n, lang), scope=BotCommandScopeDefault(), language_code=lang
        )
    await setup_descriptions(bot, i18n)


async def setup_descriptions(bot: Bot, i18n: I18n) -> None:
    """The description and short description in each language, and in the default language
    without one (for every other app language). Each is set only when Telegram has another
    text: instances that start together, or a bot restarted often, do not run into
    Telegram's limits. A Telegram error is logged and the start goes on."""
    for lang in (None, *LANGUAGES):
        texts_in = lang or DEFAULT_LANGUAGE
        for kind, describe, msgid in (
            ("description", _describe, DESCRIPTION),
            ("short description", _describe_shortly, SHORT_DESCRIPTION),
        ):
            try:
                await describe(bot, i18n.gettext(msgid, locale=texts_in), lang)
            except TelegramUnauthorizedError:
                raise
            except TelegramAPIError as exc:
                log.warning("bot %s (%s) not set: %s", kind, lang or "default", exc)


async def _describe(bot: Bot, text: str, lang: str | None) -> None:
    if (await bot.get_my_description(language_code=lang)).description != text:
        await bot.set_my_description(description=text, language_code=lang)


async def _describe_shortly(bot: Bot, text: str, lang: str | None) -> None:
    if (await bot.get_my_short_description(language_code=lang)).short_description != text:
        await bot.set_my_short_description(short_description=text, language_code=lang)


async def set_chat_commands(
    bot: Bot, chat_id: int, lang: str, i18n: I18n, role: StaffRole | None = None
) -> None:
    """One person's menu: in the language they chose, with their staff commands."""
    await bot.set_my_commands(
        member_commands(i18n, lang, role), scope=BotCommandScopeChat(chat_id=chat_id)
    )
