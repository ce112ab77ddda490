"""The desk's clock: new-appeal notices to a region's lawyers, SLA reminders, escalation,
and idle claims going back to the queue (the last three never for an appeal a lawyer
logged: bot/services/logged.py). Pure functions of `now`: the scheduler calls them and
tests drive them with any clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.calendar import WorkCalendar
from bot.storage.models import ELECTRONIC, Appeal, AppealStatus, Staff, StaffRole

UNANSWERED = (AppealStatus.QUEUED, AppealStatus.CLAIMED, AppealStatus.REOPENED)


@dataclass(frozen=True)
class SlaSettings:
    first_answer_days: float = 2.0  # working days to the first answer
    idle_claim_days: float = 5.0  # working days without a lawyer's message


@dataclass
class DeskNotices:
    """What to tell whom; telegram ids mapped to appeal ids."""

    new_appeals: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    half_way: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    overdue: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    released: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


async def _lawyers(session: AsyncSession) -> tuple[list[Staff], list[Staff]]:
    staff = list(await session.scalars(select(Staff).where(Staff.active.is_(True))))
    return (
        [s for s in staff if s.role == StaffRole.LAWYER],
        [s for s in staff if s.role == StaffRole.HEAD_LAWYER],
    )


def _region_lawyers(lawyers: list[Staff], member_org: str) -> list[int]:
    return [s.telegram_id for s in lawyers if member_org in (s.member_orgs or [])]


async def desk_scan(
    session: AsyncSession, now: datetime, calendar: WorkCalendar, settings: SlaSettings
) -> DeskNotices:
    """One pass; marks what it reports in the same transaction (the caller commits), so a
    notice is never sent twice. Nothing is reported in quiet hours: it waits for morning."""
    notices = DeskNotices()
    if calendar.is_quiet(now):
        return notices
    lawyers, heads = await _lawyers(session)
    by_id = {s.id: s for s in (*lawyers, *heads)}

    # New appeals, grouped per lawyer: one message however many arrived.
    fresh = await session.execute(
        update(Appeal)
        .where(
            Appeal.notified_at.is_(None),
            Appeal.status.in_((AppealStatus.QUEUED, AppealStatus.REOPENED)),
        )
        .values(notified_at=now)
        .returning(Appeal.id, Appeal.member_org)
        .execution_options(synchronize_session=False)
    )
    for appeal_id, member_org in fresh:
        for telegram_id in _region_lawyers(lawyers, member_org):
            notices.new_appeals[telegram_id].append(appeal_id)

    # The first answer in the bot is promised to those who wrote in the bot: an appeal that
    # came in writing or in person (logged by a lawyer) is answered outside it.
    waiting = [
        Appeal.first_answer_at.is_(None),
        Appeal.status.in_(UNANSWERED),
        Appeal.channel == ELECTRONIC,
    ]
    half = calendar.subtract_working_days(now, settings.first_answer_days / 2)
    reminded = await session.execute(
        update(Appeal)
        .where(*waiting, Appeal.sla_half_at.is_(None), Appeal.created_at <= half)
        .values(sla_half_at=now)
        .returning(Appeal.id, Appeal.member_org, Appeal.claimed_by)
        .execution_options(synchronize_session=False)
    )
    for appeal_id, member_org, claimed_by in reminded:
        holder = by_id.get(claimed_by) if claimed_by else None
        targets = [holder.telegram_id] if holder else _region_lawyers(lawyers, member_org)
        for telegram_id in targets:
            notices.half_way[telegram_id].append(appeal_id)

    due = calendar.subtract_working_days(now, settings.first_answer_days)
    breached = await session.execute(
        update(Appeal)
        .where(*waiting, Appeal.sla_breached_at.is_(None), Appeal.created_at <= due)
        .values(sla_breached_at=now)
        .returning(Appeal.id)
        .execution_options(synchronize_session=False)
    )
    for (appeal_id,) in breached:
        for head in heads:
            notices.overdue[head.telegram_id].append(appeal_id)

    idle_since = calendar.subtract_working_days(now, settings.idle_claim_days)
    idle = [
        Appeal.status.in_((AppealStatus.CLAIMED, AppealStatus.ANSWERED)),
        # A logged appeal's lawyer has nobody to write to in the bot: silence is not idleness.
        Appeal.channel == ELECTRONIC,
        func.coalesce(Appeal.last_lawyer_at, Appeal.claimed_at) <= idle_since,
    ]
    holders = list(await session.execute(select(Appeal.id, Appeal.claimed_by).where(*idle)))
    if holders:
        ids = [appeal_id for appeal_id, _ in holders]
        back = await session.execute(
            update(Appeal)
            .where(Appeal.id.in_(ids), *idle)
            .values(status=AppealStatus.QUEUED, claimed_by=None, claimed_at=None, notified_at=None)
            .returning(Appeal.id)
            .execution_options(synchronize_session=False)
        )
        returned = {appeal_id for (appeal_id,) in back}
        for appeal_id, claimed_by in holders:
            holder = by_id.get(claimed_by) if claimed_by else None
            if appeal_id in returned and holder is not None:
                notices.released[holder.telegram_id].append(appeal_id)
    return notices
