"""aiogram FSM storage in the bot's own database, so a restart loses no conversation.

Reads are served from a write-through cache: in embedded mode one process owns every
member's conversation (and aiogram's event isolation serialises each member's updates), so
the cache never disagrees with the database. Several instances use Redis instead
(docs/architecture.md). On a SQLite file the writes go through the writer thread
(bot/storage/writer.py): one short transaction each, grouped with others queued meanwhile.

Conversations untouched for FSM_TTL_DAYS are swept (`DatabaseStorage.sweep`, run by the
retention clock): a half-written appeal or letter is not kept for ever.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import Executable, Insert, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import FsmRecord, utcnow
from bot.storage.writer import SqliteWriter

CACHE_SIZE = 10_000  # conversations kept in memory; the rest are read from the database
SWEEP_BATCH = 1_000  # rows deleted per transaction: a first sweep never holds long locks


def upsert(dialect: str, key: str, state: str | None, data: dict[str, Any]) -> Insert:
    """INSERT … ON CONFLICT (key) DO UPDATE, in `dialect` ("sqlite" or "postgresql")."""
    values = {"key": key, "state": state, "data": data, "updated_at": utcnow()}
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = make(FsmRecord).values(**values)
    return statement.on_conflict_do_update(
        index_elements=[FsmRecord.key],
        set_={
            "state": statement.excluded.state,
            "data": statement.excluded.data,
            "updated_at": statement.excluded.updated_at,
        },
    )


async def sweep_records(session: AsyncSession, before: datetime, limit: int) -> list[str]:
    """Delete up to `limit` conversations last written before `before`; their keys."""
    stale = select(FsmRecord.key).where(FsmRecord.updated_at < before).limit(limit)
    deleted = await session.execute(
        delete(FsmRecord)
        .where(FsmRecord.key.in_(stale), FsmRecord.updated_at < before)
        .returning(FsmRecord.key)
        .execution_options(synchronize_session=False)
    )
    return list(deleted.scalars())


class DatabaseStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        cache_size: int = CACHE_SIZE,
        writer: SqliteWriter | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.writer = writer
        self.key_builder = key_builder or DefaultKeyBuilder()
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[str | None, dict[str, Any]]] = OrderedDict()
        # Counts sweeps: a read that began before a sweep does not cache what it read (it
        # may be a row the sweep deleted meanwhile).
        self._sweeps = 0

    async def _load(self, key: str) -> tuple[str | None, dict[str, Any]]:
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        sweeps = self._sweeps
        async with self.session_factory() as session:
            row = (
                await session.execute(
                    select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == key)
                )
            ).first()
        value = (row[0], dict(row[1] or {})) if row else (None, {})
        if sweeps == self._sweeps:
            self._remember(key, value)
        return value

    def _remember(self, key: str, value: tuple[str | None, dict[str, Any]]) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def _save(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        # The database first: only what is stored may be served from the cache. One
        # statement per change (an upsert, or a delete when nothing is left to keep).
        if self.writer is not None:
            await self.writer.write([self._change(key, state, data, "sqlite")])
        else:
            async with self.session_factory() as session, session.begin():
                dialect = session.get_bind().dialect.name
                await session.execute(self._change(key, state, data, dialect))
        self._remember(key, (state, data))

    @staticmethod
    def _change(key: str, state: str | None, data: dict[str, Any], dialect: str) -> Executable:
        if state is None and not data:
            return delete(FsmRecord).where(FsmRecord.key == key)
        return upsert(dialect, key, state, data)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        name = self.key_builder.build(key)
        value = state.state if isinstance(state, State) else state
        current_state, data = await self._load(name)
        if value != current_state:
            await self._save(name, value, data)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._load(self.key_builder.build(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        name = self.key_builder.build(key)
        state, current = await self._load(name)
        if dict(data) != current:
            await self._save(name, state, copy.deepcopy(dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return copy.deepcopy((await self._load(self.key_builder.build(key)))[1])

    async def sweep(self, before: datetime) -> int:
        """Delete the conversations last written before `before`, in the database and in
        this process's cache; how many. (A write racing the sweep is kept: its upsert
        either comes after the delete and makes the row again, or renews `updated_at` so
        the delete passes it over; only the cache has to forget what was deleted.)"""
        total = 0
        while True:
            async with self.session_factory() as session, session.begin():
                keys = await sweep_records(session, before, SWEEP_BATCH)
            self._sweeps += 1
            for key in keys:
                self._cache.pop(key, None)
            total += len(keys)
            if len(keys) < SWEEP_BATCH:
                return total

    async def clear_all(self) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(delete(FsmRecord))
        self._cache.clear()

    async def close(self) -> None:
        return None
