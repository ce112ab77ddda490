"""Union staff: admins, lawyers, the press secretary."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Staff, StaffRole


async def get_staff(session: AsyncSession, telegram_id: int) -> Staff | None:
    return await session.scalar(
        select(Staff).where(Staff.telegram_id == telegram_id, Staff.active.is_(True))
    )


async def ensure_admins(session: AsyncSession, admin_ids: Iterable[int]) -> None:
    """ADMIN_IDS are admins from the first start (and again if someone demoted them)."""
    for telegram_id in admin_ids:
        staff = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
        if staff is None:
            session.add(Staff(telegram_id=telegram_id, role=StaffRole.ADMIN, member_orgs=[]))
        else:
            staff.role = StaffRole.ADMIN
            staff.active = True
    await session.flush()
