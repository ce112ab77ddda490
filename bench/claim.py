"""Claims per second and claim latency with many lawyers racing over one queue.

    python bench/claim.py [--appeals N] [--lawyers N] [--pick queue|window]
    TEST_DATABASE_URL=postgresql://... python bench/claim.py   # SQLite and PostgreSQL

A fresh database (a SQLite file; a PostgreSQL schema of its own when TEST_DATABASE_URL is
set) gets N queued appeals spread over the 20 member organisations and N lawyers who all
cover every organisation, so every lawyer competes for every appeal. Each lawyer runs as
its own task on the project's own engine (pool_size = lawyers, so each holds a pooled
connection) and loops as at a real queue head: open the queue, then press "take" on one of
the oldest five (desk.claim and commit, in a new session, as the bot's take button does).
Opening the queue is desk.queue_page at a random offset 0..4 (--pick queue, the default:
what the bot runs, a count and a sort of the whole queue each time), or with --pick window
a bare SELECT of the oldest five queued ids and a random one of them (isolates the claim
from the queue view's cost). Only claim + commit is timed; the wall time behind claims per
second includes opening the queue. A lawyer stops when the queue is empty.

claimed_twice (appeals whose claim two tasks both won) must be 0, claims_won must equal
the appeals, and the database must agree: that many appeals claimed, that many claim audits.
Prints its figures last as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import compat  # noqa: E402

compat.start()  # before anything imports aiogram, as `python -m bot` starts

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402

from bot.services.calendar import WorkCalendar, load_holidays  # noqa: E402
from bot.services.desk import QUEUE_STATUSES, claim, queue_page  # noqa: E402
from bot.services.sla import SlaSettings, desk_scan  # noqa: E402
from bot.services.staff import StaffView  # noqa: E402
from bot.storage.db import create_engine, create_session_factory  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from bot.storage.models import (  # noqa: E402
    Appeal,
    AppealSource,
    AppealStatus,
    Audit,
    Member,
    Staff,
    StaffRole,
    WorkplaceType,
    utcnow,
)
from bot.topics import TOPICS, default_member_orgs  # noqa: E402

PG_URL = os.environ.get("TEST_DATABASE_URL")
MEMBERS = 3000
QUEUE_HEAD = 5  # a lawyer takes one of the oldest five: lawyers collide often


@asynccontextmanager
async def database(kind: str, pool_size: int) -> AsyncIterator[AsyncEngine]:
    """A fresh database with the project's engine: a SQLite file or a PostgreSQL schema."""
    if kind == "sqlite":
        tmp = Path(tempfile.mkdtemp())
        eng = create_engine(f"sqlite:///{tmp / 'bench.db'}", pool_size=pool_size, max_overflow=0)
        try:
            yield eng
        finally:
            await eng.dispose()
        return
    assert PG_URL
    # As tests/databases.py: a schema of its own, set as a connection parameter (a SET
    # inside the driver's first transaction is undone when that transaction rolls back).
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_engine(
        PG_URL,
        pool_size=pool_size,
        max_overflow=0,
        connect_args={"server_settings": {"search_path": schema}},
    )

    try:
        yield eng
    finally:
        await eng.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def fill(
    factory: async_sessionmaker[AsyncSession],
    appeals: int,
    lawyers: int,
    seed: int,
    *,
    now: datetime | None = None,
    spread: timedelta | None = None,
) -> list[StaffView]:
    """Members, queued appeals (oldest first by id, evenly over `spread`, by default one
    second apart, up to `now`) and the lawyers."""
    rng = random.Random(seed)
    orgs = [o.id for o in default_member_orgs().orgs]
    topics = list(TOPICS)
    members = min(MEMBERS, appeals) or 1
    now = now or utcnow()
    step = (spread or timedelta(seconds=appeals)) / max(appeals, 1)
    member_rows: list[dict[str, Any]] = [
        {
            "id": i + 1,
            "telegram_id": 1_000_000 + i,
            "language": "kk" if i % 2 else "ru",
            "member_org": orgs[i % len(orgs)],
            "workplace_type": WorkplaceType.SCHOOL,
            "consent_version": "1",
            "consent_at": now - timedelta(days=30),
            "created_at": now - timedelta(days=30),
        }
        for i in range(members)
    ]
    appeal_rows: list[dict[str, Any]] = []
    for i in range(appeals):
        member = member_rows[rng.randrange(members)]
        appeal_rows.append(
            {
                "member_id": member["id"],
                "member_org": member["member_org"],
                "workplace_type": WorkplaceType.SCHOOL,
                "topic": rng.choice(topics),
                "text": "Жалақы екі айдан бері кешігіп келеді, директор жауап бермейді.",
                "attachments": [],
                "source": AppealSource.DIRECT,
                "status": AppealStatus.QUEUED,
                "language": member["language"],
                "created_at": now - step * (appeals - i),
            }
        )
    async with factory() as session:
        await session.execute(insert(Member), member_rows)
        for start in range(0, len(appeal_rows), 2000):
            await session.execute(insert(Appeal), appeal_rows[start : start + 2000])
        staff = [
            Staff(
                telegram_id=500_000 + i,
                role=StaffRole.LAWYER,
                member_orgs=list(orgs),
                full_name=f"Lawyer {i}",
            )
            for i in range(lawyers)
        ]
        session.add_all(staff)
        await session.flush()
        views = [StaffView.of(s) for s in staff]
        await session.commit()
    return views


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    pick_ms: list[float] = field(default_factory=list)
    attempts: int = 0
    won: int = 0
    lost: int = 0
    errors: int = 0
    first_error: str | None = None
    winners: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


async def lawyer(
    factory: async_sessionmaker[AsyncSession],
    staff: StaffView,
    task: int,
    tally: Tally,
    start: asyncio.Event,
    seed: int,
    pick: str,
) -> None:
    rng = random.Random(seed)
    await start.wait()
    offset = rng.randrange(QUEUE_HEAD)
    while True:
        t0 = time.perf_counter()
        async with factory() as session:
            if pick == "queue":
                rows, total = await queue_page(session, staff, topic=None, offset=offset, limit=1)
                ids = [a.id for a in rows]
            else:
                ids = list(
                    await session.scalars(
                        select(Appeal.id)
                        .where(Appeal.status.in_(QUEUE_STATUSES))
                        .order_by(Appeal.created_at, Appeal.id)
                        .limit(QUEUE_HEAD)
                    )
                )
                total = len(ids)
            await session.commit()
        tally.pick_ms.append((time.perf_counter() - t0) * 1000)
        if not ids:
            if total == 0:
                return
            offset = 0  # fewer than offset + 1 left: take the head
            continue
        offset = rng.randrange(QUEUE_HEAD)
        appeal_id = ids[0] if pick == "queue" else rng.choice(ids)
        tally.attempts += 1
        async with factory() as session:
            t0 = time.perf_counter()
            try:
                result = await claim(session, staff, appeal_id)
                await session.commit()
            except Exception:
                tally.errors += 1
                if tally.errors > 500:  # not a race any more: stop rather than spin
                    raise
                if tally.first_error is None:
                    tally.first_error = traceback.format_exc()
                    print(tally.first_error, file=sys.stderr)
                continue
            tally.latencies_ms.append((time.perf_counter() - t0) * 1000)
        if result.won:
            tally.won += 1
            tally.winners[appeal_id].append(task)
        else:
            tally.lost += 1


def percentile(samples: list[float], q: float) -> float:
    """As bench/faq_search.py: the sample at rank q of the sorted ones."""
    ordered = sorted(samples)
    return ordered[max(int(len(ordered) * q) - 1, 0)]


async def run(kind: str, appeals: int, lawyers: int, seed: int, pick: str) -> dict[str, object]:
    async with database(kind, pool_size=lawyers) as engine:
        await upgrade(engine)
        factory = create_session_factory(engine)
        views = await fill(factory, appeals, lawyers, seed)
        if kind == "postgres":
            # Planner statistics, as autovacuum would have them for a queue built over days.
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))

        # Open every pooled connection before the clock starts (connect + PRAGMAs or
        # search_path are not claim costs); all of them are out of the pool at once here.
        async def warm() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.05)

        await asyncio.gather(*(warm() for _ in range(lawyers)))

        tally = Tally()
        start = asyncio.Event()
        tasks = [
            asyncio.create_task(lawyer(factory, view, i, tally, start, seed * 1000 + i, pick))
            for i, view in enumerate(views)
        ]
        await asyncio.sleep(0)
        t0 = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0

        async with factory() as session:
            claimed = await session.scalar(
                select(func.count())
                .select_from(Appeal)
                .where(Appeal.status == AppealStatus.CLAIMED)
            )
            audits = await session.scalar(
                select(func.count()).select_from(Audit).where(Audit.action == "claim")
            )
            holders = await session.scalar(
                select(func.count(func.distinct(Appeal.claimed_by))).where(
                    Appeal.status == AppealStatus.CLAIMED
                )
            )
    lat = tally.latencies_ms
    claimed_n, audits_n = int(claimed or 0), int(audits or 0)
    result: dict[str, object] = {
        "appeals": appeals,
        "lawyers": lawyers,
        "pick": pick,
        "total_attempts": tally.attempts,
        "claims_won": tally.won,
        "lost_races": tally.lost,
        "errors": tally.errors,
        "wall_s": round(wall, 2),
        "claims_per_s": round(tally.won / wall, 1),
        "p50_ms": round(statistics.median(lat), 2) if lat else None,
        "p99_ms": round(percentile(lat, 0.99), 2) if lat else None,
        "max_ms": round(max(lat), 2) if lat else None,
        "queue_read_p50_ms": round(statistics.median(tally.pick_ms), 2),
        "queue_read_p99_ms": round(percentile(tally.pick_ms, 0.99), 2),
        "claimed_twice": sum(1 for w in tally.winners.values() if len(w) > 1),
        "db_claimed": claimed_n,
        "db_claim_audits": audits_n,
        "db_lawyers_holding": int(holders or 0),
        "db_check_ok": claimed_n == appeals and audits_n == appeals,
    }
    if tally.first_error is not None:
        result["first_error"] = tally.first_error.strip().splitlines()[-3:]
    return result


# A working Monday, 10:00 in Almaty: the scan never meets quiet hours, whenever it is run.
SCAN_AT = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Almaty"))


async def sla_scan(kind: str, open_appeals: int) -> dict[str, object]:
    """The desk's clock over N open appeals created over the last 20 days: the first pass
    marks every notice (all new), the second is the steady state of every later run."""
    async with database(kind, pool_size=5) as engine:
        await upgrade(engine)
        factory = create_session_factory(engine)
        await fill(factory, open_appeals, 50, 7, now=SCAN_AT, spread=timedelta(days=20))
        if kind == "postgres":
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        calendar = WorkCalendar(ZoneInfo("Asia/Almaty"), load_holidays())
        timings, counts = [], []
        for minutes in (0, 5):
            async with factory() as session:
                t0 = time.perf_counter()
                notices = await desk_scan(
                    session, SCAN_AT + timedelta(minutes=minutes), calendar, SlaSettings()
                )
                await session.commit()
                timings.append(time.perf_counter() - t0)
            counts.append(
                {
                    kind_name: sum(len(v) for v in getattr(notices, kind_name).values())
                    for kind_name in ("new_appeals", "half_way", "overdue", "released")
                }
            )
    return {
        "open_appeals": open_appeals,
        "first_pass_s": round(timings[0], 3),
        "steady_pass_s": round(timings[1], 3),
        "first_pass_notices": counts[0],
        "target_s": 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appeals", type=int, default=10_000)
    parser.add_argument("--lawyers", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pick", choices=("queue", "window"), default="queue")
    parser.add_argument("--open-appeals", type=int, default=100_000, help="for the SLA scan")
    parser.add_argument("--skip-claims", action="store_true", help="only the SLA scan")
    args = parser.parse_args()
    options = (args.appeals, args.lawyers, args.seed, args.pick)
    result: dict[str, object] = {"bench": "claim"}
    if args.skip_claims:
        result["sqlite"] = result["postgres"] = {"skipped": "--skip-claims"}
    else:
        result["sqlite"] = asyncio.run(run("sqlite", *options))
        if PG_URL:
            result["postgres"] = asyncio.run(run("postgres", *options))
        else:
            result["postgres"] = {"skipped": "TEST_DATABASE_URL not set"}
    scans: dict[str, object] = {"sqlite": asyncio.run(sla_scan("sqlite", args.open_appeals))}
    if PG_URL:
        scans["postgres"] = asyncio.run(sla_scan("postgres", args.open_appeals))
    result["sla_scan"] = scans
    for kind in ("sqlite", "postgres"):
        figures = result[kind]
        assert isinstance(figures, dict)
        if "skipped" in figures:
            print(f"{kind}: skipped ({figures['skipped']})")
            continue
        print(
            f"{kind}: {figures['claims_won']}/{figures['appeals']} claimed by "
            f"{figures['lawyers']} lawyers, {figures['claims_per_s']} claims/s, "
            f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
            f"{figures['lost_races']} lost races, {figures['errors']} errors, "
            f"claimed twice {figures['claimed_twice']}, DB check ok {figures['db_check_ok']}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
