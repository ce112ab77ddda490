"""The legal inspection's report over a large appeal log, and the Excel export's cost.

    python bench/stats.py [--appeals 1000000] [--members 100000] [--rounds 5]
    TEST_DATABASE_URL=postgresql://... python bench/stats.py   # SQLite and PostgreSQL

For each database: a fresh one (a SQLite file; a PostgreSQL database of its own, created and
dropped, when TEST_DATABASE_URL is set) is filled by `python -m bot demo-data` (two years of
synthetic appeals with outcomes and ratings; --no-conversations unless --conversations).
Then, each in a process of its own so one step's memory does not hide another's:

- report: bot.report.figures.build_report for the last 365 days with the 365 days before as
  the previous period, so every appeal of the two years is read: one cold run, then
  --rounds warm runs (median and worst reported); and the same for one organisation;
- export: the Excel workbook (summary, by region, by topic, by month and the anonymised
  register) for the whole two years, so the register has every appeal; time, rows and
  peak resident memory of that process (ru_maxrss), and the file's size.

Targets: report <= 1 s on SQLite, <= 0.5 s on PostgreSQL; export peak < 300 MB.
Prints its figures last as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common import ROOT, postgres_database

TZ = ZoneInfo("Asia/Almaty")


def _periods() -> dict[str, Any]:
    """The annual report (the last twelve whole months: the tally answers), a rolling 365
    days (part months at both ends of both periods are read from the appeal log), and two
    years for the export, so its register holds every appeal."""
    from bot.report.period import Period

    today = datetime.now(TZ).date()
    this_month = today.replace(day=1)
    last_month_end = this_month - timedelta(days=1)
    year_start = (this_month - timedelta(days=365)).replace(day=1)
    if (last_month_end.year - year_start.year) * 12 + last_month_end.month - year_start.month < 11:
        year_start = (year_start - timedelta(days=1)).replace(day=1)
    return {
        "year": Period(year_start, last_month_end),
        "rolling": Period(today - timedelta(days=364), today),
        "two_years": Period(today - timedelta(days=729), today),
    }


async def child_report(url: str, rounds: int) -> dict[str, Any]:
    from bot.report.figures import build_report
    from bot.storage.db import create_engine, create_session_factory
    from bot.topics import default_member_orgs

    orgs = default_member_orgs()
    periods = _periods()
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    out: dict[str, Any] = {
        "year": periods["year"].as_json(),
        "previous_year": periods["year"].previous().as_json(),
    }
    cases = (
        ("union_year", periods["year"], None),
        ("union_rolling_365_days", periods["rolling"], None),
        ("one_org_year", periods["year"], ["almaty"]),
    )
    for label, period, scope in cases:
        times = []
        report = None
        for _ in range(rounds + 1):
            async with sessions() as session:
                started = time.perf_counter()
                report = await build_report(session, period, orgs=scope, tz=TZ, member_orgs=orgs)
                times.append(time.perf_counter() - started)
        assert report is not None
        ind = report.current.indicators
        out[label] = {
            "cold_s": round(times[0], 3),
            "median_s": round(statistics.median(times[1:]), 3),
            "max_s": round(max(times[1:]), 3),
            "appeals_read": ind["appeals_received"]
            + report.previous.indicators["appeals_received"],
            "considered": ind["appeals_considered"],
        }
    await engine.dispose()
    return out


async def child_export(url: str, path: Path) -> dict[str, Any]:
    from bot.faq.content import load_faq
    from bot.report.excel import write_workbook
    from bot.report.figures import build_report
    from bot.report.register import register_rows
    from bot.storage.db import create_engine, create_session_factory
    from bot.topics import default_member_orgs

    orgs = default_member_orgs()
    faq = load_faq()  # titles of the answers that help least, loaded before the clock starts
    two_years = _periods()["two_years"]
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        started = time.perf_counter()
        report = await build_report(session, two_years, orgs=None, tz=TZ, member_orgs=orgs)
        register = register_rows(session, two_years, None, TZ)
        rows = await write_workbook(report, register, path, orgs, faq=faq)
        seconds = time.perf_counter() - started
    await engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": round(seconds, 1),
        "register_rows": rows,
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def _child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _fill(url: str, appeals: int, members: int, conversations: bool) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "bot", "demo-data", "--members", str(members)]
    command += ["--appeals", str(appeals), "--seed", "1"]
    if not conversations:
        command.append("--no-conversations")
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"demo-data failed: {done.stderr[-2000:]}")
    return {"seconds": round(time.perf_counter() - started, 1)}


def run_one(kind: str, url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"fill": _fill(url, args.appeals, args.members, args.conversations)}
    result["report"] = _child(["--child", "report", "--url", url, "--rounds", str(args.rounds)])
    if not args.no_export:
        xlsx = workdir / f"{kind}.xlsx"
        result["export"] = _child(["--child", "export", "--url", url, "--out", str(xlsx)])
        result["export"]["file_mb"] = round(xlsx.stat().st_size / 2**20, 1)
        xlsx.unlink(missing_ok=True)
    print(f"{kind}: {json.dumps(result)}", file=sys.stderr)
    return result


def main() -> int:
    from bot import compat

    compat.start()  # before anything imports aiogram, as `python -m bot` starts
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--conversations", action="store_true")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--child", choices=["report", "export"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "report":
        print(json.dumps(asyncio.run(child_report(args.url, args.rounds))))
        return 0
    if args.child == "export":
        print(json.dumps(asyncio.run(child_export(args.url, args.out))))
        return 0

    figures: dict[str, Any] = {"appeals": args.appeals, "members": args.members}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        figures["sqlite"] = run_one(
            "sqlite", f"sqlite+aiosqlite:///{workdir / 'bench.db'}", args, workdir
        )
        pg = os.environ.get("TEST_DATABASE_URL")
        if pg:
            url, drop = postgres_database(pg)
            try:
                figures["postgres"] = run_one("postgres", url, args, workdir)
            finally:
                drop()
    figures["date"] = date.today().isoformat()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
