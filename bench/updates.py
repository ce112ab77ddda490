"""Updates per second for a mixed member workload, against a bare aiogram echo dispatcher.

    python bench/updates.py [--members N]

Both dispatchers get the same updates through Dispatcher.feed_update with a recording bot
session (no network); Qorgau's runs on a SQLite file, exactly as built for production.
Workload per member: free-text search, open an answer, "it helped", the FAQ topics, a
topic; every fourth member also writes an appeal (/ask, topic, text, files done, send).

Two ways of feeding, both reported for both dispatchers:
- sequential: one update at a time (the pure cost of an update);
- concurrent: every member's updates in order, members in parallel, as long polling runs
  them (aiogram handles updates as tasks; event isolation keeps each member's in order).
Prints its figures last as one JSON line. Target: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher, Router  # noqa: E402
from aiogram.types import CallbackQuery, Message, Update  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot import compat  # noqa: E402
from bot.app import create_bot, create_dispatcher  # noqa: E402
from bot.context import build_context  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from bot.storage.models import Appeal  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.driver import Person  # noqa: E402
from tests.recording import RecordingSession  # noqa: E402

QUESTIONS = [
    "зарплату задерживают что делать",
    "демалыс ақысы қашан төленеді",
    "уволили по сокращению без предупреждения",
    "санат устемакысы канша",
    "заставляют писать лишние отчеты",
    "больничный во время отпуска",
]


class Capture(Person):
    """Records the updates a member would send instead of feeding them."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.updates: list[Update] = []
        self.capturing = False

    async def feed(self, **kwargs: object):  # type: ignore[no-untyped-def]
        if self.capturing:
            self.updates.append(self.update(**kwargs))
            return []
        return await super().feed(**kwargs)


def echo_dispatcher() -> Dispatcher:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    @router.callback_query()
    async def on_button(query: CallbackQuery) -> None:
        await query.answer()

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def run(members: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp())
    ctx = build_context(make_settings(f"sqlite+aiosqlite:///{tmp / 'bench.db'}"))
    await upgrade(ctx.engine)
    await compat.check()  # as the bot starts (its Telegram types are built at import here)
    recording = RecordingSession()
    bot = create_bot(ctx.settings, session=recording)  # type: ignore[arg-type]
    dp = create_dispatcher(ctx)
    answers = ctx.faq.answers
    people = [
        Capture(dp, bot, recording, 10_000 + i, language_code="kk" if i % 2 else "ru")
        for i in range(members)
    ]

    # Onboarding is setup, not measured.
    for i, member in enumerate(people):
        await member.send("/start")
        await member.press("lang:" + ("kk" if i % 2 else "ru"))
        await member.press("org:" + ctx.orgs.orgs[i % len(ctx.orgs.orgs)].id)
        await member.press("wp:school")
        await member.press("consent:1")

    # The measured workload, built as updates first so both dispatchers get the same ones.
    streams: list[list[Update]] = []
    for i, member in enumerate(people):
        member.capturing = True
        node = answers[i % len(answers)]
        await member.send(QUESTIONS[i % len(QUESTIONS)])
        await member.press(f"faq:open:{node.id}", member.last_message())
        await member.press(f"faq:yes:{node.id}", member.last_message())
        await member.send("/faq")
        await member.press(f"faq:open:{node.topic}", member.last_message())
        if i % 4 == 0:
            await member.send("/ask")
            await member.press("topic:pay", member.last_message())
            await member.send("Жалақы екі айдан бері кешігіп келеді, директор жауап бермейді.")
            await member.press("draft:files_done", member.last_message())
            await member.press("draft:send", member.last_message())
        streams.append(member.updates)
    # Half the members are fed sequentially, the other half concurrently: each update is
    # fed once, to each dispatcher, so neither pass replays the other's steps.
    total = sum(len(stream) for stream in streams)

    async def sequential(dispatcher: Dispatcher, target: Bot, work: list[list[Update]]) -> float:
        start = time.perf_counter()
        for stream in work:
            for update in stream:
                await dispatcher.feed_update(target, update)
        return time.perf_counter() - start

    async def concurrent(dispatcher: Dispatcher, target: Bot, work: list[list[Update]]) -> float:
        async def one(stream: list[Update]) -> None:
            for update in stream:
                await dispatcher.feed_update(target, update)

        start = time.perf_counter()
        await asyncio.gather(*(one(stream) for stream in work))
        return time.perf_counter() - start

    half = len(streams) // 2
    first, second = streams[:half], streams[half:]
    n_first, n_second = sum(map(len, first)), sum(map(len, second))
    q_seq = n_first / await sequential(dp, bot, first)
    q_con = n_second / await concurrent(dp, bot, second)
    echo_bot = Bot(token=ctx.settings.bot_token.get_secret_value(), session=RecordingSession())
    echo = echo_dispatcher()
    e_seq = n_first / await sequential(echo, echo_bot, first)
    e_con = n_second / await concurrent(echo, echo_bot, second)
    async with ctx.session_factory() as session:
        appeals = int(await session.scalar(select(func.count()).select_from(Appeal)) or 0)
    await ctx.close()
    return {
        "bench": "updates",
        "updates": total,
        "members": members,
        "appeals_stored": appeals,
        "sequential": {
            "qorgau_updates_per_s": round(q_seq, 1),
            "echo_updates_per_s": round(e_seq, 1),
            "ratio": round(q_seq / e_seq, 3),
        },
        "concurrent": {
            "qorgau_updates_per_s": round(q_con, 1),
            "echo_updates_per_s": round(e_con, 1),
            "ratio": round(q_con / e_con, 3),
        },
        "target_ratio": 0.5,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(run(args.members))
    for mode in ("sequential", "concurrent"):
        figures = result[mode]
        assert isinstance(figures, dict)
        ours, echo = figures["qorgau_updates_per_s"], figures["echo_updates_per_s"]
        print(f"{mode}: Qorgau {ours}/s, echo {echo}/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
