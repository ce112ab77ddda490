"""Each update handled once, even when Telegram delivers it again.

Telegram redelivers a webhook update when it got no 2xx answer in time (an instance
died, the proxy timed out), and with several instances the second delivery may reach
another one. The first instance to see an update_id marks it "busy" (SET NX, a short
expiry); the mark becomes "done" (kept a day, as long as Telegram keeps updates) when the
update was handled, and is removed when handling failed, so a redelivery is handled then.
A delivery of an update that is busy or done elsewhere is answered 200 and dropped.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

from bot.metrics import REDELIVERED

log = logging.getLogger(__name__)

BUSY_SECONDS = 120  # longer than any handler runs
DONE_SECONDS = 24 * 3600


class SeenUpdates(Protocol):
    async def begin(self, update_id: int) -> bool: ...  # False: seen already
    async def done(self, update_id: int) -> None: ...
    async def failed(self, update_id: int) -> None: ...


class MemorySeenUpdates:
    """One process (webhook without Redis): the last `size` update ids."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._seen: OrderedDict[int, float] = OrderedDict()

    async def begin(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = time.monotonic()
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True

    async def done(self, update_id: int) -> None:
        return None

    async def failed(self, update_id: int) -> None:
        self._seen.pop(update_id, None)


class RedisSeenUpdates:
    """Shared by every instance."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:update:{update_id}"

    async def begin(self, update_id: int) -> bool:
        return bool(await self.redis.set(self._key(update_id), "busy", nx=True, ex=BUSY_SECONDS))

    async def done(self, update_id: int) -> None:
        await self.redis.set(self._key(update_id), "done", ex=DONE_SECONDS)

    async def failed(self, update_id: int) -> None:
        await self.redis.delete(self._key(update_id))


Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class OnceMiddleware(BaseMiddleware):
    """The outermost update middleware in webhook mode."""

    def __init__(self, seen: SeenUpdates) -> None:
        self.seen = seen
        self.dropped = 0

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if not await self.seen.begin(event.update_id):
            self.dropped += 1
            REDELIVERED.inc()
            log.info("update %s was delivered again: handled once already", event.update_id)
            return UNHANDLED
        try:
            result = await handler(event, data)
        except BaseException:
            await self.seen.failed(event.update_id)
            raise
        await self.seen.done(event.update_id)
        return result
