"""One pace for every broadcast the bot sends.

No one-second window ever holds more than `rate` sends (rounded down; below one a second,
one send per 1/rate seconds), whatever the number of senders and however late the event
loop wakes them:

- slots are evenly spaced, `interval` apart, so sends do not come in bursts; above 200 a
  second (interval under `tick`, 5 ms) the senders due within one tick are woken together
  at its end, so the event loop wakes 200 times a second rather than once per send;
- a stall of the event loop (a full garbage collection takes 0.2 s with aiogram loaded)
  does not cost its slots: the schedule may run up to `catch_up` (0.25 s) behind the
  clock, and the senders woken after the stall take the missed slots at once, as fast as
  the cap below lets them. A schedule further behind (the pacer was idle) starts afresh;
- a log of the last `rate` sends is the hard cap: a sender whose turn comes too soon after
  the send `rate` places before it (a stalled loop woke several senders at once) waits
  until that send is a whole window old;
- the window is one second plus `margin` (15 ms by default): the time between a slot and
  the request reaching Telegram varies by a few milliseconds from send to send (more on a
  busy machine), and without a margin two such variations would put `rate` + 1 requests
  in one of Telegram's seconds. The pace is therefore rate / (1 + margin): 98.5 % of it.

A 429 from Telegram pauses every sender until its retry_after has passed; slots handed out
before the pause are taken again after it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        rate: float,
        *,
        margin: float = 0.015,
        tick: float = 0.005,
        catch_up: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if margin < 0:
            raise ValueError("margin must not be negative")
        self.rate = rate
        self.capacity = max(1, math.floor(rate))  # sends in one window
        self.window = max(1.0, 1.0 / rate) + margin
        self.interval = self.window / self.capacity
        self.tick = tick if tick > self.interval else 0.0
        self.catch_up = catch_up
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._paused_until = 0.0
        self._sent: deque[float] = deque(maxlen=self.capacity)
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
            if self._next < now - self.catch_up:
                self._next = now  # idle, or a stall longer than catch_up: start afresh
            start = max(self._next, self._paused_until)
            self._next = start + self.interval
            if self.tick:
                start = math.ceil(start / self.tick) * self.tick
            if start > now:
                await self._sleep(start - now)
            while True:
                now = self._clock()
                if now < self._paused_until:
                    break  # a pause began while this sender waited: its slot is gone
                full = len(self._sent) == self.capacity
                opens = self._sent[0] + self.window if full else now
                if opens <= now:
                    self._sent.append(now)
                    return
                await self._sleep(opens - now)
