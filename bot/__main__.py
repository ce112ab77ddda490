"""python -m bot [run | db upgrade | db backup FILE | faq … | stats | appeals import FILE |
demo-data …]"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bot import compat
from bot.appeals_cli import add_parser as add_appeals_parser
from bot.config import Settings, ToolSettings
from bot.faq.content import CONTENT_DIR

S = TypeVar("S", bound=ToolSettings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Qorgau, the union's Telegram bot."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or migrate the database to the latest schema")
    backup = db_sub.add_parser(
        "backup",
        help="copy the SQLite database to FILE while the bot runs (online backup)",
        description="Copy the SQLite database while the bot runs (online backup). FILE may be "
        "a directory (existing, or written with a trailing /): the copy is then named after "
        "the database and the time in UTC, e.g. qorgau-20261203T033000Z.db, and only the "
        "newest BACKUP_KEEP (default 7) copies of that name are kept there; other files are "
        "never touched. For PostgreSQL use pg_dump.",
    )
    backup.add_argument("file", help="the copy's file name, or a directory")
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    faq = sub.add_parser("faq", help="FAQ content tasks")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True)
    check = faq_sub.add_parser("check", help="validate the FAQ content; non-zero exit on problems")
    check.add_argument("--dir", type=Path, default=CONTENT_DIR, help="content directory")
    export = faq_sub.add_parser(
        "export", help="write the live FAQ (from the database) as YAML files into DIR"
    )
    export.add_argument("dir", type=Path, help="directory for the YAML files")
    load = faq_sub.add_parser(
        "import",
        help="load YAML files from DIR into the live FAQ (refused if invalid; sign-offs of "
        "unchanged answers kept)",
    )
    load.add_argument("dir", type=Path, help="directory with one YAML file per topic")
    search = faq_sub.add_parser("search", help="print the best FAQ hits for a question")
    search.add_argument(
        "--lang", choices=["kk", "ru"], default="kk", help="language of the titles shown"
    )
    search.add_argument("--json", action="store_true", help="one JSON list of hits per query")
    search.add_argument("--limit", type=int, default=3, help="hits per query (default 3)")
    search.add_argument("--dir", type=Path, default=CONTENT_DIR, help="content directory")
    search.add_argument(
        "query", nargs="*", help="the question; without it, one per line from stdin"
    )
    stats = sub.add_parser(
        "stats", help="the legal inspection's report for a period (JSON, CSV or Excel)"
    )
    stats.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
    stats.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
    stats.add_argument("--org", help="one member organisation id (default: the whole union)")
    stats.add_argument("--format", choices=["json", "csv", "xlsx"], default="json")
    stats.add_argument("--lang", choices=["kk", "ru"], default="ru", help="CSV row names")
    stats.add_argument("--out", type=Path, help="output file (default: standard output)")
    add_appeals_parser(sub)
    demo = sub.add_parser(
        "demo-data", help="fill the database with synthetic members, appeals and outcomes"
    )
    demo.add_argument("--members", type=int, required=True, help="number of members")
    demo.add_argument("--appeals", type=int, required=True, help="number of appeals")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument(
        "--no-conversations",
        action="store_true",
        help="skip appeal messages and FAQ events (faster, for benchmarks)",
    )
    demo.add_argument(
        "--force", action="store_true", help="write even if the database holds real members"
    )
    args = parser.parse_args(argv)

    if args.command == "faq" and args.faq_command in ("check", "search"):
        return faq_check(args.dir) if args.faq_command == "check" else faq_search(args)
    if args.command == "db" and args.db_command == "backup":
        # A directory: an existing one, or one named with a trailing separator.
        into = Path(args.file).is_dir() or args.file.endswith(("/", os.sep))
        return db_backup(Path(args.file), args.force, into=into)
    if args.command == "db":
        return run_async(db_upgrade())
    if args.command == "appeals":
        from bot.appeals_cli import import_command

        return run_async(import_command(args))
    # The commands above never import aiogram; the rest do. Before anything imports it: its
    # Telegram types are then built on first use.
    if args.command in (None, "run"):
        settings = load_settings(Settings)  # a configuration error before the long imports
        compat.start()
        return run_async(run_bot(settings))
    compat.start()
    if args.command == "stats":
        from bot.report.cli import stats_command

        return run_async(stats_command(args))
    if args.command == "demo-data":
        from bot.demo import demo_command

        return run_async(demo_command(args))
    from bot.faq.cli import faq_export, faq_import  # faq export, faq import

    task = faq_export if args.faq_command == "export" else faq_import
    return run_async(task(load_settings(ToolSettings), args.dir))


def load_settings(kind: type[S]) -> S:
    """The bot's settings, or the tools' (no BOT_TOKEN needed); one line and exit 2 if bad."""
    from bot.config import settings_error_line

    try:
        return kind()
    except Exception as exc:
        print(settings_error_line(exc), file=sys.stderr)
        raise SystemExit(2) from None


def faq_check(directory: Path) -> int:
    from bot.faq.content import check_faq

    faq, problems = check_faq(directory)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    print(f"ok: {len(faq.topics)} topics, {len(faq.answers)} answers, {len(faq.nodes)} nodes")
    return 0


def faq_search(args: argparse.Namespace) -> int:
    from bot.faq.content import FaqError, load_faq
    from bot.faq.search import FaqIndex

    try:
        index = FaqIndex(load_faq(args.dir))
    except FaqError as exc:
        print(
            f"the FAQ content is invalid ({len(exc.problems)} problems): "
            "run python -m bot faq check",
            file=sys.stderr,
        )
        return 1
    queries = (
        [" ".join(args.query)]
        if args.query
        else [line.strip() for line in sys.stdin if line.strip()]
    )
    for query in queries:
        hits = index.search(query, limit=max(1, args.limit))
        if args.json:
            print(json.dumps([h.as_json(args.lang) for h in hits], ensure_ascii=False))
            continue
        print(f"? {query}")
        if not hits:
            print("  (no hits)")
        for hit in hits:
            title = hit.node.title_in(args.lang)
            print(f"  {hit.score:7.3f}  {hit.node.topic:<20} {hit.node.id:<40} {title}")
    return 0


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    try:
        return int(asyncio.run(coro) or 0)
    except KeyboardInterrupt:
        return 0


def db_backup(target: Path, force: bool, *, into: bool = False) -> int:
    from bot.storage.backup import BackupError, backup, backup_into

    settings = load_settings(ToolSettings)
    try:
        if into:
            rotated = backup_into(
                settings.database_url, target, keep=settings.backup_keep, overwrite=force
            )
            target, size = rotated.copy, rotated.size
        else:
            size = backup(settings.database_url, target, overwrite=force)
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 2 if "pg_dump" in str(exc) or "exists" in str(exc) else 1
    print(f"backup written: {target} ({size / 1e6:.1f} MB)")
    if into:
        print(
            f"older copies removed: {len(rotated.removed)}; "
            f"the newest {settings.backup_keep} are kept (BACKUP_KEEP)"
        )
    return 0


async def db_upgrade() -> int:
    from bot.storage.db import create_engine
    from bot.storage.migrate import upgrade

    settings = load_settings(ToolSettings)
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    except Exception as exc:
        print(
            f"database error: cannot migrate {engine.url.render_as_string()}: {exc}",
            file=sys.stderr,
        )
        return 1
    finally:
        await engine.dispose()
    print("database is up to date")
    return 0


async def run_bot(settings: Settings) -> int:
    from bot.logs import configure
    from bot.runner import run

    configure(settings.log_level)  # no member's words or database values in it: bot/logs.py
    return await run(settings)


if __name__ == "__main__":
    raise SystemExit(main())
