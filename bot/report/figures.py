"""The report's figures, computed in the database from the appeal log.

Every figure is an aggregate query (no appeal is loaded into Python), so a year over a
million appeals stays well under a second. Which date counts:

- received, by channel, by topic, time to first answer: the appeal's creation;
- considered and every outcome (indicators 1, 4-13), ratings: the appeal's closing;
- SLA breaches: when the breach was noticed; backlog: open at the end of the period;
- self-service, FAQ failures, mailbox: when the member acted.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from bot.report.period import Period
from bot.storage.models import (
    Appeal,
    AppealStatus,
    FaqEvent,
    FaqEventKind,
    Feedback,
    FeedbackKind,
    Member,
    UTCDateTime,
    utcnow,
)
from bot.storage.sql import seconds_between, whole_units
from bot.topics import TOPICS, MemberOrgs

CHANNELS = ("electronic", "written", "oral")
# Indicators the bot counts from closed appeals: key -> model column (bool or amount).
OUTCOME_SUMS: dict[str, Any] = {
    "consultations": Appeal.outcome_consultation,
    "found_justified": Appeal.outcome_justified,
    "conciliation_commission": Appeal.outcome_conciliation,
    "court_cases": Appeal.outcome_court,
    "court_claims_won": Appeal.outcome_court_won,
    "mediation_agreements": Appeal.outcome_mediation,
    "reinstated": Appeal.outcome_reinstated,
    "inspections": Appeal.outcome_inspection,
    "outside_competence": Appeal.outcome_outside_competence,
    "violations_found": Appeal.violations_found,
    "violations_remedied": Appeal.violations_remedied,
    "money_returned_kzt": Appeal.money_returned_kzt,
    "economic_effect_kzt": Appeal.economic_effect_kzt,
}
AGE_BUCKETS = ((0, 2), (3, 7), (8, 30), (31, None))  # days open at the end of the period
FAILING_TOP = 10


def change_pct(current: float | None, previous: float | None) -> float | None:
    """'717 (547), +30.7 %': the change against the previous period, one decimal."""
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous * 100, 1)


def percentile(histogram: Sequence[tuple[int, int]], q: float) -> float | None:
    """The q-quantile (0..1) of values given as (value, count) pairs sorted by value, with
    linear interpolation between order statistics (numpy's default method)."""
    total = sum(count for _, count in histogram)
    if total == 0:
        return None
    position = q * (total - 1)
    lower, upper = math.floor(position), math.ceil(position)

    def nth(k: int) -> int:
        seen = 0
        for value, count in histogram:
            seen += count
            if k < seen:
                return value
        return histogram[-1][0]

    low, high = nth(lower), nth(upper)
    return low + (high - low) * (position - lower)


@dataclass
class Figures:
    """The indicators of one period and scope, with their breakdowns."""

    indicators: dict[str, Any] = field(default_factory=dict)
    by_topic: dict[str, dict[str, int]] = field(default_factory=dict)
    by_org: dict[str, dict[str, int]] = field(default_factory=dict)
    by_month: dict[str, dict[str, int]] = field(default_factory=dict)
    ratings: dict[int, int] = field(default_factory=dict)
    backlog_by_age: dict[str, int] = field(default_factory=dict)
    faq_failing: list[dict[str, Any]] = field(default_factory=list)
    mailbox: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    period: Period
    previous_period: Period
    orgs: tuple[str, ...] | None  # None: the whole union
    current: Figures
    previous: Figures
    generated_at: datetime

    def change(self, key: str) -> float | None:
        return change_pct(self.current.indicators.get(key), self.previous.indicators.get(key))

    def as_json(self) -> dict[str, Any]:
        cur = self.current
        return {
            "period": self.period.as_json(),
            "previous_period": self.previous_period.as_json(),
            "orgs": list(self.orgs) if self.orgs is not None else None,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "indicators": cur.indicators,
            "change_pct": {key: self.change(key) for key in cur.indicators},
            "by_topic": cur.by_topic,
            "by_org": cur.by_org,
            "by_month": cur.by_month,
            "satisfaction": {str(k): v for k, v in sorted(cur.ratings.items())},
            "backlog_by_age": cur.backlog_by_age,
            "faq_failing": cur.faq_failing,
            "mailbox": cur.mailbox,
            "previous": {
                "indicators": self.previous.indicators,
                "by_topic": self.previous.by_topic,
                "by_org": self.previous.by_org,
            },
        }


def _month_index(column: Any, edges: Sequence[datetime]) -> ColumnElement[Any]:
    if not edges:
        return literal(0)
    return case(*[(column < edge, i) for i, edge in enumerate(edges)], else_=len(edges))


def _as_int(column: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(cast(column, Integer)), 0)


class _Query:
    def __init__(
        self,
        session: AsyncSession,
        start: datetime,
        end: datetime,
        orgs: Sequence[str] | None,
    ) -> None:
        self.session, self.start, self.end, self.orgs = session, start, end, orgs

    def scoped(self, org_column: Any) -> list[ColumnElement[bool]]:
        return [] if self.orgs is None else [org_column.in_(self.orgs)]

    def during(self, column: Any) -> list[ColumnElement[bool]]:
        return [column >= self.start, column < self.end]

    async def rows(self, statement: Any) -> list[Any]:
        return list(await self.session.execute(statement))


async def compute_figures(
    session: AsyncSession,
    period: Period,
    orgs: Sequence[str] | None,
    tz: ZoneInfo,
    member_orgs: MemberOrgs,
    *,
    with_months: bool = True,
) -> Figures:
    start, end = period.bounds(tz)
    q = _Query(session, start, end, orgs)
    months = period.months() if with_months else [period.first]
    edges = period.month_bounds(tz) if with_months else []
    month_keys = [m.strftime("%Y-%m") for m in months]
    figures = Figures()
    ind = figures.indicators
    by_topic: dict[str, Counter[str]] = defaultdict(Counter)
    by_org: dict[str, Counter[str]] = defaultdict(Counter)
    by_month: dict[str, Counter[str]] = {key: Counter() for key in month_keys}

    # Received: by channel, topic, organisation and month of creation.
    month_of_creation = _month_index(Appeal.created_at, edges).label("month")
    received = await q.rows(
        select(Appeal.topic, Appeal.member_org, Appeal.channel, month_of_creation, func.count())
        .where(*q.during(Appeal.created_at), *q.scoped(Appeal.member_org))
        .group_by(Appeal.topic, Appeal.member_org, Appeal.channel, month_of_creation)
    )
    channels: Counter[str] = Counter()
    for topic, org, channel, month, count in received:
        channels[channel if channel in CHANNELS else "electronic"] += count
        by_topic[topic]["received"] += count
        by_org[org]["received"] += count
        by_month[month_keys[month]]["received"] += count
    ind["appeals_received"] = sum(channels.values())
    for channel in CHANNELS:
        ind[f"appeals_{channel}"] = channels[channel]

    # Considered: closed appeals with their outcomes and ratings, by month of closing.
    month_of_closing = _month_index(Appeal.closed_at, edges).label("month")
    sums = [_as_int(column).label(key) for key, column in OUTCOME_SUMS.items()]
    stars = [_as_int(Appeal.rating == star).label(f"r{star}") for star in range(1, 6)]
    closed = await q.rows(
        select(Appeal.topic, Appeal.member_org, month_of_closing, func.count(), *sums, *stars)
        .where(
            Appeal.status == AppealStatus.CLOSED,
            *q.during(Appeal.closed_at),
            *q.scoped(Appeal.member_org),
        )
        .group_by(Appeal.topic, Appeal.member_org, month_of_closing)
    )
    totals: Counter[str] = Counter()
    ratings: Counter[int] = Counter()
    for row in closed:
        topic, org, month, count = row[0], row[1], row[2], row[3]
        values = dict(zip(OUTCOME_SUMS, row[4 : 4 + len(OUTCOME_SUMS)], strict=True))
        totals["appeals_considered"] += count
        by_topic[topic]["considered"] += count
        by_org[org]["considered"] += count
        bucket = by_month[month_keys[month]]
        bucket["considered"] += count
        for key, value in values.items():
            totals[key] += int(value)
            bucket[key] += int(value)
        by_org[org]["money_returned_kzt"] += int(values["money_returned_kzt"])
        for star, value in enumerate(row[4 + len(OUTCOME_SUMS) :], start=1):
            ratings[star] += int(value)
    ind["appeals_considered"] = totals["appeals_considered"]
    for key in OUTCOME_SUMS:
        ind[key] = totals[key]

    # Time to first answer of the appeals received, to the minute.
    minutes = whole_units(seconds_between(Appeal.first_answer_at, Appeal.created_at), 60).label(
        "minutes"
    )
    waits = await q.rows(
        select(minutes, func.count())
        .where(
            *q.during(Appeal.created_at),
            Appeal.first_answer_at.is_not(None),
            *q.scoped(Appeal.member_org),
        )
        .group_by(minutes)
        .order_by(minutes)
    )
    histogram = [(int(m), int(c)) for m, c in waits]
    ind["answered"] = sum(c for _, c in histogram)
    median, p90 = percentile(histogram, 0.5), percentile(histogram, 0.9)
    ind["median_first_answer_hours"] = None if median is None else round(median / 60, 2)
    ind["p90_first_answer_hours"] = None if p90 is None else round(p90 / 60, 2)

    ind["sla_breaches"] = int(
        await session.scalar(
            select(func.count())
            .select_from(Appeal)
            .where(*q.during(Appeal.sla_breached_at), *q.scoped(Appeal.member_org))
        )
        or 0
    )

    await _backlog(q, figures)

    # Satisfaction of the appeals considered.
    figures.ratings = {star: ratings[star] for star in range(1, 6)}
    rated = sum(ratings.values())
    ind["ratings"] = rated
    ind["satisfaction_avg"] = (
        round(sum(star * n for star, n in ratings.items()) / rated, 2) if rated else None
    )

    await _faq(q, figures)
    mailbox = await q.rows(
        select(Feedback.kind, func.count())
        .where(*q.during(Feedback.created_at), *q.scoped(Feedback.member_org))
        .group_by(Feedback.kind)
    )
    counted = {FeedbackKind(kind).value: int(n) for kind, n in mailbox}
    figures.mailbox = {kind.value: counted.get(kind.value, 0) for kind in FeedbackKind}
    ind["mailbox_messages"] = sum(figures.mailbox.values())

    await _per_thousand(q, by_org, member_orgs, ind)

    figures.by_topic = {
        topic: {
            "received": by_topic[topic]["received"],
            "considered": by_topic[topic]["considered"],
        }
        for topic in TOPICS
        if topic in by_topic
    }
    for topic in sorted(set(by_topic) - set(TOPICS)):  # topics retired since
        figures.by_topic[topic] = dict(by_topic[topic])
    figures.by_org = {org: dict(by_org[org]) for org in sorted(by_org)}
    figures.by_month = {key: dict(by_month[key]) for key in month_keys}
    return figures


async def _backlog(q: _Query, figures: Figures) -> None:
    """Appeals open at the end of the period, and how long they had waited by then."""
    end = literal(q.end, UTCDateTime())
    days = whole_units(seconds_between(end, Appeal.created_at), 86400).label("days")
    ages: Counter[int] = Counter()
    # Two index-friendly halves: still open now, and closed only after the period ended.
    for still_open in (Appeal.closed_at.is_(None), Appeal.closed_at >= q.end):
        for age, n in await q.rows(
            select(days, func.count())
            .where(still_open, Appeal.created_at < q.end, *q.scoped(Appeal.member_org))
            .group_by(days)
        ):
            ages[int(age)] += int(n)
    histogram = sorted(ages.items())
    ind = figures.indicators
    ind["backlog_open"] = sum(ages.values())
    median = percentile(histogram, 0.5)
    ind["backlog_median_age_days"] = None if median is None else round(median, 1)
    ind["backlog_oldest_days"] = histogram[-1][0] if histogram else None
    for low, high in AGE_BUCKETS:
        label = f"{low}-{high}" if high is not None else f"{low}+"
        figures.backlog_by_age[label] = sum(
            n for age, n in ages.items() if age >= low and (high is None or age <= high)
        )


async def _faq(q: _Query, figures: Figures) -> None:
    """Self-service (answers members said helped) and the answers that fail most."""
    rows = await q.rows(
        select(FaqEvent.node_id, FaqEvent.kind, func.count())
        .where(*q.during(FaqEvent.at), *q.scoped(FaqEvent.member_org))
        .group_by(FaqEvent.node_id, FaqEvent.kind)
    )
    kinds: Counter[str] = Counter()
    failing: dict[str, Counter[str]] = defaultdict(Counter)
    for node, raw_kind, n in rows:
        kind = FaqEventKind(raw_kind)
        kinds[kind.value] += n
        if kind in (FaqEventKind.NOT_HELPED, FaqEventKind.LED_TO_APPEAL):
            failing[node][kind.value] += n
    ind = figures.indicators
    ind["self_service_answers"] = kinds[FaqEventKind.HELPED.value]
    ind["faq_views"] = kinds[FaqEventKind.VIEWED.value]
    ind["faq_not_helped"] = kinds[FaqEventKind.NOT_HELPED.value]
    ind["faq_led_to_appeal"] = kinds[FaqEventKind.LED_TO_APPEAL.value]
    ranked = sorted(
        failing.items(),
        key=lambda item: (-(item[1]["not-helped"] + item[1]["led-to-appeal"]), item[0]),
    )
    figures.faq_failing = [
        {
            "node": node,
            "not_helped": counts["not-helped"],
            "led_to_appeal": counts["led-to-appeal"],
        }
        for node, counts in ranked[:FAILING_TOP]
    ]


async def _per_thousand(
    q: _Query, by_org: dict[str, Counter[str]], member_orgs: MemberOrgs, ind: dict[str, Any]
) -> None:
    """Appeals per 1,000 members: of the union's membership where the organisation has
    given it (member_orgs.yaml), and of the members who use the bot."""
    users = await q.rows(
        select(Member.member_org, func.count())
        .where(Member.created_at < q.end, *q.scoped(Member.member_org))
        .group_by(Member.member_org)
    )
    for org, n in users:
        if org is not None:
            by_org[org]["bot_members"] += int(n)
    for org_id, counts in by_org.items():
        org = member_orgs.by_id.get(org_id)
        union_members = org.members if org else 0
        counts["union_members"] = union_members
        received = counts["received"]
        counts["per_1000_members"] = (
            round(received * 1000 / union_members, 2) if union_members else None  # type: ignore[assignment]
        )
        bot_members = counts["bot_members"]
        counts["per_1000_bot_members"] = (
            round(received * 1000 / bot_members, 2) if bot_members else None  # type: ignore[assignment]
        )
    union_total = sum(o.members for o in member_orgs.orgs if q.orgs is None or o.id in q.orgs)
    known = all(o.members for o in member_orgs.orgs if q.orgs is None or o.id in q.orgs)
    ind["appeals_per_1000_members"] = (
        round(ind["appeals_received"] * 1000 / union_total, 2) if known and union_total else None
    )


async def build_report(
    session: AsyncSession,
    period: Period,
    *,
    orgs: Sequence[str] | None,
    tz: ZoneInfo,
    member_orgs: MemberOrgs,
    now: datetime | None = None,
) -> Report:
    scope = tuple(orgs) if orgs is not None else None
    previous = period.previous()
    current_figures = await compute_figures(session, period, scope, tz, member_orgs)
    previous_figures = await compute_figures(
        session, previous, scope, tz, member_orgs, with_months=False
    )
    return Report(
        period=period,
        previous_period=previous,
        orgs=scope,
        current=current_figures,
        previous=previous_figures,
        generated_at=now or utcnow(),
    )


def month_label(key: str) -> date:
    year, month = key.split("-")
    return date(int(year), int(month), 1)
