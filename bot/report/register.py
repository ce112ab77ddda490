"""The anonymised appeal register of a report's period: one row per appeal received.

A row carries no name, username, Telegram id, member id, appeal id or message text: only
the appeal's classification, its dates (local days, not times) and its outcome. The rows
are streamed from the database in batches, so a million appeals never sit in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.report.period import Period
from bot.storage.models import Appeal

BATCH = 5000


class RegisterRow(NamedTuple):
    number: int  # 1, 2, 3... in the order the appeals were received
    member_org: str
    workplace_type: str | None
    topic: str
    channel: str
    source: str
    language: str
    received: date
    first_answer: date | None
    closed: date | None
    status: str
    days_to_first_answer: float | None
    consultation: bool
    justified: bool | None  # None: not assessed
    conciliation: bool
    court: bool
    court_won: bool | None
    mediation: bool
    reinstated: bool
    inspection: bool
    outside_competence: bool
    violations_found: int
    violations_remedied: int
    money_returned_kzt: int
    economic_effect_kzt: int
    rating: int | None


# Only these columns are read: nothing that identifies a member or tells their story.
_COLUMNS = (
    Appeal.member_org,
    Appeal.workplace_type,
    Appeal.topic,
    Appeal.channel,
    Appeal.source,
    Appeal.language,
    Appeal.created_at,
    Appeal.first_answer_at,
    Appeal.closed_at,
    Appeal.status,
    Appeal.outcome_consultation,
    Appeal.outcome_justified,
    Appeal.outcome_conciliation,
    Appeal.outcome_court,
    Appeal.outcome_court_won,
    Appeal.outcome_mediation,
    Appeal.outcome_reinstated,
    Appeal.outcome_inspection,
    Appeal.outcome_outside_competence,
    Appeal.violations_found,
    Appeal.violations_remedied,
    Appeal.money_returned_kzt,
    Appeal.economic_effect_kzt,
    Appeal.rating,
)


def _value(enum_or_str: object) -> str | None:
    if enum_or_str is None:
        return None
    return str(getattr(enum_or_str, "value", enum_or_str))


async def register_rows(
    session: AsyncSession,
    period: Period,
    orgs: Sequence[str] | None,
    tz: ZoneInfo,
) -> AsyncIterator[RegisterRow]:
    """The appeals received in the period (and scope), oldest first."""
    start, end = period.bounds(tz)
    statement = (
        select(*_COLUMNS)
        .where(Appeal.created_at >= start, Appeal.created_at < end)
        .order_by(Appeal.created_at, Appeal.id)
        .execution_options(yield_per=BATCH)
    )
    if orgs is not None:
        statement = statement.where(Appeal.member_org.in_(orgs))
    result = await session.stream(statement)
    number = 0
    # A batch at a time: iterating the async result row by row would switch greenlets
    # for every row.
    async for batch in result.partitions():
        for row in batch:
            (org, workplace, topic, channel, source, language, created, answered, closed,
             status, consultation, justified, conciliation, court, court_won, mediation,
             reinstated, inspection, outside, found, remedied, money, effect,
             rating) = row  # fmt: skip
            number += 1
            days = (
                round((answered - created).total_seconds() / 86400, 1)
                if answered is not None
                else None
            )
            yield RegisterRow(
                number,
                org,
                _value(workplace),
                topic,
                channel,
                str(_value(source)),
                language,
                _local_day(created, tz),
                _local_day(answered, tz) if answered is not None else None,
                _local_day(closed, tz) if closed is not None else None,
                str(_value(status)),
                days,
                consultation,
                justified,
                conciliation,
                court,
                court_won,
                mediation,
                reinstated,
                inspection,
                outside,
                found,
                remedied,
                money,
                effect,
                rating,
            )


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()
