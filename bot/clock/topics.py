"""Topics Telegram refused to create, tried again on the clock.

`open_topics` (bot/handlers/shared/forum.py) creates an appeal's topic at once; when
Telegram refuses (a timeout, flood control, a right taken away for a moment), the appeal
is still on the private desk but not in its group. This job gives a topic to each open
appeal of a linked group's region that lacks one (`appeals_without_topic`, as /linkgroup's
catch-up), a bounded number per run, each (appeal, group) tried at most `RETRY_LIMIT`
times with a doubling wait between tries. The tries are counted in this process's memory:
a restart tries again from the start, which is harmless. An appeal younger than `SETTLE`
is left alone (its topic may be being created right now), and so is one given up on until
/linkgroup is sent again in its group.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram import Bot
from sqlalchemy import select

from bot.context import Context
from bot.handlers.shared.forum import open_topics
from bot.services.staff_groups import appeals_without_topic
from bot.storage.models import StaffGroup, utcnow

log = logging.getLogger(__name__)

RETRY_LIMIT = 5  # tries of one appeal's topic in one group
FIRST_WAIT = timedelta(minutes=1)  # then 2, 4, 8 minutes
SETTLE = timedelta(minutes=1)  # a newer appeal's topic may be being opened now
PER_RUN = 10  # topics created in one run, at most (Telegram's flood limits)
LOOK_AT = 200  # appeals without a topic looked at per group and run


@dataclass
class TopicRetries:
    """How often each (appeal, group) topic was refused, and when it may be tried again."""

    limit: int = RETRY_LIMIT
    first_wait: timedelta = FIRST_WAIT
    tries: dict[tuple[int, int], tuple[int, datetime]] = field(default_factory=dict)

    def due(self, key: tuple[int, int], now: datetime) -> bool:
        count, next_at = self.tries.get(key, (0, now))
        return count < self.limit and next_at <= now

    def refused(self, key: tuple[int, int], now: datetime) -> None:
        count = self.tries.get(key, (0, now))[0] + 1
        self.tries[key] = (count, now + self.first_wait * 2 ** (count - 1))
        if count >= self.limit:
            log.warning(
                "topic of appeal %s in staff group %s given up after %s tries "
                "(/linkgroup there tries again)",
                key[0],
                key[1],
                count,
            )

    def keep_only(self, waiting: set[tuple[int, int]]) -> None:
        """Forget the appeals that got a topic, were closed or left the group's region."""
        self.tries = {k: v for k, v in self.tries.items() if k in waiting}


async def topics_job(
    ctx: Context, bot: Bot, retries: TopicRetries, now: datetime | None = None
) -> int:
    """One run: returns how many appeals were given a topic they lacked."""
    now = now or utcnow()
    waiting: list[tuple[int, int]] = []
    async with ctx.session_factory() as session:
        groups = list(await session.execute(select(StaffGroup.scope, StaffGroup.chat_id)))
        for scope, chat_id in groups:
            ids = await appeals_without_topic(
                session, scope, chat_id, LOOK_AT, created_before=now - SETTLE
            )
            waiting += [(appeal_id, int(chat_id)) for appeal_id in ids]
        await session.rollback()
        retries.keep_only(set(waiting))
        opened = tried = 0
        for appeal_id, chat_id in waiting:
            if tried >= PER_RUN:
                break
            if not retries.due((appeal_id, chat_id), now):
                continue
            tried += 1
            with ctx.i18n.context():
                refused = await open_topics(
                    appeal_id,
                    session=session,
                    bot=bot,
                    outbox=ctx.outbox,
                    orgs=ctx.orgs,
                    i18n=ctx.i18n,
                    only=chat_id,
                )
            if chat_id in refused:
                retries.refused((appeal_id, chat_id), now)
            else:
                retries.tries.pop((appeal_id, chat_id), None)
                opened += 1
    if opened:
        log.info("topics opened on the clock: %s", opened)
    return opened
