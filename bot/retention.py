"""The retention clock: appeal texts, message texts and file ids are removed
APPEAL_TEXT_RETENTION_MONTHS after the appeal closed (bot/services/privacy.py).

Schedule `retention_job(ctx)` once a day (it is idempotent: a run finds nothing left to do
until more appeals pass the limit). Only one process should run it, like the desk's clock.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.services.privacy import SYSTEM_ACTOR, purge_expired
from bot.services.staff import audit
from bot.storage.models import utcnow

if TYPE_CHECKING:
    from bot.app import Context

log = logging.getLogger(__name__)

BATCH = 500  # appeals per transaction: a first run over years of appeals never holds long locks


async def retention_job(ctx: Context, now: datetime | None = None) -> int:
    """Purge what is past the retention period, in batches of one transaction each (each
    with its audit row). Returns the number of appeals whose texts were removed."""
    months = ctx.settings.appeal_text_retention_months
    moment = now or utcnow()
    total = 0
    while True:
        async with ctx.session_factory() as session:
            purged = await purge_expired(session, moment, months, limit=BATCH)
            if purged:
                await audit(session, SYSTEM_ACTOR, "retention-purge", appeals=purged, months=months)
            await session.commit()
        total += purged
        if purged < BATCH:
            break
    if total:
        log.info("retention: texts of %d appeals closed over %d months ago removed", total, months)
    return total
