"""The bots of a run (`python -m bot`, exactly as deployed) and what they need: their
environment, a database with the members seeded (and a running news post), Redis checked
and this run's keys cleared afterwards, and how much of the post went out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from common import ROOT, TOKEN, running_news_post

from workload.journeys import FIRST, language_of

FILL_BATCH = 2_000


class BotInstance:
    """`python -m bot`, its log in a file (read afterwards: a pipe left full would stop it)."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        port: int | None = None,
        profile: Path | None = None,
        metrics_port: int | None = None,
    ) -> None:
        self.log = log
        self.port = port
        self.metrics_port = metrics_port
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("WEBHOOK_", "REDIS_", "METRICS_"))
        }
        command = [sys.executable, "-m", "bot"]
        if profile is not None:  # --profile: cProfile's figures, written when the bot stops
            profile.parent.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "bot"]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**base, **env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot ended at start:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"the bot did not come up:\n{self.tail()}")

    def metrics(self) -> dict[str, float]:
        counts: dict[str, float] = {}
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as r:
                page = r.read().decode()
        except (urllib.error.URLError, OSError):
            return counts
        for line in page.splitlines():
            if line.startswith(("qorgau_updates_total", "qorgau_handler_errors_total")) or (
                line.startswith("qorgau_updates_redelivered_total")
            ):
                name, value = line.rsplit(" ", 1)
                counts[name] = float(value)
        return counts

    def keep(self, directory: Path | None, name: str) -> None:
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(self.log.read_bytes())

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def log_counts(self) -> dict[str, int]:
        text = self.log.read_text(errors="replace")
        return {
            "handler_errors": text.count("handler error in update"),
            "flood_blocks": text.count("flood control: user"),
            "tracebacks": text.count("Traceback"),
        }


def bot_env(api_url: str, database_url: str, log_level: str) -> dict[str, str]:
    return {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api_url,
        "DATABASE_URL": database_url,
        "ADMIN_IDS": "",
        "LOG_LEVEL": log_level,
    }


async def prepare(url: str, members: int, post: int = 0) -> None:
    """Migrate, then `members` onboarded members with consent (Core inserts in batches);
    with `post`, that many more members and a news post to everyone, already running."""
    from sqlalchemy import insert

    from bot.services.members import CONSENT_VERSION
    from bot.storage.db import create_engine
    from bot.storage.migrate import upgrade
    from bot.storage.models import Member, WorkplaceType
    from bot.topics import default_member_orgs

    orgs = [org.id for org in default_member_orgs().orgs]
    engine = create_engine(url)
    try:
        await upgrade(engine)
        now = datetime.now(UTC)
        for start in range(0, members + post, FILL_BATCH):
            rows = [
                {
                    "telegram_id": FIRST + i,
                    "language": language_of(FIRST + i),
                    "member_org": orgs[i % len(orgs)],
                    "workplace_type": WorkplaceType.SCHOOL,
                    "full_name": "Member",
                    "consent_version": CONSENT_VERSION,
                    "consent_at": now,
                    "created_at": now,
                }
                for i in range(start, min(start + FILL_BATCH, members + post))
            ]
            async with engine.begin() as conn:
                await conn.execute(insert(Member), rows)
        if post:
            async with engine.begin() as conn:
                # Urgent: sent at any hour (not held for the members' night).
                await conn.execute(running_news_post(now, urgent=True))
    finally:
        await engine.dispose()


async def redis_problem(url: str) -> str | None:
    from redis.asyncio import Redis

    try:
        redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    except ValueError as exc:
        return f"REDIS URL {url!r} is invalid: {exc}"
    try:
        # redis-py types its commands for both clients; the asyncio client's are awaitable.
        await cast("Awaitable[bool]", redis.ping())
    except Exception as exc:
        return f"Redis unreachable at {url}: {type(exc).__name__}"
    finally:
        await redis.aclose()
    return None


async def clear_redis(url: str, prefix: str) -> int:
    """Delete this run's keys (every key the bot makes starts with its REDIS_PREFIX)."""
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    deleted = 0
    try:
        batch: list[bytes] = []
        async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await redis.delete(*batch)
                batch.clear()
        if batch:
            deleted += await redis.delete(*batch)
        deleted += await redis.delete(prefix)
    finally:
        await redis.aclose()
    return int(deleted)


async def post_progress(
    url: str, recipients: int, since: datetime, until: datetime
) -> dict[str, Any]:
    """How much of the post went out, and at what pace while the members' load was measured."""
    from sqlalchemy import func, select

    from bot.storage.db import create_engine
    from bot.storage.models import Delivery, DeliveryStatus

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            sent = Delivery.status == DeliveryStatus.DELIVERED
            total = await conn.scalar(select(func.count()).where(sent))
            during = await conn.scalar(
                select(func.count()).where(sent, Delivery.sent_at.between(since, until))
            )
    finally:
        await engine.dispose()
    seconds = (until - since).total_seconds()
    return {
        "recipients": recipients,
        "delivered": int(total or 0),
        "delivered_while_measured": int(during or 0),
        "rate_while_measured": round((during or 0) / seconds, 1) if seconds else None,
    }
