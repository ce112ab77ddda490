"""The retention clock (law 94-V: keep only what is needed, only as long as needed).

- `retention_job`: appeal texts, message texts and file ids are removed
  APPEAL_TEXT_RETENTION_MONTHS after the appeal closed, or after the last activity of an
  appeal never closed (it stays open, with a note for the lawyers), and with them the name
  and contact of the person of an appeal a lawyer logged; mailbox texts that long after
  they were sent (bot/services/privacy.py); the anonymised questions behind "did not help"
  after 35 days (bot/services/faq_misses.py).
- `fsm_sweep_job`: conversations untouched for FSM_TTL_DAYS are deleted (bot/storage/fsm.py).

Schedule both once a day (they are idempotent: a run finds nothing left to do until more
passes the limit). Only one process should run them, like the desk's clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiogram.fsm.storage.base import BaseStorage

from bot.i18n import LANGUAGES, N_
from bot.services.faq_misses import forget_old_questions
from bot.services.privacy import SYSTEM_ACTOR, Purged, purge_expired
from bot.services.staff import audit
from bot.storage.fsm import DatabaseStorage
from bot.storage.models import utcnow

if TYPE_CHECKING:
    from bot.context import Context

log = logging.getLogger(__name__)

BATCH = 500  # appeals per transaction: a first run over years of appeals never holds long locks
# Left in an appeal never closed whose texts were removed, in both languages: the lawyers of
# any language read it.
NOTE_RETAINED = N_(
    "🗄 The texts and files of this appeal were removed: nothing happened in it for {months} "
    "months, the storage period of personal data. Please close this appeal."
)


async def retention_job(ctx: Context, now: datetime | None = None) -> Purged:
    """Purge what is past the retention period, in batches of one transaction each (each
    with its audit row). Returns how many appeals and letters lost their texts."""
    months = ctx.settings.appeal_text_retention_months
    moment = now or utcnow()
    note = "\n\n".join(
        ctx.i18n.gettext(NOTE_RETAINED, locale=lang).format(months=months) for lang in LANGUAGES
    )
    total = Purged()
    while True:
        async with ctx.session_factory() as session:
            purged = await purge_expired(session, moment, months, limit=BATCH, note=note)
            if purged:
                await audit(
                    session,
                    SYSTEM_ACTOR,
                    "retention-purge",
                    appeals=purged.closed,
                    idle_appeals=purged.idle,
                    mailbox=purged.mailbox,
                    people=purged.people,
                    months=months,
                )
            await session.commit()
        total += purged
        if purged.most() < BATCH:
            break
    async with ctx.session_factory() as session:
        # A week's questions are a few hundred rows: one statement.
        total += Purged(faq_questions=await forget_old_questions(session, moment))
        await session.commit()
    if total.most():
        log.info(
            "retention: texts removed of %d appeals closed and %d idle over %d months ago, "
            "and of %d mailbox letters",
            total.closed,
            total.idle,
            months,
            total.mailbox,
        )
    if total.faq_questions:
        log.info("retention: %d questions behind FAQ answers deleted", total.faq_questions)
    if total.people:
        log.info("retention: names and contacts of %d logged appeals erased", total.people)
    return total


async def fsm_sweep_job(ctx: Context, storage: BaseStorage, now: datetime | None = None) -> int:
    """Delete the conversations untouched for FSM_TTL_DAYS; how many. `storage`: the
    dispatcher's, whose cache must forget them too. Redis's keys (scaled mode) expire by
    themselves; rows left in the table from embedded mode are swept all the same."""
    days = ctx.settings.fsm_ttl_days
    before = (now or utcnow()) - timedelta(days=days)
    table = (
        storage if isinstance(storage, DatabaseStorage) else DatabaseStorage(ctx.session_factory)
    )
    swept = await table.sweep(before)
    if swept:
        async with ctx.session_factory() as session:
            await audit(session, SYSTEM_ACTOR, "fsm-sweep", conversations=swept, days=days)
            await session.commit()
        log.info("retention: %d conversations untouched for %d days deleted", swept, days)
    return swept
