"""Updates per second for a mixed member workload, against a bare aiogram echo dispatcher.

    python bench/updates.py [--members N]

Both dispatchers get the same updates through Dispatcher.feed_update with a recording bot
session (no network); Qorgau's runs on a SQLite file, exactly as built for production.
Workload per member: free-text search, open an answer, "it helped", the FAQ topics, a
topic; every fourth member also writes an appeal (/ask, topic, text, files done, send).
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

from bot.app import build_context, create_bot, create_dispatcher  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
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
            from tests.driver import _update_ids

            self.updates.append(Update(update_id=next(_update_ids), **kwargs))  # type: ignore[arg-type]
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
    workload: list[Update] = []
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
        workload.extend(member.updates)

    async def feed_all(dispatcher: Dispatcher, target: Bot) -> float:
        start = time.perf_counter()
        for update in workload:
            await dispatcher.feed_update(target, update)
        return time.perf_counter() - start

    qorgau_s = await feed_all(dp, bot)
    echo_bot = Bot(token=ctx.settings.bot_token.get_secret_value(), session=RecordingSession())
    echo_s = await feed_all(echo_dispatcher(), echo_bot)
    appeals = sum(1 for r in recording.requests if "№" in str(getattr(r, "text", "") or ""))
    await ctx.engine.dispose()
    qorgau_rate = len(workload) / qorgau_s
    echo_rate = len(workload) / echo_s
    return {
        "bench": "updates",
        "updates": len(workload),
        "members": members,
        "appeals_sent": appeals,
        "qorgau_updates_per_s": round(qorgau_rate, 1),
        "echo_updates_per_s": round(echo_rate, 1),
        "ratio": round(qorgau_rate / echo_rate, 3),
        "target_ratio": 0.5,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(run(args.members))
    print(f"Qorgau {result['qorgau_updates_per_s']}/s vs echo {result['echo_updates_per_s']}/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
