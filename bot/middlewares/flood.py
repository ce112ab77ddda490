"""Flood control: how many updates a person may send, counted in this process or in Redis."""

from __future__ import annotations

import enum
import itertools
import logging
import math
import os
import time
from array import array
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGES, N_, guess_language

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Flood(enum.Enum):
    PASS = 0  # handle the update
    NOTICE = 1  # just went over the limit: ignore it, and say so once
    IGNORE = 2  # still blocked: ignore silently


@dataclass(frozen=True)
class FloodLimits:
    limit: int = 20  # more than this many updates …
    window: float = 10.0  # … within this many seconds …
    block: float = 60.0  # … and the person's updates are ignored this long


class FloodCounter(Protocol):
    """Counts one person's updates; `now` is FloodControl's clock (seconds)."""

    async def hit(self, user_id: int, now: float, limits: FloodLimits) -> Flood: ...


_BLOCKED, _LAST, _HITS = 0, 1, 2  # a person's track: blocked until, last update, hit times


class MemoryFloodCounter:
    """One process: a sliding window per person, kept compact: one array of floats per
    person (blocked until, last update, then the times of the hits in the window), ~250
    bytes with its entry for someone who wrote once, where a deque alone took ~700.

    People are kept in order of their last update, so those idle longer than the window
    and the block are forgotten from the front; `max_people` caps memory in any case (~5 MB
    at 20,000). Past the cap, in a burst of more distinct people than that within a
    minute, the least recently active are forgotten first: someone flooding is among the
    most recent and stays counted."""

    def __init__(self, max_people: int = 20_000) -> None:
        self.max_people = max_people
        self._people: OrderedDict[int, array[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._people)

    async def hit(self, user_id: int, now: float, limits: FloodLimits) -> Flood:
        self._forget_idle(now, max(limits.window, limits.block))
        track = self._people.get(user_id)
        if track is None:
            track = self._people[user_id] = array("d", (0.0, now))
        else:
            self._people.move_to_end(user_id)
            track[_LAST] = now
        if now < track[_BLOCKED]:
            return Flood.IGNORE
        # The times that left the window are the oldest, at the front of the hits.
        cutoff, first_kept = now - limits.window, _HITS
        while first_kept < len(track) and track[first_kept] <= cutoff:
            first_kept += 1
        del track[_HITS:first_kept]
        track.append(now)
        if len(track) - _HITS > limits.limit:
            del track[_HITS:]
            track[_BLOCKED] = now + limits.block
            return Flood.NOTICE
        return Flood.PASS

    def _forget_idle(self, now: float, idle: float) -> None:
        people = self._people
        while people:
            user_id, track = next(iter(people.items()))
            if track[_LAST] > now - idle and len(people) < self.max_people:
                break
            del people[user_id]


# KEYS: the person's hits (a sorted set of times), blocked until.
# ARGV: now, window, limit, block, a unique member name. Returns 0 pass, 1 notice, 2 ignore.
# Times are FloodControl's clock (wall time: the same on every instance); the expiries only
# clean up.
_FLOOD_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local block = tonumber(ARGV[4])
if tonumber(redis.call('GET', KEYS[2]) or '0') > now then return 2 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[5])
if redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[1] + block, 'PX', math.ceil(block * 1000) + 1000)
  return 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
return 0
"""


class RedisFloodCounter:
    """Shared by every instance (REDIS_URL): one atomic script per update, so exactly one
    instance sees the update that goes over the limit and sends the notice.

    If Redis fails, updates pass (a warning is logged): members are never shut out by it."""

    def __init__(self, redis: Redis, prefix: str = "qorgau") -> None:
        self.prefix = prefix
        self._script = redis.register_script(_FLOOD_SCRIPT)
        self._names = itertools.count()
        self._me = f"{os.getpid()}-{id(self):x}"
        self._warned = -math.inf

    async def hit(self, user_id: int, now: float, limits: FloodLimits) -> Flood:
        from redis.exceptions import RedisError

        # The hash tag keeps both keys of a person in one slot of a Redis cluster.
        base = f"{self.prefix}:flood:{{{user_id}}}"
        try:
            verdict = await self._script(
                keys=[f"{base}:hits", f"{base}:until"],
                args=[
                    repr(now),
                    repr(limits.window),
                    limits.limit,
                    repr(limits.block),
                    f"{now!r}:{self._me}:{next(self._names)}",
                ],
            )
        except (RedisError, OSError) as exc:
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("flood control: Redis failed (%s); updates pass", type(exc).__name__)
            return Flood.PASS
        return Flood(int(verdict))


FLOOD_NOTICE = N_(
    "You are sending messages too fast. For {seconds} seconds I will not read them; then "
    "please send again what is still needed."
)
# Not counted: Telegram telling the bot that a person blocked it, and survey answers.
FLOOD_EXEMPT = frozenset({"my_chat_member", "chat_member", "poll_answer"})


class FloodControl(BaseMiddleware):
    """Per-person flood control, an outer middleware of `dp.update`.

    More than `limit` updates within `window` seconds from one person: that update and the
    person's next ones for `block` seconds are not handled. The person gets one polite
    notice in their language (the member's choice when PeopleMiddleware ran before this
    one, else their Telegram language), as a message, or as an alert on a button.

    `counter`: MemoryFloodCounter (one process; the default) or RedisFloodCounter (several
    instances share the count). `clock`: seconds, injectable for tests; wall time, so that
    instances sharing Redis agree.
    """

    def __init__(
        self,
        i18n: I18n,
        *,
        limit: int = 20,
        window: float = 10.0,
        block: float = 60.0,
        counter: FloodCounter | None = None,
        clock: Callable[[], float] = time.time,
        language: Callable[[int], Awaitable[str | None]] | None = None,
    ) -> None:
        if limit < 1 or window <= 0 or block <= 0:
            raise ValueError("flood control needs limit >= 1, window > 0 and block > 0")
        self.i18n = i18n
        self.language = language
        self.limits = FloodLimits(limit, window, block)
        self.counter: FloodCounter = counter if counter is not None else MemoryFloodCounter()
        self.clock = clock
        self.ignored = 0  # updates not handled (for tests and metrics)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update) or event.event_type in FLOOD_EXEMPT:
            return await handler(event, data)
        verdict = await self.counter.hit(user.id, self.clock(), self.limits)
        if verdict is Flood.PASS:
            return await handler(event, data)
        self.ignored += 1
        if verdict is Flood.NOTICE:
            log.warning(
                "flood control: user %s sent more than %d updates in %g s; ignored for %g s",
                user.id,
                self.limits.limit,
                self.limits.window,
                self.limits.block,
            )
            await self._notice(event, data, user)
        return UNHANDLED

    async def _language(self, data: dict[str, Any], user: User) -> str:
        member = data.get("member")
        chosen = member.language if member is not None else None
        if chosen is None and self.language is not None:
            try:
                chosen = await self.language(user.id)
            except Exception as exc:  # the notice still goes out, in Telegram's language
                log.warning("flood notice: no member language (%s)", type(exc).__name__)
        return str(chosen) if chosen in LANGUAGES else guess_language(user)

    async def _notice(self, update: Update, data: dict[str, Any], user: User) -> None:
        bot: Bot | None = data.get("bot")
        if bot is None:
            return
        language = await self._language(data, user)
        with self.i18n.context(), self.i18n.use_locale(language):
            text = _(FLOOD_NOTICE).format(seconds=round(self.limits.block))
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            else:
                chat = data.get("event_chat")
                await bot.send_message(chat.id if chat is not None else user.id, text)
        except TelegramAPIError as exc:  # blocked the bot, an old button: nothing to do
            log.info("flood notice to %s not delivered: %s", user.id, type(exc).__name__)
