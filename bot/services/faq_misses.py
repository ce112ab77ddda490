"""The questions behind "did not help": what a member typed before opening an FAQ answer
that did not answer it, kept for the FAQ's editors (the weekly digest, bot/clock/faq_digest.py).

Only for a member who consented, anonymised before it is stored
(bot/services/anonymise.py `question`), tied to no member, and deleted after `KEEP_DAYS`
(bot/clock/retention.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import FaqMissQuestion

KEEP_DAYS = 35  # then the nightly retention deletes it


def miss_row(node_id: str, lang: str, text: str, at: datetime) -> dict[str, object]:
    return {"node_id": node_id, "lang": lang, "text": text, "at": at}


async def recent_questions(
    session: AsyncSession, node_ids: Sequence[str], since: datetime, per_node: int
) -> dict[str, list[str]]:
    """Up to `per_node` questions kept for each answer since `since`, newest first."""
    if not node_ids:
        return {}
    rows = await session.execute(
        select(FaqMissQuestion.node_id, FaqMissQuestion.text)
        .where(FaqMissQuestion.node_id.in_(node_ids), FaqMissQuestion.at >= since)
        .order_by(FaqMissQuestion.at.desc(), FaqMissQuestion.id.desc())
    )
    out: dict[str, list[str]] = {}
    for node_id, text in rows:
        kept = out.setdefault(node_id, [])
        if len(kept) < per_node:
            kept.append(text)
    return out


async def forget_old_questions(session: AsyncSession, now: datetime) -> int:
    """Delete the questions kept longer than KEEP_DAYS; how many."""
    result = await session.execute(
        delete(FaqMissQuestion).where(FaqMissQuestion.at < now - timedelta(days=KEEP_DAYS))
    )
    return int(getattr(result, "rowcount", 0) or 0)
