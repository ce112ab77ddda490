"""What a member is told when their appeal changes hands on the desk: back in the queue,
with a colleague, or with another region's lawyers. Never a lawyer's name; always that
nothing they wrote is lost and that they can keep writing here."""

from __future__ import annotations

from typing import Literal

from aiogram.methods import SendMessage
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.shared.relay import send_later
from bot.outbox import Outbox
from bot.outbox.texts import TO_MEMBER
from bot.services.logged import is_logged
from bot.storage.models import Appeal, Member, OutboxMessage

Move = Literal["queue", "colleague", "region"]


def moved_text(number: int, move: Move) -> str:
    if move == "colleague":
        return _(
            "ℹ️ Your appeal No. {number} is now with another union lawyer, who will answer "
            "here. Everything you wrote is kept in the appeal; you can keep writing here."
        ).format(number=number)
    if move == "region":
        return _(
            "ℹ️ Your appeal No. {number} was passed to the union's lawyers of another member "
            "organisation: one of them will take it and answer here. Everything you wrote is "
            "kept in the appeal; you can keep writing here."
        ).format(number=number)
    return _(
        "ℹ️ Your appeal No. {number} is back in the queue of your member organisation: "
        "another union lawyer will take it and answer here. Everything you wrote is kept in "
        "the appeal; you can keep writing here."
    ).format(number=number)


async def tell_member_moved(
    appeal: Appeal, move: Move, *, session: AsyncSession, outbox: Outbox, i18n: I18n
) -> list[OutboxMessage]:
    """The notice, in the member's language, added to the caller's session (sent after its
    commit). None for an appeal a lawyer logged or a member whose data were erased."""
    if is_logged(appeal):
        return []
    member = await session.get(Member, appeal.member_id)
    if member is None or member.telegram_id <= 0:
        return []
    with i18n.use_locale(member.language):
        text = moved_text(appeal.id, move)
    return send_later(
        session,
        outbox,
        [SendMessage(chat_id=member.telegram_id, text=text)],
        purpose=TO_MEMBER,
        appeal_id=appeal.id,
    )
