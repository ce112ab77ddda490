"""The head lawyers' monthly reminder: answers never signed off, or signed off more than
12 months ago.

On the first days of each month the scheduler lease's holder (bot/runner.py) stores one
message per FAQ editor (head lawyers, lawyers with the editor right) in the outbox, in the
transaction that marks the month done (a `bot_setting` row): a crash loses none, and two
instances or a restart never send a month's twice. Nothing to review: nothing is sent.
"""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.exc import IntegrityError

from bot.callbacks import FaqEditCb
from bot.clock.faq_digest import editors
from bot.context import Context
from bot.faq.content import Faq, Node, to_review
from bot.outbox import letter
from bot.outbox.texts import NOTICE
from bot.storage import outbox as store
from bot.storage.models import BotSetting, utcnow

log = logging.getLogger(__name__)
KEY = "faq-review:{year}-{month:02d}"
LISTED = 15  # titles in the message; the rest are one tap away


def month_key(now: datetime, tz: ZoneInfo) -> str:
    local = now.astimezone(tz)
    return KEY.format(year=local.year, month=local.month)


def review_message(
    never: list[Node], expired: list[Node], faq: Faq, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """In the current locale; `lang` is the titles' language."""
    lines = [
        "🗓 <b>{}</b>".format(_("FAQ answers to check this month")),
        _(
            "Never signed off by a union lawyer: {never}. Signed off more than 12 months "
            "ago: {expired}. Members read “not yet reviewed by a union lawyer” under them "
            "until one of you signs them off."
        ).format(never=len(never), expired=len(expired)),
        "",
    ]
    listed = [("⌛", n) for n in expired] + [("⚠️", n) for n in never]
    lines += [f"{mark} {escape(node.title_in(lang))}" for mark, node in listed[:LISTED]]
    if len(listed) > LISTED:
        lines.append(_("… and {count} more.").format(count=len(listed) - LISTED))
    button = InlineKeyboardButton(
        text=_("⚠️ Open the list"),
        callback_data=FaqEditCb(action="list", value="unsigned-0").pack(),
    )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[[button]])


async def faq_review_job(ctx: Context, bot: Bot, now: datetime | None = None) -> int:
    """Store this month's reminder for every FAQ editor; returns how many were stored (0
    when the month was done already, here or by another instance, or nothing waits)."""
    moment = now or utcnow()
    key = month_key(moment, ZoneInfo(ctx.settings.timezone))
    faq = ctx.faq
    never, expired = to_review(faq, moment)
    async with ctx.session_factory() as session:
        if await session.get(BotSetting, key) is not None:
            return 0
        letters = []
        if never or expired:
            for telegram_id in await editors(session):
                lang = await ctx.member_directory.language_of(session, telegram_id)
                with ctx.i18n.context(), ctx.i18n.use_locale(lang):
                    text, markup = review_message(never, expired, faq, lang)
                letters.append(
                    letter(SendMessage(chat_id=telegram_id, text=text, reply_markup=markup))
                )
        store.add(session, letters, purpose=NOTICE, now=utcnow())
        session.add(BotSetting(key=key, value=str(len(letters))))
        try:
            await session.commit()
        except IntegrityError:  # another instance stored this month's first
            await session.rollback()
            return 0
    log.info(
        "FAQ review %s: %d to check, %d editors told", key, len(never) + len(expired), len(letters)
    )
    await ctx.outbox.send_due(bot)
    return len(letters)
