"""One pace for every broadcast the bot sends.

Sends get evenly spaced slots (1/rate apart), so no second carries more than `rate`
messages, whatever the number of senders. A 429 from Telegram pauses every sender until
its retry_after has passed; slots handed out before the pause are taken again after it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._paused_until = 0.0
        self.pauses = 0

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends for `seconds`."""
        until = self._clock() + seconds
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    async def slot(self) -> None:
        """Wait for this sender's turn."""
        while True:
            now = self._clock()
            start = max(now, self._next, self._paused_until)
            self._next = start + self.interval
            if start > now:
                await self._sleep(start - now)
            if self._clock() >= self._paused_until:
                return
            # A pause began while this sender waited: its slot is gone, take a new one.
