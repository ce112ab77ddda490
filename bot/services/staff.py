"""Union staff: admins, lawyers, the press secretary."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    Appeal,
    AppealStatus,
    Audit,
    Member,
    Staff,
    StaffInvite,
    StaffRole,
    utcnow,
)
from bot.storage.sql import lock_table


@dataclass(frozen=True, slots=True)
class StaffView:
    id: int
    telegram_id: int
    role: StaffRole
    member_orgs: tuple[str, ...]
    full_name: str | None = None
    faq_editor: bool = False
    # The language of their screens, for what the bot sends them unasked (None: not known
    # yet, an admin from ADMIN_IDS who has not written to the bot).
    language: str | None = None

    @classmethod
    def of(cls, staff: Staff) -> StaffView:
        return cls(
            staff.id,
            staff.telegram_id,
            staff.role,
            tuple(staff.member_orgs or ()),
            staff.full_name,
            bool(staff.faq_editor),
            staff.language,
        )

    @property
    def edits_faq(self) -> bool:
        """Head lawyers, and lawyers an admin gave the editor right: edit, publish and sign
        off FAQ answers."""
        return self.role == StaffRole.HEAD_LAWYER or (
            self.role == StaffRole.LAWYER and self.faq_editor
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


async def learn_language(session: AsyncSession, telegram_id: int, language: str) -> bool:
    """Staff who never joined with an invite (admins from ADMIN_IDS) have no language:
    their first update gives it (their Telegram app's). Never replaces one already set.
    True when it was set (the caller commits)."""
    changed = await session.execute(
        update(Staff)
        .where(Staff.telegram_id == telegram_id, Staff.language.is_(None))
        .values(language=language)
        .returning(Staff.id)
        .execution_options(synchronize_session=False)
    )
    return changed.first() is not None


async def set_staff_language(session: AsyncSession, staff_id: int, language: str) -> None:
    """The language of a staff member's screens and of what the bot sends them (/lang of
    staff who are not members; a member's own choice is their member row's)."""
    await session.execute(update(Staff).where(Staff.id == staff_id).values(language=language))


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


# Appeals a lawyer holds: taken, answered (both also after a reopening back to them).
HELD = (AppealStatus.CLAIMED, AppealStatus.ANSWERED, AppealStatus.REOPENED)


@dataclass(frozen=True, slots=True)
class Released:
    """An appeal that went back to its region's queue, and whom to tell."""

    appeal_id: int
    member_telegram_id: int
    member_language: str


async def release_uncovered(
    session: AsyncSession, person: Staff, *, actor: int, reason: str
) -> list[Released]:
    """Every path that changes a person's role, regions or active flag calls this after
    the change: the appeals they hold whose region their role no longer covers go back to
    the region's queue, each audited. `notified_at` is cleared, so the desk's clock tells
    the region's lawyers (grouped with other new appeals, never in quiet hours), as for a
    hand-over to another region. Through the ORM: the report's tally sees every change."""
    view = StaffView.of(person)
    rows = await session.execute(
        select(Appeal, Member.telegram_id, Member.language)
        .join(Member, Member.id == Appeal.member_id)
        .where(Appeal.claimed_by == person.id, Appeal.status.in_(HELD))
        .order_by(Appeal.id)
    )
    released: list[Released] = []
    for appeal, telegram_id, language in rows:
        if person.active and view.covers(appeal.member_org):
            continue
        # A reopened appeal stays "reopened" in the queue, as reopen() leaves it when its
        # lawyer no longer covers the region; others are queued again.
        appeal.status = AppealStatus.REOPENED if appeal.reopened_at else AppealStatus.QUEUED
        appeal.claimed_by = appeal.claimed_at = None
        appeal.notified_at = None
        await audit(
            session, actor, "back-to-queue", appeal_id=appeal.id, staff_id=person.id, reason=reason
        )
        released.append(Released(appeal.id, telegram_id, language))
    await session.flush()
    return released


@dataclass
class AdminIds:
    """What ADMIN_IDS changed at a start."""

    made: list[int] = field(default_factory=list)  # telegram ids made admin
    revoked: list[int] = field(default_factory=list)  # telegram ids whose admin role went
    released: list[Released] = field(default_factory=list)


async def ensure_admins(session: AsyncSession, admin_ids: Iterable[int]) -> AdminIds:
    """At every start: ADMIN_IDS are admins (again, if someone changed their role), and an
    admin who came from ADMIN_IDS and whose id is no longer there loses the role. Admins
    made by an invite keep theirs, whatever ADMIN_IDS says."""
    from bot.services.privacy import SYSTEM_ACTOR  # privacy imports this module

    # Instances starting together (scaled mode) do it once: the second waits, then sees it.
    await lock_table(session, Staff)
    wanted = set(admin_ids)
    changes = AdminIds()
    for telegram_id in sorted(wanted):
        staff = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
        if staff is not None and staff.active and staff.role == StaffRole.ADMIN:
            continue  # an admin already, from ADMIN_IDS or an invite: nothing changes
        if staff is None:
            staff = Staff(telegram_id=telegram_id, role=StaffRole.ADMIN, member_orgs=[])
            session.add(staff)
        staff.role, staff.active, staff.from_admin_ids = StaffRole.ADMIN, True, True
        await session.flush()
        await audit(session, SYSTEM_ACTOR, "grant-admin", staff_id=staff.id, reason="admin-ids")
        changes.made.append(telegram_id)
        changes.released += await release_uncovered(
            session, staff, actor=SYSTEM_ACTOR, reason="admin-ids"
        )
    gone = await session.scalars(
        select(Staff).where(
            Staff.from_admin_ids.is_(True),
            Staff.active.is_(True),
            Staff.role == StaffRole.ADMIN,
            Staff.telegram_id.not_in(sorted(wanted)),
        )
    )
    for staff in list(gone):
        staff.active, staff.from_admin_ids = False, False
        await audit(session, SYSTEM_ACTOR, "revoke", staff_id=staff.id, reason="admin-ids")
        changes.revoked.append(staff.telegram_id)
        changes.released += await release_uncovered(
            session, staff, actor=SYSTEM_ACTOR, reason="admin-ids"
        )
    await session.flush()
    return changes


async def release_stale_holds(session: AsyncSession) -> list[Released]:
    """Appeals held by someone whose role does not cover them, whatever the cause: a change
    made before this rule or by hand in the database, or a claim that raced with a revoke
    (the claim's region check used the role as it was a moment before). Run at start and
    by the desk's clock. Cheap when nothing is wrong: one pass over (holder, region) pairs."""
    from bot.services.privacy import SYSTEM_ACTOR  # privacy imports this module

    pairs = await session.execute(
        select(Appeal.claimed_by, Appeal.member_org)
        .where(Appeal.status.in_(HELD), Appeal.claimed_by.is_not(None))
        .distinct()
    )
    regions: dict[int, set[str]] = {}
    for staff_id, member_org in pairs:
        if staff_id is not None:
            regions.setdefault(staff_id, set()).add(member_org)
    if not regions:
        return []
    released: list[Released] = []
    for staff in await session.scalars(select(Staff).where(Staff.id.in_(regions))):
        view = StaffView.of(staff)
        if staff.active and all(view.covers(org) for org in regions[staff.id]):
            continue
        released += await release_uncovered(session, staff, actor=SYSTEM_ACTOR, reason="stale")
    return released


def invite_digest(code: str) -> str:
    """What is stored of an invite code: its SHA-256. The codes are random (72 bits), so a
    plain hash cannot be reversed by trying codes."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


# Roles whose invite its own creator may not redeem: a second admin must make it.
GUARDED_ROLES = (StaffRole.ADMIN, StaffRole.HEAD_LAWYER)


async def create_invite(
    session: AsyncSession,
    admin: StaffView,
    role: StaffRole,
    member_orgs: list[str],
    *,
    known_orgs: set[str],
    ttl: timedelta = INVITE_TTL,
) -> tuple[StaffInvite, str]:
    """The invite and its code: the code is not stored (only its hash), so this is the
    one time it can be shown."""
    if admin.role != StaffRole.ADMIN:
        raise StaffError("forbidden")
    unknown = [o for o in member_orgs if o not in known_orgs]
    if unknown:
        raise StaffError("unknown-org")
    if role == StaffRole.LAWYER and not member_orgs:
        raise StaffError("lawyer-needs-org")
    code = secrets.token_urlsafe(9)
    invite = StaffInvite(
        code_hash=invite_digest(code),
        role=role,
        member_orgs=sorted(set(member_orgs)) if role == StaffRole.LAWYER else [],
        created_by=admin.telegram_id,
        expires_at=utcnow() + ttl,
    )
    session.add(invite)
    await session.flush()
    await audit(
        session,
        admin.telegram_id,
        "invite",
        invite_id=invite.id,
        role=role.value,
        member_orgs=invite.member_orgs,
    )
    await session.flush()
    return invite, code


def _open_invite(digest: str) -> list[ColumnElement[bool]]:
    return [
        StaffInvite.code_hash == digest,
        StaffInvite.used_by.is_(None),
        StaffInvite.revoked_at.is_(None),
        StaffInvite.expires_at > utcnow(),
    ]


async def invite_to_redeem(session: AsyncSession, telegram_id: int, digest: str) -> StaffInvite:
    """The invite a code stands for, if this person may redeem it now (nothing is used up).
    "bad-code": unknown, used, revoked or expired; "own-invite": an admin or head-lawyer
    invite its creator tries to redeem."""
    invite = await session.scalar(select(StaffInvite).where(*_open_invite(digest)))
    if invite is None:
        raise StaffError("bad-code")
    if invite.created_by == telegram_id and invite.role in GUARDED_ROLES:
        raise StaffError("own-invite")
    return invite


@dataclass
class Joined:
    staff: Staff
    previous: StaffView | None  # the role they had before, if they were staff
    released: list[Released]


async def join(
    session: AsyncSession,
    telegram_id: int,
    digest: str,
    full_name: str | None,
    language: str | None = None,
) -> Joined:
    """Redeem an invite by its code's hash. Atomic: of two people racing with one code,
    only one joins. `language`: what their screens are in (kept for messages the bot sends
    them unasked). Staff who had another role lose the appeals it no longer covers."""
    await invite_to_redeem(session, telegram_id, digest)
    now = utcnow()
    used = await session.execute(
        update(StaffInvite)
        .where(
            *_open_invite(digest),
            # the same rule as invite_to_redeem, inside the statement that uses the code
            ~((StaffInvite.created_by == telegram_id) & StaffInvite.role.in_(GUARDED_ROLES)),
        )
        .values(used_by=telegram_id, used_at=now)
        .returning(StaffInvite.id, StaffInvite.role, StaffInvite.member_orgs)
        .execution_options(synchronize_session=False)
    )
    row = used.first()
    if row is None:
        raise StaffError("bad-code")
    invite_id, role, member_orgs = row
    staff = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
    previous = StaffView.of(staff) if staff is not None and staff.active else None
    if staff is None:
        staff = Staff(telegram_id=telegram_id, role=role, member_orgs=list(member_orgs or []))
        session.add(staff)
    else:
        staff.role, staff.member_orgs, staff.active = role, list(member_orgs or []), True
    staff.from_admin_ids = False  # the role now comes from the invite
    staff.full_name = full_name
    staff.language = language
    await session.flush()
    await audit(
        session,
        telegram_id,
        "join",
        invite_id=invite_id,
        role=str(role),
        member_orgs=list(member_orgs or []),
        previous_role=previous.role.value if previous else None,
        previous_orgs=list(previous.member_orgs) if previous else None,
    )
    released = (
        await release_uncovered(session, staff, actor=telegram_id, reason="join")
        if previous
        else []
    )
    await session.flush()
    return Joined(staff, previous, released)


async def open_invites(session: AsyncSession) -> list[StaffInvite]:
    """Invites not used, revoked or expired: the soonest to expire first."""
    rows = await session.scalars(
        select(StaffInvite)
        .where(
            StaffInvite.used_by.is_(None),
            StaffInvite.revoked_at.is_(None),
            StaffInvite.expires_at > utcnow(),
        )
        .order_by(StaffInvite.expires_at, StaffInvite.id)
    )
    return list(rows)


async def revoke_invite(session: AsyncSession, admin: StaffView, invite_id: int) -> StaffInvite:
    """Any admin may revoke an open invite (a code shown to the wrong person, a plan that
    changed); its code stops working at once."""
    if admin.role != StaffRole.ADMIN:
        raise StaffError("forbidden")
    invite = await session.scalar(
        select(StaffInvite).where(
            StaffInvite.id == invite_id,
            StaffInvite.used_by.is_(None),
            StaffInvite.revoked_at.is_(None),
            StaffInvite.expires_at > utcnow(),
        )
    )
    if invite is None:
        raise StaffError("not-found")
    invite.revoked_by, invite.revoked_at = admin.telegram_id, utcnow()
    await audit(
        session, admin.telegram_id, "revoke-invite", invite_id=invite.id, role=invite.role.value
    )
    await session.flush()
    return invite


async def list_staff(session: AsyncSession) -> list[Staff]:
    rows = await session.scalars(
        select(Staff).where(Staff.active.is_(True)).order_by(Staff.role, Staff.id)
    )
    return list(rows)


async def held_count(session: AsyncSession, staff_id: int) -> int:
    """How many open appeals this person holds (shown before an admin changes their role)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.claimed_by == staff_id, Appeal.status.in_(HELD))
    )
    return int(count or 0)


@dataclass
class Changed:
    staff: Staff
    released: list[Released]
    changed: bool = True  # False: the person already had that role (and regions)


async def _changeable(session: AsyncSession, admin: StaffView, staff_id: int) -> Staff:
    if admin.role != StaffRole.ADMIN:
        raise StaffError("forbidden")
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise StaffError("not-found")
    if staff.telegram_id == admin.telegram_id:
        raise StaffError("self")
    return staff


async def change_role(
    session: AsyncSession, admin: StaffView, staff_id: int, role: StaffRole | None
) -> Changed:
    """A new role, or None to revoke; it takes effect at once, and the appeals the person
    holds that the new role does not cover go back to the queue. ADMIN_IDS are made
    admins again at the next start while their id is there."""
    staff = await _changeable(session, admin, staff_id)
    if role == staff.role:
        return Changed(staff, [], changed=False)
    if role is None:
        staff.active = False
    else:
        staff.role = role
    staff.from_admin_ids = False  # the role now comes from an admin's decision
    await audit(
        session,
        admin.telegram_id,
        "revoke" if role is None else "change-role",
        staff_id=staff.id,
        role=role.value if role else None,
    )
    released = await release_uncovered(
        session, staff, actor=admin.telegram_id, reason="revoke" if role is None else "change-role"
    )
    await session.flush()
    return Changed(staff, released)


async def set_regions(
    session: AsyncSession,
    admin: StaffView,
    staff_id: int,
    member_orgs: Iterable[str],
    *,
    known_orgs: set[str] | frozenset[str],
) -> Changed:
    """Make the person a lawyer of exactly these member organisations (a head lawyer or
    any other role becomes a lawyer); the appeals of the regions taken away go back to
    their queues."""
    staff = await _changeable(session, admin, staff_id)
    chosen = sorted(set(member_orgs))
    if not chosen:
        raise StaffError("lawyer-needs-org")
    if any(org not in known_orgs for org in chosen):
        raise StaffError("unknown-org")
    old_role, old_orgs = staff.role, list(staff.member_orgs or [])
    if old_role == StaffRole.LAWYER and sorted(old_orgs) == chosen:
        return Changed(staff, [], changed=False)
    staff.role, staff.member_orgs, staff.from_admin_ids = StaffRole.LAWYER, chosen, False
    await audit(
        session,
        admin.telegram_id,
        "change-regions",
        staff_id=staff.id,
        role=StaffRole.LAWYER.value,
        old_role=old_role.value,
        old_orgs=old_orgs,
        member_orgs=chosen,
    )
    released = await release_uncovered(
        session, staff, actor=admin.telegram_id, reason="change-regions"
    )
    await session.flush()
    return Changed(staff, released)
