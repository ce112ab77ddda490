"""Short writes on the embedded SQLite file, from one thread of their own.

SQLite lets one connection write at a time. A write through the `AsyncSession` holds that
lock from its first statement to its commit, and each statement and the commit are a trip
to aiosqlite's thread and back through a busy event loop: under load the lock is held for
event-loop turns (p50 8 ms, p99 43 ms measured), and other writers wait in SQLite's busy
handler, whose growing sleeps make the slow tail of member replies.

The writer runs the bot's most frequent writes — the FSM state (bot/storage/fsm.py) and
FAQ events — as whole transactions inside one thread: `BEGIN IMMEDIATE`, the statements,
`COMMIT`, without returning to the event loop in between, so the lock is held for the
statements' own time. Writes queued meanwhile go into the same transaction (a group
commit); each has its own savepoint, so one failing write fails alone. `write` returns
once its transaction committed (what a member gave is stored before the bot answers).

The writer waits for the lock itself, in short steps (`LOCK_POLL`), rather than in
SQLite's growing sleeps, and gives up after `BUSY_TIMEOUT` like the engine does.
PostgreSQL and in-memory SQLite have no writer (`for_url` returns None): their writes go
through the session as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

BATCH = 200  # writes at most in one transaction
LOCK_POLL = 0.0005  # seconds between two tries for the write lock
BUSY_TIMEOUT = 30.0  # seconds; then the writes of that transaction fail


@dataclass
class _Job:
    statements: Sequence[Executable]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    error: BaseException | None = field(default=None)


_STOP = object()


class SqliteWriter:
    def __init__(self, database: str, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.database = database
        self.busy_timeout = busy_timeout
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._engine: Engine | None = None
        self.transactions = 0  # committed (for tests and benchmarks)
        self.writes = 0

    @classmethod
    def for_url(cls, url: str) -> SqliteWriter | None:
        parsed = make_url(url)
        database = parsed.database
        if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
            return None
        if database.startswith("file:") or parsed.query:
            return None  # a URI database: leave it to the session
        return cls(database)

    async def write(self, statements: Sequence[Executable]) -> None:
        """Run `statements` in one savepoint of the writer's next transaction; return when
        it committed, or raise what the statements raised."""
        loop = asyncio.get_running_loop()
        job = _Job(statements, loop, loop.create_future())
        self._submit(job)
        await asyncio.shield(job.future)  # a cancelled update does not undo a queued write

    async def flush(self) -> None:
        """Every write queued before this call is committed (or failed) when it returns."""
        if self._thread is not None:
            await self.write(())

    async def close(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._jobs.put(_STOP)
        await asyncio.to_thread(thread.join)
        self._thread = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- the thread -------------------------------------------------------------------------

    def _submit(self, job: _Job) -> None:
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._engine = self._make_engine()
                    self._thread = threading.Thread(
                        target=self._run, name="sqlite-writer", daemon=True
                    )
                    self._thread.start()
        self._jobs.put(job)

    def _make_engine(self) -> Engine:
        engine = create_engine(
            f"sqlite:///{self.database}",
            poolclass=StaticPool,
            hide_parameters=True,
            # Used by the writer thread only; `close` disposes of it from the event loop's
            # thread once that thread has ended.
            connect_args={"check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Transactions are begun here (BEGIN IMMEDIATE), not by the driver.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=0")  # the writer polls (LOCK_POLL) itself
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            _begin_immediate(connection, self.busy_timeout)

        return engine

    def _run(self) -> None:
        assert self._engine is not None
        connection: Connection | None = None
        try:
            while True:
                jobs, stop = self._next_batch()
                if jobs:
                    try:
                        if connection is None:
                            connection = self._engine.connect()
                    except Exception as exc:  # no connection: these fail, the next try again
                        for job in jobs:
                            job.error = exc
                            _settle(job)
                    else:
                        self._run_batch(connection, jobs)
                if stop:
                    return
        finally:
            if connection is not None:
                connection.close()

    def _next_batch(self) -> tuple[list[_Job], bool]:
        """The writes queued now (waiting for the first), and whether to stop after them."""
        jobs: list[_Job] = []
        item = self._jobs.get()
        while item is not _STOP:
            jobs.append(item)
            if len(jobs) >= BATCH:
                return jobs, False
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return jobs, False
        return jobs, True

    def _run_batch(self, connection: Connection, jobs: list[_Job]) -> None:
        if not any(job.statements for job in jobs):  # only flushes: nothing to lock for
            for job in jobs:
                _settle(job)
            return
        try:
            with connection.begin():
                for job in jobs:
                    if not job.statements:
                        continue
                    savepoint = connection.begin_nested()
                    try:
                        for statement in job.statements:
                            connection.execute(statement)
                    except Exception as exc:  # this write alone fails
                        savepoint.rollback()
                        job.error = exc
                    else:
                        savepoint.commit()
        except Exception as exc:  # the transaction failed: every write in it did
            for job in jobs:
                job.error = job.error or exc
        else:
            self.transactions += 1
        for job in jobs:
            self.writes += 1 if job.statements else 0
            _settle(job)


def _begin_immediate(connection: Connection, timeout: float) -> None:
    """BEGIN IMMEDIATE, tried every LOCK_POLL seconds until it gets the write lock."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(LOCK_POLL)


def _settle(job: _Job) -> None:
    future, error = job.future, job.error

    def settle() -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        job.loop.call_soon_threadsafe(settle)
