"""A member's or lawyer's edited message: the stored text follows it, the earlier texts are
kept (`AppealMessage.edits`), and the copy the other side got is found so it can be
corrected too (bot/handlers/edits.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import AppealMessage, OutboxMessage


async def written_as(session: AsyncSession, chat_id: int, message_id: int) -> AppealMessage | None:
    """The appeal message stored from this Telegram message, if any."""
    return await session.scalar(
        select(AppealMessage).where(
            AppealMessage.source_chat_id == chat_id,
            AppealMessage.source_message_id == message_id,
        )
    )


def apply(stored: AppealMessage, text: str | None, at: datetime) -> bool:
    """The new text in place, the old one kept with when it was replaced. False when
    nothing changes: the same words, or texts already erased (retention, /forget)."""
    erased = stored.text is None and not stored.attachments
    if erased or (text or None) == stored.text:
        return False
    stored.edits = [*stored.edits, {"text": stored.text, "at": at.isoformat(timespec="seconds")}]
    stored.text = text or None
    stored.edited_at = at
    return True


async def copies_of(session: AsyncSession, appeal_message_id: int) -> list[OutboxMessage]:
    """What the other side was sent for this message, in order (the first carries the
    words when they fit beside the label)."""
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.appeal_message_id == appeal_message_id)
        .order_by(OutboxMessage.id)
    )
    return list(rows)
