"""The outbox table: adding messages, taking them for a try, recording what happened.

Plain SQL on both databases; every change of state is one conditional statement, so two
senders (two processes, or a handler and the background sender) never take one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage.models import OutboxMessage, OutboxStatus

UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.SENDING)
DONE = (OutboxStatus.SENT, OutboxStatus.BLOCKED, OutboxStatus.FAILED, OutboxStatus.CANCELLED)


@dataclass(frozen=True)
class Writer:
    """Who is told when a message cannot be delivered, and in which language."""

    chat_id: int
    language: str


@dataclass(frozen=True)
class Letter:
    """One Bot API call to make: its method name, the chat, the other parameters."""

    method: str
    chat_id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class Taken:
    """A message taken for one try."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    purpose: str
    appeal_id: int | None
    writer_chat_id: int | None
    writer_language: str | None
    attempts: int
    created_at: datetime


def add(
    session: AsyncSession,
    letters: Sequence[Letter],
    *,
    purpose: str,
    now: datetime,
    appeal_id: int | None = None,
    appeal_message_id: int | None = None,
    writer: Writer | None = None,
    not_before: datetime | None = None,
) -> list[OutboxMessage]:
    """Messages to send, in the caller's transaction (flush or commit to get their ids).
    `not_before`: the first moment the background sender may try (a handler that makes the
    first try itself gives itself a head start)."""
    rows = [
        OutboxMessage(
            chat_id=item.chat_id,
            method=item.method,
            payload=item.payload,
            purpose=purpose,
            appeal_id=appeal_id,
            appeal_message_id=appeal_message_id,
            writer_chat_id=writer.chat_id if writer else None,
            writer_language=writer.language if writer else None,
            status=OutboxStatus.PENDING,
            attempts=0,
            not_before=not_before or now,
            created_at=now,
        )
        for item in letters
    ]
    session.add_all(rows)
    return rows


def _first_of_its_chat() -> ColumnElement[bool]:
    """No earlier message to the same chat is still to be sent: a chat's messages go in
    the order they were written, a retry holding back the ones after it."""
    earlier = aliased(OutboxMessage)
    return ~exists().where(
        earlier.chat_id == OutboxMessage.chat_id,
        earlier.id < OutboxMessage.id,
        earlier.status.in_(UNFINISHED),
    )


async def due(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Messages the background sender may try now, oldest first, one per chat."""
    rows = await session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.not_before <= now,
            _first_of_its_chat(),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(rows)


async def take(
    session: AsyncSession, message_id: int, *, owner: str, now: datetime, lease: timedelta
) -> Taken | None:
    """Mark one message "sending" for `owner` until `now + lease`; None when it is not
    pending, or an earlier message to its chat is not sent yet, or another sender took it."""
    taken = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            _first_of_its_chat(),
        )
        .values(
            status=OutboxStatus.SENDING,
            owner=owner,
            lease_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.chat_id,
            OutboxMessage.method,
            OutboxMessage.payload,
            OutboxMessage.purpose,
            OutboxMessage.appeal_id,
            OutboxMessage.writer_chat_id,
            OutboxMessage.writer_language,
            OutboxMessage.attempts,
            OutboxMessage.created_at,
        )
        .execution_options(synchronize_session=False)
    )
    row = taken.first()
    return Taken(*row) if row is not None else None


async def finish(
    session: AsyncSession,
    message_id: int,
    status: OutboxStatus,
    *,
    now: datetime,
    telegram_message_id: int | None = None,
    error: str | None = None,
) -> None:
    """A final state. The parameters are erased: what was said is kept in the appeal."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=status,
            sent_at=now if status == OutboxStatus.SENT else None,
            message_id=telegram_message_id,
            error=error[:200] if error else None,
            payload={},
            owner=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )


async def retry_later(
    session: AsyncSession, message_id: int, *, not_before: datetime, error: str
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.PENDING,
            not_before=not_before,
            error=error[:200],
            owner=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )


async def reclaim(session: AsyncSession, now: datetime) -> int:
    """Messages whose sender died (its lease ran out) go back to pending: the next try may
    deliver a message the dead sender had already delivered (the stated bound)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now)
        .values(status=OutboxStatus.PENDING, owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def appeal_of(
    session: AsyncSession, chat_id: int, telegram_message_id: int, *, relayed_only: bool = False
) -> int | None:
    """The appeal a delivered message belongs to: a Telegram reply to it answers that
    appeal. `relayed_only`: only a relayed message of the appeal's thread counts, not a
    notice about the appeal."""
    where = [
        OutboxMessage.chat_id == chat_id,
        OutboxMessage.message_id == telegram_message_id,
        OutboxMessage.appeal_id.is_not(None),
    ]
    if relayed_only:
        where.append(OutboxMessage.appeal_message_id.is_not(None))
    return await session.scalar(select(OutboxMessage.appeal_id).where(*where).limit(1))


async def delivered_copies(session: AsyncSession, appeal_message_id: int) -> list[tuple[int, int]]:
    """(chat, Telegram message id) of the delivered copies of one appeal message."""
    rows = await session.execute(
        select(OutboxMessage.chat_id, OutboxMessage.message_id).where(
            OutboxMessage.appeal_message_id == appeal_message_id,
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.message_id.is_not(None),
        )
    )
    return [(chat, message) for chat, message in rows if message is not None]


async def cancel(session: AsyncSession, where: ColumnElement[bool]) -> int:
    """Withdraw messages not yet sent (the member took their words back, or erased their
    data); their parameters are erased."""
    result = await session.execute(
        update(OutboxMessage)
        .where(where, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, payload={})
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def waiting(session: AsyncSession) -> int:
    """Messages still to be sent (for /metrics)."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_(UNFINISHED))
        )
        or 0
    )


async def forget_person(
    session: AsyncSession, telegram_id: int, placeholder: int, appeal_ids: Sequence[int]
) -> None:
    """/forget: nothing still to be sent to or about the person goes out, and no row keeps
    their Telegram id (the placeholder takes its place, as in the member row)."""
    about = OutboxMessage.chat_id == telegram_id
    if appeal_ids:
        about = about | OutboxMessage.appeal_id.in_(list(appeal_ids))
    await cancel(session, about)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_id == telegram_id)
        .values(chat_id=placeholder)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.writer_chat_id == telegram_id)
        .values(writer_chat_id=None, writer_language=None)
        .execution_options(synchronize_session=False)
    )
