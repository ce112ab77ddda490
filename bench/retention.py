"""The nightly retention clock over a large database: what a night costs.

    python bench/retention.py [--appeals 200000] [--members 20000] [--conversations 100000]
    TEST_DATABASE_URL=postgresql://... python bench/retention.py   # SQLite and PostgreSQL

For each database: a fresh one filled by `python -m bot demo-data` (two years of synthetic
appeals with their messages, mailbox letters), then:

- steady: `retention_job` with the default 36 months, where nothing is old enough: the
  cost of every ordinary night (the queries that find nothing);
- first_12_months: `retention_job` with 12 months, where a year of closed appeals, the open
  ones idle for a year and a year of letters lose their texts: a first run's cost;
- again_12_months: the same right after: nothing left, the steady cost after a purge;
- fsm_sweep: --conversations conversation rows, half of them untouched for 31 days, swept
  by `DatabaseStorage.sweep` (the table has no index on updated_at).

Prints its figures last as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from common import ROOT, TOKEN, postgres_database


def _fill(url: str, appeals: int, members: int) -> float:
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "bot", "demo-data", "--members", str(members)]
    command += ["--appeals", str(appeals), "--seed", "1"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"demo-data failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


async def measure(url: str, conversations: int) -> dict[str, Any]:
    from pydantic import SecretStr
    from sqlalchemy import insert

    from bot.clock.retention import retention_job
    from bot.config import Settings
    from bot.context import build_context
    from bot.storage.fsm import DatabaseStorage
    from bot.storage.models import FsmRecord, utcnow

    out: dict[str, Any] = {}
    for name, months in (("steady", 36), ("first_12_months", 12), ("again_12_months", 12)):
        settings = Settings(
            bot_token=SecretStr(TOKEN), database_url=url, appeal_text_retention_months=months
        )
        ctx = build_context(settings)
        started = time.perf_counter()
        purged = await retention_job(ctx)
        out[name] = {
            "seconds": round(time.perf_counter() - started, 2),
            "closed": purged.closed,
            "idle": purged.idle,
            "mailbox": purged.mailbox,
        }
        if name != "again_12_months":
            await ctx.close()

    now = utcnow()
    rows = [
        {
            "key": f"fsm:{i}:{i}",
            "state": "AppealDraft:text",
            "data": {"draft": {"text": "x" * 200}},
            "updated_at": now - timedelta(days=31 if i % 2 else 1),
        }
        for i in range(conversations)
    ]
    async with ctx.session_factory() as session, session.begin():
        for start in range(0, len(rows), 5_000):
            await session.execute(insert(FsmRecord), rows[start : start + 5_000])
    storage = DatabaseStorage(ctx.session_factory)
    started = time.perf_counter()
    swept = await storage.sweep(now - timedelta(days=30))
    out["fsm_sweep"] = {
        "rows": conversations,
        "swept": swept,
        "seconds": round(time.perf_counter() - started, 2),
    }
    started = time.perf_counter()
    await storage.sweep(now - timedelta(days=30))
    out["fsm_sweep"]["steady_seconds"] = round(time.perf_counter() - started, 3)
    await ctx.close()
    return out


def run_one(kind: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"fill_seconds": round(_fill(url, args.appeals, args.members), 1)}
    result.update(asyncio.run(measure(url, args.conversations)))
    print(f"{kind}: {json.dumps(result)}", file=sys.stderr)
    return result


def main() -> int:
    from bot import compat

    compat.start()  # before anything imports aiogram, as `python -m bot` starts
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appeals", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "appeals": args.appeals,
        "members": args.members,
        "conversations": args.conversations,
    }
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = run_one("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'r.db'}", args)
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        url, drop = postgres_database(pg)
        try:
            figures["postgres"] = run_one("postgres", url, args)
        finally:
            drop()
    figures["date"] = date.today().isoformat()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
