"""Union staff: admins, lawyers, the press secretary."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Audit, Staff, StaffInvite, StaffRole, utcnow


@dataclass(frozen=True, slots=True)
class StaffView:
    id: int
    telegram_id: int
    role: StaffRole
    member_orgs: tuple[str, ...]
    full_name: str | None = None

    @classmethod
    def of(cls, staff: Staff) -> StaffView:
        return cls(
            staff.id, staff.telegram_id, staff.role, tuple(staff.member_orgs or ()), staff.full_name
        )

    @property
    def sees_all_regions(self) -> bool:
        return self.role == StaffRole.HEAD_LAWYER

    def covers(self, member_org: str) -> bool:
        """Whether this person handles appeals of that member organisation."""
        if self.role == StaffRole.HEAD_LAWYER:
            return True
        return self.role == StaffRole.LAWYER and member_org in self.member_orgs


class StaffDirectory:
    """Active staff by Telegram id: a few dozen rows, read whole.

    Reloaded when older than `ttl` seconds and right after a change made by this process
    (`invalidate`), so a revoked role stops working at once here and within `ttl` elsewhere.
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._loaded_at = float("-inf")
        self._by_telegram_id: dict[int, StaffView] = {}
        self.listeners: list[Callable[[], None]] = []
        self._drops = 0  # a load that began before a drop is used once, not kept

    async def get(self, session: AsyncSession, telegram_id: int) -> StaffView | None:
        if time.monotonic() - self._loaded_at > self.ttl:
            drops, began = self._drops, time.monotonic()
            rows = await session.scalars(select(Staff).where(Staff.active.is_(True)))
            loaded = {s.telegram_id: StaffView.of(s) for s in rows}
            if drops != self._drops:
                return loaded.get(telegram_id)
            self._by_telegram_id, self._loaded_at = loaded, began
        return self._by_telegram_id.get(telegram_id)

    def invalidate(self) -> None:
        """After this process changed staff: reload at the next read, here and elsewhere."""
        self.drop()
        for listener in self.listeners:
            listener()

    def drop(self) -> None:
        """Another process changed staff (bot/scale/sync.py)."""
        self._drops += 1
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


INVITE_TTL = timedelta(hours=72)
STAFF_ROLES = tuple(StaffRole)


class StaffError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def audit(
    session: AsyncSession,
    actor_telegram_id: int,
    action: str,
    *,
    appeal_id: int | None = None,
    **details: Any,
) -> None:
    """Every privileged action, in the caller's transaction: it commits with the action."""
    session.add(
        Audit(
            staff_telegram_id=actor_telegram_id, action=action, appeal_id=appeal_id, details=details
        )
    )


async def create_invite(
    session: AsyncSession,
    admin: StaffView,
    role: StaffRole,
    member_orgs: list[str],
    *,
    known_orgs: set[str],
    ttl: timedelta = INVITE_TTL,
) -> StaffInvite:
    if admin.role != StaffRole.ADMIN:
        raise StaffError("forbidden")
    unknown = [o for o in member_orgs if o not in known_orgs]
    if unknown:
        raise StaffError("unknown-org")
    if role == StaffRole.LAWYER and not member_orgs:
        raise StaffError("lawyer-needs-org")
    invite = StaffInvite(
        code=secrets.token_urlsafe(9),
        role=role,
        member_orgs=sorted(set(member_orgs)) if role == StaffRole.LAWYER else [],
        created_by=admin.telegram_id,
        expires_at=utcnow() + ttl,
    )
    session.add(invite)
    await audit(
        session, admin.telegram_id, "invite", role=role.value, member_orgs=invite.member_orgs
    )
    await session.flush()
    return invite


async def join(
    session: AsyncSession,
    telegram_id: int,
    code: str,
    full_name: str | None,
    language: str | None = None,
) -> Staff:
    """Redeem an invite. Atomic: of two people racing with one code, only one joins.
    `language`: what their screens are in (kept for messages the bot sends them unasked)."""
    now = utcnow()
    used = await session.execute(
        update(StaffInvite)
        .where(
            StaffInvite.code == code,
            StaffInvite.used_by.is_(None),
            StaffInvite.expires_at > now,
        )
        .values(used_by=telegram_id, used_at=now)
        .returning(StaffInvite.role, StaffInvite.member_orgs)
        .execution_options(synchronize_session=False)
    )
    row = used.first()
    if row is None:
        raise StaffError("bad-code")
    role, member_orgs = row
    staff = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
    if staff is None:
        staff = Staff(telegram_id=telegram_id, role=role, member_orgs=list(member_orgs or []))
        session.add(staff)
    else:
        staff.role, staff.member_orgs, staff.active = role, list(member_orgs or []), True
    staff.full_name = full_name
    staff.language = language
    await audit(session, telegram_id, "join", role=str(role))
    await session.flush()
    return staff


async def list_staff(session: AsyncSession) -> list[Staff]:
    rows = await session.scalars(
        select(Staff).where(Staff.active.is_(True)).order_by(Staff.role, Staff.id)
    )
    return list(rows)


async def change_role(
    session: AsyncSession, admin: StaffView, staff_id: int, role: StaffRole | None
) -> Staff:
    """A new role, or None to revoke. ADMIN_IDS stay admins (they are re-applied at start)."""
    if admin.role != StaffRole.ADMIN:
        raise StaffError("forbidden")
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise StaffError("not-found")
    if staff.telegram_id == admin.telegram_id:
        raise StaffError("self")
    if role is None:
        staff.active = False
    else:
        staff.role = role
    await audit(
        session,
        admin.telegram_id,
        "revoke" if role is None else "change-role",
        staff_id=staff.id,
        role=role.value if role else None,
    )
    await session.flush()
    return staff
