"""Faults: the database unreachable at start, the Bot API down or answering 5xx, SQLite
busy, a handler that raises. The bot says what is wrong in one line, or recovers by itself,
and never loses an update silently."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, Message, MessageEntity, Update
from sqlalchemy import func, select

from bot.app import create_bot, create_dispatcher
from bot.context import Context, build_context
from bot.outbox import Outbox
from bot.services.staff import ensure_admins
from bot.storage.db import create_engine, create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import Appeal
from tests.conftest import ADMIN_ID, TOKEN, make_settings
from tests.driver import Person, texts
from tests.fake_bot_api import FakeBotAPI
from tests.processes import free_port, python
from tests.recording import RecordingSession
from tests.test_e2e import BotProcess, Phone
from tests.test_member_flow import onboard
from tests.warm_start import COLD, STARTER

APOLOGY = "Sorry, something went wrong on our side. Please try again; your data is safe."
SECRET = TOKEN.split(":", 1)[1]


# --- the database -------------------------------------------------------------------------------


def run_bot(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "DATABASE_URL": database_url,
        "TELEGRAM_API_URL": "http://127.0.0.1:1",  # never reached
        "LOG_LEVEL": "INFO",
    }
    return python("-m", "bot", env=env) if COLD else STARTER.run("-m", "bot", env=env)


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["postgres-closed-port", "sqlite-unwritable-path"])
def test_database_unreachable_at_start_is_one_line_and_exit_1(tmp_path: Path, where: str) -> None:
    if where == "postgres-closed-port":
        url = "postgresql://postgres@127.0.0.1:1/qorgau"
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        url = f"sqlite:///{blocker}/data/qorgau.db"
    result = run_bot(url)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("database error: "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout


# --- SQLite busy ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Harness:
    ctx: Context
    dp: Dispatcher
    bot: Bot
    recording: RecordingSession

    def person(self, user_id: int, **kwargs: object) -> Person:
        return Person(self.dp, self.bot, self.recording, user_id, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def tuned(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """A production Dispatcher whose engine has the busy settings a test asks for."""
    made: list[Context] = []

    async def make(**engine_kwargs: object) -> Harness:
        url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
        ctx = build_context(make_settings(url))
        await ctx.close()
        engine = create_engine(url, **engine_kwargs)  # type: ignore[arg-type]
        factory = create_session_factory(engine)
        ctx = dataclasses.replace(
            ctx,
            engine=engine,
            session_factory=factory,
            outbox=Outbox(factory, ctx.i18n, ctx.owner),
        )
        await upgrade(engine)
        async with ctx.session_factory() as session:
            await ensure_admins(session, [ADMIN_ID])
            await session.commit()
        made.append(ctx)
        recording = RecordingSession()
        bot = create_bot(ctx.settings, session=recording)  # type: ignore[arg-type]
        return Harness(ctx, create_dispatcher(ctx), bot, recording)

    yield make
    for ctx in made:
        await ctx.close()


def hold_write_lock(path: Path, seconds: float, taken: Callable[[], None]) -> None:
    """Another program writing to the database: the write lock, held for `seconds`."""
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        con.execute("BEGIN IMMEDIATE")
        taken()
        time.sleep(seconds)
        con.execute("COMMIT")
    finally:
        con.close()


async def appeal_while_locked(
    harness: Harness, path: Path, seconds: float
) -> tuple[list[TelegramMethod[Any]], float]:
    member = harness.person(3001)
    await onboard(member)
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Зарплату задерживают третий месяц.")
    await member.press("draft:files_done")
    taken = asyncio.Event()
    loop = asyncio.get_running_loop()
    holder = asyncio.create_task(
        asyncio.to_thread(
            hold_write_lock, path, seconds, lambda: (loop.call_soon_threadsafe(taken.set), None)[1]
        )
    )
    await taken.wait()
    started = time.monotonic()
    sent = await member.press("draft:send")
    waited = time.monotonic() - started
    await holder
    return sent, waited


async def appeals(ctx: Context) -> int:
    async with ctx.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Appeal)) or 0)


async def test_sqlite_busy_is_waited_out(
    tuned: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await tuned()  # the defaults: SQLite waits up to 30 s for the lock
    sent, waited = await appeal_while_locked(harness, tmp_path / "busy.db", 1.0)
    assert waited >= 0.8  # it really had to wait for the lock
    assert "№" in texts(sent) and APOLOGY not in texts(sent)
    assert await appeals(harness.ctx) == 1


async def test_sqlite_busy_after_the_wait_is_retried(
    tuned: Callable[..., Awaitable[Harness]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # SQLite gives up after 0.1 s here; the bounded retry (0.05 + 0.2 + 0.5 + 1.0 s of
    # pauses, each try waiting 0.1 s more) outlasts the 1 s lock.
    harness = await tuned(busy_timeout=0.1, busy_retry_pauses=(0.05, 0.2, 0.5, 1.0))
    with caplog.at_level(logging.WARNING, logger="bot.storage.db"):
        sent, waited = await appeal_while_locked(harness, tmp_path / "busy.db", 1.0)
    assert waited >= 0.8
    assert "№" in texts(sent) and APOLOGY not in texts(sent)
    assert await appeals(harness.ctx) == 1
    assert any("SQLite busy" in r.getMessage() for r in caplog.records)


async def test_without_the_retry_the_member_would_get_the_apology(
    tuned: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    # The control: the same lock, SQLite's short wait and no retry fail the update.
    harness = await tuned(busy_timeout=0.1, busy_retry_pauses=())
    sent, _ = await appeal_while_locked(harness, tmp_path / "busy.db", 1.0)
    assert APOLOGY in texts(sent) or "Извините" in texts(sent)
    assert await appeals(harness.ctx) == 0
    # Nothing the member wrote is lost: the draft is still there, and sending again works.
    member = harness.person(3001)
    sent = await member.press("draft:send")
    assert "№" in texts(sent)
    assert await appeals(harness.ctx) == 1


# --- a handler that raises ------------------------------------------------------------------


async def test_raising_handler_is_logged_with_update_id_and_apologised(
    person: Callable[..., Person],
    dp: Dispatcher,
    bot: Bot,
    ctx: Context,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.handlers.member import my_appeals

    member = person(3101)
    await onboard(member, lang="ru")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the service failed")

    monkeypatch.setattr(my_appeals, "list_member_appeals", broken)
    message = Message(
        message_id=1,
        date=datetime.now(UTC),
        chat=member.chat,
        from_user=member.user,
        text="/my",
        entities=[MessageEntity(type="bot_command", offset=0, length=3)],
    )
    apology = ctx.i18n.gettext(APOLOGY, locale="ru")
    before = len(member.session.requests)
    with caplog.at_level(logging.INFO):
        await dp.feed_update(bot, Update(update_id=987_654, message=message))
    sent = member.session.requests[before:]
    assert texts(sent) == apology
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    # The update, the handler and the exception's type with its frames; not its message.
    assert any(
        "987654" in r.getMessage()
        and r.name == "bot.handlers.errors"
        and "RuntimeError in bot.handlers.member.my_appeals:" in r.getMessage()
        and "  bot.handlers.member.my_appeals:" in r.getMessage()
        for r in errors
    ), [r.getMessage() for r in errors]
    assert "the service failed" not in caplog.text

    # A button whose handler raises: the button is answered and the apology sent.
    monkeypatch.setattr(my_appeals, "get_member_appeal", broken)
    query = CallbackQuery(
        id="cb-1",
        from_user=member.user,
        chat_instance="ci",
        message=member.last_message(),
        data="my:open:1",
    )
    before = len(member.session.requests)
    with caplog.at_level(logging.INFO):
        await dp.feed_update(bot, Update(update_id=987_655, callback_query=query))
    sent = member.session.requests[before:]
    assert [r.__api_method__ for r in sent] == ["answerCallbackQuery", "sendMessage"]
    assert texts(sent[1:]) == apology
    assert any("987655" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


# --- the Bot API down or failing -------------------------------------------------------------


def clean_stop(code: int, stderr: str) -> None:
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert SECRET not in stderr  # the token never reaches the log


@pytest.mark.e2e
async def test_getupdates_502_for_a_while_then_the_bot_recovers(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        bot = BotProcess(api, tmp_path / "qorgau.db")
        await bot.start()
        try:
            second = Phone(api, 7102, "kk")
            api.inject("getUpdates", status=502, times=-1)
            mark = api.mark()
            for _ in range(2):
                await api.wait_for("getUpdates", lambda c: c.status == 502, timeout=20, after=mark)
                mark = api.mark()
            api.send_command(second.user_id, "/start", language_code="kk")
            await asyncio.sleep(2.0)
            assert not api.calls_for("sendMessage", second.user_id)  # not delivered yet
            api.clear_faults()
            await second.expect("sendMessage", "Бот тілін")  # recovered by itself
            secret_story = "Менің жалақым үш ай бойы төленбеді"
            await second.tap("lang:kk")
            await second.say(secret_story, reply_contains="")
        finally:
            code, stderr = await bot.stop()
        clean_stop(code, stderr)
        assert "Failed to fetch updates" in stderr  # the outage was seen, and survived
        assert "Менің жалақым" not in stderr  # what members write never reaches the log


@pytest.mark.e2e
async def test_bot_started_while_the_api_is_down_comes_up_when_it_does(tmp_path: Path) -> None:
    port = free_port()
    api = FakeBotAPI()
    bot = BotProcess(api, tmp_path / "qorgau.db")
    bot.api_url = f"http://127.0.0.1:{port}"
    await bot.spawn()  # nothing listens on the port yet
    seen: list[str] = []
    try:
        assert bot.proc is not None and bot.proc.stderr is not None
        async with asyncio.timeout(30):  # until the bot has tried and failed, twice
            while sum("Bot API unreachable" in line for line in seen) < 2:
                seen.append((await bot.proc.stderr.readline()).decode())
        assert bot.proc.returncode is None  # waiting, not dead
        polls = api.polls_mark()
        await api.start(port=port)
        await api.wait_polling(after=polls)
        await Phone(api, 7103, "ru").say("/start", reply_contains="Бот тілін")
    finally:
        code, stderr = await bot.stop()
        await api.stop()
    clean_stop(code, "".join(seen) + stderr)


@pytest.mark.e2e
async def test_bot_started_while_the_api_answers_5xx_comes_up(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        api.inject("getMe", status=502, times=3)
        bot = BotProcess(api, tmp_path / "qorgau.db")
        try:
            await bot.start()
            await Phone(api, 7104, "ru").say("/start", reply_contains="Бот тілін")
        finally:
            code, stderr = await bot.stop()
        clean_stop(code, stderr)


def test_a_stop_that_hangs_ends_the_process_anyway() -> None:
    """A stop stuck on a server that no longer answers (here: a blocked event loop) ends
    with exit code 3 and one clear line after the grace period, not never."""
    script = (
        "import logging, time\n"
        "logging.basicConfig()\n"
        "from bot.scale.webhook import exit_if_stuck\n"
        "print(time.monotonic(), flush=True)  # armed (the clock is the machine's)\n"
        "exit_if_stuck(0.5)\n"
        "time.sleep(30)  # the stop never finishes by itself\n"
    )
    done = python("-c", script) if COLD else STARTER.run("-c", script)
    assert done.returncode == 3
    # Counted from the arming, not from the start: the imports before it may take long
    # on a loaded machine.
    assert time.monotonic() - float(done.stdout.split()[0]) < 20
    assert "exiting without finishing it" in done.stderr
