"""Staff supergroups with topics: one per region, linked by an admin, and the head
lawyers' group for every region. Each new appeal of a linked region gets a forum topic
there (`AppealTopic`); the member's words are posted into it and the holder's words in it
go to the member (bot/handlers/desk/topics.py).

Who is served in a group: staff who cover its region (`serves`); in the head lawyers'
group, head lawyers. A group that is not linked is left, as every group is
(bot/middlewares/private_chats.py), which asks `StaffGroups.scope_of` on every group
update: the links are kept in memory, reloaded when older than `ttl` seconds and right
after a change made by this process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.staff import StaffView, audit
from bot.storage.models import (
    HEAD_SCOPE,
    OPEN_STATUSES,
    Appeal,
    AppealTopic,
    StaffGroup,
    StaffRole,
    utcnow,
)

__all__ = [
    "HEAD_SCOPE",
    "StaffGroupError",
    "StaffGroups",
    "add_topic",
    "appeal_at",
    "appeals_without_topic",
    "groups_for",
    "link",
    "serves",
    "topics_of",
    "unlink",
]


class StaffGroupError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def serves(staff: StaffView | None, scope: str) -> bool:
    """Whether this person works in the group of `scope`: the region's lawyers and the head
    lawyers in a region's group; head lawyers only in theirs."""
    if staff is None:
        return False
    if staff.role == StaffRole.HEAD_LAWYER:
        return True
    return scope != HEAD_SCOPE and staff.covers(scope)


async def link(
    session: AsyncSession, admin: StaffView, chat_id: int, scope: str, language: str
) -> None:
    """Link the group `chat_id` to `scope` (a member organisation's id, or HEAD_SCOPE).
    Refused when the scope has another group or this group serves another scope."""
    if admin.role != StaffRole.ADMIN:
        raise StaffGroupError("not-admin")
    existing = await session.get(StaffGroup, scope)
    if existing is not None and existing.chat_id != chat_id:
        raise StaffGroupError("scope-taken")
    other = await session.scalar(select(StaffGroup).where(StaffGroup.chat_id == chat_id))
    if other is not None and other.scope != scope:
        raise StaffGroupError("linked-elsewhere")
    if existing is None:
        session.add(
            StaffGroup(
                scope=scope,
                chat_id=chat_id,
                language=language,
                linked_by=admin.telegram_id,
                linked_at=utcnow(),
            )
        )
    else:
        existing.language, existing.linked_by, existing.linked_at = (
            language,
            admin.telegram_id,
            utcnow(),
        )
    await audit(session, admin.telegram_id, "link-group", chat_id=chat_id, scope=scope)
    await session.flush()


async def unlink(session: AsyncSession, admin: StaffView, chat_id: int) -> str:
    """Unlink the group; returns the scope it served. Topics already open stay in
    Telegram; nothing more is posted there."""
    if admin.role != StaffRole.ADMIN:
        raise StaffGroupError("not-admin")
    group = await session.scalar(select(StaffGroup).where(StaffGroup.chat_id == chat_id))
    if group is None:
        raise StaffGroupError("not-linked")
    scope = group.scope
    await session.execute(delete(StaffGroup).where(StaffGroup.chat_id == chat_id))
    await audit(session, admin.telegram_id, "unlink-group", chat_id=chat_id, scope=scope)
    return scope


async def groups_for(session: AsyncSession, member_org: str) -> list[StaffGroup]:
    """The linked groups where an appeal of `member_org` gets a topic."""
    rows = await session.scalars(
        select(StaffGroup)
        .where(StaffGroup.scope.in_((member_org, HEAD_SCOPE)))
        .order_by(StaffGroup.scope)
    )
    return list(rows)


async def add_topic(
    session: AsyncSession, appeal_id: int, chat_id: int, thread_id: int
) -> AppealTopic:
    topic = AppealTopic(appeal_id=appeal_id, chat_id=chat_id, thread_id=thread_id)
    session.add(topic)
    await session.flush()
    return topic


async def topics_of(session: AsyncSession, appeal_id: int) -> list[AppealTopic]:
    """The appeal's topics in groups still linked."""
    rows = await session.scalars(
        select(AppealTopic)
        .join(StaffGroup, StaffGroup.chat_id == AppealTopic.chat_id)
        .where(AppealTopic.appeal_id == appeal_id)
        .order_by(AppealTopic.id)
    )
    return list(rows)


async def appeal_at(session: AsyncSession, chat_id: int, thread_id: int | None) -> int | None:
    """The appeal whose topic this is, if any."""
    if thread_id is None:
        return None
    return await session.scalar(
        select(AppealTopic.appeal_id).where(
            AppealTopic.chat_id == chat_id, AppealTopic.thread_id == thread_id
        )
    )


async def appeals_without_topic(
    session: AsyncSession,
    scope: str,
    chat_id: int,
    limit: int,
    created_before: datetime | None = None,
) -> list[int]:
    """Open appeals of the scope with no topic in this group (opened before it was linked,
    or refused by Telegram), oldest first; `created_before`: only those older (not one
    whose topic is being opened right now)."""
    query = (
        select(Appeal.id)
        .where(
            Appeal.status.in_(OPEN_STATUSES),
            ~select(AppealTopic.id)
            .where(AppealTopic.appeal_id == Appeal.id, AppealTopic.chat_id == chat_id)
            .exists(),
        )
        .order_by(Appeal.id)
        .limit(limit)
    )
    if scope != HEAD_SCOPE:
        query = query.where(Appeal.member_org == scope)
    if created_before is not None:
        query = query.where(Appeal.created_at < created_before)
    return list(await session.scalars(query))


class StaffGroups:
    """The linked groups' ids and scopes, in memory (a few dozen at most), and the
    people already told they are not served in a topic (bounded)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        ttl: float = 30.0,
        remember: int = 10_000,
    ) -> None:
        self.session_factory = session_factory
        self.ttl = ttl
        self.remember = remember
        self._loaded_at = float("-inf")
        self._scopes: dict[int, str] = {}
        self._told: OrderedDict[tuple[int, int, int], None] = OrderedDict()

    async def scope_of(self, chat_id: int, *, fresh: bool = False) -> str | None:
        """The scope of a linked group; None for any other chat. `fresh`: read the links
        again first (before leaving a group another process may just have linked)."""
        if fresh or time.monotonic() - self._loaded_at > self.ttl:
            began = time.monotonic()
            async with self.session_factory() as session:
                rows = (await session.execute(select(StaffGroup.chat_id, StaffGroup.scope))).all()
            self._scopes, self._loaded_at = {int(c): str(s) for c, s in rows}, began
        return self._scopes.get(chat_id)

    def changed(self) -> None:
        """After this process linked or unlinked a group: reload at the next read."""
        self._loaded_at = float("-inf")

    def first_time(self, chat_id: int, thread_id: int, user_id: int) -> bool:
        """True once per person and topic (for a short line), then False."""
        key = (chat_id, thread_id, user_id)
        if key in self._told:
            self._told.move_to_end(key)
            return False
        self._told[key] = None
        while len(self._told) > self.remember:
            self._told.popitem(last=False)
        return True
