"""The webhook's HTTP side (bot/scale/webhook.py) through an aiohttp test client: only a
request with exactly the secret header reaches the Dispatcher, anything else gets 401 (a
non-ASCII header too: aiogram's own check answered 500); /metrics is served on its own
application (METRICS_LISTEN), not beside the webhook path."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_dispatcher
from bot.config import Settings
from bot.context import Context
from bot.scale.webhook import CannotListen, build_app, build_metrics_app, listen
from tests.conftest import make_settings
from tests.recording import RecordingSession
from tests.test_config import GOOD_SECRET

PATH = "/tg/8f3c2a"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_settings(ctx: Context) -> Settings:
    return make_settings(
        ctx.settings.database_url,
        webhook_url=f"https://bot.example.kz{PATH}",
        webhook_secret=GOOD_SECRET,
    )


def update(update_id: int, text: str = "/start") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": 8101, "type": "private"},
            "from": {"id": 8101, "is_bot": False, "first_name": "A", "language_code": "ru"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


@pytest.fixture
async def client(ctx: Context, bot: Bot) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = build_app(create_dispatcher(ctx), bot, webhook_settings(ctx), ctx.engine, None)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def post(
    client: TestClient[web.Request, web.Application], body: dict[str, Any], secret: str | None
) -> int:
    headers = {} if secret is None else {HEADER: secret}
    async with client.post(PATH, json=body, headers=headers) as response:
        await response.read()
        return response.status


async def post_raw_header(port: int, header_value: bytes) -> int:
    """A request whose secret header carries bytes an HTTP client library would not send."""
    body = json.dumps(update(9)).encode()
    request = (
        b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: " + header_value + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def test_only_the_exact_secret_header_reaches_the_bot(
    client: TestClient[web.Request, web.Application], recording: RecordingSession
) -> None:
    assert await post(client, update(1), GOOD_SECRET) == 200
    assert [type(r) for r in recording.requests if isinstance(r, SendMessage)]  # handled
    handled = len(recording.requests)
    wrong = [None, "", "wrong", GOOD_SECRET[:-1], GOOD_SECRET + "x", GOOD_SECRET.upper()]
    for n, secret in enumerate(wrong, start=2):
        assert await post(client, update(n), secret) == 401, secret
    port = client.server.port
    assert port is not None
    for raw in ("Қорғау".encode(), "sécret".encode("latin-1"), GOOD_SECRET.encode() + b"\xff"):
        assert await post_raw_header(port, raw) == 401, raw
    assert len(recording.requests) == handled  # none of them reached the Dispatcher


async def test_aiogram_alone_answers_a_non_ascii_secret_with_500(ctx: Context, bot: Bot) -> None:
    """Why the bot has its own check: the control without it."""
    app = web.Application()
    SimpleRequestHandler(create_dispatcher(ctx), bot, secret_token=GOOD_SECRET).register(
        app, path=PATH
    )
    async with TestClient(TestServer(app)) as plain:
        port = plain.server.port
        assert port is not None
        assert await post_raw_header(port, "Қорғау".encode()) == 500


async def test_metrics_are_served_on_their_own_address_only(
    client: TestClient[web.Request, web.Application],
) -> None:
    async with client.get("/metrics") as response:
        assert response.status == 404  # not beside the webhook
    async with client.get("/healthz") as response:
        assert response.status == 200 and (await response.json()) == {"status": "ok"}
    async with TestClient(TestServer(build_metrics_app())) as metrics:
        async with metrics.get("/metrics") as response:
            assert response.status == 200
            assert "qorgau_updates_total" in await response.text()
        async with metrics.get("/healthz") as response:
            assert response.status == 404
        async with metrics.post(PATH, json=update(1)) as response:
            assert response.status in (404, 405)  # no updates there


async def test_an_address_taken_is_one_line_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = web.AppRunner(build_metrics_app())
        await runner.setup()
        try:
            with pytest.raises(CannotListen) as caught:
                await listen(runner, ("127.0.0.1", port), "METRICS_LISTEN")
        finally:
            await runner.cleanup()
    assert str(caught.value) == (
        f"METRICS_LISTEN=127.0.0.1:{port}: cannot listen there (Address already in use)"
    )
