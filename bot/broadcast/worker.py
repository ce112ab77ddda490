"""The posts' clock in the bot process: start what is due, send what runs, report.

`PostRunner.tick` is called by APScheduler every few seconds. In the process holding the
scheduler lease it advances the schedule (bot/broadcast/schedule.py); then it gives every
running post that has no sender in this process one (the engine's lease decides which
process really sends it), and when a post is finished tells its author the outcome, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from aiogram import Bot
from aiogram.methods import SendMessage
from sqlalchemy import update

from bot.broadcast.engine import Broadcaster
from bot.broadcast.outcome import outcome_text, post_outcome
from bot.broadcast.schedule import advance, running_posts
from bot.context import Context
from bot.outbox import letter
from bot.outbox.texts import NOTICE
from bot.storage import outbox as store
from bot.storage.models import Broadcast, PostStatus, utcnow

log = logging.getLogger(__name__)


class PostRunner:
    def __init__(self, ctx: Context, bot: Bot, broadcaster: Broadcaster) -> None:
        self.ctx, self.bot, self.broadcaster = ctx, bot, broadcaster
        self.tasks: dict[int, asyncio.Task[None]] = {}

    async def tick(self, now: datetime | None = None, *, schedule: bool = True) -> None:
        """`schedule`: this process holds the scheduler lease and starts what is due (in
        scaled mode only one does); every process sends running posts."""
        async with self.ctx.session_factory() as session:
            if schedule:
                advanced = await advance(session, now or utcnow(), self.ctx.calendar)
                await session.commit()
                if advanced.started or advanced.held:
                    log.info(
                        "posts started %s, held for the night %s", advanced.started, advanced.held
                    )
            running = await running_posts(session)
        for post_id in running:
            task = self.tasks.get(post_id)
            if task is None or task.done():
                self.tasks[post_id] = asyncio.create_task(self._send(post_id))

    async def _send(self, post_id: int) -> None:
        try:
            result = await self.broadcaster.run(post_id)
        except Exception:
            log.exception("post %s: sending stopped by an error; the next tick resumes", post_id)
            return
        if result is not None and result.finished:
            await self.report(post_id)

    async def report(self, post_id: int) -> bool:
        """Tell the author how the post went (once, whoever finished it): the report is
        stored in the outbox in the transaction that marks the post reported."""
        async with self.ctx.session_factory() as session:
            claimed = await session.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == post_id,
                    Broadcast.status == PostStatus.DONE,
                    Broadcast.reported_at.is_(None),
                )
                .values(reported_at=utcnow())
                .returning(Broadcast.id)
                .execution_options(synchronize_session=False)
            )
            if claimed.first() is None:
                return False
            post = await session.get(Broadcast, post_id)
            assert post is not None
            outcome = await post_outcome(self.ctx.engine, session, post)
            lang = await self.ctx.member_directory.language_of(session, post.created_by)
            text = outcome_text(outcome, lang, self.ctx.i18n, self.ctx.orgs)
            rows = store.add(
                session,
                [letter(SendMessage(chat_id=post.created_by, text=text))],
                purpose=NOTICE,
                now=utcnow(),
            )
            await session.commit()
        await self.ctx.outbox.deliver(self.bot, rows)
        return True

    async def stop(self) -> None:
        """At shutdown: stop sending. Rows being sent stay 'sending' and are sent again by
        the next start (the documented in-flight bound)."""
        for task in self.tasks.values():
            task.cancel()
        for task in self.tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
