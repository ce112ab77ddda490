"""/healthz and /metrics in polling mode (embedded, the default): served on METRICS_LISTEN
by `python -m bot` itself, as a systemd unit or a container health check reads them."""

from __future__ import annotations

import asyncio
import gc
import re
import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import create_async_engine

from bot.metrics import build_metrics_app
from tests.fake_bot_api import FakeBotAPI
from tests.test_e2e import BotProcess, Phone

pytestmark = pytest.mark.e2e


def counted(metrics: str, name: str) -> float:
    """The value of one sample line of Prometheus's text, 0 when it is not there."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_a_polling_bot_answers_healthz_and_metrics(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, aiohttp.ClientSession() as http:
        bot = BotProcess(api, tmp_path / "qorgau.db")
        await bot.start()  # it polls: the address is served from before the first getUpdates
        base = f"http://127.0.0.1:{bot.metrics_port}"
        try:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {"status": "ok"}
            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
                before = await response.text()
            assert "qorgau_queue_length" in before and "qorgau_sla_breaches" in before

            phone = Phone(api, 7401, language_code="kk")
            await phone.say("/start", reply_contains="Бот тілін таңдаңыз")
            name = 'qorgau_updates_total{type="message"}'
            for _ in range(50):  # counted once the handler is done, just after the reply
                async with http.get(f"{base}/metrics") as response:
                    after = await response.text()
                if counted(after, name) > counted(before, name):
                    break
                await asyncio.sleep(0.1)
            assert counted(after, name) == counted(before, name) + 1, after
            assert counted(after, "qorgau_handler_errors_total") == 0
            async with http.post(f"{base}/healthz") as response:
                assert response.status == 405  # read-only
        finally:
            code, stderr = await bot.stop()
        assert code == 0 and "Traceback" not in stderr, stderr[-3000:]
        assert f"/healthz and /metrics on 127.0.0.1:{bot.metrics_port}" in stderr
        with pytest.raises(aiohttp.ClientConnectionError):  # closed with the bot
            async with http.get(f"{base}/healthz"):
                pass


@pytest.mark.parametrize("taken", [True, False], ids=["taken", "malformed"])
async def test_a_metrics_address_it_cannot_use_stops_the_start_with_one_line(
    tmp_path: Path, taken: bool
) -> None:
    async with FakeBotAPI() as api:
        bot = BotProcess(api, tmp_path / "qorgau.db")
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            held.listen()
            address = f"127.0.0.1:{held.getsockname()[1]}" if taken else "localhost"
            bot.extra_env["METRICS_LISTEN"] = address
            await bot.spawn()
            assert bot.proc is not None
            _, raw = await asyncio.wait_for(bot.proc.communicate(), timeout=60)
    stderr = raw.decode()
    assert bot.proc.returncode == 1
    assert "Traceback" not in stderr, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    if taken:
        assert last == f"METRICS_LISTEN={address}: cannot listen there (Address already in use)"
    else:
        assert last == "METRICS_LISTEN must be host:port, e.g. 127.0.0.1:9091"


async def test_healthz_says_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    # A SQLite file in a folder that does not exist: every connection fails.
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'q.db'}")
    try:
        app: web.Application = build_metrics_app(engine)
        async with TestClient(TestServer(app)) as client:
            async with client.get("/healthz") as response:
                assert response.status == 503
                assert await response.json() == {
                    "status": "failing",
                    "problems": ["database: OperationalError"],
                }
            async with client.get("/metrics") as response:
                assert response.status == 200  # the counters do not need the database
    finally:
        await engine.dispose()
        # aiosqlite's thread of the connection that failed ends when the connection is
        # collected; collected now, it ends on this test's loop, not on a closed one
        # (omnilib/aiosqlite#241: a warning in whichever test runs next).
        gc.collect()
        await asyncio.sleep(0.1)
