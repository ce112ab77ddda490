"""aiogram FSM storage in the bot's own database, so a restart loses no conversation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import FsmRecord


class DatabaseStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.key_builder = key_builder or DefaultKeyBuilder()

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self.session_factory() as session, session.begin():
            record = await session.get(FsmRecord, self.key_builder.build(key))
            if record is None:
                if value is None:
                    return
                session.add(FsmRecord(key=self.key_builder.build(key), state=value, data={}))
            else:
                record.state = value
                if value is None and not record.data:
                    await session.delete(record)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.session_factory() as session:
            state = await session.scalar(
                select(FsmRecord.state).where(FsmRecord.key == self.key_builder.build(key))
            )
            return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self.session_factory() as session, session.begin():
            record = await session.get(FsmRecord, self.key_builder.build(key))
            if record is None:
                if data:
                    session.add(
                        FsmRecord(key=self.key_builder.build(key), state=None, data=dict(data))
                    )
                return
            record.data = dict(data)
            if not data and record.state is None:
                await session.delete(record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.session_factory() as session:
            data = await session.scalar(
                select(FsmRecord.data).where(FsmRecord.key == self.key_builder.build(key))
            )
            return dict(data or {})

    async def clear_all(self) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(delete(FsmRecord))

    async def close(self) -> None:
        return None
