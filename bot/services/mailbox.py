"""The union mailbox: members' suggestions and complaints to the union's leadership.

A signed letter links the member's record to what they wrote: personal data, so only a
member who consented may sign. Without consent a letter is stored anonymously (no member
link); its member organisation is kept, as for every anonymous letter: one of 22
regional organisations of tens of thousands of members does not point to a person, and
the report counts the mailbox by organisation.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.limits import MAX_TEXT
from bot.services.members import MemberView, has_consent
from bot.storage.models import Feedback, FeedbackKind, Member


class MailboxError(Exception):
    """A rule stopped the letter; `code` tells the handler which message to show."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def may_sign(member: MemberView) -> bool:
    """Whether the member may send a letter with their name (else only anonymously)."""
    return has_consent(member)


async def send_to_mailbox(
    session: AsyncSession, member: MemberView, *, kind: FeedbackKind, text: str, anonymous: bool
) -> Feedback:
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValueError("feedback text empty or too long")
    if not anonymous and not may_sign(member):
        raise MailboxError("consent")
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
