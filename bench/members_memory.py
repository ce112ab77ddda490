"""The bot's memory as ever more distinct members write to it: it must stay bounded.

    python bench/members_memory.py [--members 600000] [--aiogram-isolation]
                                   [--update start|button] [--concurrency 16]

Builds the dispatcher exactly as production does (build_context, create_dispatcher, a
SQLite file migrated by bot.storage.migrate.upgrade) with a bot session that answers every
Bot API call without a network and keeps nothing (tests/recording.py's, forgetting).
Warms up with a few thousand members, reads the resident set size (VmRSS, after a full
collection), then feeds one update from each of N new members: /start from someone the bot
has never seen. That goes through every outer middleware (private chats, counting, the
database session, the member directory, flood control), the event isolation, aiogram's FSM
context with the database storage (read, then the onboarding state written), the language
middleware and the handler's two answers: the whole per-member path, and one of the
cheapest updates that takes it (`--update button`, a tap on an old button, only reads: a
third faster). `--concurrency` updates are in flight at a time, so the isolation's locks
are really taken. The bot's own cost sets the pace: ~200 updates/s on a 2-core machine,
so 600,000 members take ~50 minutes; the caps are reached at 20,000 and the process is
flat after that, so 100,000 already shows the plateau.

Then a full collection and RSS again. Prints human lines, then one JSON line: members,
rss_start_mb, rss_end_mb, growth_mb, updates_per_s, seconds, and the sizes the bounded
structures ended at. `--aiogram-isolation` uses aiogram's SimpleEventIsolation (a lock per
member for ever) instead, to show what it costs. Target: growth < 40 MB for 600,000.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.fsm.storage.memory import SimpleEventIsolation  # noqa: E402
from aiogram.methods import TelegramMethod  # noqa: E402
from aiogram.methods.base import TelegramType  # noqa: E402
from aiogram.types import CallbackQuery, Chat, Message, Update, User  # noqa: E402

from bot import compat  # noqa: E402
from bot.app import create_bot, create_dispatcher  # noqa: E402
from bot.context import build_context  # noqa: E402
from bot.middlewares import FloodControl, MemoryFloodCounter  # noqa: E402
from bot.middlewares.isolation import MemberIsolation  # noqa: E402
from bot.storage.fsm import DatabaseStorage  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.recording import RecordingSession  # noqa: E402

FIRST_ID = 100_000_000  # Telegram ids of the members fed here; nobody else uses them


class ForgettingSession(RecordingSession):
    """Answers like the recording session, then forgets the call and the chat's screen:
    the benchmark measures the bot, not a test double's log."""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        try:
            return await super().make_request(bot, method, timeout)
        finally:
            self.requests.clear()
            self.screen.messages.clear()
            self.screen.reply_keyboards.clear()


def rss_mb() -> float:
    """Resident set size after a full collection, from /proc/self/status."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def update_from(kind: str, user_id: int, update_id: int) -> Update:
    """From a Telegram user the bot has not seen, in their private chat: /start (`start`),
    or a tap on a button of an old message (`button`: read only, answered as outdated)."""
    user = User(id=user_id, is_bot=False, first_name="Айгүл", language_code="kk")
    chat = Chat(id=user_id, type="private")
    message = Message(
        message_id=1, date=datetime.now(UTC), chat=chat, from_user=user, text="/start"
    )
    if kind == "start":
        return Update(update_id=update_id, message=message)
    query = CallbackQuery(
        id=str(update_id), from_user=user, chat_instance=str(user_id), message=message, data="x"
    )
    return Update(update_id=update_id, callback_query=query)


def flood_counter(dp: Dispatcher) -> MemoryFloodCounter | None:
    for middleware in dp.update.outer_middleware:
        if isinstance(middleware, FloodControl) and isinstance(
            middleware.counter, MemoryFloodCounter
        ):
            return middleware.counter
    return None


def sizes(dp: Dispatcher, directory_size: int) -> dict[str, Any]:
    isolation = dp.fsm.events_isolation
    storage = dp.fsm.storage
    counter = flood_counter(dp)
    locks = getattr(isolation, "_locks", None)
    return {
        "isolation_locks": isolation.held
        if isinstance(isolation, MemberIsolation)
        else len(locks or ()),
        "member_directory": directory_size,
        "fsm_cache": len(storage._cache) if isinstance(storage, DatabaseStorage) else None,
        "flood_people": len(counter) if counter is not None else None,
    }


async def feed(
    dp: Dispatcher, bot: Bot, ids: range, concurrency: int, make: Callable[[int], Update]
) -> None:
    """One update from each id (`make` builds it), `concurrency` in flight."""
    members = iter(ids)

    async def worker() -> None:
        for user_id in members:
            await dp.feed_update(bot, make(user_id))

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def run(
    members: int, warmup: int, concurrency: int, aiogram_isolation: bool, kind: str
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    # Flood control as in production (the test settings raise its limit).
    settings = make_settings(f"sqlite+aiosqlite:///{tmp / 'bench.db'}", flood_limit=20)
    ctx = build_context(settings)
    await upgrade(ctx.engine)
    await compat.check()  # as the bot starts
    bot = create_bot(ctx.settings, session=ForgettingSession())  # type: ignore[arg-type]
    isolation = SimpleEventIsolation() if aiogram_isolation else None
    dp = create_dispatcher(ctx, isolation=isolation)
    update_ids = itertools.count(1)

    def make(user_id: int) -> Update:
        return update_from(kind, user_id, next(update_ids))

    await feed(dp, bot, range(FIRST_ID, FIRST_ID + warmup), concurrency, make)
    start_mb = rss_mb()
    print(f"after {warmup:,} members of warm-up: RSS {start_mb:.1f} MB", flush=True)

    first = FIRST_ID + warmup
    started = time.perf_counter()
    step = max(members // 10, 1)
    for chunk in range(first, first + members, step):
        await feed(dp, bot, range(chunk, min(chunk + step, first + members)), concurrency, make)
        done = min(chunk + step, first + members) - first
        elapsed = time.perf_counter() - started
        print(
            f"{done:>9,} members  {elapsed:7.1f} s  {done / elapsed:7.1f}/s  RSS {rss_mb():.1f} MB",
            flush=True,
        )
    seconds = time.perf_counter() - started
    end_mb = rss_mb()
    result: dict[str, Any] = {
        "bench": "members_memory",
        "isolation": "aiogram" if aiogram_isolation else "member",
        "update": kind,
        "members": members,
        "warmup": warmup,
        "concurrency": concurrency,
        "rss_start_mb": round(start_mb, 1),
        "rss_end_mb": round(end_mb, 1),
        "growth_mb": round(end_mb - start_mb, 1),
        "updates_per_s": round(members / seconds, 1),
        "seconds": round(seconds, 1),
        "sizes": sizes(dp, len(ctx.member_directory._views)),
        "target_growth_mb": 40,
    }
    await ctx.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=600_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--aiogram-isolation",
        action="store_true",
        help="aiogram's SimpleEventIsolation instead of the bot's (to compare)",
    )
    parser.add_argument(
        "--update",
        choices=("start", "button"),
        default="start",
        help="/start from a new member (default), or a tap on an old button (reads only)",
    )
    args = parser.parse_args()
    result = asyncio.run(
        run(args.members, args.warmup, args.concurrency, args.aiogram_isolation, args.update)
    )
    print(
        f"{result['members']:,} members ({result['isolation']} isolation): RSS "
        f"{result['rss_start_mb']} → {result['rss_end_mb']} MB, growth "
        f"{result['growth_mb']} MB, {result['updates_per_s']} updates/s"
    )
    print(f"bounded structures at the end: {result['sizes']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
