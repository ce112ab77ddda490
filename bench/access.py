"""What access changes cost when lawyers hold many appeals.

    python bench/access.py [--appeals N] [--lawyers N]
    TEST_DATABASE_URL=postgresql://... python bench/access.py   # SQLite and PostgreSQL

A fresh database (as bench/claim.py makes it) gets N open appeals over the 20 member
organisations, half of them held by the lawyers (round robin; every lawyer covers every
organisation). Timed:
- the desk clock's check for appeals held without coverage when there are none
  (`release_stale_holds`: every pass of the desk's clock and every start pays it);
- an admin narrowing one lawyer to one organisation (`set_regions` + commit): the appeals
  of the other organisations go back to the queue, each through the ORM and audited.
Prints its figures last as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

from claim import database, fill  # the same fresh databases and appeals
from sqlalchemy import func, select, text, update

from bot.services.staff import StaffView, release_stale_holds, set_regions
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import Appeal, AppealStatus, Staff, StaffRole, utcnow
from bot.topics import default_member_orgs

PG_URL = os.environ.get("TEST_DATABASE_URL")


async def run(kind: str, appeals: int, lawyers: int) -> dict[str, object]:
    async with database(kind, pool_size=2) as engine:
        await upgrade(engine)
        factory = create_session_factory(engine)
        staff = await fill(factory, appeals, lawyers, 7)
        async with factory() as session:
            for index, lawyer in enumerate(staff):
                await session.execute(
                    update(Appeal)
                    .where(Appeal.id % 2 == 0, Appeal.id % (2 * lawyers) == 2 * index)
                    .values(status=AppealStatus.CLAIMED, claimed_by=lawyer.id, claimed_at=utcnow())
                )
            admin_row = Staff(telegram_id=1, role=StaffRole.ADMIN, member_orgs=[])
            session.add(admin_row)
            await session.commit()
            admin = StaffView.of(admin_row)
            held = await session.scalar(
                select(func.count()).select_from(Appeal).where(Appeal.claimed_by == staff[0].id)
            )
        if kind == "postgres":
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        steady = []
        for _ in range(5):
            async with factory() as session:
                t0 = time.perf_counter()
                released = await release_stale_holds(session)
                await session.commit()
                steady.append(time.perf_counter() - t0)
            assert released == []
        keep = default_member_orgs().orgs[0].id
        async with factory() as session:
            t0 = time.perf_counter()
            changed = await set_regions(session, admin, staff[0].id, [keep], known_orgs={keep})
            await session.commit()
            narrowed = time.perf_counter() - t0
        async with factory() as session:
            still = await session.scalar(
                select(func.count()).select_from(Appeal).where(Appeal.claimed_by == staff[0].id)
            )
    return {
        "open_appeals": appeals,
        "held": appeals // 2,
        "lawyers": lawyers,
        "stale_check_median_s": round(statistics.median(steady), 4),
        "stale_check_max_s": round(max(steady), 4),
        "narrowed_lawyer_held": int(held or 0),
        "narrowed_released": len(changed.released),
        "narrowed_kept": int(still or 0),
        "narrow_s": round(narrowed, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--lawyers", type=int, default=46)
    args = parser.parse_args()
    result: dict[str, object] = {"bench": "access"}
    result["sqlite"] = asyncio.run(run("sqlite", args.appeals, args.lawyers))
    if PG_URL:
        result["postgres"] = asyncio.run(run("postgres", args.appeals, args.lawyers))
    else:
        result["postgres"] = {"skipped": "TEST_DATABASE_URL not set"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
