"""What the benchmarks share: the project on sys.path, subprocesses that speak in lines (the
fake Bot API server, the load generator), garbage-collector pauses and freezing, CPU time,
and a throw-away PostgreSQL database.

Imported as `common` (each benchmark runs as `python bench/NAME.py`, so bench/ is on the
path); importing it puts the project's root on sys.path, so `bot` and `tests` import.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"


class GcPauses:
    """The garbage collector's pauses in this process, from the moment this is made."""

    def __init__(self) -> None:
        self.started = 0.0
        self.longest = 0.0
        self.total = 0.0
        gc.callbacks.append(self.note)

    def note(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause = time.perf_counter() - self.started
        self.longest, self.total = max(self.longest, pause), self.total + pause


@asynccontextmanager
async def heap_frozen_every_second(freeze: bool = True) -> AsyncIterator[None]:
    """A fake server's call log and message store grow by a few objects a request and never
    shrink: each full collection would walk all of them, stopping the server for longer and
    longer while requests queue, and then stamp the queued ones too close together. Inside
    this block the heap is frozen (gc.freeze) every second; `freeze=False` does nothing."""

    async def freeze_forever() -> None:
        while True:
            await asyncio.sleep(1.0)
            gc.freeze()

    freezer = asyncio.create_task(freeze_forever()) if freeze else None
    try:
        yield
    finally:
        if freezer is not None:
            freezer.cancel()


async def stdin_lines() -> AsyncIterator[str]:
    """Lines of stdin (commands from the parent process) until it is closed, without
    blocking the event loop."""
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        yield line


def own_cpu() -> float:
    """User + system CPU seconds of this process (all its threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Child:
    """A subprocess speaking in lines on stdin/stdout."""

    def __init__(
        self, command: list[str], stderr: IO[bytes] | None = None, close_timeout: float = 15.0
    ) -> None:
        self.name = " ".join(command[2:4])
        self.close_timeout = close_timeout
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} ended (exit {self.process.wait()})")
        return line.strip()

    def close(self) -> None:
        """Closing stdin tells it to end; killed if it has not after `close_timeout`."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=self.close_timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def postgres_database(
    base_url: str, prefix: str = "qorgau_bench_", digits: int = 8
) -> tuple[str, Callable[[], None]]:
    """A database of the run's own (named `prefix` + `digits` random hex digits) on the
    server of `base_url`: its URL (asyncpg) and a function that drops it."""
    from sqlalchemy.engine import make_url

    name = f"{prefix}{uuid.uuid4().hex[:digits]}"
    admin_url = make_url(base_url).set(drivername="postgresql+asyncpg")

    async def run(sql: str) -> None:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    return url, lambda: asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def running_news_post(now: datetime, *, urgent: bool = False) -> Insert:
    """INSERT of a news post to every member, already running (… RETURNING its id).
    `urgent`: sent at any hour, not held for the members' night."""
    from sqlalchemy import insert

    from bot.storage.models import Broadcast, PostStatus

    return (
        insert(Broadcast)
        .values(
            created_by=1,
            status=PostStatus.RUNNING,
            text_kk="<b>Жаңалық</b>: жалақы индексацияланады.",
            text_ru="<b>Новость</b>: зарплата будет проиндексирована.",
            orgs=[],
            workplace_types=[],
            urgent=urgent,
            created_at=now,
        )
        .returning(Broadcast.id)
    )
