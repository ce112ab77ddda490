"""The union mailbox: members' suggestions and complaints to the union's leadership."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.members import MemberView
from bot.storage.models import Feedback, FeedbackKind, Member

MAX_TEXT = 3000


async def send_to_mailbox(
    session: AsyncSession, member: MemberView, *, kind: FeedbackKind, text: str, anonymous: bool
) -> Feedback:
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValueError("feedback text empty or too long")
    item = Feedback(
        member_id=None if anonymous else member.id,
        member_org=member.member_org,
        kind=kind,
        anonymous=anonymous,
        text=text.strip(),
    )
    session.add(item)
    await session.flush()
    return item


async def inbox_page(
    session: AsyncSession, *, page: int, per_page: int
) -> tuple[list[tuple[Feedback, Member | None]], int]:
    total = int(await session.scalar(select(func.count()).select_from(Feedback)) or 0)
    rows = await session.execute(
        select(Feedback, Member)
        .outerjoin(Member, Member.id == Feedback.member_id)
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .offset(page * per_page)
        .limit(per_page)
    )
    return [(fb, member) for fb, member in rows], total
