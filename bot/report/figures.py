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
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from bot.report.period import Period
from bot.report.tally import AMOUNTS, DEFAULT_CHANNEL, FLAGS, MEASURES
from bot.report.tally import ensure as ensure_tally
from bot.storage.models import (
    Appeal,
    FaqEntry,
    FaqEvent,
    FaqEventKind,
    FaqOrigin,
    Feedback,
    FeedbackKind,
    Member,
    ReportTally,
    UTCDateTime,
    utcnow,
)
from bot.storage.sql import seconds_between, whole_units
from bot.topics import TOPICS, MemberOrgs

CHANNELS = ("electronic", "written", "oral")
# Indicators counted from closed appeals (the tally's measures of the same names).
OUTCOME_KEYS = (*FLAGS, *AMOUNTS)
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

    def scoped(self, org_column: Any, *, by_index: bool = True) -> list[ColumnElement[bool]]:
        """The organisations' filter. by_index=False writes it so that no index is used for
        it (`org || ''`): without statistics SQLite would otherwise walk every appeal of
        the organisation instead of the narrow date range."""
        if self.orgs is None:
            return []
        column = org_column if by_index else org_column.concat("")
        return [column.in_(self.orgs)]

    def during(self, column: Any) -> list[ColumnElement[bool]]:
        return [column >= self.start, column < self.end]

    async def rows(self, statement: Any) -> list[Any]:
        return list(await self.session.execute(statement))


@dataclass
class _Totals:
    """Appeal counts from the tally, grouped as the report needs them (grouping is done by
    the database: Python only sees a few hundred rows)."""

    received: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    closed_by_month: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    closed_by_topic_org: dict[tuple[str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    waits: Counter[int] = field(default_factory=Counter)


def _spans(period: Period) -> list[str]:
    """The tally spans that make up the period: whole months, and the days of part months."""
    spans = []
    for month in period.months():
        whole = Period.month(month.year, month.month)
        part = Period(max(whole.first, period.first), min(whole.last, period.last))
        if part == whole:
            spans.append(month.strftime("%Y-%m"))
        else:
            spans += [(part.first + timedelta(days=i)).isoformat() for i in range(part.days)]
    return spans


async def _from_tally(
    session: AsyncSession, spans: list[str], orgs: Sequence[str] | None, totals: _Totals
) -> None:
    T = ReportTally
    where = [T.span.in_(spans)]
    if orgs is not None:
        where.append(T.member_org.in_(orgs))
    month = func.substr(T.span, 1, 7)
    for topic, org, channel, in_month, n in await session.execute(
        select(T.topic, T.member_org, T.channel, month, func.sum(T.n))
        .where(*where, T.basis == "received")
        .group_by(T.topic, T.member_org, T.channel, month)
    ):
        totals.received[(topic, org, channel, in_month)] += int(n)
    sums = [func.sum(getattr(T, name)) for name in MEASURES]
    for row in await session.execute(
        select(month, *sums).where(*where, T.basis == "closed").group_by(month)
    ):
        measures = totals.closed_by_month[row[0]]
        for name, value in zip(MEASURES, row[1:], strict=True):
            measures[name] += int(value)
    for topic, org, n, money in await session.execute(
        select(T.topic, T.member_org, func.sum(T.n), func.sum(T.money_returned_kzt))
        .where(*where, T.basis == "closed")
        .group_by(T.topic, T.member_org)
    ):
        pair = totals.closed_by_topic_org[(topic, org)]
        pair["n"] += int(n)
        pair["money_returned_kzt"] += int(money)
    # Only the distribution of waits is needed: summed over spans and organisations here.
    for bucket, n in await session.execute(
        select(T.bucket, func.sum(T.n)).where(*where, T.basis == "wait").group_by(T.bucket)
    ):
        totals.waits[bucket] += int(n)


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
    totals = _Totals()
    await _from_tally(session, _spans(period), orgs, totals)

    figures = Figures()
    ind = figures.indicators
    by_topic: dict[str, Counter[str]] = defaultdict(Counter)
    by_org: dict[str, Counter[str]] = defaultdict(Counter)
    by_month: dict[str, Counter[str]] = {m.strftime("%Y-%m"): Counter() for m in period.months()}

    channels: Counter[str] = Counter()
    for (topic, org, channel, month), count in totals.received.items():
        channels[channel if channel in CHANNELS else DEFAULT_CHANNEL] += count
        by_topic[topic]["received"] += count
        by_org[org]["received"] += count
        by_month[month]["received"] += count
    ind["appeals_received"] = sum(channels.values())
    for channel in CHANNELS:
        ind[f"appeals_{channel}"] = channels[channel]

    considered: Counter[str] = Counter()
    for month, measures in totals.closed_by_month.items():
        considered.update(measures)
        bucket = by_month[month]
        bucket["considered"] += measures["n"]
        for key in OUTCOME_KEYS:
            bucket[key] += measures[key]
    for (topic, org), pair in totals.closed_by_topic_org.items():
        by_topic[topic]["considered"] += pair["n"]
        by_org[org]["considered"] += pair["n"]
        by_org[org]["money_returned_kzt"] += pair["money_returned_kzt"]
    ind["appeals_considered"] = considered["n"]
    for key in OUTCOME_KEYS:
        ind[key] = considered[key]
    ratings = {star: considered[f"r{star}"] for star in range(1, 6)}

    # Time to first answer of the appeals received (buckets: tally.WAIT_STEPS).
    histogram = sorted((b, n) for b, n in totals.waits.items() if n)
    ind["answered"] = sum(n for _, n in histogram)
    median, p90 = percentile(histogram, 0.5), percentile(histogram, 0.9)
    ind["median_first_answer_hours"] = None if median is None else round(median / 60, 2)
    ind["p90_first_answer_hours"] = None if p90 is None else round(p90 / 60, 2)

    ind["sla_breaches"] = int(
        await session.scalar(
            select(func.count())
            .select_from(Appeal)
            .where(
                *q.during(Appeal.sla_breached_at),
                *q.scoped(Appeal.member_org, by_index=False),
            )
        )
        or 0
    )

    if with_months:
        await _backlog(q, figures)
    else:  # the period compared with: the count only, from the tally where it can
        figures.indicators["backlog_open"] = await _open_at_end(session, period, orgs)
        figures.indicators["backlog_median_age_days"] = None
        figures.indicators["backlog_oldest_days"] = None

    # Satisfaction of the appeals considered.
    figures.ratings = ratings
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

    await _per_thousand(q, by_org, member_orgs, ind, bot_members=with_months)

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
    figures.by_month = (
        {key: dict(counts) for key, counts in by_month.items()} if with_months else {}
    )
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
            .where(
                still_open, Appeal.created_at < q.end, *q.scoped(Appeal.member_org, by_index=False)
            )
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


async def _open_at_end(session: AsyncSession, period: Period, orgs: Sequence[str] | None) -> int:
    """Appeals open at the end of the period: all received before it minus all closed
    before it, from the tally (month rows up to the last whole month, then day rows)."""
    first_day = period.last.replace(day=1)
    days = [(first_day + timedelta(days=i)).isoformat() for i in range(period.last.day)]
    if Period.month(first_day.year, first_day.month).last == period.last:
        months_upto, days = first_day.strftime("%Y-%m"), []
    else:
        months_upto = (first_day - timedelta(days=1)).strftime("%Y-%m")
    T = ReportTally
    first = await session.scalar(select(func.min(T.span)).where(T.basis == "received"))
    months = _months_between(str(first)[:7], months_upto) if first else []
    # Named spans, not a range: a range over "YYYY-MM" would take the day rows in too.
    statement = select(T.basis, func.sum(T.n)).where(
        T.basis.in_(("received", "closed")), T.span.in_(months + days)
    )
    if orgs is not None:
        statement = statement.where(T.member_org.in_(orgs))
    sums = dict((await session.execute(statement.group_by(T.basis))).all())
    return int(sums.get("received") or 0) - int(sums.get("closed") or 0)


def _months_between(first: str, last: str) -> list[str]:
    """'2025-11', '2026-02' -> ['2025-11', '2025-12', '2026-01', '2026-02']."""
    year, month = (int(part) for part in first.split("-"))
    out = []
    while (key := f"{year:04d}-{month:02d}") <= last:
        out.append(key)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


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
    # Answers published from a lawyer's answer in an appeal (of the scope's members).
    grown = await q.rows(
        select(func.count())
        .select_from(FaqEntry)
        .join(Appeal, Appeal.id == FaqEntry.origin_appeal_id)
        .where(
            FaqEntry.origin == FaqOrigin.APPEAL,
            *q.during(FaqEntry.created_at),
            *q.scoped(Appeal.member_org),
        )
    )
    ind["faq_answers_from_appeals"] = int(grown[0][0]) if grown else 0
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
    q: _Query,
    by_org: dict[str, Counter[str]],
    member_orgs: MemberOrgs,
    ind: dict[str, Any],
    *,
    bot_members: bool,
) -> None:
    """Appeals per 1,000 members: of the union's membership where the organisation has
    given it (member_orgs.yaml), and of the members who use the bot."""
    users = (
        await q.rows(
            select(Member.member_org, func.count())
            .where(Member.created_at < q.end, *q.scoped(Member.member_org))
            .group_by(Member.member_org)
        )
        if bot_members
        else []
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
        users_here = counts["bot_members"]
        counts["per_1000_bot_members"] = (
            round(received * 1000 / users_here, 2) if users_here else None  # type: ignore[assignment]
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
    await ensure_tally(session, tz)
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
