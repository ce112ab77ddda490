"""Union news on the member's side: /news (its state and a button), blocking the bot,
answering a survey."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardMarkup,
    Message,
    PollAnswer,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.broadcast.surveys import record_answer
from bot.callbacks import NewsCb
from bot.filters import Magic, Registered
from bot.services.members import MemberDirectory, MemberView, set_active, set_news
from bot.storage.models import Member

router = Router(name=__name__)

ON, OFF = {"on", "қосу", "вкл"}, {"off", "өшіру", "выкл"}


def _news_screen(on: bool) -> tuple[str, InlineKeyboardMarkup]:
    """The member's news setting as it is, and the one button that changes it."""
    text = (
        _("📰 Union news is on: the union's posts come here, at most a few a week, never at night.")
        if on
        else _("📰 Union news is off. Your appeals and answers from lawyers still come.")
    )
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("🔕 Turn news off") if on else _("🔔 Turn news on"),
        callback_data=NewsCb(on=0 if on else 1),
    )
    return text, builder.as_markup()


@router.message(Command("news"), Registered())
async def cmd_news(
    message: Message,
    command: CommandObject,
    member: MemberView,
    session: AsyncSession,
    member_directory: MemberDirectory,
) -> None:
    word = (command.args or "").strip().lower()
    if word in ON | OFF:  # typed: /news on, /news off
        await set_news(session, member.id, word in ON)
        await session.commit()
        member_directory.forget(member.telegram_id)
        on = word in ON
    else:
        row = await session.get_one(Member, member.id)
        on = not row.news_opt_out
    text, markup = _news_screen(on)
    await message.answer(text, reply_markup=markup)


@router.callback_query(NewsCb.filter(), Registered())
async def on_news_button(
    query: CallbackQuery,
    callback_data: NewsCb,
    member: MemberView,
    session: AsyncSession,
    member_directory: MemberDirectory,
) -> None:
    on = bool(callback_data.on)
    await set_news(session, member.id, on)
    await session.commit()
    member_directory.forget(member.telegram_id)
    if isinstance(query.message, Message):
        text, markup = _news_screen(on)
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.my_chat_member(Magic(F.chat.type == "private"))
async def on_my_chat_member(event: ChatMemberUpdated, session: AsyncSession) -> None:
    """Blocked the bot: inactive, no posts are sent; unblocked: active again."""
    status = event.new_chat_member.status
    if status in ("kicked", "left"):
        changed = await set_active(session, event.from_user.id, False)
    elif status == "member":
        changed = await set_active(session, event.from_user.id, True)
    else:
        return
    if changed:
        await session.commit()


@router.poll_answer()
async def on_poll_answer(answer: PollAnswer, session: AsyncSession) -> None:
    if await record_answer(session, answer.poll_id, list(answer.option_ids)):
        await session.commit()
