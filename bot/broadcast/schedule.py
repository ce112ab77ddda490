"""When posts run: due posts start, quiet hours hold them, weekly posts start a copy.

APScheduler only calls `advance`; sending is the engine's (bot/broadcast/engine.py).
Every change is a conditional UPDATE, so two schedulers at once cannot start a post twice
or copy a weekly post twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcast.lifecycle import next_weekly
from bot.services.calendar import WorkCalendar
from bot.storage.models import Broadcast, PostStatus

COPIED = (
    "created_by",
    "text_kk",
    "text_ru",
    "media_kind",
    "media_file_id",
    "orgs",
    "workplace_types",
    "language",
    "survey",
    "urgent",
    "approved_by",
)


@dataclass
class Advanced:
    started: list[int] = field(default_factory=list)  # posts now running
    held: list[int] = field(default_factory=list)  # running posts stopped for the night


async def advance(session: AsyncSession, now: datetime, calendar: WorkCalendar) -> Advanced:
    """Start what is due; between 22:00 and 08:00 only urgent posts run, the rest wait
    for the morning (and a post still running at 22:00 stops there and goes on at 08:00)."""
    done = Advanced()
    quiet = calendar.is_quiet(now)
    morning = calendar.next_loud(now)
    if quiet:
        held = await session.execute(
            update(Broadcast)
            .where(Broadcast.status == PostStatus.RUNNING, Broadcast.urgent.is_(False))
            .values(status=PostStatus.SCHEDULED, run_at=morning)
            .returning(Broadcast.id)
            .execution_options(synchronize_session=False)
        )
        done.held = [post_id for (post_id,) in held]
    due = await session.scalars(
        select(Broadcast)
        .where(
            Broadcast.status == PostStatus.SCHEDULED,
            # no run_at: "right after confirming" (and approving)
            or_(Broadcast.run_at.is_(None), Broadcast.run_at <= now),
        )
        .order_by(Broadcast.run_at.is_not(None), Broadcast.run_at, Broadcast.id)
    )
    for post in list(due):
        if quiet and not post.urgent:
            continue
        if post.repeat_weekday is not None and post.repeat_time:
            # A weekly template: move it to next week, and start this week's copy.
            moved = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == post.id, Broadcast.run_at == post.run_at)
                .values(run_at=next_weekly(post.repeat_weekday, post.repeat_time, calendar.tz, now))
                .returning(Broadcast.id)
                .execution_options(synchronize_session=False)
            )
            if moved.first() is None:
                continue
            copy = Broadcast(
                **{name: getattr(post, name) for name in COPIED},
                status=PostStatus.RUNNING,
                run_at=now,
                started_at=now,
                parent_id=post.id,
            )
            session.add(copy)
            await session.flush()
            done.started.append(copy.id)
            continue
        started = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == post.id, Broadcast.status == PostStatus.SCHEDULED)
            .values(status=PostStatus.RUNNING, started_at=post.started_at or now)
            .returning(Broadcast.id)
            .execution_options(synchronize_session=False)
        )
        if started.first() is not None:
            done.started.append(post.id)
    return done


async def running_posts(session: AsyncSession) -> list[int]:
    return list(
        await session.scalars(
            select(Broadcast.id)
            .where(Broadcast.status == PostStatus.RUNNING)
            .order_by(Broadcast.id)
        )
    )
