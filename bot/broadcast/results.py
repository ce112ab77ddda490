"""A run's send results written in groups, by one task on a connection of its own: one
UPDATE statement per group (bot/broadcast/engine.py gathers them)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Integer,
    TextClause,
    bindparam,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.metrics import DELIVERIES
from bot.storage.models import (
    Delivery,
    DeliveryStatus,
    Member,
    utcnow,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.broadcast.engine import SendSettings, _Row


_RESULT_FIELDS = ("i", "s", "a", "e", "p", "t")  # id, status, attempts, error, poll_id, sent_at


@functools.cache
def _results_statement(n: int) -> TextClause:
    """One UPDATE for `n` results of any kind (id, status, attempts, error, poll_id, sent_at
    each): one statement, not n, so the database steps once, not once per row."""
    columns = Delivery.__table__.c
    types = (
        Integer(),
        columns.status.type,
        Integer(),
        columns.error.type,
        columns.poll_id.type,
        columns.sent_at.type,
    )
    rows = ", ".join("(" + ", ".join(f":{x}{k}" for x in _RESULT_FIELDS) + ")" for k in range(n))
    binds = [
        bindparam(f"{x}{k}", type_=type_)
        for k in range(n)
        for x, type_ in zip(_RESULT_FIELDS, types, strict=True)
    ]
    return text(
        f"WITH r(id, status, attempts, error, poll_id, sent_at) AS (VALUES {rows}) "
        "UPDATE delivery SET status = r.status, attempts = r.attempts, error = r.error, "
        "poll_id = r.poll_id, sent_at = r.sent_at FROM r WHERE delivery.id = r.id"
    ).bindparams(*binds)


def _powers_of_two(items: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """40 items as 32 + 8: few statements, and few sizes of statement to compile."""
    start = 0
    while start < len(items):
        size = 1 << ((len(items) - start).bit_length() - 1)
        yield items[start : start + size]
        start += size


# The common result: delivered at the first try, no survey. Only ids: nothing to convert.
_DELIVERED = (
    update(Delivery)
    .where(Delivery.id.in_(bindparam("ids", expanding=True)))
    .values(status=DeliveryStatus.DELIVERED, attempts=bindparam("n"), sent_at=bindparam("at"))
)
_INACTIVE = (
    update(Member).where(Member.id.in_(bindparam("ids", expanding=True))).values(active=False)
)


class _Group:
    """Results gathered for one write."""

    def __init__(self) -> None:
        self.size = 0
        self.delivered: dict[int, list[int]] = {}  # attempts -> delivery ids
        self.delivered_at: datetime | None = None  # when the last of them was sent
        self.other: list[tuple[Any, ...]] = []  # (id, status, attempts, error, poll, sent)
        self.inactive: list[int] = []  # members who blocked the bot


class ResultWriter:
    """The results of one run, written in groups by one task on a connection of its own.

    `put` waits while `write_buffer` results are held (gathering or being written); the
    task writes what has gathered when half the buffer is full, `write_every` seconds after
    the first of them arrived, or at `close`, in one transaction: one UPDATE for the rows
    delivered at the first try (their sent_at is the time the last of them was sent, so at
    most `write_every` late), one for the others (failed, blocked, surveys, retried). A
    failed write is tried again three times on a new connection; then the writer gives up,
    calls `on_failure`, and `put` and `close` raise its error.
    """

    ATTEMPTS = 4

    def __init__(
        self, engine: AsyncEngine, settings: SendSettings, on_failure: Callable[[], None]
    ) -> None:
        self.engine, self.settings, self.on_failure = engine, settings, on_failure
        self.limit = settings.write_buffer
        self.group = _Group()
        self.held = 0  # gathered + being written
        self.error: BaseException | None = None
        self.written = 0
        self.transactions = 0
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._arrived = asyncio.Event()  # something to write
        self._half = asyncio.Event()  # half the buffer: write now

    async def put(
        self,
        row: _Row,
        status: DeliveryStatus,
        attempts: int,
        error: str | None,
        poll_id: str | None = None,
    ) -> None:
        if self.held >= self.limit:
            async with self._changed:
                await self._changed.wait_for(lambda: self.held < self.limit or self.failed)
        if self.error is not None:
            raise self.error
        group = self.group
        if status == DeliveryStatus.DELIVERED:
            group.delivered_at = utcnow()
            if poll_id is None and error is None:
                group.delivered.setdefault(attempts, []).append(row.id)
            else:
                group.other.append((row.id, status, attempts, error, poll_id, group.delivered_at))
        else:
            group.other.append((row.id, status, attempts, error, None, None))
            if status == DeliveryStatus.BLOCKED:
                group.inactive.append(row.member_id)
        group.size += 1
        self.held += 1
        self._arrived.set()
        if group.size * 2 >= self.limit:
            self._half.set()

    @property
    def failed(self) -> bool:
        return self.error is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Write what is held and stop; raises what made the writer give up."""
        self._closing = True
        self._arrived.set()
        self._half.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        conn: AsyncConnection | None = None
        try:
            while True:
                await self._arrived.wait()
                if not self._closing and not self._half.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._half.wait(), self.settings.write_every)
                group, self.group = self.group, _Group()
                self._half.clear()
                if not self._closing:
                    self._arrived.clear()
                if group.size:
                    conn = await self._write(conn, group)
                    self.written += group.size
                    async with self._changed:
                        self.held -= group.size
                        self._changed.notify_all()
                if self._closing and not self.group.size:
                    return
        except BaseException as exc:
            self.error = exc
            self.on_failure()
            async with self._changed:
                self._changed.notify_all()
            raise
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _write(self, conn: AsyncConnection | None, group: _Group) -> AsyncConnection:
        other = [
            (
                statement,
                {
                    f"{name}{k}": value
                    for k, result in enumerate(chunk)
                    for name, value in zip(_RESULT_FIELDS, result, strict=True)
                },
            )
            for chunk in _powers_of_two(group.other)
            for statement in [_results_statement(len(chunk))]
        ]
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                if conn is None:
                    conn = await self.engine.connect()
                async with conn.begin():
                    for n, ids in group.delivered.items():
                        await conn.execute(
                            _DELIVERED, {"ids": ids, "n": n, "at": group.delivered_at}
                        )
                    for statement, params in other:
                        await conn.execute(statement, params)
                    if group.inactive:
                        await conn.execute(_INACTIVE, {"ids": group.inactive})
                _count(group)
                self.transactions += 1
                return conn
            except Exception:
                if attempt == self.ATTEMPTS:
                    raise
                log.warning("could not write %d results, again", group.size, exc_info=True)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                    conn = None
                await asyncio.sleep(0.2 * attempt)
        raise AssertionError("unreachable")


def _count(group: _Group) -> None:
    delivered = sum(len(ids) for ids in group.delivered.values())
    by_status = Counter(str(result[1]) for result in group.other)
    by_status[DeliveryStatus.DELIVERED.value] += delivered
    for status, n in by_status.items():
        DELIVERIES.labels(status).inc(n)
