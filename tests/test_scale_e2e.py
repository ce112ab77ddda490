"""Scaled mode end to end: `python -m bot` processes in webhook mode on PostgreSQL and
Redis, fed by the test acting as Telegram (each update POSTed to an instance, with the
secret token), replying through the fake Bot API server.

- two instances fed one update stream with every update delivered twice: handled once;
- the scheduler lease holder killed (SIGKILL): the other instance takes over and runs
  the clock's work (a due post is sent);
- a half-finished conversation (an appeal draft) survives a restart, in embedded mode
  (polling, SQLite, FSM state in the database) and in scaled mode (webhook, Redis).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from bot.storage.db import create_engine
from bot.storage.models import Broadcast, Lease, Member, PostStatus
from tests.fake_bot_api import FakeBotAPI
from tests.processes import free_port
from tests.test_e2e import BotProcess, Phone

pytestmark = pytest.mark.e2e
PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")
SECRET = secrets.token_urlsafe(32)  # as the README says to make one
AUTHOR = 900  # ADMIN_IDS of the e2e bot


def _needs_servers() -> None:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run in CI)")
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (Redis tests run in CI)")


@asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """A PostgreSQL database of its own (the bot processes migrate it)."""
    assert PG_URL is not None
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


class WebhookBot(BotProcess):
    """One instance in webhook mode; `post` plays Telegram delivering an update."""

    def __init__(self, api: FakeBotAPI, database_url: str, prefix: str, **env: str) -> None:
        super().__init__(api, database_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.metrics_url = f"http://127.0.0.1:{free_port()}/metrics"
        assert REDIS_URL is not None
        self.extra_env = {
            "WEBHOOK_URL": f"{self.url}/tg",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
            "METRICS_LISTEN": self.metrics_url.removeprefix("http://").removesuffix("/metrics"),
            "REDIS_URL": REDIS_URL,
            "REDIS_PREFIX": prefix,
            **env,
        }

    async def start(self) -> None:
        await self.spawn()
        SPAWNED.append(self)
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                assert self.proc is not None
                if self.proc.returncode is not None:
                    _, stderr = await self.proc.communicate()
                    raise AssertionError(stderr.decode()[-3000:])
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the webhook instance did not come up")

    async def post(self, update: dict[str, Any], secret: str = SECRET) -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.url}/tg",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            ) as response,
        ):
            await response.read()
            return response.status

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}{path}") as response:
            return response.status, await response.text()

    async def metrics(self) -> str:
        """The Prometheus page, from METRICS_LISTEN."""
        async with aiohttp.ClientSession() as http, http.get(self.metrics_url) as response:
            assert response.status == 200
            return await response.text()


SPAWNED: list[BotProcess] = []


@pytest.fixture(autouse=True)
def _no_instance_outlives_its_test() -> Iterator[None]:
    yield
    while SPAWNED:
        proc = SPAWNED.pop().proc
        if proc is not None and proc.returncode is None:
            proc.kill()


def _metric(page: str, name: str) -> float:
    values = [float(line.split()[-1]) for line in page.splitlines() if line.startswith(name)]
    return sum(values)


async def test_two_webhook_instances_handle_every_update_once(tmp_path: Path) -> None:
    _needs_servers()
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    async with FakeBotAPI() as api, pg_database() as url:
        bots = [WebhookBot(api, url, prefix) for _ in range(2)]
        for bot in bots:
            await bot.start()
        statuses: list[int] = []
        deliveries: list[asyncio.Task[None]] = []

        async def twice(update: dict[str, Any]) -> None:
            # Telegram retries an update it got no answer for; the retry may reach the other
            # instance while the first is still handling it, or after it finished.
            first = asyncio.create_task(bots[0].post(update))
            if update["update_id"] % 2:
                await asyncio.sleep(0.05)
            statuses.append(await bots[1].post(update))
            statuses.append(await first)

        api.on_update = lambda update: deliveries.append(asyncio.create_task(twice(update)))
        users = range(5001, 5031)
        for user in users:
            api.send_command(user, "/start", language_code="ru")
        await asyncio.gather(*deliveries)

        api.on_update = None
        control = api.send_command(5100, "/start", language_code="ru")  # delivered once
        assert (
            await bots[0].post(api.updates[-1]) == 200 and control == api.updates[-1]["update_id"]
        )
        await asyncio.sleep(1.0)  # anything handled twice would have answered by now

        replies = Counter(
            int(c.chat_id) for c in api.calls_for("sendMessage") if c.chat_id is not None
        )
        assert statuses == [200] * (2 * len(users))
        assert replies[5100] >= 1
        assert {user: replies[user] for user in users} == dict.fromkeys(users, replies[5100])

        # The secret token is checked; health and metrics are served by each instance,
        # metrics on their own address only.
        assert await bots[0].post(api.updates[-1], secret="wrong") == 401
        pages = []
        for bot in bots:
            status, body = await bot.get("/healthz")
            assert status == 200 and '"ok"' in body
            assert (await bot.get("/metrics"))[0] == 404
            pages.append(await bot.metrics())
        assert sum(_metric(p, "qorgau_updates_redelivered_total") for p in pages) == len(users)
        assert (
            sum(_metric(p, 'qorgau_updates_total{type="message"}') for p in pages) == len(users) + 1
        )
        for bot in bots:
            code, stderr = await bot.stop()
            assert code == 0 and "Traceback" not in stderr, stderr[-3000:]


async def test_the_scheduler_moves_to_the_other_instance_when_its_holder_dies(
    tmp_path: Path,
) -> None:
    _needs_servers()
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    env = {"SCHEDULER_LEASE_SECONDS": "2", "POSTS_TICK_SECONDS": "0.5"}
    async with FakeBotAPI() as api, pg_database() as url:
        bots = [WebhookBot(api, url, prefix, **env) for _ in range(2)]
        for bot in bots:
            await bot.start()
        engine = create_engine(url)

        async def holder() -> str | None:
            async with engine.connect() as conn:
                return await conn.scalar(select(Lease.owner).where(Lease.name == "scheduler"))

        owners = set()
        for _ in range(30):  # 3 s, longer than the lease: one holder all along
            owners.add(await holder())
            await asyncio.sleep(0.1)
        owners.discard(None)
        assert len(owners) == 1, owners
        owner = str(owners.pop())
        dead = next(b for b in bots if b.proc is not None and f":{b.proc.pid}:" in owner)
        alive = next(b for b in bots if b is not dead)
        assert dead.proc is not None and alive.proc is not None
        dead.proc.send_signal(signal.SIGKILL)
        await dead.proc.wait()
        killed_at = asyncio.get_running_loop().time()
        while f":{alive.proc.pid}:" not in str(await holder() or ""):
            assert asyncio.get_running_loop().time() - killed_at < 10, "no takeover"
            await asyncio.sleep(0.1)
        took = asyncio.get_running_loop().time() - killed_at

        # The survivor runs the clock: a post that falls due now is started and sent.
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.execute(
                insert(Member),
                [
                    {
                        "telegram_id": 40_000 + i,
                        "language": "kk",
                        "member_org": "almaty",
                        "consent_version": "1",
                        "consent_at": now,
                        "created_at": now,
                    }
                    for i in range(20)
                ],
            )
            await conn.execute(
                insert(Broadcast).values(
                    created_by=AUTHOR,
                    status=PostStatus.SCHEDULED,
                    text_kk="Жаңалық",
                    orgs=[],
                    workplace_types=[],
                    urgent=True,
                    run_at=now,
                    created_at=now,
                )
            )
        await api.wait_for("sendMessage", lambda c: c.chat_id == AUTHOR, timeout=30)
        got = Counter(
            int(c.chat_id)
            for c in api.calls_for("sendMessage")
            if c.chat_id is not None and c.params.get("text") == "Жаңалық"
        )
        assert got == Counter({40_000 + i: 1 for i in range(20)})
        async with engine.connect() as conn:
            status = await conn.scalar(select(Broadcast.status))
        await engine.dispose()
        assert status == PostStatus.DONE
        assert isinstance(alive, WebhookBot)
        page = await alive.metrics()
        assert _metric(page, 'qorgau_deliveries_total{status="delivered"}') == 20
        code, stderr = await alive.stop()
        assert code == 0 and "Traceback" not in stderr, stderr[-3000:]
        print(f"scheduler taken over {took:.1f} s after its holder was killed (lease 2 s)")


async def test_an_address_already_taken_stops_the_start_with_one_line(tmp_path: Path) -> None:
    _needs_servers()
    async with FakeBotAPI() as api, pg_database() as url:
        bot = WebhookBot(api, url, f"test-{uuid.uuid4().hex[:10]}")
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            address = f"127.0.0.1:{taken.getsockname()[1]}"
            bot.extra_env["METRICS_LISTEN"] = address
            await bot.spawn()
            assert bot.proc is not None
            _, stderr = await asyncio.wait_for(bot.proc.communicate(), timeout=60)
        assert bot.proc.returncode == 1
        assert "Traceback" not in stderr.decode(), stderr.decode()[-3000:]
        last = stderr.decode().strip().splitlines()[-1]
        assert last == f"METRICS_LISTEN={address}: cannot listen there (Address already in use)"


@pytest.mark.parametrize("mode", ["embedded", "scaled"])
async def test_an_appeal_draft_survives_a_restart(tmp_path: Path, mode: str) -> None:
    if mode == "scaled":
        _needs_servers()
    async with FakeBotAPI() as api, contextlib_nullable(mode) as url:
        if mode == "scaled":
            assert url is not None
            bot: BotProcess = WebhookBot(api, url, f"test-{uuid.uuid4().hex[:10]}")
            instance = bot
            assert isinstance(instance, WebhookBot)
            pending: list[asyncio.Task[int]] = []
            api.on_update = lambda update: pending.append(
                asyncio.create_task(instance.post(update))
            )
        else:
            bot = BotProcess(api, tmp_path / "q.db")
        await bot.start()
        phone = Phone(api, 7300, language_code="ru")
        await phone.say("/start", reply_contains="Бот тілін таңдаңыз")
        await phone.tap("lang:ru")
        await phone.tap("org:pavlodar")
        await phone.tap("wp:school")
        await phone.tap("consent:1", reply_contains="зарегистрированы")
        await phone.say("/ask")
        await phone.tap("topic:pay", reply_contains="Опишите")

        code, stderr = await bot.stop()  # mid-conversation
        assert code == 0, stderr[-3000:]
        await bot.start()

        await phone.say("Зарплату за октябрь задержали на месяц. Что делать?")
        await phone.find_button("draft:files_done")  # the draft went on where it was
        code, stderr = await bot.stop()
        assert code == 0 and "Traceback" not in stderr, stderr[-3000:]


@asynccontextmanager
async def contextlib_nullable(mode: str) -> AsyncIterator[str | None]:
    if mode != "scaled":
        yield None
        return
    async with pg_database() as url:
        yield url
