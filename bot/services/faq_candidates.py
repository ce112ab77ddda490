"""FAQ candidates: a lawyer's answer in a closed appeal offered to help others.

The draft is the lawyer's own messages in the appeal, never the member's; the member's
name and username, phone and other identifying numbers, e-mail addresses, links and
@names are masked (bot/services/anonymise.py `draft`). Head lawyers edit it into an
answer (bot/handlers/desk/faq_desk.py); nothing reaches members unpublished.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.faq.content import MAX_ANSWER
from bot.services import anonymise
from bot.storage.models import (
    Appeal,
    AppealMessage,
    FaqCandidate,
    FaqCandidateStatus,
    Member,
    MessageSide,
    utcnow,
)


async def propose(session: AsyncSession, appeal_id: int, staff_id: int, lang: str) -> bool:
    """Store the candidate drafted from the lawyer's messages; False when the appeal has
    none to offer or was offered already (the first offer stays)."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        return False
    if await session.scalar(select(FaqCandidate.id).where(FaqCandidate.appeal_id == appeal_id)):
        return False
    texts = (
        await session.scalars(
            select(AppealMessage.text)
            .where(
                AppealMessage.appeal_id == appeal_id,
                AppealMessage.side == MessageSide.LAWYER,
                AppealMessage.text.is_not(None),
            )
            .order_by(AppealMessage.sent_at, AppealMessage.id)
        )
    ).all()
    words = [t.strip() for t in texts if t and t.strip()]
    if not words:
        return False
    member = await session.get(Member, appeal.member_id)
    names = []
    if member is not None:
        names = (member.full_name or "").split() + ([member.username] if member.username else [])
    text = anonymise.draft("\n\n".join(words), names)[:MAX_ANSWER]
    session.add(
        FaqCandidate(
            appeal_id=appeal_id,
            topic=appeal.topic,
            lang=lang,
            text=text,
            proposed_by_staff_id=staff_id,
            status=FaqCandidateStatus.OPEN,
            created_at=utcnow(),
        )
    )
    await session.flush()
    return True


async def open_candidates(session: AsyncSession, limit: int = 20) -> list[FaqCandidate]:
    return list(
        (
            await session.scalars(
                select(FaqCandidate)
                .where(FaqCandidate.status == FaqCandidateStatus.OPEN)
                .order_by(FaqCandidate.created_at.desc())
                .limit(limit)
            )
        ).all()
    )


async def open_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(FaqCandidate)
            .where(FaqCandidate.status == FaqCandidateStatus.OPEN)
        )
        or 0
    )
