"""Members: onboarding answers, language, consent; and the directory that reads them fast.

Handlers get a frozen `MemberView`; only the functions here change a member, and they
refresh the directory after their caller commits.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES
from bot.storage.models import Member, Staff, WorkplaceType, utcnow

# Bump when the consent text changes: members are asked again before their next appeal.
CONSENT_VERSION = "2026-12"


@dataclass(frozen=True, slots=True)
class MemberView:
    id: int
    telegram_id: int
    language: str
    member_org: str | None
    workplace_type: WorkplaceType | None
    consent_version: str | None

    @classmethod
    def of(cls, member: Member) -> MemberView:
        # The strings are a handful of values shared by many members: interned, a cached
        # view holds references instead of its own copies (~160 bytes less each).
        return cls(
            id=member.id,
            telegram_id=member.telegram_id,
            language=sys.intern(member.language),
            member_org=_interned(member.member_org),
            workplace_type=member.workplace_type,
            consent_version=_interned(member.consent_version),
        )


def _interned(value: str | None) -> str | None:
    return None if value is None else sys.intern(value)


class MemberDirectory:
    """Members by Telegram id, read once from the database and then from memory.

    In embedded mode this process is the only writer, and every write goes through this
    module, so the memory copy is the database's. `ttl` bounds how long a copy is trusted
    where another process may write (scaled mode). `size` bounds memory (~7 MB at 20,000,
    the members active within minutes of each other); the least recently read go first.
    """

    def __init__(self, size: int = 20_000, ttl: float = 300.0) -> None:
        self.size = size
        self.ttl = ttl
        self._views: OrderedDict[int, tuple[float, MemberView | None]] = OrderedDict()
        # Counts drops: a read that began before a drop does not keep what it read (it may
        # be the value from before the other process's change).
        self._drops = 0
        # Told of every change this process makes (scaled mode tells the other instances).
        self.listeners: list[Callable[[int], None]] = []

    async def get(self, session: AsyncSession, telegram_id: int) -> MemberView | None:
        cached = self._views.get(telegram_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.ttl:
            self._views.move_to_end(telegram_id)
            return cached[1]
        drops = self._drops
        member = await get_member(session, telegram_id)
        view = MemberView.of(member) if member else None
        if drops == self._drops:
            self._store(telegram_id, view)
        return view

    async def language_of(self, session: AsyncSession, telegram_id: int) -> str:
        """The language a person chose as a member; for staff who never onboarded as
        members, the language their screens were in when they joined; else Kazakh."""
        view = await self.get(session, telegram_id)
        if view is not None:
            return view.language
        staff_language = await session.scalar(
            select(Staff.language).where(Staff.telegram_id == telegram_id)
        )
        return staff_language if staff_language in LANGUAGES else DEFAULT_LANGUAGE

    def remember(self, telegram_id: int, view: MemberView | None) -> None:
        """After this process changed the member (and committed)."""
        self._store(telegram_id, view)
        self._changed(telegram_id)

    def forget(self, telegram_id: int) -> None:
        """After this process changed the member: the next read goes to the database."""
        self.drop(telegram_id)
        self._changed(telegram_id)

    def drop(self, telegram_id: int) -> None:
        """Another process changed the member (bot/scale/sync.py)."""
        self._drops += 1
        self._views.pop(telegram_id, None)

    def drop_all(self) -> None:
        """Changes from other processes may have been missed: read everyone afresh."""
        self._drops += 1
        self._views.clear()

    def _store(self, telegram_id: int, view: MemberView | None) -> None:
        self._views[telegram_id] = (time.monotonic(), view)
        self._views.move_to_end(telegram_id)
        while len(self._views) > self.size:
            self._views.popitem(last=False)

    def _changed(self, telegram_id: int) -> None:
        for listener in self.listeners:
            listener(telegram_id)


async def get_member(session: AsyncSession, telegram_id: int) -> Member | None:
    return await session.scalar(select(Member).where(Member.telegram_id == telegram_id))


async def save_onboarding(
    session: AsyncSession,
    telegram_id: int,
    *,
    language: str,
    member_org: str,
    workplace_type: WorkplaceType,
    consent: bool,
) -> Member:
    member = await get_member(session, telegram_id)
    if member is None:
        member = Member(telegram_id=telegram_id)
        session.add(member)
    member.language = language
    member.member_org = member_org
    member.workplace_type = workplace_type
    member.active = True
    if consent:
        member.consent_version = CONSENT_VERSION
        member.consent_at = utcnow()
    await session.flush()
    return member


async def set_language(session: AsyncSession, member_id: int, language: str) -> Member:
    member = await session.get_one(Member, member_id)
    member.language = language
    await session.flush()
    return member


async def record_consent(session: AsyncSession, member_id: int) -> Member:
    member = await session.get_one(Member, member_id)
    member.consent_version = CONSENT_VERSION
    member.consent_at = utcnow()
    await session.flush()
    return member


def has_consent(member: MemberView) -> bool:
    return member.consent_version == CONSENT_VERSION


def is_registered(member: MemberView | None) -> bool:
    return (
        member is not None and member.member_org is not None and member.workplace_type is not None
    )


async def set_news(session: AsyncSession, member_id: int, wanted: bool) -> Member:
    """/news on|off: whether union news reaches this member."""
    member = await session.get_one(Member, member_id)
    member.news_opt_out = not wanted
    await session.flush()
    return member


async def set_active(session: AsyncSession, telegram_id: int, active: bool) -> bool:
    """The member blocked the bot (inactive: no news is sent) or came back."""
    member = await get_member(session, telegram_id)
    if member is None or member.active == active:
        return False
    member.active = active
    await session.flush()
    return True
