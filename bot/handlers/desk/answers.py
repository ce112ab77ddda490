"""A lawyer's answer to the member: how it is labelled, and its one path (stored in the
appeal, passed on through the outbox, shown in the appeal's staff topics), whether typed,
sent from a saved reply or an FAQ answer, or written in a staff group's topic."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import MyCb
from bot.handlers.shared.forum import deliver_quietly, post_in_topics
from bot.handlers.shared.media import relay
from bot.handlers.shared.relay import (
    Writer,
    send_later,
)
from bot.outbox import Outbox
from bot.outbox.sender import Delivery
from bot.outbox.texts import TO_MEMBER
from bot.services.desk import (
    lawyer_writes,
)
from bot.services.staff import StaffView


def answer_label(appeal_id: int) -> str:
    """What heads a lawyer's answer as the member gets it (in the current locale: the
    member's)."""
    return _("💬 Lawyer's answer to your appeal No. {number}:").format(number=appeal_id)


async def answer_member(
    appeal_id: int,
    text: str | None,
    attachments: list[dict[str, Any]],
    *,
    session: AsyncSession,
    staff: StaffView,
    lang: str,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
    source: tuple[int, int] | None = None,
) -> Delivery:
    """The one path of a lawyer's answer, typed or sent from a saved reply or the FAQ:
    stored in the appeal's thread (the first answer's time, the status), labelled in the
    member's language and passed on through the outbox in the same transaction, then the
    first try. `source`: the Telegram message it was typed as (its edits follow it). Raises
    DeskError with nothing stored; the caller rolls back."""
    appeal, person, stored = await lawyer_writes(
        session, staff, appeal_id, text=text, attachments=attachments, source=source
    )
    with i18n.use_locale(person.language):
        label, markup = to_member_label(appeal.id)
        methods = relay(person.telegram_id, label, text, attachments, markup)
    # Stored with the answer, in one transaction; then the first try.
    rows = send_later(
        session,
        outbox,
        methods,
        purpose=TO_MEMBER,
        appeal_id=appeal.id,
        appeal_message_id=stored.id,
        writer=Writer(staff.telegram_id, lang),
    )
    # The appeal's topics in the staff groups show the answer too, unless it was written
    # there (a group's chat id is negative).
    posted = []
    if source is None or source[0] > 0:
        who = escape(staff.full_name or str(staff.telegram_id))
        posted = await post_in_topics(
            appeal.id,
            text,
            attachments,
            label=lambda: in_topic_label(who),
            session=session,
            outbox=outbox,
            i18n=i18n,
            appeal_message_id=stored.id,
        )
    await session.commit()
    delivery = await outbox.deliver(bot, rows)
    await deliver_quietly(bot, outbox, posted)
    return delivery


def in_topic_label(who: str) -> str:
    """What heads a lawyer's answer as the appeal's topics show it (in the locale in use);
    `who`: the lawyer's name, escaped."""
    return _("💬 {name} to the member:").format(name=who)


def to_member_label(appeal_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """What heads a lawyer's message as the member gets it, and its button (in the locale
    in use: the member's)."""
    label = answer_label(appeal_id)
    reply = kb.InlineKeyboard()
    reply.button(text=_("✍️ Reply"), callback_data=MyCb(action="add", value=appeal_id))
    return label, reply.as_markup()
