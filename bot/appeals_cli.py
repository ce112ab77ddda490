"""python -m bot appeals import FILE.csv: a region's paper register into the appeal log
(bot/services/appeal_import.py), so the report counts the appeals from before the bot.

Exit codes: 0 imported (one summary line); 2 the file is bad or unreadable (one line per
problem, then one saying nothing was imported); 1 refused because the same file was
imported before, or the database failed. Never imports aiogram.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.services.appeal_import import COLUMNS, REQUIRED

WIDTH = 88
DESCRIPTION = (
    "Bring a region's paper register of appeals (the years before the bot) into the appeal "
    "log, so the legal inspection's report counts them. The file is UTF-8 CSV (Excel's "
    "“CSV UTF-8”, with or without a byte order mark), separated by semicolons or commas, "
    "with a header line naming the columns below in any order; optional columns may be "
    "left out. Every appeal is stored closed, with its outcome. A file with any bad line is "
    "refused as a whole, every bad line named; the same file is refused a second time."
)


def columns_help() -> str:
    width = max(len(name) for name in COLUMNS)
    lines = ["columns:"]
    lines += [f"  {name:<{width}}  {what}" for name, what in COLUMNS.items()]
    lines += [
        "",
        textwrap.fill(
            "1/0 columns also take yes/no, да/нет, иә/жоқ; an empty cell is 0 (no), except "
            f"justified and court_won (not known). Required: {', '.join(REQUIRED)}. Example:",
            WIDTH,
        ),
        "  received;org;channel;topic;workplace;consultation;justified;court;court_won;"
        "money_returned_kzt;closed;name",
        "  14.02.2022;karaganda;written;pay;school;1;1;0;;85000;03.03.2022;",
    ]
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    appeals = sub.add_parser("appeals", help="the appeal log: import a paper register")
    appeals_sub = appeals.add_subparsers(dest="appeals_command", required=True)
    load = appeals_sub.add_parser(
        "import",
        help="import a region's paper register of appeals from a CSV file",
        description=textwrap.fill(DESCRIPTION, WIDTH),
        epilog=columns_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    load.add_argument("file", type=Path, help="the register, a CSV file")


def _fail(code: int, line: str) -> int:
    print(f"appeals import: {line}", file=sys.stderr)
    return code


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


async def import_command(args: argparse.Namespace) -> int:
    from bot.config import ToolSettings, settings_error_line
    from bot.services.appeal_import import ImportRefused, import_register, read_register
    from bot.storage.models import utcnow
    from bot.topics import MemberOrgs

    path: Path = args.file
    try:
        settings = ToolSettings()
    except Exception as exc:
        print(settings_error_line(exc), file=sys.stderr)
        return 2
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        return _fail(2, f"cannot read {path}: {exc.strerror or type(exc).__name__}")
    try:
        orgs = MemberOrgs.load(settings.member_orgs_file)
    except Exception as exc:
        return _fail(2, f"cannot read {settings.member_orgs_file}: {_first_line(exc)}")
    tz = ZoneInfo(settings.timezone)
    register = read_register(data, orgs=set(orgs.by_id), today=utcnow().astimezone(tz).date())
    if register.problems:
        for problem in register.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        return _fail(2, f"nothing imported: {len(register.problems)} bad line(s) in {path}")

    from sqlalchemy.exc import IntegrityError

    from bot.storage.db import create_engine, create_session_factory
    from bot.storage.migrate import upgrade

    try:
        engine = create_engine(settings.database_url)
    except Exception as exc:
        return _fail(1, f"DATABASE_URL is not usable: {_first_line(exc)}")
    where = engine.url.render_as_string(hide_password=True)
    try:
        await upgrade(engine)
        # The app's sessions: the report's running tally counts every appeal stored.
        async with create_session_factory(engine, tz)() as session:
            stored = await import_register(session, register, tz=tz)
            await session.commit()
    except ImportRefused as exc:
        return _fail(1, f"{path} was imported before ({exc.earlier}): nothing imported")
    except IntegrityError:
        return _fail(1, f"{path} is being imported by another run: nothing imported")
    except Exception as exc:
        return _fail(1, f"database error at {where}: {_first_line(exc)}")
    finally:
        await engine.dispose()
    print(f"imported {stored} appeals from {path}: {register.summary()}; all closed")
    return 0
