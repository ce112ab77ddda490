"""Engine and session factory for SQLite (embedded) and PostgreSQL (scaled)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# SQLite waits for a lock by itself (busy_timeout). If it still answers "database is
# locked" (a writer held the lock longer than that, or a lock SQLite does not wait for), the
# statement had no effect and is tried again after these pauses; then the error stands.
BUSY_TIMEOUT = 30.0  # seconds
BUSY_RETRY_PAUSES = (0.05, 0.2, 0.5)
DEFAULT_TIMEZONE = ZoneInfo("Asia/Almaty")  # Settings' TIMEZONE default


def normalise_url(url: str) -> str:
    """Accept plain sqlite:// and postgresql:// URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    busy_timeout: float = BUSY_TIMEOUT,
    busy_retry_pauses: tuple[float, ...] = BUSY_RETRY_PAUSES,
    **engine_kwargs: Any,
) -> AsyncEngine:
    """Nothing connects here: an unreachable database shows at the first use.

    A statement's values (members' texts among them) never appear in an error's message
    (`hide_parameters`), and the SQLite driver does not log statements with their values.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {**engine_kwargs, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": busy_timeout}
        # aiosqlite logs every call at DEBUG with its arguments: the statement's values.
        logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine, parsed.database, busy_timeout)
        _retry_when_busy(engine, busy_retry_pauses)
    return engine


def _tune_sqlite(engine: AsyncEngine, database: str | None, busy_timeout: float) -> None:
    @event.listens_for(engine.sync_engine, "do_connect")
    def _make_directory(*_args: Any) -> None:
        # At the first connection, not when the engine is made: a directory that cannot be
        # made is then a database error like any other (one line at start, bot.runner).
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    # pysqlite's own transaction handling is kept: it opens a transaction right before the
    # first write, so plain reads take no lock and a write never has to upgrade a read
    # snapshot (no SQLITE_BUSY from lock upgrades in WAL mode). An explicit "BEGIN" from a
    # SQLAlchemy event cost about 0.9 ms per transaction (bench/updates.py).
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


BUSY_MESSAGES = ("database is locked", "database is busy")


def _busy_reason(exc: Exception) -> str | None:
    """SQLite's own words when it refused a statement as busy (they carry no values)."""
    message = str(exc)
    return next((words for words in BUSY_MESSAGES if words in message), None)


def _retry_when_busy(engine: AsyncEngine, pauses: tuple[float, ...]) -> None:
    """A statement SQLite refused as busy is run again, a bounded number of times.

    A refused statement changed nothing (SQLite undoes the statement, and pysqlite begins
    its transaction right before the first write, so the refused write is the first one).
    """
    if not pauses:
        return

    def run(execute: Any, cursor: Any, statement: str, parameters: Any) -> bool:
        for attempt, pause in enumerate((*pauses, None)):
            try:
                execute(statement, parameters)
                return True
            except Exception as exc:
                reason = _busy_reason(exc)
                if pause is None or reason is None:
                    raise
                log.warning(
                    "SQLite busy (%s); statement tried again in %.2f s (retry %d of %d)",
                    reason,
                    pause,
                    attempt + 1,
                    len(pauses),
                )
                # Inside SQLAlchemy's greenlet: this waits without blocking the event loop.
                await_only(asyncio.sleep(pause))
        return True  # not reached

    @event.listens_for(engine.sync_engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return run(cursor.execute, cursor, statement, parameters)

    @event.listens_for(engine.sync_engine, "do_executemany")
    def _executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return run(cursor.executemany, cursor, statement, parameters)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_session_factory(
    engine: AsyncEngine, tz: ZoneInfo = DEFAULT_TIMEZONE
) -> async_sessionmaker[AsyncSession]:
    """Sessions of this factory keep the report's tally in step with every appeal they
    change, counting days and months in `tz` (the bot's TIMEZONE), and `/find`'s words in
    step with every text they write (bot/storage/appeal_search.py). The listeners belong to
    the factory's own Session class: importing a module registers nothing, and sessions
    made otherwise are not affected."""
    return async_sessionmaker(
        engine, expire_on_commit=False, sync_session_class=_tallied_session(tz)
    )


@functools.lru_cache(maxsize=8)
def _tallied_session(tz: ZoneInfo) -> type[Session]:
    """One Session class per time zone (a process has one; tests may use a few)."""
    from bot.report.tally import follow_appeals
    from bot.storage.appeal_search import follow_texts

    class TalliedSession(Session):
        pass

    event.listen(TalliedSession, "after_flush", follow_appeals(tz))
    event.listen(TalliedSession, "after_flush", follow_texts())
    return TalliedSession


def to_its_end(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """For a coroutine that writes in a transaction: finished even when its caller is
    cancelled. Cancelled while aiosqlite's thread runs a statement, a transaction keeps
    SQLite's write lock with nobody left to end it, and every other writer then waits for
    it in vain (its busy timeout, again and again). Here the transaction runs to its end
    (committed, or rolled back on an error) and then the caller's cancellation stands."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        task = asyncio.ensure_future(method(*args, **kwargs))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait([task])
            raise

    return run
