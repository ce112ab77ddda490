"""The report's running tally: totals per local month and per local day, kept in step
with every appeal change.

Every flush that creates, changes or deletes an `Appeal` through the ORM adds the change's
difference to `report_tally` in the same transaction (`after_flush`): what the appeal
counted for before is taken away, what it counts for now is added. Bulk writes that bypass
the ORM (demo data, imports) call `rebuild`. `ensure` rebuilds when the tally was never
built or was built in another time zone.

What an appeal counts for (`contributions`), each twice: in its month ("2025-03") and in its
day ("2025-03-14"); a report reads whole months from month rows, part months from day rows.
- "received": 1 when created (organisation, topic, channel);
- "wait": 1 when created, in the bucket of its time to first answer (organisation);
- "closed": when closed, 1 at closing, with its outcomes and rating (organisation, topic).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, case, delete, insert, inspect, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.types import NullType

from bot.storage.models import Appeal, AppealStatus, ReportTally, ReportTallyState, utcnow
from bot.storage.sql import lock_table, upsert_adding

Key = tuple[str, str, str, str, str, int]  # basis, span, member_org, topic, channel, bucket

FLAGS = {
    "consultations": "outcome_consultation",
    "found_justified": "outcome_justified",
    "conciliation_commission": "outcome_conciliation",
    "court_cases": "outcome_court",
    "court_claims_won": "outcome_court_won",
    "mediation_agreements": "outcome_mediation",
    "reinstated": "outcome_reinstated",
    "inspections": "outcome_inspection",
    "outside_competence": "outcome_outside_competence",
}
AMOUNTS = ("violations_found", "violations_remedied", "money_returned_kzt", "economic_effect_kzt")
STARS = ("r1", "r2", "r3", "r4", "r5")
MEASURES = ("n", *FLAGS, *AMOUNTS, *STARS)
KEY_COLUMNS = ("basis", "span", "member_org", "topic", "channel", "bucket")
FIELDS = (
    "created_at",
    "closed_at",
    "status",
    "member_org",
    "topic",
    "channel",
    "first_answer_at",
    "rating",
    *FLAGS.values(),
    *AMOUNTS,
)
DEFAULT_CHANNEL = "electronic"

# Time to first answer in buckets (lower bound, minutes): fine where it matters, coarse in
# the tail. (upper limit in minutes, bucket width in minutes)
WAIT_STEPS = ((60, 5), (12 * 60, 15), (48 * 60, 30), (7 * 1440, 120), (30 * 1440, 720))


def wait_bucket(minutes: float) -> int:
    """The lower bound of the bucket holding a wait of so many minutes."""
    value = max(0, int(minutes))
    for limit, width in WAIT_STEPS:
        if value < limit:
            return value - value % width
    return value - value % 1440


def local_day(moment: datetime, tz: ZoneInfo) -> str:
    if moment.tzinfo is None:  # a value not yet through the column type
        moment = moment.replace(tzinfo=UTC)
    # Every zone Kazakhstan has used changes the date only on whole UTC hours.
    return _day_of_hour(int(moment.timestamp() // 3600), tz)


@lru_cache(maxsize=65536)
def _day_of_hour(hour: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(hour * 3600, tz).strftime("%Y-%m-%d")


def contributions(v: Mapping[str, Any], tz: ZoneInfo) -> dict[Key, dict[str, int]]:
    created = v.get("created_at")
    if created is None:
        return {}
    org, topic = str(v["member_org"]), str(v["topic"])
    day = local_day(created, tz)
    channel = str(v.get("channel") or DEFAULT_CHANNEL)
    out: dict[Key, dict[str, int]] = {}
    for span in (day[:7], day):
        out[("received", span, org, topic, channel, 0)] = {"n": 1}
    answered = v.get("first_answer_at")
    if answered is not None:
        bucket = wait_bucket((_aware(answered) - _aware(created)).total_seconds() / 60)
        for span in (day[:7], day):
            out[("wait", span, org, "", "", bucket)] = {"n": 1}
    closed = v.get("closed_at")
    if closed is not None and v.get("status") in (AppealStatus.CLOSED, AppealStatus.CLOSED.value):
        measures = {"n": 1}  # only what is not zero: cheaper to add up in a rebuild
        for name, field in FLAGS.items():
            if v.get(field):  # True, or 1 as SQLite gives it unconverted
                measures[name] = 1
        for name in AMOUNTS:
            if v.get(name):
                measures[name] = int(v[name])
        rating = v.get("rating")
        if rating in (1, 2, 3, 4, 5):
            measures[f"r{rating}"] = 1
        closed_day = local_day(closed, tz)
        for span in (closed_day[:7], closed_day):
            out[("closed", span, org, topic, "", 0)] = measures
    return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _add(
    deltas: dict[Key, Counter[str]], parts: Mapping[Key, Mapping[str, int]], sign: int
) -> None:
    for key, measures in parts.items():
        if sign > 0:
            deltas[key].update(measures)
        else:
            deltas[key].subtract(measures)


def _snapshots(appeal: Appeal) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the fields the tally depends on, from the flush's history."""
    state = inspect(appeal)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in FIELDS:
        history = state.attrs[name].history
        current = (
            history.added[0]
            if history.added
            else (history.unchanged[0] if history.unchanged else None)
        )
        after[name] = current
        before[name] = history.deleted[0] if history.deleted else current
    return before, after


def _rows(deltas: Mapping[Key, Counter[str]]) -> list[dict[str, Any]]:
    rows = []
    for key, measures in sorted(deltas.items()):
        if not any(measures.values()):
            continue
        row: dict[str, Any] = dict(zip(KEY_COLUMNS, key, strict=True))
        row.update({name: int(measures.get(name, 0)) for name in MEASURES})
        rows.append(row)
    return rows


def follow_appeals(tz: ZoneInfo) -> Callable[[Session, UOWTransaction], None]:
    """An `after_flush` listener adding every appeal change of a session to the tally,
    counting in `tz` (bot/storage/db.py attaches it to the app's session factory)."""

    def follow(session: Session, _flush: UOWTransaction) -> None:
        deltas: dict[Key, Counter[str]] = defaultdict(Counter)
        for obj in session.new:
            if isinstance(obj, Appeal):
                _add(deltas, contributions(_snapshots(obj)[1], tz), +1)
        for obj in session.dirty:
            if isinstance(obj, Appeal):
                before, after = _snapshots(obj)
                if before != after:
                    _add(deltas, contributions(before, tz), -1)
                    _add(deltas, contributions(after, tz), +1)
        for obj in session.deleted:
            if isinstance(obj, Appeal):
                _add(deltas, contributions(_snapshots(obj)[0], tz), -1)
        rows = _rows(deltas)
        if rows:
            connection = session.connection()
            connection.execute(upsert_adding(connection.dialect, ReportTally, MEASURES), rows)

    return follow


async def ensure(session: AsyncSession, tz: ZoneInfo) -> None:
    """Build the tally if it never was, or was built for another time zone (and commit:
    call it before anything else in the session)."""
    state = await session.get(ReportTallyState, 1)
    if state is None or state.timezone != tz.key:
        await rebuild(session, tz)
        await session.commit()


async def rebuild(session: AsyncSession, tz: ZoneInfo) -> int:
    """Recompute the whole tally from the appeal log (in the caller's transaction), with
    the same `contributions` as the running tally. Returns the tally rows written.

    Two streamed passes, by creation and by closing time, each adding its totals to the
    table month by month, so memory stays flat however long the log."""
    await lock_table(session, ReportTally)
    await session.execute(delete(ReportTally))
    # Raw driver values (no per-value type conversion: a third of the time on SQLite);
    # timestamps are parsed by `_moment`, which `contributions` gets through `_raw`.
    columns = [type_coerce(getattr(Appeal, name), NullType()) for name in FIELDS]
    written = 0
    for order, bases in (
        (Appeal.created_at, ("received", "wait")),
        (Appeal.closed_at, ("closed",)),
    ):
        statement = select(*columns).order_by(order)
        if bases == ("closed",):
            statement = statement.where(
                Appeal.status == AppealStatus.CLOSED, Appeal.closed_at.is_not(None)
            )
        totals: dict[Key, Counter[str]] = defaultdict(Counter)
        month = ""
        stream = await session.stream(statement.execution_options(yield_per=20_000))
        async for rows in stream.partitions():
            for row in rows:
                values = _raw(row)
                parts = {k: m for k, m in contributions(values, tz).items() if k[0] in bases}
                for key in parts:
                    if len(key[1]) == 7 and key[1] != month:
                        # Rows come in time order: the months before are complete.
                        written += await _write(session, totals)
                        totals, month = defaultdict(Counter), key[1]
                _add(totals, parts, +1)
        written += await _write(session, totals)
    state = await session.get(ReportTallyState, 1)
    if state is None:
        session.add(ReportTallyState(id=1, timezone=tz.key, built_at=utcnow()))
    else:
        state.timezone, state.built_at = tz.key, utcnow()
    await session.flush()
    return written


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return _aware(value) if value is not None else None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)  # SQLite's stored text


_TIMES = {"created_at", "closed_at", "first_answer_at"}
_TABLE: Table = ReportTally.__table__  # type: ignore[assignment]


def _raw(row: Sequence[Any]) -> dict[str, Any]:
    values = dict(zip(FIELDS, row, strict=True))
    for name in _TIMES:
        values[name] = _moment(values[name])
    return values


async def _write(session: AsyncSession, totals: Mapping[Key, Counter[str]]) -> int:
    """Complete keys into the emptied table: plain inserts."""
    rows = _rows(totals)
    connection = await session.connection()  # Core executemany: half the ORM's cost
    for start in range(0, len(rows), 10_000):
        await connection.execute(insert(_TABLE), rows[start : start + 10_000])
    return len(rows)


def wait_bucket_sql(minutes: Any) -> Any:
    """`wait_bucket` in SQL, for whole non-negative minutes."""
    whens = [(minutes < limit, minutes - minutes % width) for limit, width in WAIT_STEPS]
    return case(*whens, else_=minutes - minutes % 1440)


def rows_for_check(rows: Iterable[ReportTally]) -> dict[Key, dict[str, int]]:
    """Tally rows as {key: non-zero measures}, to compare two tallies."""
    out: dict[Key, dict[str, int]] = {}
    for row in rows:
        measures = {m: getattr(row, m) for m in MEASURES if getattr(row, m)}
        if measures:
            out[tuple(getattr(row, c) for c in KEY_COLUMNS)] = measures
    return out
