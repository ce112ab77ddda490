"""Sending a post to its audience: materialised recipients, one pace, restart-safe.

How a post runs (`Broadcaster.run`):

1. Lease: one conditional UPDATE makes this process the post's only sender until
   `lease_until`; a task renews it while sending. A process that finds the lease held by a
   live owner does nothing. A dead owner's lease runs out and another process takes over.
   A stalled owner (stopped, swapped out, its event loop blocked) must not wake up and send
   the rows it had taken, which the new owner sends: before each send a worker checks, by
   its own monotonic clock, that the lease it last renewed has `LEASE_TRUSTED` (80 %) of
   its length left; if not it stops, and the rows it held stay for the new owner.
2. Recipients: on the first run, one INSERT … SELECT writes a delivery row per member of the
   audience (pending; opted-out and inactive members get their own status, never a send).
3. Rows a dead sender had taken ("sending") go back to pending: they hold the messages that
   were in flight or whose result was not yet written when it died, the only ones that can
   reach a member twice.
4. Batches of pending rows are taken (status "sending") and handed to `concurrency` workers;
   each send waits for its slot in the shared `Pacer`. A worker hands each result to the
   results writer and takes its next row; the writer writes the results it holds in one
   short transaction on a connection of its own (a few UPDATEs whatever their number: see
   `ResultWriter`) when `write_buffer` / 2 have gathered or the first has waited
   `write_every` seconds. No transaction is ever held across a send.
5. Results: delivered; 403 → blocked and the member marked inactive, no retry; 400 → failed
   with Telegram's reason (e.g. chat not found); 429 → every sender pauses for retry_after and
   the row is sent again; network errors and 5xx → retried with backoff, then failed.
6. When no row is pending the post is done: every result is written (committed) before the
   post is marked done and `run` returns. Pausing or cancelling it (read every
   `status_every` seconds while it sends, from whichever instance it was pressed on), and
   cancelling `run` as the bot does when it stops, stops the senders after the message
   each is sending and writes the results of what was sent; rows taken and not sent go
   back to pending at a resume.

The bound: after a crash (the process killed; nothing written any more), at most
`SendSettings.max_twice` = `concurrency` + `write_buffer` members can get the post twice:
the sends a worker had made whose result it had not yet handed over (one per worker), plus
the results handed over and not yet committed (the writer holds at most `write_buffer`;
a worker waits for room before handing over another). With the defaults: 32 + 64 = 96.
A write that keeps failing stops the run with the error (the next run sends those rows
again, within the same bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from sqlalchemy import (
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from bot.broadcast import lifecycle
from bot.broadcast.composition import LANGUAGES, Rendition, parts, rendition
from bot.broadcast.limiter import Pacer
from bot.broadcast.results import ResultWriter
from bot.broadcast.sends import send_part
from bot.compat.sends import build_types
from bot.storage.db import create_session_factory, to_its_end
from bot.storage.models import (
    Broadcast,
    Delivery,
    DeliveryStatus,
    Member,
    PostStatus,
    utcnow,
)

log = logging.getLogger(__name__)


class _Frozen:
    runs = 0  # posts being sent in this process that froze the heap


@contextlib.contextmanager
def _old_heap_left_alone() -> Iterator[None]:
    """While posts are being sent, the garbage collector leaves alone the objects that
    existed before (gc.freeze): aiogram's import alone is 220,000 of them. Thousands of
    sends a second make many young objects outlive two collections (the requests in flight
    at that moment), so full collections come every few seconds, each 0.2 s of CPU with
    the event loop stopped; with the old heap frozen they scan only what is new. The
    objects go back (gc.unfreeze) when the last post being sent finishes, so nothing is
    kept longer than the run. Left alone if something else froze the heap already."""
    if _Frozen.runs == 0 and gc.get_freeze_count():
        yield
        return
    if _Frozen.runs == 0:
        gc.freeze()
    _Frozen.runs += 1
    try:
        yield
    finally:
        _Frozen.runs -= 1
        if _Frozen.runs == 0:
            gc.unfreeze()


@dataclass(frozen=True)
class SendSettings:
    concurrency: int = 32
    batch: int = 256
    lease_seconds: float = 30.0
    max_attempts: int = 5
    backoff_seconds: float = 0.5
    paid: bool = False  # allow_paid_broadcast: above 30 messages a second, paid in Stars
    # Results waiting to be written, at most (senders wait for room); written in groups
    # when half of it has gathered or the oldest has waited `write_every` seconds. 30 ms is
    # less than the 40 ms between two sends at the default 25 a second, so there each
    # result is written in a transaction of its own; at 1,000 a second they are grouped
    # by ~30 (a transaction per result costs more CPU than the sends: 75 % of the rate).
    write_buffer: int = 64
    write_every: float = 0.03
    # How often a running post's status is read while it sends: a pause or cancel (from any
    # instance) stops the senders within this, not after the rows already taken.
    status_every: float = 0.5

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.batch < 1 or self.write_buffer < 1:
            raise ValueError("concurrency, batch and write_buffer must be positive")

    @property
    def max_twice(self) -> int:
        """At most this many members get a post twice when the sender dies mid-post."""
        return self.concurrency + self.write_buffer


@dataclass
class RunResult:
    post_id: int
    counts: dict[str, int] = field(default_factory=dict)
    finished: bool = False
    # This run's results and the transactions that wrote them.
    results_written: int = 0
    write_transactions: int = 0


# The share of a lease this process relies on by its own clock (see Broadcaster.lease_ok):
# it stops sending a fifth of the lease before another process could take the post over.
LEASE_TRUSTED = 0.8


class _LeaseLost(Exception):
    """This process's lease on the post ran out before it was renewed."""


class _Row(NamedTuple):
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
        self._lease_ends: dict[int, float] = {}  # post id -> monotonic end of the held lease

    # --- the lease -------------------------------------------------------------------

    @to_its_end
    async def take_lease(self, post_id: int) -> bool:
        asked = time.monotonic()  # the lease counts from before the request: conservative
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
            held = taken.first() is not None
        if held:
            self._lease_ends[post_id] = asked + self.settings.lease_seconds * LEASE_TRUSTED
        return held

    def lease_ok(self, post_id: int) -> bool:
        """Whether this process may still send for the post, by its own clock: a process
        that stalled (stopped, swapped out, its event loop blocked) past its lease must not
        send the rows it had taken, which another process may be sending by now."""
        return time.monotonic() < self._lease_ends.get(post_id, 0.0)

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
        self._lease_ends.pop(post_id, None)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(Broadcast)
                .where(Broadcast.id == post_id, Broadcast.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    # --- recipients ------------------------------------------------------------------

    @to_its_end
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

    @to_its_end
    async def _reset_in_flight(self, post_id: int) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(Delivery)
                .where(Delivery.broadcast_id == post_id, Delivery.status == DeliveryStatus.SENDING)
                .values(status=DeliveryStatus.PENDING)
            )
            return int(result.rowcount or 0)

    @to_its_end
    async def _take_batch(self, post_id: int) -> list[_Row]:
        async with self.engine.begin() as conn:
            # A materialised CTE: as `id IN (subquery LIMIT n)` PostgreSQL may run the
            # subquery again per row and take far more than n rows (it took all 40 of a
            # test's post in one batch of 16).
            batch = (
                select(Delivery.id)
                .where(Delivery.broadcast_id == post_id, Delivery.status == DeliveryStatus.PENDING)
                .order_by(Delivery.id)
                .limit(self.settings.batch)
                .with_for_update(skip_locked=True)
                .cte("batch")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            taken = await conn.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(select(batch.c.id)),
                    Delivery.status == DeliveryStatus.PENDING,
                )
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
            with _old_heap_left_alone():
                finished, writer = await self._send_all(post_row, lost)
                written, transactions = writer.written, writer.transactions
                # Done only when no row is pending *or sending*: every row this run took
                # is written by now, so a row still "sending" was taken by a process that
                # had stalled (stopped inside its take of a batch, woken after this one
                # took the post over); it sends nothing more, so the rows are sent here.
                while finished and (orphans := await self._reset_in_flight(post_id)):
                    log.warning(
                        "post %s: %d rows taken by a process that lost the post are sent here",
                        post_id,
                        orphans,
                    )
                    finished, writer = await self._send_all(post_row, lost)
                    written += writer.written
                    transactions += writer.transactions
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        counts = await delivery_counts(self.engine, post_id)
        result = RunResult(post_id, counts, finished, written, transactions)
        if finished:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(Broadcast)
                    .where(Broadcast.id == post_id, Broadcast.status == PostStatus.RUNNING)
                    .values(status=PostStatus.DONE, finished_at=utcnow())
                )
        await self._release_lease(post_id)
        return result

    async def _send_all(self, post: Broadcast, lost: asyncio.Event) -> tuple[bool, ResultWriter]:
        queue: asyncio.Queue[_Row | None] = asyncio.Queue(maxsize=self.settings.batch * 2)
        stop = asyncio.Event()
        failures: list[BaseException] = []
        writer = ResultWriter(self.engine, self.settings, on_failure=stop.set)
        versions = {language: rendition(post, language) for language in LANGUAGES}
        build_types()  # before the first slot, not after it
        writer.start()

        async def produce() -> bool:
            while not stop.is_set():
                if not self.lease_ok(post.id):
                    lost.set()
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
                try:
                    await self._deliver(post.id, versions, row, writer)
                except _LeaseLost:  # left "sending": the lease's next holder sends it
                    lost.set()
                except Exception as exc:  # a bug or the writer gave up: stop, keep draining
                    failures.append(exc)
                    stop.set()

        async def watch() -> None:
            # The press secretary's pause or cancel, while rows already taken are sent.
            while not stop.is_set():
                await asyncio.sleep(self.settings.status_every)
                if await self._post_status(post.id) != PostStatus.RUNNING:
                    stop.set()

        workers = [asyncio.create_task(work()) for _ in range(self.settings.concurrency)]
        watcher = asyncio.create_task(watch())
        drained = False
        try:
            drained = await produce()
        finally:
            if not drained:
                stop.set()  # paused, cancelled, lease lost or an error: stop after this send
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await writer.close()  # every result handed over is committed (or this raises)
        if failures:
            raise failures[0]
        return drained and not stop.is_set() and not lost.is_set(), writer

    async def _deliver(
        self, post_id: int, versions: dict[str, Rendition], row: _Row, writer: ResultWriter
    ) -> None:
        """Send the row's parts (text, then the poll if any), one pacer slot each; a retry
        sends again only the part that failed, never the text a member already has."""
        version = versions.get(row.language) or versions[LANGUAGES[0]]
        steps = parts(version)
        attempts, step, poll_id = row.attempts, 0, None
        while step < len(steps):
            await self.pacer.slot()
            if not self.lease_ok(post_id):
                raise _LeaseLost(post_id)
            try:
                sent = await send_part(
                    self.bot, row.chat_id, version, steps[step], paid=self.settings.paid
                )
            except TelegramRetryAfter as exc:
                self.pacer.pause(exc.retry_after)
                continue
            except TelegramForbiddenError:
                await writer.put(row, DeliveryStatus.BLOCKED, attempts + 1, "blocked")
                return
            except TelegramBadRequest as exc:
                await self._give_up(writer, row, step, attempts + 1, exc.message)
                return
            except (TelegramNetworkError, TelegramServerError) as exc:
                attempts += 1
                if attempts >= self.settings.max_attempts:
                    await self._give_up(writer, row, step, attempts, str(exc))
                    return
                await asyncio.sleep(self.settings.backoff_seconds * 2 ** (attempts - 1))
                continue
            poll_id = sent or poll_id
            step += 1
        await writer.put(row, DeliveryStatus.DELIVERED, attempts + 1, None, poll_id)

    @staticmethod
    async def _give_up(
        writer: ResultWriter, row: _Row, step: int, attempts: int, reason: str
    ) -> None:
        if step == 0:
            await writer.put(row, DeliveryStatus.FAILED, attempts, reason[:200])
        else:  # the text got there, the poll did not: delivered, with the poll's reason
            await writer.put(row, DeliveryStatus.DELIVERED, attempts, f"poll: {reason}"[:200])


async def delivery_counts(engine: AsyncEngine, post_id: int) -> dict[str, int]:
    """A post's deliveries by status, on a connection of its own."""
    async with AsyncSession(engine) as session:
        return (await lifecycle.delivery_counts(session, [post_id]))[post_id]
