"""The report's running tally stays equal to a rebuild from the appeal log, whatever path
changed the appeals; part-month periods (read from the log) agree with whole months (read
from the tally)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.report.figures import build_report, compute_figures
from bot.report.period import Period
from bot.report.tally import rebuild, rows_for_check, wait_bucket
from bot.services.appeals import Draft, create_appeal
from bot.services.desk import claim, hand_over, lawyer_writes
from bot.services.members import MemberView, save_onboarding
from bot.services.outcomes import Outcome, close_appeal, rate, reopen
from bot.services.staff import StaffView
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import AppealSource, ReportTally, Staff, StaffRole, WorkplaceType
from tests import report_data
from tests.databases import KINDS, database


async def _tally(session: AsyncSession) -> dict[Any, dict[str, int]]:
    return rows_for_check(await session.scalars(select(ReportTally)))


@pytest.mark.parametrize("kind", KINDS)
async def test_every_service_path_keeps_the_tally_equal_to_a_rebuild(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            await rebuild(session, report_data.TZ)  # an empty, built tally
            member = MemberView.of(
                await save_onboarding(
                    session,
                    1,
                    language="ru",
                    member_org="almaty",
                    workplace_type=WorkplaceType.SCHOOL,
                    consent=True,
                )
            )
            lawyer_row = Staff(telegram_id=9, role=StaffRole.LAWYER, member_orgs=["almaty"])
            head_row = Staff(telegram_id=10, role=StaffRole.HEAD_LAWYER, member_orgs=[])
            session.add_all([lawyer_row, head_row])
            await session.commit()
            lawyer, head = StaffView.of(lawyer_row), StaffView.of(head_row)

            appeals = []
            for topic in ("pay", "leave", "dismissal"):
                draft = Draft(topic=topic, text="…", source=AppealSource.DIRECT)
                appeal = await create_appeal(session, member, draft, full_name=None, username=None)
                appeals.append(appeal.id)
            await session.commit()
            session.expire_all()  # each update of the bot has a session of its own
            for appeal_id in appeals:
                assert (await claim(session, lawyer, appeal_id)).won
                await session.commit()
                session.expire_all()  # each update of the bot has a session of its own
                await lawyer_writes(session, lawyer, appeal_id, text="answer", attachments=[])
                await session.commit()
                session.expire_all()  # each update of the bot has a session of its own
            outcome = Outcome(justified=True, money_returned_kzt=70_000, economic_effect_kzt=1)
            await close_appeal(session, lawyer, appeals[0], outcome, topic="social")  # corrected
            await close_appeal(session, lawyer, appeals[1], Outcome(court=True), topic="leave")
            await session.commit()
            session.expire_all()  # each update of the bot has a session of its own
            await rate(session, member, appeals[0], 5)
            await rate(session, member, appeals[1], 2)
            await session.commit()
            session.expire_all()  # each update of the bot has a session of its own
            await reopen(session, member, appeals[1])  # no longer closed, rating dropped
            await session.commit()
            session.expire_all()  # each update of the bot has a session of its own
            # The third goes to another region's queue; the head lawyer takes it there.
            await hand_over(session, lawyer, appeals[2], to_org="astana", known_orgs={"astana"})
            await session.commit()
            session.expire_all()  # each update of the bot has a session of its own
            assert (await claim(session, head, appeals[2])).won
            await session.commit()
            session.expire_all()  # each update of the bot has a session of its own
            await close_appeal(session, head, appeals[2], Outcome(reinstated=True), "dismissal")
            await session.commit()
            session.expire_all()  # each update of the bot has a session of its own

            followed = await _tally(session)
            await rebuild(session, report_data.TZ)
            await session.commit()
            session.expire_all()  # each update of the bot has a session of its own
            rebuilt = await _tally(session)
        assert followed == rebuilt
        closed = {k: m for k, m in rebuilt.items() if k[0] == "closed" and len(k[1]) == 7}
        closed_days = {k: m for k, m in rebuilt.items() if k[0] == "closed" and len(k[1]) == 10}
        assert sorted(closed.values(), key=str) == sorted(closed_days.values(), key=str)
        assert {(k[2], k[3]): m["n"] for k, m in closed.items()} == {
            ("almaty", "social"): 1,
            ("astana", "dismissal"): 1,
        }
        assert sum(m.get("r5", 0) for m in closed.values()) == 1
        assert sum(m.get("money_returned_kzt", 0) for m in closed.values()) == 70_000


@pytest.mark.parametrize("kind", KINDS)
async def test_part_months_read_from_the_log_agree_with_the_tally(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        await report_data.load(engine)
        orgs = report_data.orgs_with_members()
        async with create_session_factory(engine)() as session:
            await build_report(
                session, Period.month(2025, 3), orgs=None, tz=report_data.TZ, member_orgs=orgs
            )
            # 15 Feb - 31 Mar: half of February from the log, March from the tally.
            mixed = await compute_figures(
                session, Period(date(2025, 2, 15), date(2025, 3, 31)), None, report_data.TZ, orgs
            )
            # 1-31 March as two halves, both from the log.
            first = await compute_figures(
                session, Period(date(2025, 3, 1), date(2025, 3, 15)), None, report_data.TZ, orgs
            )
            second = await compute_figures(
                session, Period(date(2025, 3, 16), date(2025, 3, 31)), None, report_data.TZ, orgs
            )
    assert mixed.indicators["appeals_received"] == 5 + 2  # appeals 7 and 8, 20 and 28 February
    assert mixed.indicators["appeals_considered"] == 4 + 1  # appeal 7, closed 25 February
    assert mixed.by_month["2025-02"] == {
        "received": 2,
        "considered": 1,
        **{key: 0 for key in mixed.by_month["2025-03"] if key not in ("received", "considered")},
        "consultations": 1,
        "money_returned_kzt": 10_000,
    }
    for key in ("appeals_received", "appeals_considered", "money_returned_kzt", "ratings"):
        assert first.indicators[key] + second.indicators[key] == (
            5 if key == "appeals_received" else 4 if key in ("appeals_considered", "ratings")
            else 50_000
        ), key  # fmt: skip


def test_wait_buckets() -> None:
    assert [wait_bucket(m) for m in (0, 4, 5, 59, 61, 90, 719, 725, 1800, 2899)] == [
        0, 0, 5, 55, 60, 90, 705, 720, 1800, 2880,
    ]  # fmt: skip
    assert wait_bucket(7 * 1440 + 700) == 7 * 1440
    assert wait_bucket(40 * 1440 + 5) == 40 * 1440


async def test_only_the_apps_sessions_keep_the_tally_and_in_their_time_zone(
    tmp_path: Path,
) -> None:
    """Importing the storage registers nothing: a session made without the app's factory
    does not touch the tally; the factory's sessions count days in its time zone."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.storage.models import Appeal, Member

    async with database("sqlite", tmp_path) as engine:
        await upgrade(engine)
        # 20:30 UTC on 31 March is 1 April in Almaty (UTC+5), still 31 March in Moscow.
        created = datetime(2025, 3, 31, 20, 30, tzinfo=UTC)
        async with AsyncSession(engine) as plain:
            plain.add(Member(id=1, telegram_id=1, member_org="almaty"))
            plain.add(
                Appeal(
                    member_id=1,
                    member_org="almaty",
                    topic="pay",
                    text="x",
                    source=AppealSource.DIRECT,
                    created_at=created,
                )
            )
            await plain.commit()
            assert await _tally(plain) == {}
        for zone, day in (("Asia/Almaty", "2025-04-01"), ("Europe/Moscow", "2025-03-31")):
            async with create_session_factory(engine, ZoneInfo(zone))() as session:
                session.add(
                    Appeal(
                        member_id=1,
                        member_org="almaty",
                        topic="pay",
                        text=zone,
                        source=AppealSource.DIRECT,
                        created_at=created,
                    )
                )
                await session.commit()
                spans = {key[1] for key in await _tally(session)}
                assert day in spans, (zone, spans)
