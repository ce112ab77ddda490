"""What members do with FAQ answers: the union's measure of self-service.

Statistics, not member data: an update's events are written after its handler answered
(`FaqEvents`, filled by the handlers, written by `bot.middlewares.FaqEventsAfterReply`),
so the member never waits for them. On a SQLite file they join the writer thread's next
transaction (bot/storage/writer.py); elsewhere they take one short transaction. A crash
between the reply and that write loses the events of the updates then being handled.

A "did not help" from search results keeps the question the member typed there too
(`missed`: anonymised, tied to no member, only with the member's consent), written with
that event, for the FAQ's editors (bot/services/faq_misses.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import anonymise
from bot.services.faq_misses import miss_row
from bot.services.members import MemberView, has_consent
from bot.storage.models import FaqEvent, FaqEventKind, FaqMissQuestion, utcnow
from bot.storage.writer import SqliteWriter


class FaqEvents:
    """The FAQ events of one update."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.misses: list[dict[str, Any]] = []

    def add(self, node_id: str, kind: FaqEventKind, member: MemberView | None) -> None:
        self.rows.append(
            {
                "node_id": node_id,
                "kind": kind,
                "member_id": member.id if member else None,
                "member_org": member.member_org if member else None,
                "at": utcnow(),
            }
        )

    def missed(
        self, node_id: str, member: MemberView, question: str, names: Iterable[str | None] = ()
    ) -> None:
        """The question typed before the answer `node_id` that did not help: kept anonymised
        (`names`: the member's own, from Telegram, masked too), only if the member
        consented. Call it with the update's NOT_HELPED event of that answer: it is
        written with the update's events."""
        if not question.strip() or not has_consent(member):
            return
        text = anonymise.question(question, names)
        if text:
            self.misses.append(miss_row(node_id, member.language, text, utcnow()))

    async def write(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        writer: SqliteWriter | None,
    ) -> None:
        rows, self.rows = self.rows, []
        misses, self.misses = self.misses, []
        statements = [
            insert(table).values(values)
            for table, values in ((FaqEvent, rows), (FaqMissQuestion, misses))
            if values
        ]
        if not statements:
            return
        if writer is not None:
            await writer.write(statements)
            return
        async with session_factory() as session, session.begin():
            for statement in statements:
                await session.execute(statement)
