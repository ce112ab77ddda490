"""python -m bot stats --from DATE --to DATE [--org ID] --format json|csv|xlsx [--out FILE]

Exit codes: 0 done; 2 bad input (dates, organisation, options); 1 the database failed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.config import ToolSettings
from bot.report.figures import Report, build_report, change_pct
from bot.report.labels import INDICATORS, translate
from bot.report.period import Period, PeriodError
from bot.topics import MemberOrgs, topic_title

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.faq.content import Faq


def _fail(code: int, line: str) -> int:
    print(f"stats: {line}", file=sys.stderr)
    return code


async def stats_command(args: argparse.Namespace) -> int:
    try:
        settings = ToolSettings()
    except Exception as exc:
        return _fail(2, f"bad setting: {exc}".splitlines()[0])
    try:
        period = Period.parse(args.date_from, args.date_to)
    except PeriodError as exc:
        return _fail(2, str(exc))
    orgs = MemberOrgs.load(settings.member_orgs_file)
    if args.org is not None and args.org not in orgs.by_id:
        known = ", ".join(o.id for o in orgs.orgs)
        return _fail(2, f"unknown member organisation {args.org!r}; known: {known}")
    if args.format == "xlsx" and args.out is None:
        return _fail(2, "--format xlsx needs --out FILE")

    from sqlalchemy.engine import make_url

    from bot.storage.db import create_engine, create_session_factory, normalise_url

    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() == "sqlite" and not _is_file(url.database or ""):
        return _fail(1, f"no database at {url.database}: set DATABASE_URL")

    tz = ZoneInfo(settings.timezone)
    scope = [args.org] if args.org else None
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine, tz)() as session:
            report = await build_report(session, period, orgs=scope, tz=tz, member_orgs=orgs)
            if args.format == "xlsx":
                from bot.report.excel import write_workbook
                from bot.report.register import register_rows

                faq = await _faq(session, settings)
                rows = register_rows(session, period, scope, tz)
                written = await write_workbook(report, rows, args.out, orgs, faq=faq)
                print(f"wrote {args.out}: the report and {written} appeals in the register")
                return 0
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _fail(1, f"database error at {engine.url.render_as_string()}: {first}")
    finally:
        await engine.dispose()

    text = (
        json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n"
        if args.format == "json"
        else report_csv(report, args.lang, orgs)
    )
    _write_text(text, args.out)
    return 0


async def _faq(session: AsyncSession, settings: ToolSettings) -> Faq | None:
    """The FAQ members read, for the answers' titles: the live content in the database;
    before the bot's first start, the shipped YAML; None if that is invalid (ids then)."""
    from bot.faq.content import FaqError, load_faq
    from bot.storage import faq as store

    if await store.has_content(session):
        return await store.load_tree(session)
    try:
        return load_faq(settings.faq_dir)
    except FaqError:
        return None


def _is_file(path: str) -> bool:
    return Path(path).is_file()


def _write_text(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def report_csv(report: Report, lang: str, orgs: MemberOrgs) -> str:
    """One table: section, key, name, value, previous value, change in percent."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["section", "key", "name", "value", "previous", "change_pct"])
    cur, prev = report.current, report.previous

    def row(section: str, key: str, name: str, value: Any, before: Any) -> None:
        change = change_pct(value, before) if before is not None else None
        out.writerow([section, key, name, _cell(value), _cell(before), _cell(change)])

    out.writerow(["period", "from", "", report.period.first, report.previous_period.first, ""])
    out.writerow(["period", "to", "", report.period.last, report.previous_period.last, ""])
    for _number, key, msgid in INDICATORS:
        row("indicator", key, translate(msgid, lang), cur.indicators[key], prev.indicators[key])
    for topic, counts in cur.by_topic.items():
        before = prev.by_topic.get(topic, {}).get("received", 0)
        row("topic", topic, topic_title(topic, lang), counts.get("received", 0), before)
    for org, counts in cur.by_org.items():
        before = prev.by_org.get(org, {}).get("received", 0)
        row("org", org, orgs.title(org, lang), counts.get("received", 0), before)
    for month, counts in cur.by_month.items():
        row("month", month, month, counts.get("received", 0), None)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
