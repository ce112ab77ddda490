"""Scheduled work outside updates: the desk's clock (APScheduler calls it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.utils.i18n import gettext as _

from bot.access import tell_members
from bot.context import Context
from bot.handlers.shared.forum import released_cards
from bot.outbox import letter
from bot.outbox.texts import NOTICE
from bot.services.sla import DeskNotices, desk_scan
from bot.services.staff import release_stale_holds
from bot.storage import outbox as store
from bot.storage.models import utcnow

log = logging.getLogger(__name__)


def _numbers(ids: list[int]) -> str:
    return ", ".join(f"№ {i}" for i in sorted(ids))


TEXTS: dict[str, Callable[[list[int]], str]] = {
    "new_appeals": lambda ids: _("🆕 New appeals in your queue: {numbers}. Open /queue.").format(
        numbers=_numbers(ids)
    ),
    "half_way": lambda ids: _(
        "⏳ Half of the time for the first answer has passed, and these appeals have none yet: "
        "{numbers}. /queue, /mine"
    ).format(numbers=_numbers(ids)),
    "overdue": lambda ids: _(
        "⚠️ The first answer is overdue for appeals {numbers}. Please see who can take them."
    ).format(numbers=_numbers(ids)),
    "released": lambda ids: _(
        "↩️ Appeals {numbers} had no message from you for too long and went back to the queue."
    ).format(numbers=_numbers(ids)),
}


async def desk_job(ctx: Context, bot: Bot, now: datetime | None = None) -> DeskNotices:
    """Scan, and store what will be told in the same transaction as the scan's marks (the
    outbox sends it, each person in their language): a crash can neither lose a notice nor
    tell it twice. A person who blocked the bot is skipped; the rest still hear."""
    async with ctx.session_factory() as session:
        # First, appeals held by someone who no longer covers them (a claim that raced
        # with a revoke): back in the queue, so this same scan tells the region.
        stale = await release_stale_holds(session)
        tell_members(session, ctx.i18n, stale)
        notices = await desk_scan(session, now or utcnow(), ctx.calendar, ctx.sla)
        # The released appeals' topic cards offer "take" again (sent by the outbox).
        released = [r.appeal_id for r in stale]
        released += [i for ids in notices.released.values() for i in ids]
        with ctx.i18n.context():
            await released_cards(released, session=session, outbox=ctx.outbox, i18n=ctx.i18n)
        for kind, make in TEXTS.items():
            for telegram_id, ids in getattr(notices, kind).items():
                lang = await ctx.member_directory.language_of(session, telegram_id)
                with ctx.i18n.context(), ctx.i18n.use_locale(lang):
                    text = make(ids)
                store.add(
                    session,
                    [letter(SendMessage(chat_id=telegram_id, text=text))],
                    purpose=NOTICE,
                    now=utcnow(),
                )
        await session.commit()
    await ctx.outbox.send_due(bot)  # now, rather than at the background sender's next look
    return notices
