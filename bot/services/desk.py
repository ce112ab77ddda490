"""The lawyers' desk: the regional queue, appeal cards, the atomic claim.

Every function authorises again, whatever the handler checked: a forged button must
not open another region's appeal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.limits import MAX_TEXT
from bot.services.staff import HELD, StaffView, audit
from bot.storage.models import (
    ELECTRONIC,
    OPEN_STATUSES,
    Appeal,
    AppealMessage,
    AppealStatus,
    Audit,
    Member,
    MessageSide,
    Staff,
    utcnow,
)

QUEUE_STATUSES = (AppealStatus.QUEUED, AppealStatus.REOPENED)
# The audit log's entries an appeal's thread shows as its status changes (answers and
# notes are in the thread as messages; openings of the card are not changes).
STATUS_ACTIONS = (
    "log-appeal",
    "claim",
    "release",
    "hand-over",
    "back-to-queue",
    "correct-topic",
    "close",
)


class DeskError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def scope(staff: StaffView) -> ColumnElement[bool]:
    """The appeals this person may see: their regions; the head lawyer all; others none."""
    if staff.sees_all_regions:
        return true()
    if staff.member_orgs and staff.role.value == "lawyer":
        return Appeal.member_org.in_(staff.member_orgs)
    return Appeal.id.is_(None)  # matches nothing


async def queue_page(
    session: AsyncSession, staff: StaffView, *, topic: str | None, offset: int, limit: int
) -> tuple[list[Appeal], int]:
    """Queued and reopened appeals of the person's regions, oldest first."""
    where = [Appeal.status.in_(QUEUE_STATUSES), scope(staff)]
    if topic:
        where.append(Appeal.topic == topic)
    total = await session.scalar(select(func.count()).select_from(Appeal).where(*where))
    rows = await session.scalars(
        select(Appeal)
        .where(*where)
        .order_by(Appeal.created_at, Appeal.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


@dataclass
class AppealCard:
    appeal: Appeal
    member: Member
    earlier_appeals: int
    lawyer: Staff | None
    # The whole thread after the first text, oldest first: the member's later messages,
    # the lawyers' answers and internal notes; `authors` names the staff who wrote.
    thread: list[AppealMessage]
    authors: dict[int, str]
    other_appeals: int = 0  # the member's appeals besides this one, earlier or later
    # Status changes from the audit log, oldest first; `names` names the staff in them
    # (by Telegram id and by staff id: a hand-over names its colleague by staff id).
    events: list[Audit] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def notes(self) -> list[AppealMessage]:
        return [m for m in self.thread if m.side == MessageSide.NOTE]


async def open_card(
    session: AsyncSession, staff: StaffView, appeal_id: int, *, audited: bool = True
) -> AppealCard:
    """An appeal as its lawyers see it, with its whole thread. `audited`: a new opening
    (a page of the same card is not written to the audit log again)."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or not staff.covers(appeal.member_org):
        raise DeskError("not-found")
    member = await session.get_one(Member, appeal.member_id)
    earlier, others = (
        await session.execute(
            select(
                func.count().filter(Appeal.created_at < appeal.created_at),
                func.count(),
            ).where(Appeal.member_id == appeal.member_id, Appeal.id != appeal.id)
        )
    ).one()
    lawyer = await session.get(Staff, appeal.claimed_by) if appeal.claimed_by else None
    thread = list(
        await session.scalars(
            select(AppealMessage)
            .where(AppealMessage.appeal_id == appeal.id)
            .order_by(AppealMessage.id)
        )
    )
    staff_ids = {m.author_staff_id for m in thread if m.author_staff_id}
    authors: dict[int, str] = {}
    if staff_ids:
        for person in await session.scalars(select(Staff).where(Staff.id.in_(staff_ids))):
            authors[person.id] = person.full_name or str(person.telegram_id)
    events, names = await _status_changes(session, appeal.id)
    if audited:
        await audit(session, staff.telegram_id, "open-appeal", appeal_id=appeal.id)
    return AppealCard(
        appeal, member, int(earlier or 0), lawyer, thread, authors, int(others or 0), events, names
    )


async def _status_changes(
    session: AsyncSession, appeal_id: int
) -> tuple[list[Audit], dict[str, str]]:
    events = list(
        await session.scalars(
            select(Audit)
            .where(Audit.appeal_id == appeal_id, Audit.action.in_(STATUS_ACTIONS))
            .order_by(Audit.id)
        )
    )
    telegram_ids = {e.staff_telegram_id for e in events}
    staff_ids = {
        int(e.details[key])
        for e in events
        for key in ("to_staff", "staff_id")
        if str(e.details.get(key, "")).isdigit()
    }
    names: dict[str, str] = {}
    if telegram_ids or staff_ids:
        for person in await session.scalars(
            select(Staff).where(Staff.telegram_id.in_(telegram_ids) | Staff.id.in_(staff_ids))
        ):
            name = person.full_name or str(person.telegram_id)
            names[f"tg:{person.telegram_id}"] = names[f"id:{person.id}"] = name
    return events, names


@dataclass
class ClaimResult:
    won: bool
    holder: str | None = None  # who has it, when someone else was faster
    mine: bool = False  # not won: it was this lawyer's already (a tap on an old card)


async def claim(session: AsyncSession, staff: StaffView, appeal_id: int) -> ClaimResult:
    """Take an appeal. One conditional UPDATE … RETURNING: exactly one lawyer wins a race,
    on SQLite and PostgreSQL alike; the region check is part of the same statement."""
    won = await session.execute(
        update(Appeal)
        .where(Appeal.id == appeal_id, Appeal.status.in_(QUEUE_STATUSES), scope(staff))
        .values(status=AppealStatus.CLAIMED, claimed_by=staff.id, claimed_at=utcnow())
        .returning(Appeal.id)
        .execution_options(synchronize_session=False)
    )
    if won.first() is not None:
        await audit(session, staff.telegram_id, "claim", appeal_id=appeal_id)
        return ClaimResult(won=True)
    # Lost (or not allowed): end the transaction at once. On SQLite even an UPDATE that
    # matched nothing holds the write lock; keeping it through the reads below made the
    # other lawyers wait seconds (bench/claim.py: p99 3.3 s with 50 lawyers).
    await session.rollback()
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or not staff.covers(appeal.member_org):
        raise DeskError("not-found")
    holder = await session.get(Staff, appeal.claimed_by) if appeal.claimed_by else None
    return ClaimResult(
        won=False,
        holder=(holder.full_name or str(holder.telegram_id)) if holder else None,
        mine=holder is not None and holder.id == staff.id and appeal.status in HELD,
    )


async def member_of(session: AsyncSession, appeal_id: int) -> Member:
    """The member who sent the appeal."""
    appeal = await session.get_one(Appeal, appeal_id)
    return await session.get_one(Member, appeal.member_id)


async def my_open_appeals(session: AsyncSession, staff: StaffView) -> list[Appeal]:
    rows = await session.scalars(
        select(Appeal)
        .where(Appeal.claimed_by == staff.id, Appeal.status.in_(OPEN_STATUSES))
        .order_by(Appeal.claimed_at)
    )
    return list(rows)


async def awaiting_answer(session: AsyncSession, appeal_ids: list[int]) -> set[int]:
    """Of these appeals, those whose member wrote since a lawyer last wrote to them (or
    since they were taken, if no lawyer has): the ones waiting for the lawyer's answer."""
    if not appeal_ids:
        return set()
    last_member = (
        select(AppealMessage.appeal_id, func.max(AppealMessage.sent_at).label("at"))
        .where(AppealMessage.appeal_id.in_(appeal_ids), AppealMessage.side == MessageSide.MEMBER)
        .group_by(AppealMessage.appeal_id)
        .subquery()
    )
    rows = await session.scalars(
        select(Appeal.id)
        .join(last_member, last_member.c.appeal_id == Appeal.id)
        .where(last_member.c.at > func.coalesce(Appeal.last_lawyer_at, Appeal.claimed_at))
    )
    return set(rows)


async def held_appeal(session: AsyncSession, staff: StaffView, appeal_id: int) -> Appeal:
    """The open appeal this lawyer holds and may still handle: only they may write in it,
    close it or hand it on, and only while their role covers its region."""
    appeal = await session.get(Appeal, appeal_id)
    if (
        appeal is None
        or appeal.claimed_by != staff.id
        or appeal.status not in (AppealStatus.CLAIMED, AppealStatus.ANSWERED)
        or not staff.covers(appeal.member_org)
    ):
        raise DeskError("not-yours")
    return appeal


async def lawyer_writes(
    session: AsyncSession,
    staff: StaffView,
    appeal_id: int,
    *,
    text: str | None,
    attachments: list[dict[str, object]],
    source: tuple[int, int] | None = None,
) -> tuple[Appeal, Member, AppealMessage]:
    """Store the lawyer's message in the appeal's thread; only the lawyer who holds it,
    and only in an appeal sent through the bot ("logged": it came in writing or in person,
    and nobody in it can be reached). `source`: the Telegram chat and message it was
    written as (its edits follow it)."""
    appeal = await held_appeal(session, staff, appeal_id)
    if appeal.channel != ELECTRONIC:
        raise DeskError("logged")
    if text is not None and len(text) > MAX_TEXT:
        raise DeskError("too-long")
    if not (text or attachments):
        raise DeskError("empty")
    now = utcnow()
    message = AppealMessage(
        appeal_id=appeal.id,
        side=MessageSide.LAWYER,
        author_staff_id=staff.id,
        text=text,
        attachments=list(attachments),
        sent_at=now,
        source_chat_id=source[0] if source else None,
        source_message_id=source[1] if source else None,
    )
    session.add(message)
    if appeal.first_answer_at is None:
        appeal.first_answer_at = now
    appeal.last_lawyer_at = now
    appeal.status = AppealStatus.ANSWERED
    await audit(session, staff.telegram_id, "answer", appeal_id=appeal.id)
    await session.flush()
    return appeal, await session.get_one(Member, appeal.member_id), message


async def add_note(session: AsyncSession, staff: StaffView, appeal_id: int, text: str) -> None:
    """An internal note in the appeal's thread: lawyers see it; it is not sent to the member,
    but /mydata gives it to them (it is personal data about them, law 94-V)."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or not staff.covers(appeal.member_org):
        raise DeskError("not-found")
    if len(text) > MAX_TEXT:
        raise DeskError("too-long")
    session.add(
        AppealMessage(
            appeal_id=appeal.id, side=MessageSide.NOTE, author_staff_id=staff.id, text=text
        )
    )
    await audit(session, staff.telegram_id, "note", appeal_id=appeal.id)
    await session.flush()


async def release(session: AsyncSession, staff: StaffView, appeal_id: int) -> Appeal:
    """Give a taken appeal back to the region's queue (it keeps its thread and age)."""
    released = await session.execute(
        update(Appeal)
        .where(
            Appeal.id == appeal_id,
            Appeal.claimed_by == staff.id,
            Appeal.status.in_((AppealStatus.CLAIMED, AppealStatus.ANSWERED)),
        )
        .values(status=AppealStatus.QUEUED, claimed_by=None, claimed_at=None)
        .returning(Appeal.id)
        .execution_options(synchronize_session=False)
    )
    if released.first() is None:
        raise DeskError("not-yours")
    await audit(session, staff.telegram_id, "release", appeal_id=appeal_id)
    appeal = await session.get_one(Appeal, appeal_id)
    await session.refresh(appeal)
    return appeal


@dataclass
class LawyerStats:
    open: int
    closed_this_month: int
    median_first_answer: timedelta | None  # over this month's first answers


async def lawyer_stats(
    session: AsyncSession, staff: StaffView, month_start: datetime
) -> LawyerStats:
    open_count = await session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.claimed_by == staff.id, Appeal.status.in_(OPEN_STATUSES))
    )
    closed = await session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.claimed_by == staff.id, Appeal.closed_at >= month_start)
    )
    answered = await session.execute(
        select(Appeal.created_at, Appeal.first_answer_at).where(
            Appeal.claimed_by == staff.id, Appeal.first_answer_at >= month_start
        )
    )
    waits = sorted(first - created for created, first in answered if first is not None)
    median = None
    if waits:
        middle = len(waits) // 2
        median = waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2
    return LawyerStats(int(open_count or 0), int(closed or 0), median)


async def colleagues_for(session: AsyncSession, staff: StaffView, appeal_id: int) -> list[Staff]:
    """Who can take this appeal over: lawyers of its region and head lawyers, not oneself."""
    appeal = await held_appeal(session, staff, appeal_id)
    people = await session.scalars(
        select(Staff).where(Staff.active.is_(True), Staff.id != staff.id).order_by(Staff.id)
    )
    return [p for p in people if StaffView.of(p).covers(appeal.member_org)]


async def hand_over(
    session: AsyncSession,
    staff: StaffView,
    appeal_id: int,
    *,
    to_staff_id: int | None = None,
    to_org: str | None = None,
    known_orgs: set[str] | frozenset[str] = frozenset(),
) -> tuple[Appeal, Staff | None]:
    """To a colleague (who must cover the appeal's region) or to another region's queue.
    Returns the appeal and the colleague who now holds it (None: back in a queue)."""
    appeal = await held_appeal(session, staff, appeal_id)
    if to_staff_id is not None:
        colleague = await session.get(Staff, to_staff_id)
        if colleague is None or not colleague.active or colleague.id == staff.id:
            raise DeskError("no-colleague")
        if not StaffView.of(colleague).covers(appeal.member_org):
            raise DeskError("no-colleague")
        appeal.claimed_by, appeal.claimed_at = colleague.id, utcnow()
        await audit(
            session, staff.telegram_id, "hand-over", appeal_id=appeal.id, to_staff=colleague.id
        )
        await session.flush()
        return appeal, colleague
    if to_org is None or to_org not in known_orgs:
        raise DeskError("no-region")
    await audit(
        session,
        staff.telegram_id,
        "hand-over",
        appeal_id=appeal.id,
        old_org=appeal.member_org,
        to_org=to_org,
    )
    appeal.member_org = to_org
    appeal.status = AppealStatus.QUEUED
    appeal.claimed_by = appeal.claimed_at = None
    appeal.notified_at = None  # the new region's lawyers are told by the desk's clock
    await session.flush()
    return appeal, None
