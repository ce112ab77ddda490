"""Sending a post to its audience: materialised recipients, one pace, restart-safe.

How a post runs (`Broadcaster.run`):

1. Lease: one conditional UPDATE makes this process the post's only sender until
   `lease_until`; a task renews it while sending. A process that finds the lease held by a
   live owner does nothing. A dead owner's lease runs out and another process takes over.
2. Recipients: on the first run, one INSERT … SELECT writes a delivery row per member of the
   audience (pending; opted-out and inactive members get their own status, never a send).
3. Rows a dead sender had taken ("sending") go back to pending: they are the messages that
   were in flight when it died, the only ones that can reach a member twice.
4. Batches of pending rows are taken (status "sending") and handed to `concurrency` workers;
   each send waits for its slot in the shared `Pacer`; each result is written in its own
   short transaction, never holding one across a send.
5. Results: delivered; 403 → blocked and the member marked inactive, no retry; 400 → failed
   with Telegram's reason (e.g. chat not found); 429 → every sender pauses for retry_after and
   the row is sent again; network errors and 5xx → retried with backoff, then failed.
6. When no row is pending the post is done; pausing or cancelling it stops the senders after
   the message each is sending.

At most `concurrency` members can get a post twice after a crash: the sends that had
reached Telegram but whose result was not yet written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from sqlalchemy import case, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import ColumnElement

from bot.broadcast.limiter import Pacer
from bot.storage.db import create_session_factory
from bot.storage.models import (
    Broadcast,
    Delivery,
    DeliveryStatus,
    Member,
    PostStatus,
    utcnow,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendSettings:
    concurrency: int = 32
    batch: int = 256
    lease_seconds: float = 30.0
    max_attempts: int = 5
    backoff_seconds: float = 0.5
    paid: bool = False  # allow_paid_broadcast: above 30 messages a second, paid in Stars


@dataclass
class RunResult:
    post_id: int
    counts: dict[str, int] = field(default_factory=dict)
    finished: bool = False


@dataclass(frozen=True)
class _Row:
    id: int
    chat_id: int
    member_id: int
    language: str
    attempts: int


class Broadcaster:
    def __init__(
        self,
        bot: Bot,
        engine: AsyncEngine,
        pacer: Pacer,
        *,
        owner: str,
        settings: SendSettings | None = None,
    ) -> None:
        self.bot, self.engine, self.pacer, self.owner = bot, engine, pacer, owner
        self.settings = settings or SendSettings()

    # --- the lease -------------------------------------------------------------------

    async def take_lease(self, post_id: int) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=self.settings.lease_seconds)
        async with self.engine.begin() as conn:
            taken = await conn.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == post_id,
                    Broadcast.status == PostStatus.RUNNING,
                    or_(
                        Broadcast.lease_owner.is_(None),
                        Broadcast.lease_owner == self.owner,
                        Broadcast.lease_until < now,
                    ),
                )
                .values(lease_owner=self.owner, lease_until=until)
                .returning(Broadcast.id)
            )
            return taken.first() is not None

    async def _keep_lease(self, post_id: int, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            try:
                if not await self.take_lease(post_id):
                    lost.set()
                    return
            except Exception:  # the database hiccuped: try again at the next beat
                log.warning("post %s: could not renew the lease", post_id, exc_info=True)

    async def _release_lease(self, post_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(Broadcast)
                .where(Broadcast.id == post_id, Broadcast.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    # --- recipients ------------------------------------------------------------------

    async def materialise(self, post: Broadcast) -> int:
        """One delivery row per member of the audience (once per post)."""
        async with self.engine.begin() as conn:
            already = await conn.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.broadcast_id == post.id)
            )
            if already:
                return int(already)
            audience: list[ColumnElement[bool]] = [
                Member.consent_at.is_not(None),
                Member.member_org.is_not(None),
            ]
            if post.orgs:
                audience.append(Member.member_org.in_(post.orgs))
            if post.workplace_types:
                audience.append(Member.workplace_type.in_(post.workplace_types))
            if post.language:
                audience.append(Member.language == post.language)
            status = case(
                (Member.active.is_(False), literal(DeliveryStatus.SKIPPED.value)),
                (Member.news_opt_out.is_(True), literal(DeliveryStatus.OPTED_OUT.value)),
                else_=literal(DeliveryStatus.PENDING.value),
            )
            rows = select(
                literal(post.id),
                Member.id,
                Member.telegram_id,
                Member.language,
                Member.member_org,
                status,
                literal(0),
            ).where(*audience)
            result = await conn.execute(
                insert(Delivery).from_select(
                    [
                        "broadcast_id",
                        "member_id",
                        "chat_id",
                        "language",
                        "member_org",
                        "status",
                        "attempts",
                    ],
                    rows,
                )
            )
            return int(result.rowcount or 0)

    async def _reset_in_flight(self, post_id: int) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(Delivery)
                .where(Delivery.broadcast_id == post_id, Delivery.status == DeliveryStatus.SENDING)
                .values(status=DeliveryStatus.PENDING)
            )
            return int(result.rowcount or 0)

    async def _take_batch(self, post_id: int) -> list[_Row]:
        async with self.engine.begin() as conn:
            ids = (
                select(Delivery.id)
                .where(Delivery.broadcast_id == post_id, Delivery.status == DeliveryStatus.PENDING)
                .order_by(Delivery.id)
                .limit(self.settings.batch)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            taken = await conn.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.PENDING)
                .values(status=DeliveryStatus.SENDING)
                .returning(
                    Delivery.id,
                    Delivery.chat_id,
                    Delivery.member_id,
                    Delivery.language,
                    Delivery.attempts,
                )
            )
            return sorted((_Row(*row) for row in taken), key=lambda r: r.id)

    async def _post_status(self, post_id: int) -> PostStatus | None:
        async with self.engine.connect() as conn:
            status = await conn.scalar(select(Broadcast.status).where(Broadcast.id == post_id))
            return PostStatus(status) if status is not None else None

    # --- sending ---------------------------------------------------------------------

    async def run(self, post_id: int) -> RunResult | None:
        """Send what is pending of a running post. None: another process holds it."""
        if not await self.take_lease(post_id):
            return None
        async with create_session_factory(self.engine)() as session:
            post_row = await session.get(Broadcast, post_id)
        if post_row is None:
            return None
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(post_id, lost))
        try:
            await self.materialise(post_row)
            back = await self._reset_in_flight(post_id)
            if back:
                log.info("post %s: %d deliveries in flight at a stop are sent again", post_id, back)
            finished = await self._send_all(post_row, lost)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        result = RunResult(post_id, await delivery_counts(self.engine, post_id), finished)
        if finished:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(Broadcast)
                    .where(Broadcast.id == post_id, Broadcast.status == PostStatus.RUNNING)
                    .values(status=PostStatus.DONE, finished_at=utcnow())
                )
        await self._release_lease(post_id)
        return result

    async def _send_all(self, post: Broadcast, lost: asyncio.Event) -> bool:
        queue: asyncio.Queue[_Row | None] = asyncio.Queue(maxsize=self.settings.batch * 2)
        stop = asyncio.Event()

        async def produce() -> bool:
            while not stop.is_set():
                if lost.is_set() or await self._post_status(post.id) != PostStatus.RUNNING:
                    return False
                rows = await self._take_batch(post.id)
                if not rows:
                    return True
                for row in rows:
                    await queue.put(row)
            return False

        async def work() -> None:
            while True:
                row = await queue.get()
                if row is None:
                    return
                if stop.is_set() or lost.is_set():
                    continue  # left "sending": the next run sends it
                await self._deliver(post, row)

        workers = [asyncio.create_task(work()) for _ in range(self.settings.concurrency)]
        drained = False
        try:
            drained = await produce()
        finally:
            if not drained:
                stop.set()  # paused, cancelled, lease lost or an error: stop after this send
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers, return_exceptions=True)
        return drained and not lost.is_set()

    async def _deliver(self, post: Broadcast, row: _Row) -> None:
        attempts = row.attempts
        while True:
            await self.pacer.slot()
            try:
                poll_id = await self._send(post, row)
            except TelegramRetryAfter as exc:
                self.pacer.pause(exc.retry_after)
                continue
            except TelegramForbiddenError:
                await self._record(row, DeliveryStatus.BLOCKED, attempts + 1, "blocked")
                await self._member_inactive(row.member_id)
                return
            except TelegramBadRequest as exc:
                await self._record(row, DeliveryStatus.FAILED, attempts + 1, exc.message[:200])
                return
            except (TelegramNetworkError, TelegramServerError) as exc:
                attempts += 1
                if attempts >= self.settings.max_attempts:
                    await self._record(row, DeliveryStatus.FAILED, attempts, str(exc)[:200])
                    return
                await asyncio.sleep(self.settings.backoff_seconds * 2 ** (attempts - 1))
                continue
            await self._record(row, DeliveryStatus.DELIVERED, attempts + 1, None, poll_id)
            return

    async def _send(self, post: Broadcast, row: _Row) -> str | None:
        text = post_text(post, row.language)
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if self.settings.paid else {}
        if post.media_kind == "photo" and post.media_file_id:
            await self.bot.send_photo(
                row.chat_id, post.media_file_id, caption=text, parse_mode="HTML", **extra
            )
        elif post.media_kind == "document" and post.media_file_id:
            await self.bot.send_document(
                row.chat_id, post.media_file_id, caption=text, parse_mode="HTML", **extra
            )
        else:
            await self.bot.send_message(row.chat_id, text, parse_mode="HTML", **extra)
        survey = (post.survey or {}).get(row.language) or (post.survey or {}).get("kk")
        if survey:
            sent = await self.bot.send_poll(
                row.chat_id,
                survey["question"],
                options=list(survey["options"]),
                is_anonymous=False,
                **extra,
            )
            return sent.poll.id if sent.poll else None
        return None

    async def _record(
        self,
        row: _Row,
        status: DeliveryStatus,
        attempts: int,
        error: str | None,
        poll_id: str | None = None,
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(Delivery)
                .where(Delivery.id == row.id)
                .values(
                    status=status,
                    attempts=attempts,
                    error=error,
                    poll_id=poll_id,
                    sent_at=utcnow() if status == DeliveryStatus.DELIVERED else None,
                )
            )

    async def _member_inactive(self, member_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(Member).where(Member.id == member_id).values(active=False))


def post_text(post: Broadcast, language: str) -> str:
    """The member's language; the other version when theirs is missing."""
    if language == "ru":
        return post.text_ru or post.text_kk or ""
    return post.text_kk or post.text_ru or ""


async def delivery_counts(engine: AsyncEngine, post_id: int) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Delivery.status, func.count())
            .where(Delivery.broadcast_id == post_id)
            .group_by(Delivery.status)
        )
        counted = {DeliveryStatus(status).value: int(n) for status, n in rows}
    return {status.value: counted.get(status.value, 0) for status in DeliveryStatus}
