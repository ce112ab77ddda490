"""What members do with FAQ answers: the union's measure of self-service.

Statistics, not member data: an update's events are written after its handler answered
(`FaqEvents`, filled by the handlers, written by `bot.middlewares.FaqEventsAfterReply`),
so the member never waits for them. On a SQLite file they join the writer thread's next
transaction (bot/storage/writer.py); elsewhere they take one short transaction. A crash
between the reply and that write loses the events of the updates then being handled.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.members import MemberView
from bot.storage.models import FaqEvent, FaqEventKind, utcnow
from bot.storage.writer import SqliteWriter


class FaqEvents:
    """The FAQ events of one update."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

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

    async def write(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        writer: SqliteWriter | None,
    ) -> None:
        rows, self.rows = self.rows, []
        if not rows:
            return
        if writer is not None:
            await writer.write([insert(FaqEvent).values(rows)])
            return
        async with session_factory() as session, session.begin():
            await session.execute(insert(FaqEvent), rows)
