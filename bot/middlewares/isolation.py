"""Event isolation whose memory follows the updates in flight, not the members ever seen.

aiogram's SimpleEventIsolation keeps an asyncio.Lock per FSM key in a defaultdict and never
drops one: ~330 bytes for every member who ever wrote, ~200 MB for 600,000 members.
MemberIsolation keeps a member's lock only while one of their updates holds it or waits for
it, and drops it when the last one leaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Hashable
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


class _Entry:
    """A key's lock and how many updates hold it or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class MemberIsolation(BaseEventIsolation):
    """One update at a time per key (a member in their chat), in arrival order; different
    keys in parallel. The same guarantees as aiogram's SimpleEventIsolation, in one process.

    Every update that enters `lock` counts itself in the key's entry before it waits and
    uncounts itself on the way out, however it leaves (done, an exception, cancelled while
    waiting or while holding): the entry is deleted only when nobody holds or waits for it,
    so a waiter always finds the lock it queued on. asyncio.Lock wakes its waiters in the
    order they came, and nothing awaits between reading the entry and queueing on its lock.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, _Entry] = {}

    @property
    def held(self) -> int:
        """Keys with an update holding or waiting for their lock. (Not `__len__`: an
        isolation with no lock held must stay truthy, aiogram tests it with `or`.)"""
        return len(self._locks)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            # `close` may have emptied the dict meanwhile: only this entry is removed.
            if entry.users == 0 and self._locks.get(key) is entry:
                del self._locks[key]

    async def close(self) -> None:
        self._locks.clear()
