"""Messages to another person (a member, a lawyer, a colleague) go through the outbox; what
the person who wrote is told about them.

The outbox row is added to the handler's session, so it commits with what caused it (the
lawyer's answer, the claim, the closing); after the commit the handler makes the first try
(`Outbox.deliver`) and tells the writer what happened: sent, saved and on its way, or
saved but the other side cannot be reached. Never "try again": it is stored either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from aiogram.methods import TelegramMethod
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox import Outbox, letter
from bot.outbox.sender import Delivery, Result
from bot.storage import outbox as store
from bot.storage.models import OutboxMessage, utcnow
from bot.storage.outbox import Writer


def send_later(
    session: AsyncSession,
    outbox: Outbox,
    methods: Sequence[TelegramMethod[Any]],
    *,
    purpose: str,
    appeal_id: int | None = None,
    appeal_message_id: int | None = None,
    writer: Writer | None = None,
) -> list[OutboxMessage]:
    """Messages to send once the caller commits; the caller then makes the first try with
    `outbox.deliver(bot, rows)`."""
    return store.add(
        session,
        [letter(method) for method in methods],
        purpose=purpose,
        now=utcnow(),
        not_before=outbox.head_start(),
        appeal_id=appeal_id,
        appeal_message_id=appeal_message_id,
        writer=writer,
    )


def unreachable() -> str:
    """What staff are told when the member did not get a message."""
    return _(
        "⚠️ The member cannot be reached in Telegram: they blocked the bot or erased their "
        "data. Everything is kept in the appeal."
    )


def told_lawyer(delivery: Delivery, number: int) -> str:
    """The lawyer's confirmation of a message to the member of appeal `number`."""
    if delivery.result is Result.SENT:
        return _("✅ Sent to the member of appeal No. {number}.").format(number=number)
    if delivery.result is Result.QUEUED:
        return _(
            "💾 Saved to appeal No. {number}. Telegram is not taking messages right now: it "
            "will reach the member as soon as it does."
        ).format(number=number)
    saved = _("Saved to appeal No. {number}.").format(number=number)
    if delivery.result is Result.UNREACHABLE:
        return saved + "\n" + unreachable()
    return (
        saved
        + "\n"
        + _("⚠️ Telegram refused to deliver it to the member: {reason}").format(
            reason=escape(delivery.reason or "—")
        )
    )


def told_member(delivery: Delivery, number: int) -> str:
    """The member's confirmation of a message to their lawyer."""
    if delivery.result is Result.SENT:
        return _("✅ Sent to your lawyer (appeal No. {number}).").format(number=number)
    if delivery.result is Result.QUEUED:
        return _("💾 Saved to appeal No. {number}; it will reach your lawyer shortly.").format(
            number=number
        )
    return _("💾 Saved to appeal No. {number}; the lawyer will see it in the appeal.").format(
        number=number
    )


def not_reached(delivery: Delivery) -> bool:
    return delivery.result in (Result.UNREACHABLE, Result.FAILED)


__all__ = ["Writer", "not_reached", "send_later", "told_lawyer", "told_member", "unreachable"]
