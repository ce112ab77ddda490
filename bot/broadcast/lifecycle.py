"""The life of a post: its status, schedule, approval, pause, resume and cancellation.

Services only, no aiogram types: the handler (bot/handlers/press/) commits, and every
change is audited in its transaction. A status change that can race with the scheduler or
the engine (scheduled → running, running → done) is one conditional UPDATE (`move_post`),
so a post that has just started cannot be edited any more and a cancelled one is never
started. What a post says and who gets it, and confirming a draft once it is complete,
are bot/broadcast/composition.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.staff import StaffView, audit
from bot.storage.models import (
    BotSetting,
    Broadcast,
    Delivery,
    DeliveryStatus,
    PostStatus,
    Staff,
    StaffRole,
    utcnow,
)

APPROVAL_SETTING = "posts_need_approval"
RECENT_FINISHED = 10

# Who may change what, by status (a post is edited only before it starts: a post held for
# the quiet hours is scheduled again, but it has started, see `has_started`).
EDITABLE = (PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.AWAITING_APPROVAL)
CANCELLABLE = (
    PostStatus.DRAFT,
    PostStatus.AWAITING_APPROVAL,
    PostStatus.SCHEDULED,
    PostStatus.RUNNING,
    PostStatus.PAUSED,
)
UPCOMING = (PostStatus.AWAITING_APPROVAL, PostStatus.SCHEDULED)
UNDER_WAY = (PostStatus.RUNNING, PostStatus.PAUSED)
FINISHED = (PostStatus.DONE, PostStatus.CANCELLED)


class PostError(Exception):
    """A refused action. `code` says why; `details` carry what the reader needs to fix it.

    Codes: not-found, state (the post's status does not allow it), started (it has begun
    going out, so it cannot be changed), forbidden, html
    (details["problem"]: HtmlProblem), no-text, caption-too-long (language, length, limit),
    bad-media, bad-audience, survey-empty, survey-question-long (length, limit),
    survey-options (count), survey-option-long (number, length, limit), survey-mismatch
    (kk, ru: each language's number of options), bad-datetime,
    bad-time, past.
    """

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


# --- reading and moving posts -------------------------------------------------------------


async def get_post(session: AsyncSession, post_id: int) -> Broadcast | None:
    # populate_existing: the conditional UPDATEs below bypass the identity map.
    return await session.get(Broadcast, post_id, populate_existing=True)


async def load_post(
    session: AsyncSession, post_id: int, allowed: Sequence[PostStatus] = (PostStatus.DRAFT,)
) -> Broadcast:
    """The post, if its status is one of `allowed` (a draft unless said)."""
    post = await get_post(session, post_id)
    if post is None:
        raise PostError("not-found")
    if post.status not in allowed:
        raise PostError("state", status=post.status.value)
    return post


def has_started(post: Broadcast) -> bool:
    """Whether the post has begun going out: a post held for the quiet hours is scheduled
    again, but it has started, keeps its recipients and cannot be changed any more."""
    return post.started_at is not None


def _not_started() -> ColumnElement[bool]:
    """In SQL: the post has no start and no delivery rows (recipients are written once)."""
    return and_(
        Broadcast.started_at.is_(None),
        ~exists().where(Delivery.broadcast_id == Broadcast.id),
    )


async def move_post(
    session: AsyncSession,
    post_id: int,
    allowed: Sequence[PostStatus],
    *,
    unstarted: bool = False,
    **values: Any,
) -> Broadcast:
    """Change a post only if its status is still one of `allowed` (one statement), and
    with `unstarted` only if it has not begun going out."""
    conditions = [Broadcast.id == post_id, Broadcast.status.in_(allowed)]
    if unstarted:
        conditions.append(_not_started())
    changed = await session.execute(
        update(Broadcast)
        .where(*conditions)
        .values(**values)
        .returning(Broadcast.id)
        .execution_options(synchronize_session=False)
    )
    if changed.first() is None:
        post = await get_post(session, post_id)
        if post is None:
            raise PostError("not-found")
        if post.status in allowed:  # only `unstarted` can refuse it
            raise PostError("started")
        raise PostError("state", status=post.status.value)
    return await load_post(session, post_id, tuple(PostStatus))


# --- the schedule --------------------------------------------------------------------------

_DATETIME = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})[\s,]+(\d{1,2})[:.](\d{2})\s*$")
_TIME = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


def parse_local_datetime(text: str) -> datetime:
    """'25.12.2026 10:00' → a naive local datetime."""
    match = _DATETIME.match(text)
    if match is None:
        raise PostError("bad-datetime")
    day, month, year, hour, minute = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        raise PostError("bad-datetime") from None


def parse_hhmm(text: str) -> str:
    """'9:30' → '09:30'."""
    match = _TIME.match(text)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise PostError("bad-time")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def next_weekly(weekday: int, hhmm: str, tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """The next `weekday` (0 = Monday) at local HH:MM strictly after `now`, in UTC."""
    local_now = (now or utcnow()).astimezone(tz)
    hour, minute = (int(p) for p in hhmm.split(":"))
    day: date = local_now.date() + timedelta(days=(weekday - local_now.weekday()) % 7)
    candidate = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if candidate <= local_now:
        candidate = datetime.combine(day + timedelta(days=7), time(hour, minute), tzinfo=tz)
    return candidate.astimezone(UTC)


def next_weekly_run(post: Broadcast, tz: ZoneInfo, now: datetime | None = None) -> datetime | None:
    """For the scheduler: when a weekly post's next copy is due (None: not weekly)."""
    if post.repeat_weekday is None or not post.repeat_time:
        return None
    return next_weekly(post.repeat_weekday, post.repeat_time, tz, now)


async def _set_schedule(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    run_at: datetime | None,
    weekday: int | None = None,
    hhmm: str | None = None,
) -> Broadcast:
    post = await move_post(
        session,
        post_id,
        (PostStatus.DRAFT,),
        run_at=run_at,
        repeat_weekday=weekday,
        repeat_time=hhmm,
    )
    await audit(
        session,
        actor.telegram_id,
        "post-schedule",
        post=post_id,
        run_at=run_at.isoformat() if run_at else None,
        weekday=weekday,
        time=hhmm,
    )
    return post


async def schedule_now(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """As soon as it is confirmed (and approved, where approval is on)."""
    return await _set_schedule(session, actor, post_id, None)


async def schedule_at(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    local: datetime,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Broadcast:
    """Once, at a local date and time (naive, in `tz`), which must be in the future."""
    run_at = local.replace(tzinfo=tz).astimezone(UTC)
    if run_at <= (now or utcnow()):
        raise PostError("past")
    return await _set_schedule(session, actor, post_id, run_at)


async def schedule_weekly(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    weekday: int,
    hhmm: str,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Broadcast:
    """Every week on `weekday` (0 = Monday) at local HH:MM; run_at is the next one."""
    if not 0 <= weekday <= 6:
        raise PostError("bad-time")
    hhmm = parse_hhmm(hhmm)
    run_at = next_weekly(weekday, hhmm, tz, now)
    return await _set_schedule(session, actor, post_id, run_at, weekday, hhmm)


# --- approval and the life of a post -------------------------------------------------------


async def approval_needed(session: AsyncSession) -> bool:
    value = await session.scalar(select(BotSetting.value).where(BotSetting.key == APPROVAL_SETTING))
    return value == "1"


async def approvers(session: AsyncSession) -> list[int]:
    """Telegram ids of the admins who approve posts."""
    rows = await session.scalars(
        select(Staff.telegram_id).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True))
    )
    return list(rows)


def _require(actor: StaffView, *roles: StaffRole) -> None:
    if actor.role not in roles:
        raise PostError("forbidden")


async def set_approval_needed(session: AsyncSession, actor: StaffView, on: bool) -> None:
    _require(actor, StaffRole.ADMIN)
    setting = await session.get(BotSetting, APPROVAL_SETTING)
    value = "1" if on else "0"
    if setting is None:
        session.add(BotSetting(key=APPROVAL_SETTING, value=value, changed_by=actor.telegram_id))
    else:
        setting.value, setting.changed_by = value, actor.telegram_id
    await audit(session, actor.telegram_id, "post-approval-setting", on=on)
    await session.flush()


async def approve(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """An admin lets an awaiting post go out (at once if its time has passed)."""
    _require(actor, StaffRole.ADMIN)
    post = await move_post(
        session,
        post_id,
        (PostStatus.AWAITING_APPROVAL,),
        status=PostStatus.SCHEDULED,
        approved_by=actor.telegram_id,
    )
    await audit(session, actor.telegram_id, "post-approve", post=post_id)
    return post


async def reject(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """Back to a draft, for its author to change and confirm again."""
    _require(actor, StaffRole.ADMIN)
    post = await move_post(
        session, post_id, (PostStatus.AWAITING_APPROVAL,), status=PostStatus.DRAFT
    )
    await audit(session, actor.telegram_id, "post-reject", post=post_id)
    return post


async def begin_edit(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """A post that has not started goes back to a draft while it is changed: the scheduler
    leaves drafts alone, and it is confirmed (and approved) again. One that has started
    (held for the quiet hours, scheduled again) is refused: its recipients are written and
    some have it already."""
    _require(actor, StaffRole.PRESS, StaffRole.ADMIN)
    post = await move_post(
        session, post_id, EDITABLE, unstarted=True, status=PostStatus.DRAFT, approved_by=None
    )
    await audit(session, actor.telegram_id, "post-edit", post=post_id)
    return post


async def cancel(
    session: AsyncSession, actor: StaffView, post_id: int, now: datetime | None = None
) -> Broadcast:
    """Any post not finished; a running one stops after the messages in flight."""
    _require(actor, StaffRole.PRESS, StaffRole.ADMIN)
    post = await move_post(
        session,
        post_id,
        CANCELLABLE,
        status=PostStatus.CANCELLED,
        finished_at=now or utcnow(),
    )
    await audit(session, actor.telegram_id, "post-cancel", post=post_id)
    return post


async def pause(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    _require(actor, StaffRole.PRESS, StaffRole.ADMIN)
    post = await move_post(session, post_id, (PostStatus.RUNNING,), status=PostStatus.PAUSED)
    await audit(session, actor.telegram_id, "post-pause", post=post_id)
    return post


async def resume(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """Paused → running: the runner sends what is still pending."""
    _require(actor, StaffRole.PRESS, StaffRole.ADMIN)
    post = await move_post(session, post_id, (PostStatus.PAUSED,), status=PostStatus.RUNNING)
    await audit(session, actor.telegram_id, "post-resume", post=post_id)
    return post


# --- lists ---------------------------------------------------------------------------------


async def delivery_counts(
    session: AsyncSession, post_ids: Iterable[int]
) -> dict[int, dict[str, int]]:
    """Per post, deliveries by status (every status present, zeros included)."""
    ids = list(post_ids)
    counts = {pid: {s.value: 0 for s in DeliveryStatus} for pid in ids}
    if not ids:
        return counts
    rows = await session.execute(
        select(Delivery.broadcast_id, Delivery.status, func.count())
        .where(Delivery.broadcast_id.in_(ids))
        .group_by(Delivery.broadcast_id, Delivery.status)
    )
    for post_id, status, n in rows:
        counts[int(post_id)][DeliveryStatus(status).value] = int(n)
    return counts


@dataclass
class PostList:
    drafts: list[Broadcast] = field(default_factory=list)
    upcoming: list[Broadcast] = field(default_factory=list)  # scheduled, awaiting approval
    under_way: list[Broadcast] = field(default_factory=list)  # running, paused, held
    finished: list[Broadcast] = field(default_factory=list)  # the most recent
    counts: dict[int, dict[str, int]] = field(default_factory=dict)  # of those under way


async def list_posts(
    session: AsyncSession, *, recent: int = RECENT_FINISHED, limit: int = 20
) -> PostList:
    async def of(where: ColumnElement[bool], *order: Any, n: int = limit) -> list[Broadcast]:
        rows = await session.scalars(select(Broadcast).where(where).order_by(*order).limit(n))
        return list(rows)

    # A post held for the quiet hours is scheduled again, but it is under way.
    held = and_(Broadcast.status == PostStatus.SCHEDULED, Broadcast.started_at.is_not(None))
    listed = PostList(
        drafts=await of(Broadcast.status == PostStatus.DRAFT, Broadcast.id.desc()),
        # "now" posts (no run_at) first
        upcoming=await of(
            and_(Broadcast.status.in_(UPCOMING), ~held),
            Broadcast.run_at.is_not(None),
            Broadcast.run_at,
            Broadcast.id,
        ),
        under_way=await of(
            or_(Broadcast.status.in_(UNDER_WAY), held), Broadcast.started_at, Broadcast.id
        ),
        # A post cancelled before it had any words or file was never one: not listed.
        finished=await of(
            and_(
                Broadcast.status.in_(FINISHED),
                ~and_(
                    Broadcast.status == PostStatus.CANCELLED,
                    Broadcast.text_kk.is_(None),
                    Broadcast.text_ru.is_(None),
                    Broadcast.media_kind.is_(None),
                ),
            ),
            func.coalesce(Broadcast.finished_at, Broadcast.created_at).desc(),
            Broadcast.id.desc(),
            n=recent,
        ),
    )
    listed.counts = await delivery_counts(session, [p.id for p in listed.under_way])
    return listed
