"""What /metrics shows (prometheus-client), in webhook mode.

Counters are per process (Prometheus adds up the instances): updates handled by type,
handler errors, updates delivered twice and dropped, deliveries by status. Gauges read the
database every `refresh` seconds: appeals waiting in the queue, open appeals past their
first-answer deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import OPEN_STATUSES, Appeal, AppealStatus

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
