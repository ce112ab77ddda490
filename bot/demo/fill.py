"""fill_demo: every demo row drawn from one seed and written, members first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Table, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.appeals import appeal_batch
from bot.demo.days import Days, day_batches
from bot.demo.generator import Generator, default_faq, faq_answers, org_weights
from bot.demo.members import draw_members, member_rows
from bot.demo.parameters import (
    BATCH,
    BOT_SHARE,
    FEEDBACKS,
    HELPFULNESS,
    MAILBOX_SHARE,
    SEARCH_SHOWN,
    SPAN_DAYS,
    VIEWED,
)
from bot.demo.self_service import mailbox_rows, self_service_batch
from bot.demo.staff import ensure_lawyers
from bot.demo.values import zipf
from bot.demo.writing import Parts, reserve_ids, write_all
from bot.faq.content import Faq
from bot.services.calendar import load_holidays
from bot.storage.models import (
    Appeal,
    AppealMessage,
    FaqEvent,
    Feedback,
    Member,
    ReportTallyState,
)
from bot.topics import MemberOrgs, default_member_orgs

APPEALS_TABLE: Table = Appeal.__table__  # type: ignore[assignment]
MEMBERS_TABLE: Table = Member.__table__  # type: ignore[assignment]
MESSAGES_TABLE: Table = AppealMessage.__table__  # type: ignore[assignment]
EVENTS_TABLE: Table = FaqEvent.__table__  # type: ignore[assignment]
FEEDBACK_TABLE: Table = Feedback.__table__  # type: ignore[assignment]


class DemoRefused(Exception):
    """The database holds real members (positive Telegram ids) and force was not given."""


@dataclass
class DemoSummary:
    members: int = 0
    appeals: int = 0
    open_appeals: int = 0
    logged: int = 0  # written and oral appeals, each with a person row of its own
    staff_created: int = 0
    messages: int = 0
    faq_events: int = 0
    feedback: int = 0

    def line(self, seconds: float) -> str:
        return (
            f"demo data: {self.members} members, {self.appeals} appeals "
            f"({self.open_appeals} open, {self.logged} written or oral), "
            f"{self.staff_created} new staff, "
            f"{self.messages} messages, {self.faq_events} FAQ events, "
            f"{self.feedback} mailbox items in {seconds:.1f} s"
        )


def check_numbers(members: int, appeals: int, seed: int = 1) -> str | None:
    """What is wrong with the requested sizes, or None."""
    if members < 0 or appeals < 0:
        return "--members and --appeals must be zero or more"
    if members == 0 and appeals > 0:
        return "appeals need members: give --members 1 or more"
    if seed < 0:
        return "--seed must be zero or more"
    return None


async def fill_demo(
    engine: AsyncEngine,
    *,
    members: int,
    appeals: int,
    seed: int = 1,
    conversations: bool = True,
    force: bool = False,
    now: datetime | None = None,
    orgs: MemberOrgs | None = None,
    faq: Faq | None = None,
) -> DemoSummary:
    """Write demo data; raises DemoRefused if real members exist and not force, ValueError
    on impossible sizes. The schema must be migrated already."""
    problem = check_numbers(members, appeals, seed)
    if problem:
        raise ValueError(problem)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    orgs = orgs or default_member_orgs()
    faq = faq if faq is not None else default_faq()
    days = Days.build(now)
    weights = org_weights(orgs)
    gen = Generator(
        days=days,
        seed=seed,
        org_ids=[o.id for o in orgs.orgs],
        org_weights=weights,
        faq_answers=faq_answers(faq, np.random.default_rng([seed, 1])),
        members=draw_members(np.random.default_rng([seed, 2]), days, members, weights),
    )
    holidays = np.array(sorted(load_holidays()), dtype="datetime64[D]")
    summary = DemoSummary(members=members, appeals=appeals)

    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # a bigger page cache keeps the appeal indexes in memory while growing
            await conn.exec_driver_sql("PRAGMA cache_size = -65536")
            await conn.commit()
        try:
            async with conn.begin():
                real = await conn.scalar(select(Member.id).where(Member.telegram_id > 0).limit(1))
                if real is not None and not force:
                    raise DemoRefused(
                        "the database holds real members (positive Telegram ids); "
                        "demo data would mix with them"
                    )
                lowest = await conn.scalar(select(func.min(Member.telegram_id)))
                tg_base = min(int(lowest or 0), 0)
                # The members, then a person row per written or oral appeal (at most one
                # per appeal: the rest of the reserved ids stay unused).
                gen.members.first_id = await reserve_ids(conn, "member", members + appeals) + 1
                gen.next_person = gen.members.first_id + members
                first_appeal = await reserve_ids(conn, "appeal", appeals) + 1
                gen.lawyers = await ensure_lawyers(conn, gen, now - timedelta(days=SPAN_DAYS + 1))
                summary.staff_created = gen.lawyers.created
                if appeals:
                    # These appeals bypass the ORM, which keeps the report's running tally:
                    # mark it unbuilt, so the next report rebuilds it (report/tally.py).
                    await conn.execute(delete(ReportTallyState))

            gen.sqlite = sqlite
            parts = _all_rows(gen, summary, appeals, first_appeal, tg_base, conversations, holidays)
            await write_all(engine, conn, parts)
        finally:
            if sqlite:  # back to SQLite's default for the pooled connection; best effort
                with suppress(SQLAlchemyError):
                    await conn.rollback()
                    await conn.exec_driver_sql("PRAGMA cache_size = -2000")
                    await conn.commit()
    return summary


def _all_rows(
    gen: Generator,
    summary: DemoSummary,
    appeals: int,
    first_appeal: int,
    tg_base: int,
    conversations: bool,
    holidays: Any,
) -> Iterator[Parts | None]:
    """Every row to write, a transaction's worth at a time, in a fixed order (so a seed
    always gives the same data); counts go to the summary as they are made."""
    members = len(gen.members.created)
    seed = gen.seed
    for i0 in range(0, members, 2 * BATCH):
        yield [(MEMBERS_TABLE, member_rows(gen, i0, min(i0 + 2 * BATCH, members), tg_base))]
    yield None  # the members are in before their appeals

    rng = np.random.default_rng([seed, 3])
    talk = np.random.default_rng([seed, 4]) if conversations else None
    counts = gen.days.counts(rng, appeals)
    next_id = first_appeal
    for d0, d1, _n in day_batches(counts, BATCH):
        batch = appeal_batch(gen, rng, talk, counts, d0, d1, next_id, holidays)
        next_id += len(batch.appeals)
        summary.open_appeals += batch.open
        summary.logged += len(batch.people)
        summary.messages += len(batch.messages)
        summary.faq_events += len(batch.events)
        yield [
            (MEMBERS_TABLE, batch.people),
            (APPEALS_TABLE, batch.appeals),
            (MESSAGES_TABLE, batch.messages),
            (EVENTS_TABLE, batch.events),
        ]

    answers = [a for topic in gen.topics for a in gen.faq_answers.get(topic, [])]
    if conversations and answers and members:
        ev_rng = np.random.default_rng([seed, 5])
        shares = gen.topic_shares()
        popularity = np.concatenate(
            [
                shares[i] * zipf(len(gen.faq_answers[tp]))
                for i, tp in enumerate(gen.topics)
                if gen.faq_answers.get(tp)
            ]
        )
        popularity /= popularity.sum()
        helpfulness = ev_rng.beta(HELPFULNESS[0], HELPFULNESS[1], len(answers))
        total = round(appeals * BOT_SHARE * (VIEWED + SEARCH_SHOWN + FEEDBACKS))
        ev_counts = gen.days.counts(ev_rng, total)
        nodes = np.array(answers, dtype=object)
        for d0, d1, _n in day_batches(ev_counts, 2 * BATCH):
            rows = self_service_batch(
                gen, ev_rng, ev_counts, d0, d1, nodes, popularity, helpfulness
            )
            summary.faq_events += len(rows)
            yield [(EVENTS_TABLE, rows)]

    mailbox = round(appeals * BOT_SHARE * MAILBOX_SHARE)
    if mailbox and members:
        mail_rng = np.random.default_rng([seed, 6])
        mail_counts = gen.days.counts(mail_rng, mailbox)
        for d0, d1, _n in day_batches(mail_counts, 2 * BATCH):
            rows = mailbox_rows(gen, mail_rng, mail_counts, d0, d1)
            summary.feedback += len(rows)
            yield [(FEEDBACK_TABLE, rows)]
