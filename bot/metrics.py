"""What /metrics shows (prometheus-client), and /healthz, in both modes.

Counters are per process (Prometheus adds up the instances): updates handled by type,
handler errors, updates delivered twice and dropped, deliveries by status. Gauges read the
database every `refresh` seconds: appeals waiting in the queue, open appeals past their
first-answer deadline.

Where they are served: /metrics always on METRICS_LISTEN (default 127.0.0.1:9090). /healthz
in webhook mode beside the updates on WEBHOOK_LISTEN (bot/scale/webhook.py); in polling
mode, which has no other listener, on METRICS_LISTEN too (`serve_in_polling`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import OPEN_STATUSES, Appeal, AppealStatus

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.config import Settings

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
UPDATES = Counter("qorgau_updates", "Updates handled", ["type"], registry=REGISTRY)
ERRORS = Counter("qorgau_handler_errors", "Updates whose handler raised", registry=REGISTRY)
REDELIVERED = Counter(
    "qorgau_updates_redelivered", "Updates delivered again and dropped", registry=REGISTRY
)
DELIVERIES = Counter(
    "qorgau_deliveries", "Broadcast deliveries by result", ["status"], registry=REGISTRY
)
OUTBOX = Counter(
    "qorgau_outbox",
    "Tries of messages to another person (relays, notices) by result",
    ["status"],
    registry=REGISTRY,
)
QUEUE = Gauge("qorgau_queue_length", "Appeals waiting to be taken", registry=REGISTRY)
SLA_BREACHES = Gauge(
    "qorgau_sla_breaches", "Open appeals past their first-answer deadline", registry=REGISTRY
)


def render() -> bytes:
    return generate_latest(REGISTRY)


Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class CountingMiddleware(BaseMiddleware):
    """Counts updates by type and the ones whose handler raised (the error handler still
    gets them: this middleware sits inside aiogram's own errors middleware)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        try:
            return await handler(event, data)
        except Exception:
            ERRORS.inc()
            raise
        finally:
            UPDATES.labels(event.event_type).inc()


async def refresh_gauges(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        queued = await conn.scalar(
            select(func.count())
            .select_from(Appeal)
            .where(Appeal.status.in_([AppealStatus.QUEUED, AppealStatus.REOPENED]))
        )
        breached = await conn.scalar(
            select(func.count())
            .select_from(Appeal)
            .where(Appeal.status.in_(OPEN_STATUSES), Appeal.sla_breached_at.is_not(None))
        )
    QUEUE.set(int(queued or 0))
    SLA_BREACHES.set(int(breached or 0))


async def keep_gauges(engine: AsyncEngine, every: float = 15.0) -> None:
    while True:
        with contextlib.suppress(Exception):
            await refresh_gauges(engine)
        await asyncio.sleep(every)


class CannotListen(Exception):
    """An address this instance cannot listen on; the message is one line naming it."""


async def listen(runner: web.AppRunner, address: tuple[str, int], name: str) -> None:
    host, port = address
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        # asyncio's own message repeats the address; the system's words say why.
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        raise CannotListen(f"{name}={host}:{port}: cannot listen there ({reason})") from None


def healthz(
    engine: AsyncEngine, redis: Redis | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """/healthz: 200 {"status": "ok"} when the database (and Redis, if used) answer;
    otherwise 503 with what failed (the kind of error only, no addresses or values)."""

    async def answer(_: web.Request) -> web.Response:
        problems = []
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            problems.append(f"database: {type(exc).__name__}")
        if redis is not None:
            try:
                await cast("Awaitable[bool]", redis.ping())  # redis-py types it sync or async
            except Exception as exc:
                problems.append(f"redis: {type(exc).__name__}")
        if problems:
            return web.json_response({"status": "failing", "problems": problems}, status=503)
        return web.json_response({"status": "ok"})

    return answer


def build_metrics_app(
    engine: AsyncEngine | None = None, redis: Redis | None = None
) -> web.Application:
    """/metrics for Prometheus: what METRICS_LISTEN serves; with `engine` (polling mode)
    /healthz too."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=render(), content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    if engine is not None:
        app.router.add_get("/healthz", healthz(engine, redis))
    return app


@contextlib.asynccontextmanager
async def serve_in_polling(
    settings: Settings, engine: AsyncEngine, redis: Redis | None
) -> AsyncIterator[None]:
    """Polling mode: /healthz and /metrics on METRICS_LISTEN while the bot polls, the
    gauges kept fresh. CannotListen if the address is malformed, taken or not this
    machine's (webhook mode checks its shape with the settings)."""
    try:
        address = settings.metrics_address()
    except ValueError as exc:
        raise CannotListen(str(exc)) from None
    runner = web.AppRunner(build_metrics_app(engine, redis), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await listen(runner, address, "METRICS_LISTEN")
    except CannotListen:
        await runner.cleanup()
        raise
    gauges = asyncio.create_task(keep_gauges(engine))
    log.info("/healthz and /metrics on %s:%s", *address)
    try:
        yield
    finally:
        gauges.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gauges
        await runner.cleanup()
