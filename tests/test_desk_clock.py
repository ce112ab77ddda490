"""The desk's clock with a controllable `now`: notices, SLA reminders, escalation, idle claims."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.methods import SendMessage
from sqlalchemy import select

from bot.clock.desk import desk_job
from bot.context import Context
from bot.storage.models import Appeal, AppealStatus, Staff, StaffRole
from tests.driver import Person
from tests.recording import RecordingSession
from tests.test_member_flow import onboard, send_appeal

ALMATY = ZoneInfo("Asia/Almaty")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)


async def desk(ctx: Context) -> dict[str, int]:
    async with ctx.session_factory() as session:
        lawyer = Staff(
            telegram_id=900_001,
            role=StaffRole.LAWYER,
            member_orgs=["karaganda"],
            full_name="Заңгер",
        )
        other = Staff(telegram_id=900_002, role=StaffRole.LAWYER, member_orgs=["abai"])
        head = Staff(telegram_id=900_003, role=StaffRole.HEAD_LAWYER, member_orgs=[])
        session.add_all([lawyer, other, head])
        await session.commit()
        ctx.staff_directory.invalidate()
        return {"lawyer": lawyer.id, "other": other.id, "head": head.id}


async def set_created(ctx: Context, created: datetime) -> int:
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal).order_by(Appeal.id.desc()))
        assert appeal is not None
        appeal.created_at = created
        await session.commit()
        return appeal.id


def sent_to(recording: RecordingSession, since: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for request in recording.requests[since:]:
        if isinstance(request, SendMessage):
            out.setdefault(int(request.chat_id), []).append(str(request.text))
    return out


async def test_new_appeals_are_grouped_per_lawyer_and_wait_for_morning(
    person: Callable[..., Person], ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    await desk(ctx)
    member = person(901)
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "первое")
    await send_appeal(member, "leave", "второе")
    night = datetime(2026, 11, 23, 23, 30, tzinfo=ALMATY)
    mark = len(recording.requests)
    await desk_job(ctx, bot, now=night)
    assert sent_to(recording, mark) == {}  # quiet hours: nothing, and nothing is lost
    await desk_job(ctx, bot, now=night + timedelta(hours=9))  # 08:30
    told = sent_to(recording, mark)
    assert list(told) == [900_001]  # only the region's lawyer, once, for both appeals
    assert len(told[900_001]) == 1 and "№ 1" in told[900_001][0] and "№ 2" in told[900_001][0]
    mark = len(recording.requests)
    await desk_job(ctx, bot, now=night + timedelta(hours=10))
    assert sent_to(recording, mark) == {}  # told once


async def test_half_way_reminder_then_escalation_in_working_days(
    person: Callable[..., Person], ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    await desk(ctx)
    member = person(902)
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "без ответа")
    friday = datetime(2026, 11, 20, 10, 0, tzinfo=ALMATY)
    appeal_id = await set_created(ctx, friday)
    await desk_job(ctx, bot, now=friday + timedelta(minutes=5))  # the new-appeal notice
    mark = len(recording.requests)
    await desk_job(ctx, bot, now=datetime(2026, 11, 22, 12, 0, tzinfo=ALMATY))  # Sunday
    assert sent_to(recording, mark) == {}  # the weekend does not count
    await desk_job(ctx, bot, now=datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY))  # 1 working day
    assert list(sent_to(recording, mark)) == [900_001]  # half way: the region's lawyer
    mark = len(recording.requests)
    await desk_job(ctx, bot, now=datetime(2026, 11, 24, 9, 59, tzinfo=ALMATY))
    assert sent_to(recording, mark) == {}
    await desk_job(ctx, bot, now=datetime(2026, 11, 24, 10, 0, tzinfo=ALMATY))  # 2 working days
    told = sent_to(recording, mark)
    assert list(told) == [900_003] and f"№ {appeal_id}" in told[900_003][0]  # head lawyer
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.sla_half_at is not None and appeal.sla_breached_at is not None


async def test_idle_claim_goes_back_to_the_queue(
    person: Callable[..., Person], ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    ids = await desk(ctx)
    member = person(903)
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "взяли и забыли")
    appeal_id = await set_created(ctx, MONDAY_10 - timedelta(days=14))
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        appeal.status, appeal.claimed_by = AppealStatus.CLAIMED, ids["lawyer"]
        appeal.claimed_at = MONDAY_10 - timedelta(days=7)  # 5 working days before
        appeal.first_answer_at = appeal.last_lawyer_at = MONDAY_10 - timedelta(days=7)
        appeal.notified_at = appeal.sla_half_at = appeal.sla_breached_at = appeal.claimed_at
        await session.commit()
    mark = len(recording.requests)
    await desk_job(ctx, bot, now=MONDAY_10 - timedelta(minutes=1))
    assert sent_to(recording, mark) == {}
    await desk_job(ctx, bot, now=MONDAY_10)
    told = sent_to(recording, mark)
    assert 900_001 in told and any("№ " + str(appeal_id) in t for t in told[900_001])
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.status == AppealStatus.QUEUED and appeal.claimed_by is None
