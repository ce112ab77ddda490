"""Webhook mode: an aiohttp server that takes Telegram's updates, /healthz and /metrics.

Updates are handled before the answer goes back (not in the background): Telegram sends
an update again when it gets no 2xx in time, so an instance that dies while handling one
does not lose it; `OnceMiddleware` makes sure a redelivery is not handled twice. The
secret token Telegram sends with each update (`WEBHOOK_SECRET`) is checked by aiogram's
handler: a request without it gets 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.metrics import keep_gauges, render

log = logging.getLogger(__name__)

# A stop that takes longer than this (a database or a Bot API that no longer answers) ends
# the process anyway, before systemd's TimeoutStopSec (30 s) has to kill it.
STOP_GRACE_SECONDS = 25.0
_watchdog: list[threading.Timer] = []  # at most one: the stop under way


def exit_if_stuck(seconds: float = STOP_GRACE_SECONDS) -> None:
    """From now on the process is stopping: if it has not exited in `seconds`, it exits
    with code 3 (a thread: it works even when the event loop is blocked)."""
    if _watchdog:
        return

    def give_up() -> None:
        log.error("the stop took longer than %.0f s: exiting without finishing it", seconds)
        logging.shutdown()
        os._exit(3)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    _watchdog.append(timer)
    timer.start()


def stopped() -> None:
    """The stop finished in time."""
    while _watchdog:
        _watchdog.pop().cancel()


def build_app(
    dp: Dispatcher, bot: Bot, settings: Settings, engine: AsyncEngine, redis: Redis | None
) -> web.Application:
    app = web.Application()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    SimpleRequestHandler(dp, bot, secret_token=secret, handle_in_background=False).register(
        app, path=settings.webhook_path
    )

    async def healthz(_: web.Request) -> web.Response:
        problems = []
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            problems.append(f"database: {type(exc).__name__}")
        if redis is not None:
            try:
                await redis.ping()
            except Exception as exc:
                problems.append(f"redis: {type(exc).__name__}")
        if problems:
            return web.json_response({"status": "failing", "problems": problems}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=render(), content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    setup_application(app, dp, bot=bot)
    return app


async def serve(
    dp: Dispatcher, bot: Bot, settings: Settings, engine: AsyncEngine, redis: Redis | None
) -> None:
    """Listen on WEBHOOK_LISTEN until SIGINT or SIGTERM; register the webhook if needed."""
    host, port = settings.listen_address()
    runner = web.AppRunner(build_app(dp, bot, settings, engine, redis), access_log=None)
    await runner.setup()
    # At a stop, updates being handled get this long to finish (Telegram resends the rest).
    site = web.TCPSite(runner, host, port, shutdown_timeout=10.0)
    await site.start()
    gauges = asyncio.create_task(keep_gauges(engine))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await register_webhook(dp, bot, settings)
        log.info("Qorgau listens for updates on %s:%s%s", host, port, settings.webhook_path)
        await stop.wait()
    finally:
        exit_if_stuck()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        gauges.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gauges
        await runner.cleanup()  # runs the dispatcher's shutdown, closes the bot's session


async def register_webhook(dp: Dispatcher, bot: Bot, settings: Settings) -> None:
    """Every instance starts with this; only the first (or a changed URL) calls setWebhook."""
    assert settings.webhook_url is not None
    info = await bot.get_webhook_info()
    allowed = dp.resolve_used_update_types()
    if info.url == settings.webhook_url and set(info.allowed_updates or ()) == set(allowed):
        return
    await bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value()
        if settings.webhook_secret
        else None,
        allowed_updates=allowed,
        max_connections=settings.webhook_max_connections,
        drop_pending_updates=False,
    )
    log.info("webhook registered with Telegram")
