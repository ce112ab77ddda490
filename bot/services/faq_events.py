"""What members do with FAQ answers: the union's measure of self-service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.members import MemberView
from bot.storage.models import FaqEvent, FaqEventKind


async def record(
    session: AsyncSession, node_id: str, kind: FaqEventKind, member: MemberView | None
) -> None:
    session.add(
        FaqEvent(
            node_id=node_id,
            kind=kind,
            member_id=member.id if member else None,
            member_org=member.member_org if member else None,
        )
    )
    await session.flush()
