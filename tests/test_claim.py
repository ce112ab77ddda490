"""The claim: exactly one lawyer wins, whatever the concurrency, on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services.appeals import Draft, create_appeal
from bot.services.desk import DeskError, claim, open_card, queue_page
from bot.services.members import MemberView, save_onboarding
from bot.services.staff import StaffView
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import (
    Appeal,
    AppealSource,
    AppealStatus,
    Audit,
    Staff,
    StaffRole,
    WorkplaceType,
)
from tests.databases import KINDS, database

LAWYERS = 50


@pytest.mark.parametrize("kind", KINDS)
async def test_fifty_lawyers_race_for_one_appeal_exactly_one_wins(
    kind: str, tmp_path: Path
) -> None:
    # One connection per lawyer, all released at once by a barrier: truly concurrent
    # statements (separate aiosqlite threads / PostgreSQL backends), not one connection.
    async with database(kind, tmp_path, pool_size=LAWYERS, max_overflow=0) as engine:
        await upgrade(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            member = MemberView.of(
                await save_onboarding(
                    session,
                    1,
                    language="kk",
                    member_org="abai",
                    workplace_type=WorkplaceType.SCHOOL,
                    consent=True,
                )
            )
            appeal = await create_appeal(
                session,
                member,
                Draft(topic="pay", text="жалақы", source=AppealSource.DIRECT),
                full_name="Member",
                username=None,
            )
            lawyers = [
                Staff(
                    telegram_id=10_000 + i,
                    role=StaffRole.LAWYER,
                    member_orgs=["abai"],
                    full_name=f"Lawyer {i}",
                )
                for i in range(LAWYERS)
            ]
            session.add_all(lawyers)
            await session.commit()
            views = [StaffView.of(s) for s in lawyers]
            appeal_id = appeal.id

        barrier = asyncio.Barrier(LAWYERS)

        async def attempt(lawyer: StaffView) -> tuple[StaffView, bool, str | None]:
            async with sessions() as session:
                await session.connection()  # check the connection out before the start
                await barrier.wait()
                result = await claim(session, lawyer, appeal_id)
                await session.commit()
                return lawyer, result.won, result.holder

        results = await asyncio.gather(*(attempt(v) for v in views))
        winners = [lawyer for lawyer, won, _ in results if won]
        assert len(winners) == 1
        assert {holder for _, won, holder in results if not won} == {winners[0].full_name}
        async with sessions() as session:
            stored = await session.get_one(Appeal, appeal_id)
            assert stored.status == AppealStatus.CLAIMED and stored.claimed_by == winners[0].id
            claims = await session.scalars(select(Audit).where(Audit.action == "claim"))
            assert len(list(claims)) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_lawyers_see_and_claim_only_their_regions(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            ids = {}
            for telegram_id, org in ((1, "abai"), (2, "atyrau")):
                member = MemberView.of(
                    await save_onboarding(
                        session,
                        telegram_id,
                        language="ru",
                        member_org=org,
                        workplace_type=WorkplaceType.COLLEGE,
                        consent=True,
                    )
                )
                appeal = await create_appeal(
                    session,
                    member,
                    Draft(topic="leave", text=org, source=AppealSource.DIRECT),
                    full_name=None,
                    username=None,
                )
                ids[org] = appeal.id
            abai = Staff(telegram_id=20, role=StaffRole.LAWYER, member_orgs=["abai"])
            head = Staff(telegram_id=21, role=StaffRole.HEAD_LAWYER, member_orgs=[])
            admin = Staff(telegram_id=22, role=StaffRole.ADMIN, member_orgs=[])
            session.add_all([abai, head, admin])
            await session.commit()
            lawyer, chief, boss = StaffView.of(abai), StaffView.of(head), StaffView.of(admin)

        async with sessions() as session:
            mine, total = await queue_page(session, lawyer, topic=None, offset=0, limit=10)
            assert total == 1 and mine[0].member_org == "abai"
            _, total_all = await queue_page(session, chief, topic=None, offset=0, limit=10)
            assert total_all == 2
            _, none = await queue_page(session, boss, topic=None, offset=0, limit=10)
            assert none == 0  # admins run the bot; they do not read members' appeals
            _, filtered = await queue_page(session, chief, topic="pay", offset=0, limit=10)
            assert filtered == 0
            with pytest.raises(DeskError):
                await open_card(session, lawyer, ids["atyrau"])
            with pytest.raises(DeskError):
                await claim(session, lawyer, ids["atyrau"])
            card = await open_card(session, lawyer, ids["abai"])
            assert card.member.member_org == "abai" and card.earlier_appeals == 0
            assert (await claim(session, chief, ids["atyrau"])).won
            second = await claim(session, lawyer, ids["abai"])
            assert second.won
            again = await claim(session, chief, ids["abai"])
            assert not again.won
            await session.commit()
