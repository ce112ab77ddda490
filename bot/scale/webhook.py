"""Webhook mode: an aiohttp server that takes Telegram's updates and answers /healthz on
WEBHOOK_LISTEN, and one of its own for Prometheus's /metrics on METRICS_LISTEN.

Updates are handled before the answer goes back (not in the background): Telegram sends
an update again when it gets no 2xx in time, so an instance that dies while handling one
does not lose it; `OnceMiddleware` makes sure a redelivery is not handled twice. The
secret token Telegram sends with each update (`WEBHOOK_SECRET`) is checked first: any
request without exactly that header gets 401.

/healthz stays beside the updates: it says whether the listener Telegram's updates reach
can handle them (database, Redis), and the proxy publishes only the webhook path, so it is
not public. /metrics (counts of updates, errors, deliveries, the queue) is on its own
address, which no proxy route leads to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import threading

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.metrics import CannotListen, build_metrics_app, healthz, keep_gauges, listen

# CannotListen, build_metrics_app and listen live in bot.metrics (polling mode uses them too).
__all__ = [
    "STOP_GRACE_SECONDS",
    "CannotListen",
    "UpdatesFromTelegram",
    "build_app",
    "build_metrics_app",
    "exit_if_stuck",
    "listen",
    "register_webhook",
    "serve",
    "stopped",
]

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


class UpdatesFromTelegram(SimpleRequestHandler):
    """aiogram's handler, with a secret check that refuses any header that is not exactly
    the secret with 401: aiogram's own compares with `secrets.compare_digest`, which raises
    for a header with non-ASCII characters, and the request got a 500 (and a traceback)."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str) -> None:
        if not secret_token:
            raise ValueError("the webhook needs its secret token")
        super().__init__(dispatcher, bot, secret_token=secret_token, handle_in_background=False)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        secret = self.secret_token or ""
        # The secret is ASCII (bot.config): a header that is not cannot be it.
        return telegram_secret_token.isascii() and secrets.compare_digest(
            telegram_secret_token, secret
        )


def build_app(
    dp: Dispatcher, bot: Bot, settings: Settings, engine: AsyncEngine, redis: Redis | None
) -> web.Application:
    """The updates (on the webhook's path) and /healthz: what WEBHOOK_LISTEN serves."""
    app = web.Application()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    UpdatesFromTelegram(dp, bot, secret).register(app, path=settings.webhook_path)

    app.router.add_get("/healthz", healthz(engine, redis))
    setup_application(app, dp, bot=bot)
    return app


async def serve(
    dp: Dispatcher, bot: Bot, settings: Settings, engine: AsyncEngine, redis: Redis | None
) -> None:
    """Listen on WEBHOOK_LISTEN and METRICS_LISTEN until SIGINT or SIGTERM; register the
    webhook if needed. CannotListen if an address is taken or not this machine's."""
    host, port = settings.listen_address()
    # At a stop, updates being handled get this long to finish (Telegram resends the rest).
    runner = web.AppRunner(
        build_app(dp, bot, settings, engine, redis), access_log=None, shutdown_timeout=10.0
    )
    metrics_runner = web.AppRunner(build_metrics_app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await metrics_runner.setup()
    try:
        await listen(metrics_runner, settings.metrics_address(), "METRICS_LISTEN")
        await listen(runner, (host, port), "WEBHOOK_LISTEN")
    except CannotListen:
        await metrics_runner.cleanup()
        await runner.cleanup()
        raise
    gauges = asyncio.create_task(keep_gauges(engine))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await register_webhook(dp, bot, settings)
        log.info(
            "Qorgau listens for updates on %s:%s%s, metrics on %s:%s/metrics",
            host,
            port,
            settings.webhook_path,
            *settings.metrics_address(),
        )
        await stop.wait()
    finally:
        exit_if_stuck()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        gauges.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gauges
        await metrics_runner.cleanup()
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
