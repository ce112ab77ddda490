"""One pace for every instance: broadcast slots handed out by Redis.

With several instances each may send a post (one post has one sender, but two posts may
have two), and Telegram's limit is the bot's, not the instance's. So the slots come from
one schedule kept in Redis: an instance reserves the next few slots (about 50 ms of them)
in one atomic script that reads Redis's own clock, and its senders take them one by one.
A 429 anywhere pauses the schedule for every instance: the pause is written to Redis and
no slot is handed out before it ends. A slot that comes too late (this process stalled)
is dropped, never used late, so stalls do not make bursts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from redis.asyncio import Redis

from bot.broadcast.limiter import Pacer

log = logging.getLogger(__name__)

# KEYS: next slot, pause until. ARGV: interval, count, catch_up. Times in Redis's seconds.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt < now - tonumber(ARGV[3]) then nxt = now end
if nxt < pause then nxt = pause end
redis.call('SET', KEYS[1], string.format('%.6f', nxt + tonumber(ARGV[1]) * tonumber(ARGV[2])),
           'EX', 3600)
return {string.format('%.6f', now), string.format('%.6f', nxt)}
"""
# KEYS: pause until. ARGV: seconds.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > before then
  redis.call('SET', KEYS[1], string.format('%.6f', until_), 'EX', math.ceil(ARGV[1]) + 60)
end
return string.format('%.6f', until_ - now)
"""


class SharedPacer(Pacer):
    def __init__(
        self, redis: Redis, prefix: str, rate: float, *, margin: float = 0.015, ahead: float = 0.05
    ) -> None:
        super().__init__(rate, margin=margin)
        self.redis = redis
        self.keys = [f"{prefix}:pace:next", f"{prefix}:pace:pause"]
        self.batch = max(1, min(64, int(ahead / self.interval)))
        self._reserve = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)
        self._slots: deque[float] = deque()
        self._offsets: deque[tuple[float, float]] = deque(maxlen=32)  # (round trip, offset)
        self._lock = asyncio.Lock()
        self._pausing: set[asyncio.Task[None]] = set()
        self.late = 0  # slots dropped because this process came too late for them

    async def _refill(self) -> None:
        asked = time.monotonic()
        redis_now, start = await self._reserve(
            keys=self.keys, args=[self.interval, self.batch, self.catch_up]
        )
        answered = time.monotonic()
        # Redis's clock to ours: the answer was read half-way through the round trip, give
        # or take half of it. On a busy machine one round trip can take 100 ms and more,
        # and slots placed with a wrong offset land among the last ones: so the offset is
        # the one of the quickest of the recent round trips.
        self._offsets.append((answered - asked, (asked + answered) / 2 - float(redis_now)))
        offset = min(self._offsets)[1]
        first = float(start) + offset
        self._slots.extend(first + i * self.interval for i in range(self.batch))

    async def slot(self) -> None:
        # A slot used up to the window's margin late still leaves no second with more than
        # `rate` sends (slots are window/rate apart); later than that, it is dropped.
        late = max(self.tick, 0.005, self.window - max(1.0, 1.0 / self.rate))
        while True:
            async with self._lock:
                if not self._slots:
                    await self._refill()
                at = self._slots.popleft()
            now = time.monotonic()
            if at < now - late:
                self.late += 1
                continue  # its moment passed while this process was busy: not used late
            if now < self._paused_until:
                continue  # reserved before a pause began here
            if at > now:
                await asyncio.sleep(at - now)
                if time.monotonic() - at > late:
                    # The event loop woke this sender late (a busy machine, a garbage
                    # collection): using the slot now would crowd it against the next ones.
                    self.late += 1
                    continue
            if time.monotonic() < self._paused_until:
                continue
            return

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self._slots.clear()
        task = asyncio.get_running_loop().create_task(self._share_pause(seconds))
        self._pausing.add(task)  # a reference until it is done
        task.add_done_callback(self._pausing.discard)

    async def _share_pause(self, seconds: float) -> None:
        try:
            await self._pause(keys=self.keys[1:], args=[seconds])
        except Exception:  # this instance pauses anyway; the others get their own 429
            log.warning("could not share a 429 pause through Redis", exc_info=True)
