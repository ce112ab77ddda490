"""Survey answers from Telegram's poll_answer updates."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Delivery, SurveyAnswer, utcnow


async def record_answer(session: AsyncSession, poll_id: str, options: list[int]) -> bool:
    """Store (or replace, or with no options withdraw) a member's answer to a post's poll.
    False when the poll is not one of our posts'."""
    delivery = await session.scalar(select(Delivery).where(Delivery.poll_id == poll_id))
    if delivery is None:
        return False
    await session.execute(
        delete(SurveyAnswer).where(
            SurveyAnswer.broadcast_id == delivery.broadcast_id,
            SurveyAnswer.member_id == delivery.member_id,
        )
    )
    if options:
        session.add(
            SurveyAnswer(
                broadcast_id=delivery.broadcast_id,
                member_id=delivery.member_id,
                options=sorted({int(o) for o in options}),
                answered_at=utcnow(),
            )
        )
    await session.flush()
    return True
