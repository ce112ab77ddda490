"""python -m bot demo-data: synthetic members, appeals and outcomes on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.__main__ import main
from bot.demo import DemoRefused, DemoSummary, fill_demo
from bot.demo.parameters import BOT_SHARE
from bot.faq.content import Faq, Node
from bot.services.logged import logged_person
from bot.storage.migrate import upgrade
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealStatus,
    FaqEvent,
    Feedback,
    Member,
    ReportTallyState,
    Staff,
    StaffRole,
)
from bot.topics import MemberOrg, MemberOrgs, default_member_orgs
from tests.databases import KINDS, database

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)


async def fresh(engine: AsyncEngine) -> AsyncEngine:
    await upgrade(engine)
    return engine


async def count(engine: AsyncEngine, what: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(what).where(*where)) or 0)


async def appeals(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(Appeal.__table__).order_by(Appeal.id)))


async def figures(engine: AsyncEngine) -> dict[str, Any]:
    """Aggregates that identify a run, whatever the ids the database gave."""
    rows = await appeals(engine)
    async with engine.connect() as conn:
        events = await grouped(conn, FaqEvent.kind)
        sides = await grouped(conn, AppealMessage.side)
        langs = await grouped(conn, Member.language)
        feedback = await conn.scalar(select(func.count()).select_from(Feedback))
    return {
        "topics": Counter(r.topic for r in rows),
        "statuses": Counter(r.status for r in rows),
        "orgs": Counter(r.member_org for r in rows),
        "created": [r.created_at for r in rows],
        "closed": sorted(r.closed_at for r in rows if r.closed_at),
        "ratings": Counter(r.rating for r in rows),
        "money": sum(r.money_returned_kzt for r in rows),
        "effect": sum(r.economic_effect_kzt for r in rows),
        "inspections": sum(r.outcome_inspection for r in rows),
        "violations": sum(r.violations_found for r in rows),
        "justified": Counter(r.outcome_justified for r in rows),
        "events": events,
        "sides": sides,
        "languages": langs,
        "feedback": feedback,
    }


async def grouped(conn: AsyncConnection, column: Any) -> dict[Any, int]:
    return {k: int(v) for k, v in await conn.execute(select(column, func.count()).group_by(column))}


def share(rows: list[Any], test: Any) -> float:
    return sum(1 for r in rows if test(r)) / len(rows)


@pytest.mark.parametrize("kind", KINDS)
async def test_small_run(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as engine:
        await fresh(engine)
        summary = await fill_demo(engine, members=200, appeals=2000, seed=7, now=NOW)

        # Counts: what the summary says is what is there.
        assert summary.members == 200 and summary.appeals == 2000
        # The members, and a person row for each written or oral appeal.
        assert await count(engine, Member) == 200 + summary.logged
        assert await count(engine, Member, logged_person()) == summary.logged
        assert await count(engine, Appeal, Appeal.channel != "electronic") == summary.logged
        assert await count(engine, Member, Member.telegram_id >= 0) == 0
        assert await count(engine, Staff, Staff.role == StaffRole.LAWYER) == 46
        assert await count(engine, Staff, Staff.role == StaffRole.HEAD_LAWYER) == 1
        assert summary.staff_created == 47
        assert await count(engine, AppealMessage) == summary.messages > 2000 * BOT_SHARE
        assert await count(engine, FaqEvent) == summary.faq_events > 2000 * BOT_SHARE * 10
        assert await count(engine, Feedback) == summary.feedback == 8

        async with engine.connect() as conn:
            members = list(await conn.execute(select(Member.__table__)))
            lawyer_orgs = {
                sid: orgs for sid, orgs in await conn.execute(select(Staff.id, Staff.member_orgs))
            }
            messages = list(
                await conn.execute(select(AppealMessage.__table__).order_by(AppealMessage.id))
            )
            misses = (
                await conn.execute(
                    select(FaqEvent.kind, func.count())
                    .where(FaqEvent.kind == "led-to-appeal")
                    .group_by(FaqEvent.kind)
                )
            ).all()
        people = {m.id: m for m in members if m.member_org is None}
        members = [m for m in members if m.member_org is not None]
        assert len(members) == 200
        assert {m.consent_version for m in members} == {"1"}
        assert {m.full_name for m in [*members, *people.values()]} == {None}
        assert 0.5 < share(members, lambda m: m.language == "kk") < 0.72
        assert set(Counter(m.member_org for m in members)) <= set(default_member_orgs().by_id)
        for m in people.values():  # as /log makes them: nobody the bot can reach
            assert m.telegram_id == -m.id and not m.active and m.consent_at is None

        rows = await appeals(engine)
        assert len(rows) == 2000 == summary.appeals
        assert summary.open_appeals == sum(1 for r in rows if r.status != AppealStatus.CLOSED)
        logged = [r for r in rows if r.channel != "electronic"]
        bot_rows = [r for r in rows if r.channel == "electronic"]
        # One person row each; a lawyer from the start; nothing of the bot's own.
        assert sorted(r.member_id for r in logged) == sorted(people)
        for r in logged:
            assert r.status in (AppealStatus.CLAIMED, AppealStatus.CLOSED)
            assert r.claimed_by is not None and r.claimed_at == r.created_at
            assert r.first_answer_at is None and r.last_lawyer_at is None
            assert None is r.notified_at is r.sla_half_at is r.sla_breached_at
            assert r.rating is None and r.reopened_at is None and not r.hide_from_employer
            assert r.source == "direct" and r.faq_node is None

        # Every timestamp aware, in order, never in the future.
        for r in rows:
            stamps = [r.created_at, r.claimed_at, r.first_answer_at, r.closed_at]
            present = [s for s in stamps if s is not None]
            assert all(s.tzinfo is not None for s in present)
            assert present == sorted(present) and present[-1] <= NOW
            for extra in (r.notified_at, r.sla_half_at, r.sla_breached_at, r.last_lawyer_at):
                assert extra is None or r.created_at <= extra <= NOW
            if r.reopened_at is not None:
                assert r.first_answer_at <= r.reopened_at <= (r.closed_at or NOW)
                assert r.reopen_count == 1
            if r.sla_breached_at is not None:
                assert r.first_answer_at is None or r.sla_breached_at <= r.first_answer_at

        # Lifecycle: consistent fields per status.
        closed = [r for r in rows if r.status == AppealStatus.CLOSED]
        assert 0.93 < len(closed) / len(rows) < 0.99
        for r in rows:
            if r.status == AppealStatus.QUEUED:
                assert r.claimed_by is None and r.claimed_at is None and r.first_answer_at is None
            elif r.status == AppealStatus.CLAIMED:
                assert r.claimed_by is not None and r.first_answer_at is None
            elif r.status == AppealStatus.ANSWERED:
                assert r.claimed_by is not None and r.first_answer_at is not None
            elif r.status == AppealStatus.REOPENED:
                assert r.claimed_by is None and r.reopened_at is not None
            else:
                assert None not in (r.claimed_by, r.claimed_at, r.closed_at)
                assert (r.first_answer_at is None) == (r.channel != "electronic")
            if r.status != AppealStatus.CLOSED:
                assert r.closed_at is None and r.rating is None
                assert not (r.outcome_consultation or r.outcome_inspection)
            if r.claimed_by is not None:
                orgs = lawyer_orgs[r.claimed_by]
                assert orgs in ([], [r.member_org])  # the head lawyer covers all
        assert 0.005 < share(bot_rows, lambda r: r.sla_breached_at is not None) < 0.08

        # What they are about and how they came.
        topics = Counter(r.topic for r in rows)
        assert topics.most_common(1)[0][0] == "pay"
        assert 0.25 < topics["pay"] / len(rows) < 0.35
        assert 0.32 < share(bot_rows, lambda r: r.source == "faq-miss") < 0.48
        assert all(r.faq_node for r in rows if r.source == "faq-miss")
        assert all(r.faq_node is None for r in rows if r.source == "direct")
        # The assumed channel mix (parameters.CHANNEL_SHARES): 20 / 45 / 35 %.
        assert 0.17 < share(rows, lambda r: r.channel == "electronic") < 0.23
        assert 0.41 < share(rows, lambda r: r.channel == "written") < 0.49
        assert 0.31 < share(rows, lambda r: r.channel == "oral") < 0.39
        assert 0.22 < share(bot_rows, lambda r: r.hide_from_employer) < 0.38
        assert misses == [("led-to-appeal", sum(1 for r in rows if r.source == "faq-miss"))]

        # Outcomes, against the union's 2024 proportions.
        assert 0.65 < share(closed, lambda r: r.outcome_consultation) < 0.75
        assert 0.30 < share(closed, lambda r: r.outcome_justified is True) < 0.40
        assert 0.20 < share(closed, lambda r: r.outcome_justified is False) < 0.30
        assert 0.008 < share(closed, lambda r: r.outcome_conciliation) < 0.04
        assert share(closed, lambda r: r.outcome_court) < 0.01
        assert share(closed, lambda r: r.outcome_mediation) < 0.015
        assert 0.055 < share(closed, lambda r: r.outcome_inspection) < 0.1
        assert 0.01 < share(closed, lambda r: r.outcome_outside_competence) < 0.05
        for r in rows:
            assert (r.outcome_court_won is not None) == r.outcome_court
            assert not r.outcome_reinstated or r.topic == "dismissal"
            assert (r.violations_found > 0) == r.outcome_inspection
            assert 0 <= r.violations_remedied <= r.violations_found <= 4
            assert r.economic_effect_kzt >= r.money_returned_kzt >= 0
            if r.money_returned_kzt:
                assert r.topic in ("pay", "social", "leave")
                assert 20_000 <= r.money_returned_kzt <= 900_000
                assert r.money_returned_kzt % 100 == 0
                assert r.outcome_justified is True
        inspected = [r for r in closed if r.outcome_inspection]
        assert 1.4 < sum(r.violations_found for r in inspected) / len(inspected) < 2.3

        # Ratings.
        assert {r.rating for r in rows} <= {None, 1, 2, 3, 4, 5}
        rated = [r for r in closed if r.rating is not None]
        closed_in_bot = [r for r in closed if r.channel == "electronic"]
        assert 0.58 < len(rated) / len(closed_in_bot) < 0.72
        assert share(rated, lambda r: r.rating == 5) > 0.45
        assert all(r.rating is not None for r in rows if r.rating_comment)

        # Conversations: in thread order, the member's text first, lawyers of the appeal.
        by_appeal: dict[int, list[Any]] = defaultdict(list)
        for m in messages:
            by_appeal[m.appeal_id].append(m)
        assert set(by_appeal) >= {r.id for r in bot_rows}
        for r in logged:  # at most the lawyer's notes
            assert {m.side for m in by_appeal.get(r.id, [])} <= {"note"}
        for r in bot_rows:
            thread = by_appeal[r.id]
            assert thread[0].side == "member" and thread[0].sent_at == r.created_at
            assert [m.sent_at for m in thread] == sorted(m.sent_at for m in thread)
            assert thread[-1].sent_at <= NOW
            lawyers = [m for m in thread if m.side == "lawyer"]
            assert bool(lawyers) == (r.first_answer_at is not None)
            if lawyers:
                assert lawyers[0].sent_at == r.first_answer_at
                assert lawyers[-1].sent_at == r.last_lawyer_at
            for m in thread:
                assert (m.author_staff_id is None) == (m.side == "member")


@pytest.mark.parametrize("kind", KINDS)
async def test_same_seed_same_data(kind: str, tmp_path: Path) -> None:
    """A seed gives the same data on either database; another seed gives other data."""
    results = []
    for where, other_kind, seed in (("a", kind, 3), ("b", "sqlite", 3), ("c", "sqlite", 4)):
        (tmp_path / where).mkdir()
        async with database(other_kind, tmp_path / where) as engine:
            await fresh(engine)
            summary = await fill_demo(engine, members=60, appeals=300, seed=seed, now=NOW)
            results.append((summary, await figures(engine)))
    assert results[0] == results[1]
    assert results[0][1]["created"] != results[2][1]["created"]


@pytest.mark.parametrize("kind", KINDS)
async def test_refuses_real_members_and_reuses_its_lawyers(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as engine:
        await fresh(engine)
        first = await fill_demo(engine, members=20, appeals=50, conversations=False, now=NOW)
        assert first == DemoSummary(
            members=20,
            appeals=50,
            open_appeals=first.open_appeals,
            logged=first.logged,
            staff_created=47,
            feedback=0,
        )
        assert 0 < first.logged < 50
        async with engine.begin() as conn:
            await conn.execute(
                insert(Member),
                [{"telegram_id": 4242, "language": "ru", "created_at": NOW}],
            )
            # A report built its running tally meanwhile.
            await conn.execute(
                insert(ReportTallyState), [{"id": 1, "timezone": "Asia/Almaty", "built_at": NOW}]
            )
        with pytest.raises(DemoRefused):
            await fill_demo(engine, members=20, appeals=50, now=NOW)
        assert await count(engine, Member) == 21 + first.logged
        assert await count(engine, Appeal) == 50
        assert await count(engine, ReportTallyState) == 1

        again = await fill_demo(engine, members=20, appeals=50, force=True, seed=2, now=NOW)
        assert again.staff_created == 0 and await count(engine, Staff) == 47
        # Appeals written past the ORM: the tally is to be rebuilt by the next report.
        assert await count(engine, ReportTallyState) == 0
        people = first.logged + again.logged
        assert await count(engine, Member, Member.telegram_id < 0) == 40 + people
        assert await count(engine, Member, logged_person()) == people
        assert await count(engine, Appeal) == 100
        async with engine.connect() as conn:
            ids = list(
                await conn.scalars(
                    select(Member.telegram_id)
                    .where(Member.member_org.is_not(None) | (Member.telegram_id > 0))
                    .order_by(Member.id)
                )
            )
        assert ids[:20] == list(range(-1, -21, -1))
        lowest = -(20 + first.logged)  # the first run's last person row
        assert ids[20] == 4242 and ids[21:] == list(range(lowest - 1, lowest - 21, -1))
        # The application's own inserts still get fresh ids afterwards.
        async with engine.begin() as conn:
            await conn.execute(
                insert(Member),
                [{"telegram_id": 4243, "language": "kk", "created_at": NOW}],
            )
        assert await count(engine, Member) == 42 + people


async def test_bad_sizes_are_refused(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as engine:
        await fresh(engine)
        for members, number in ((-1, 5), (5, -1), (0, 5)):
            with pytest.raises(ValueError):
                await fill_demo(engine, members=members, appeals=number)
        empty = await fill_demo(engine, members=0, appeals=0, now=NOW)
        assert empty.members == empty.appeals == empty.feedback == 0


def cli(*args: str) -> int:
    return main(["demo-data", *args])


def test_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db}")

    for bad in (["--members", "-1", "--appeals", "5"], ["--members", "0", "--appeals", "5"]):
        assert cli(*bad) == 2
        out = capsys.readouterr()
        assert out.out == "" and len(out.err.strip().splitlines()) == 1

    assert cli("--members", "30", "--appeals", "100", "--seed", "5") == 0
    out = capsys.readouterr()
    assert len(out.out.strip().splitlines()) == 1 and "100 appeals" in out.out
    assert out.err == ""

    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO member (telegram_id, language, news_opt_out, active, created_at) "
            "VALUES (777, 'kk', 0, 1, '2026-01-01 00:00:00.000000')"
        )
    assert cli("--members", "30", "--appeals", "100") == 1
    out = capsys.readouterr()
    assert out.out == "" and "--force" in out.err and len(out.err.strip().splitlines()) == 1

    assert cli("--members", "10", "--appeals", "10", "--no-conversations", "--force") == 0
    capsys.readouterr()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM appeal").fetchone() == (110,)
        logged = conn.execute("SELECT COUNT(*) FROM appeal WHERE channel != 'electronic'")
        members = conn.execute("SELECT COUNT(*) FROM member WHERE member_org IS NOT NULL")
        assert members.fetchone() == (40,)
        people = conn.execute(
            "SELECT COUNT(*) FROM member WHERE member_org IS NULL AND telegram_id < 0"
        )
        assert people.fetchone() == logged.fetchone()


@pytest.mark.parametrize(
    "url", ["postgresql://nobody@127.0.0.1:1/nothing", "nonsense://what", "sqlite:////proc/x/y.db"]
)
def test_command_line_database_errors(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli("--members", "1", "--appeals", "1") == 1
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert "Traceback" not in out.err


# A fixed FAQ, organisations and days off, so that what the pin below sees depends on the
# generator alone, not on the shipped content or the calendar of the year it runs in.
PIN_ORGS = MemberOrgs(
    [
        MemberOrg("almaty", "Алматы", "Алматы", 0),
        MemberOrg("astana", "Астана", "Астана", 0),
        MemberOrg("abai", "Абай", "Абай", 0),
    ]
)


PIN_DAYS_OFF = frozenset(
    date.fromisoformat(day)
    for day in (
        "2024-07-08",
        "2024-08-30",
        "2024-10-25",
        "2024-12-16",
        "2025-01-01",
        "2025-01-02",
        "2025-03-10",
        "2025-03-21",
        "2025-03-24",
        "2025-05-01",
        "2025-05-07",
        "2025-05-09",
    )
)


def pin_faq() -> Faq:
    nodes = {
        node_id: Node(node_id, {"kk": node_id, "ru": node_id}, topic, answer={"kk": ".", "ru": "."})
        for node_id, topic in (
            ("pay-late", "pay"),
            ("pay-category", "pay"),
            ("pay-rural", "pay"),
            ("leave-pay", "leave"),
            ("dismissal-notice", "dismissal"),
            ("other-tax", "other"),
        )
    }
    return Faq(topics=[], nodes=nodes)


async def table_digest(engine: AsyncEngine) -> dict[str, str]:
    """Every row of every table the generator writes, hashed per table."""
    digests = {}
    async with engine.connect() as conn:
        for model in (Member, Staff, Appeal, AppealMessage, FaqEvent, Feedback):
            rows = await conn.execute(select(model.__table__).order_by(model.id))
            text = "\n".join(repr(tuple(row)) for row in rows)
            digests[model.__tablename__] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return digests


async def test_seed_one_is_pinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed 1 gives exactly these rows: the generator's output does not drift."""
    monkeypatch.setattr("bot.demo.fill.load_holidays", lambda: PIN_DAYS_OFF)
    async with database("sqlite", tmp_path) as engine:
        await fresh(engine)
        summary = await fill_demo(
            engine, members=50, appeals=300, seed=1, now=NOW, orgs=PIN_ORGS, faq=pin_faq()
        )
        rows = await appeals(engine)
        async with engine.connect() as conn:
            first_message = (
                await conn.execute(select(AppealMessage.__table__).order_by(AppealMessage.id))
            ).first()
            first_event = (
                await conn.execute(select(FaqEvent.__table__).order_by(FaqEvent.id))
            ).first()
            first_feedback = (
                await conn.execute(select(Feedback.__table__).order_by(Feedback.id))
            ).first()
        digest = await table_digest(engine)
    assert summary == DemoSummary(
        members=50,
        appeals=300,
        open_appeals=13,
        logged=238,
        staff_created=47,
        messages=183,
        faq_events=840,
        feedback=1,
    )
    first = rows[0]
    assert (first.topic, first.status, first.member_org, first.language, first.channel) == (
        "working-time",
        AppealStatus.CLOSED,
        "abai",
        "kk",
        "written",
    )
    assert first.text == "Жүктемені келісімімсіз көбейтті."
    assert first.created_at == datetime(2024, 6, 18, 15, 12, 0, 197752, tzinfo=UTC)
    assert first.member_id == 51  # the first person row, after the 50 members
    through_bot = next(r for r in rows if r.channel == "electronic")
    assert first_message is not None
    assert (first_message.appeal_id, first_message.side, first_message.text) == (
        through_bot.id,
        "member",
        through_bot.text,
    )
    assert first_message.sent_at == through_bot.created_at
    assert first_event is not None
    assert (first_event.node_id, first_event.kind, first_event.member_id) == (
        "pay-late",
        "not-helped",
        4,
    )
    assert first_feedback is not None
    assert (first_feedback.kind, first_feedback.text) == (
        "suggestion",
        "Добавьте в FAQ больше об отпусках.",
    )
    assert digest == {
        "member": "5a9ac20dd3e36caf",
        "staff": "026b65c939a4c5ae",
        "appeal": "6bc9962b4724ae3b",
        "appeal_message": "90c919dbd1be0083",
        "faq_event": "89e1f46bd34fda83",
        "feedback": "9a0564a52d5e6a8f",
    }
