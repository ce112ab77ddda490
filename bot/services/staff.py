"""Union staff: admins, lawyers, the press secretary."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Staff, StaffRole


@dataclass(frozen=True, slots=True)
class StaffView:
    id: int
    telegram_id: int
    role: StaffRole
    member_orgs: tuple[str, ...]

    @classmethod
    def of(cls, staff: Staff) -> StaffView:
        return cls(staff.id, staff.telegram_id, staff.role, tuple(staff.member_orgs or ()))


class StaffDirectory:
    """Active staff by Telegram id: a few dozen rows, read whole.

    Reloaded when older than `ttl` seconds and right after a change made by this process
    (`invalidate`), so a revoked role stops working at once here and within `ttl` elsewhere.
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._loaded_at = float("-inf")
        self._by_telegram_id: dict[int, StaffView] = {}

    async def get(self, session: AsyncSession, telegram_id: int) -> StaffView | None:
        if time.monotonic() - self._loaded_at > self.ttl:
            rows = await session.scalars(select(Staff).where(Staff.active.is_(True)))
            self._by_telegram_id = {s.telegram_id: StaffView.of(s) for s in rows}
            self._loaded_at = time.monotonic()
        return self._by_telegram_id.get(telegram_id)

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")


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
