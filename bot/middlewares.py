"""Outer middlewares: one database session per update, who is writing, flood control;
and a Bot API request middleware for edits that change nothing."""

from __future__ import annotations

import asyncio
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
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.faq.library import FaqLibrary
from bot.i18n import LANGUAGES, N_, guess_language
from bot.services.faq_events import FaqEvents
from bot.services.members import MemberDirectory
from bot.services.staff import StaffDirectory
from bot.storage.writer import SqliteWriter

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class LiveFaq(BaseMiddleware):
    """`faq` and `faq_index` for the handlers: the library's content at this update's
    start (an edit published meanwhile is seen by the next update)."""

    def __init__(self, library: FaqLibrary) -> None:
        self.library = library

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["faq"], data["faq_index"] = self.library.faq, self.library.index
        data["faq_library"] = self.library
        return await handler(event, data)


class InFlight(BaseMiddleware):
    """The updates being handled. At a stop the bot waits for them (`wait`, a shutdown
    hook) before it closes its connection to Telegram: aiogram's polling closes the bot's
    session as soon as polling stops, and a handler still sending its reply (the member's
    data already saved) failed with "Server disconnected" and the reply was lost."""

    GRACE_SECONDS = 10.0  # within the 25 s after which a stuck stop exits (bot/scale/webhook.py)

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def wait(self) -> None:
        if self.count:
            log.info("stopping: %d updates still being handled", self.count)
        try:
            await asyncio.wait_for(self._idle.wait(), self.GRACE_SECONDS)
        except TimeoutError:
            log.warning("stopping with %d updates still being handled", self.count)


class DbSessionMiddleware(BaseMiddleware):
    """Opens the update's session; the handler or service owning the unit of work commits.

    A session connects only when first used, so updates served from memory cost nothing here.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            return await handler(event, data)


class FaqEventsAfterReply(BaseMiddleware):
    """`faq_events` for the handlers; what they added is written once the handler is done
    (its reply sent), even when it failed after adding (bot/services/faq_events.py)."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], writer: SqliteWriter | None
    ) -> None:
        self.session_factory = session_factory
        self.writer = writer

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        events = data["faq_events"] = FaqEvents()
        try:
            return await handler(event, data)
        finally:
            if events.rows:
                await events.write(self.session_factory, self.writer)


class PeopleMiddleware(BaseMiddleware):
    """Who is behind the update: `member` (a MemberView) and `staff` (a StaffView), or None."""

    def __init__(self, members: MemberDirectory, staff: StaffDirectory) -> None:
        self.members = members
        self.staff = staff

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        data["member"] = await self.members.get(session, user.id) if user else None
        data["staff"] = await self.staff.get(session, user.id) if user else None
        if session.in_transaction():
            # Only read (the views are plain copies): hand the connection back before the
            # handler runs. Otherwise each update holds one while its FSM storage waits for
            # a second from the same pool, and a burst of new members empties the pool.
            await session.rollback()
        return await handler(event, data)


# --- flood control --------------------------------------------------------------------------


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


# --- Bot API requests -----------------------------------------------------------------------

NOT_MODIFIED = "message is not modified"


class EditsThatChangeNothing(BaseRequestMiddleware):
    """An edit that would show exactly what is shown already (a button tapped twice) is
    answered by Telegram with 400 "message is not modified": that is success, not an
    error. Register on the bot's session: `bot.session.middleware(EditsThatChangeNothing())`.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if method.__api_method__.startswith("edit") and NOT_MODIFIED in exc.message:
                # The edit methods return the message or True; nobody reads the message.
                return True  # type: ignore[return-value]
            raise
