"""python -m bot demo-data: migrate, fill, rebuild the report's tally, one line out."""

from __future__ import annotations

import argparse
import sys
import time
from zoneinfo import ZoneInfo

from bot.demo.fill import DemoRefused, check_numbers, fill_demo
from bot.faq.content import check_faq
from bot.topics import MemberOrgs


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


async def demo_command(args: argparse.Namespace) -> int:
    """python -m bot demo-data: exit 0 done, 1 refused or database error, 2 bad arguments."""
    from bot.config import ToolSettings, settings_error_line
    from bot.report.tally import rebuild as rebuild_tally
    from bot.storage import appeal_search
    from bot.storage.db import create_engine, create_session_factory
    from bot.storage.migrate import upgrade

    problem = check_numbers(args.members, args.appeals, args.seed)
    if problem:
        print(f"demo-data: {problem}", file=sys.stderr)
        return 2
    try:
        settings = ToolSettings()
    except Exception as exc:
        print(settings_error_line(exc), file=sys.stderr)
        return 2
    try:
        orgs = MemberOrgs.load(settings.member_orgs_file)
    except Exception as exc:
        print(
            f"demo-data: cannot read {settings.member_orgs_file}: {_first_line(exc)}",
            file=sys.stderr,
        )
        return 1
    started = time.perf_counter()
    try:
        engine = create_engine(settings.database_url)
    except Exception as exc:
        print(f"database error: DATABASE_URL is not usable: {_first_line(exc)}", file=sys.stderr)
        return 1
    where = engine.url.render_as_string(hide_password=True)
    try:
        await upgrade(engine)
        faq, _problems = check_faq(settings.faq_dir)  # a broken FAQ: fewer node ids, no more
        summary = await fill_demo(
            engine,
            members=args.members,
            appeals=args.appeals,
            seed=args.seed,
            conversations=not args.no_conversations,
            force=args.force,
            orgs=orgs,
            faq=faq,
        )
        # The report's running tally, from the new log: the first report is fast.
        tally_started = time.perf_counter()
        async with create_session_factory(engine)() as session:
            await rebuild_tally(session, ZoneInfo(settings.timezone))
            await appeal_search.ensure(session)  # /find's words for the new appeals
            await session.commit()
        tally_seconds = time.perf_counter() - tally_started
        if engine.dialect.name == "postgresql":
            # What autovacuum would do some time later: planner statistics and the
            # visibility map for index-only scans, after a bulk load.
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM ANALYZE")
    except DemoRefused:
        print(
            "demo-data: the database holds real members (positive Telegram ids); "
            "use --force to add demo data anyway",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:
        print(f"database error: {where}: {_first_line(exc)}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(
        summary.line(time.perf_counter() - started)
        + f" (the report's tally rebuilt in {tally_seconds:.1f} s)"
    )
    return 0
