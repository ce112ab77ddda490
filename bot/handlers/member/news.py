"""Union news on the member's side: /news on|off, blocking the bot, answering a survey."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import ChatMemberUpdated, Message, PollAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcast.surveys import record_answer
from bot.filters import Magic, Registered
from bot.services.members import MemberDirectory, MemberView, set_active, set_news

router = Router(name=__name__)

ON, OFF = {"on", "қосу", "вкл"}, {"off", "өшіру", "выкл"}


@router.message(Command("news"), Registered())
async def cmd_news(
    message: Message,
    command: CommandObject,
    member: MemberView,
    session: AsyncSession,
    member_directory: MemberDirectory,
) -> None:
    word = (command.args or "").strip().lower()
    if word not in ON | OFF:
        await message.answer(
            _(
                "Union news is sent to everyone who uses the bot, at most a few posts a week, "
                "never at night.\n/news off: stop receiving it.\n/news on: receive it again."
            )
        )
        return
    saved = await set_news(session, member.id, word in ON)
    await session.commit()
    member_directory.forget(saved.telegram_id)
    if word in ON:
        await message.answer(_("Union news is on: you will receive the union's posts."))
    else:
        await message.answer(
            _("Union news is off. Your appeals and answers from lawyers still come. /news on")
        )


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
