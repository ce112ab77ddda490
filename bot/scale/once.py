"""Each update handled once, even when Telegram delivers it again.

Telegram redelivers a webhook update when it got no 2xx answer in time (an instance
died, the proxy timed out), and with several instances the second delivery may reach
another one. The first instance to see an update_id marks it "busy" for a few seconds and
renews the mark while its handler runs; the mark becomes "done" (kept a day, as long as
Telegram keeps updates) when the update was handled, and is removed when handling failed.

A delivery of an update that is done is answered 200 and dropped. A delivery of an update
that is busy elsewhere waits: when the mark turns "done" it is dropped; when the mark
disappears (the handler failed, or its instance died and stopped renewing it) this
instance takes the update and handles it. So an instance killed mid-update loses nothing
and nothing is handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
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

BUSY_SECONDS = 10.0  # renewed every third of it while the handler runs
DONE_SECONDS = 24 * 3600
# A redelivery waits this long at most for the busy instance: less than the proxy's read
# timeout (deploy/nginx.conf: 55 s), so the answer is ours, not the proxy's 504.
WAIT_SECONDS = 50.0
POLL_SECONDS = 0.2


class SeenUpdates(Protocol):
    busy_seconds: float

    async def begin(self, update_id: int) -> bool: ...  # False: seen already
    async def still_busy(self, update_id: int) -> None: ...  # renews the busy mark
    async def is_done(self, update_id: int) -> bool | None: ...  # None: no mark
    async def done(self, update_id: int) -> None: ...
    async def failed(self, update_id: int) -> None: ...


class MemorySeenUpdates:
    """One process (webhook without Redis): the last `size` update ids."""

    busy_seconds = BUSY_SECONDS  # a process does not die without its memory

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._seen: OrderedDict[int, bool] = OrderedDict()  # update id -> done

    async def begin(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = False
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True

    async def still_busy(self, update_id: int) -> None:
        return None

    async def is_done(self, update_id: int) -> bool | None:
        return self._seen.get(update_id)

    async def done(self, update_id: int) -> None:
        if update_id in self._seen:
            self._seen[update_id] = True

    async def failed(self, update_id: int) -> None:
        self._seen.pop(update_id, None)


class RedisSeenUpdates:
    """Shared by every instance."""

    def __init__(self, redis: Redis, prefix: str, busy_seconds: float = BUSY_SECONDS) -> None:
        self.redis, self.prefix, self.busy_seconds = redis, prefix, busy_seconds

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:update:{update_id}"

    async def begin(self, update_id: int) -> bool:
        return bool(
            await self.redis.set(
                self._key(update_id), "busy", nx=True, px=int(self.busy_seconds * 1000)
            )
        )

    async def still_busy(self, update_id: int) -> None:
        await self.redis.set(
            self._key(update_id), "busy", xx=True, px=int(self.busy_seconds * 1000)
        )

    async def is_done(self, update_id: int) -> bool | None:
        mark = await self.redis.get(self._key(update_id))
        return None if mark is None else mark in (b"done", "done")

    async def done(self, update_id: int) -> None:
        await self.redis.set(self._key(update_id), "done", ex=DONE_SECONDS)

    async def failed(self, update_id: int) -> None:
        await self.redis.delete(self._key(update_id))


Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class OnceMiddleware(BaseMiddleware):
    """The outermost update middleware in webhook mode."""

    def __init__(self, seen: SeenUpdates, wait_seconds: float = WAIT_SECONDS) -> None:
        self.seen, self.wait_seconds = seen, wait_seconds
        self.dropped = 0

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        update_id = event.update_id
        if not await self.seen.begin(update_id) and not await self._taken_over(update_id):
            self.dropped += 1
            REDELIVERED.inc()
            log.info("update %s was delivered again: handled once already", update_id)
            return UNHANDLED
        keeper = asyncio.create_task(self._keep_busy(update_id))
        try:
            result = await handler(event, data)
        except BaseException:
            keeper.cancel()
            await self.seen.failed(update_id)
            raise
        keeper.cancel()
        await self.seen.done(update_id)
        return result

    async def _taken_over(self, update_id: int) -> bool:
        """Another delivery of this update is being handled (here or on another instance):
        wait for its end. True: its mark went away (failed, or its instance died) and this
        delivery took the update; False: it was handled (or waiting took too long)."""
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            state = await self.seen.is_done(update_id)
            if state is True:
                return False
            if state is None and await self.seen.begin(update_id):
                log.info("update %s: its first delivery was not finished; handled here", update_id)
                return True
            await asyncio.sleep(POLL_SECONDS)
        log.warning(
            "update %s: still busy elsewhere after %.0f s; dropped", update_id, self.wait_seconds
        )
        return False

    async def _keep_busy(self, update_id: int) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(self.seen.busy_seconds / 3)
                try:
                    await self.seen.still_busy(update_id)
                except Exception:  # the mark may lapse: a redelivery is then handled again
                    log.warning("update %s: could not renew its busy mark", update_id)
