"""One post to N members through the fake Bot API: the pace held, nobody twice, nobody lost.

    python bench/broadcast.py --recipients 100000 --rate 1000 [--latency 0.02] [--db sqlite]
    python bench/broadcast.py --recipients 1500 --rate 25    # a free bot's pace over 60 s
    TEST_DATABASE_URL=postgresql://... python bench/broadcast.py --db postgres ...

A fresh database (a SQLite file; with --db postgres a PostgreSQL database of its own,
created and dropped, on the server of TEST_DATABASE_URL) gets N members with consent (Core
inserts in batches; chat ids FIRST..FIRST+N-1) and one running post to all of them. The
engine sends it as the bot does: `Broadcaster.run` with `Pacer(R)`, SendSettings(paid=R>30)
and a concurrency of about twice R x latency (--concurrency to override), through
tests/fake_bot_api.py's FakeBotAPI answering every send after --latency seconds.

The fake server runs in a subprocess of its own (this script with --serve), so the figures
of this process are the bot's alone: peak memory (ru_maxrss; also the resident size after
importing aiogram, SQLAlchemy and the engine, and just before the run) and CPU (getrusage
user+sys, the database driver's threads included; only the run is counted, not filling the
database) do not include the server's parsing, its message store or its call log. The
server's own CPU and garbage-collector pauses are reported beside them; it freezes its
heap (gc.freeze) every second, or its full collections, walking a call log of 100,000
entries, stop it for 0.2 s while requests queue and then stamp them too close together
(--no-server-gc-freeze to see that). The server stamps each request when it arrives
(Call.at); from those stamps:

- achieved_rate: deliveries / (last send - first send);
- busiest_1s: the most sends in any sliding one-second window (t <= at < t + 1), vs R;
  busiest_1s_at_sender is the same from the times the pacer let each send go, before the
  time it takes a request to reach the server (which varies by tens of ms at 1,000 a second
  with both processes busy on a small machine);
- slot_to_arrival_ms: that time, the i-th slot against the i-th arrival (p50, p99, max);
- duplicates: chats that got the post more than once;
- lost: members the server never saw a send for, and deliveries not 'delivered'.

The machine's load average before and after the run is printed with the figures: on a
shared machine other work slows both processes.

Targets: N=100,000 at R=1,000: achieved >= 95 % of R, no duplicates, none lost,
peak memory < 150 MB. N=1,500 at R=25: achieved within 2 % of R, busiest_1s <= R.
Prints its figures last as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import sys
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from common import (
    TOKEN,
    Child,
    GcPauses,
    heap_frozen_every_second,
    own_cpu,
    postgres_database,
    running_news_post,
    stdin_lines,
)

FIRST = 1_000_000  # the first member's chat id
FILL_BATCH = 5_000


# --- the fake Bot API, in a process of its own ---------------------------------------------


def busiest_second(stamps: Sequence[float]) -> int:
    """The most stamps (sorted) in any window [t, t + 1 s)."""
    busiest, start = 0, 0
    for end, at in enumerate(stamps):
        while at - stamps[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


def _summary(calls: list[Any], first: int, n: int) -> dict[str, Any]:
    sent = [c for c in calls if c.method.lower() == "sendmessage" and c.ok]
    stamps = sorted(c.at for c in sent)
    per_chat = Counter(c.chat_id for c in sent)
    busiest = busiest_second(stamps)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "sends": len(sent),
        "refused": sum(1 for c in calls if c.method.lower() == "sendmessage" and not c.ok),
        "span_s": round(span, 3),
        "achieved_rate": round(len(sent) / span, 2) if span else None,
        "busiest_1s": busiest,
        "stamps": stamps,
        "duplicates": sum(1 for count in per_chat.values() if count > 1),
        "never_sent": sum(1 for chat in range(first, first + n) if chat not in per_chat),
        "strangers": sum(1 for chat in per_chat if not first <= int(chat) < first + n),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


async def serve(latency: float, freeze: bool) -> None:
    """The fake server: prints its URL, then answers "summary FIRST N" lines on stdin."""
    from tests.fake_bot_api import FakeBotAPI

    pauses = GcPauses()
    api = FakeBotAPI()
    api.latency = latency
    await api.start()
    print(api.base_url, flush=True)
    try:
        async with heap_frozen_every_second(freeze):
            async for line in stdin_lines():
                command, *numbers = line.split()
                if command == "summary":
                    first, n = (int(x) for x in numbers)
                    figures = _summary(api.calls, first, n)
                    figures["gc_longest_pause_ms"] = round(1000 * pauses.longest, 1)
                    figures["gc_pauses_s"] = round(pauses.total, 2)
                    print(json.dumps(figures), flush=True)
    finally:
        await api.stop()


class FakeServer:
    def __init__(self, latency: float, freeze: bool) -> None:
        command = [sys.executable, __file__, "--serve", "--latency", str(latency)]
        self.child = Child(
            [*command, "--server-gc-freeze"] if freeze else command, close_timeout=10
        )
        self.url = self.child.read()
        if not self.url.startswith("http"):
            self.close()
            raise RuntimeError("the fake Bot API did not start")

    def summary(self, first: int, n: int) -> dict[str, Any]:
        self.child.send(f"summary {first} {n}")
        return dict(json.loads(self.child.read()))

    def close(self) -> None:
        self.child.close()


# --- the database ----------------------------------------------------------------------------


@asynccontextmanager
async def _engine(url: str) -> AsyncIterator[Any]:
    from bot.storage.db import create_engine

    # A small pool: the engine needs a few connections, and the PostgreSQL server is shared.
    engine = create_engine(url, pool_size=4, max_overflow=2)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _fill(engine: Any, n: int) -> int:
    """N members with consent, in Core batches (never a list of all of them), and the post."""
    from sqlalchemy import insert

    from bot.storage.models import Member

    now = datetime.now(UTC)
    orgs = ("almaty", "astana", "shymkent", "karaganda")
    for start in range(0, n, FILL_BATCH):
        rows = [
            {
                "telegram_id": FIRST + i,
                "language": "ru" if i % 3 == 0 else "kk",
                "member_org": orgs[i % len(orgs)],
                "consent_version": "1",
                "consent_at": now,
                "created_at": now,
            }
            for i in range(start, min(start + FILL_BATCH, n))
        ]
        async with engine.begin() as conn:
            await conn.execute(insert(Member), rows)
    async with engine.begin() as conn:
        post = await conn.execute(running_news_post(now))
        return int(post.scalar_one())


def _rss_mb() -> float | None:
    """Resident memory now (Linux), in MB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), None)
    return round(int(line.split()[1]) / 1024, 1) if line else None


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def run(args: argparse.Namespace, url: str, server: FakeServer) -> dict[str, Any]:
    from aiogram import Bot
    from aiogram.client.telegram import TelegramAPIServer

    from bot import compat
    from bot.app import with_request_middlewares
    from bot.broadcast.engine import Broadcaster, SendSettings
    from bot.broadcast.limiter import Pacer
    from bot.compat.sends import BotSession
    from bot.storage.migrate import upgrade

    patches = await compat.check()  # as the bot starts: a patch that does not hold is off

    class StampedPacer(Pacer):
        """The engine's pacer, noting when it let each send go (8 bytes a send)."""

        def __init__(self, rate: float) -> None:
            super().__init__(rate)
            self.released = array("d")

        async def slot(self) -> None:
            await super().slot()
            self.released.append(time.monotonic())

    n, rate = args.recipients, args.rate
    concurrency = args.concurrency or max(4, math.ceil(2 * rate * (args.latency + 0.005)))
    settings = SendSettings(concurrency=concurrency, paid=rate > 30)
    async with _engine(url) as engine:
        await upgrade(engine)
        post = await _fill(engine, n)
        session = BotSession(api=TelegramAPIServer.from_base(server.url), limit=concurrency + 8)
        bot = with_request_middlewares(Bot(TOKEN, session=session))  # as the bot's own
        pacer = StampedPacer(rate)
        broadcaster = Broadcaster(bot, engine, pacer, owner="bench", settings=settings)
        rss_before, peak_before, load_before = _rss_mb(), _peak_mb(), os.getloadavg()[0]
        cpu, started = own_cpu(), time.perf_counter()
        try:
            result = await broadcaster.run(post)
        finally:
            await bot.session.close()
        wall, cpu = time.perf_counter() - started, own_cpu() - cpu
    assert result is not None, "the post's lease was not taken"
    seen = server.summary(FIRST, n)
    # The i-th slot the pacer gave against the i-th arrival at the server (one monotonic
    # clock for both processes): how late sends reach Telegram after their slot.
    late = sorted(
        1000 * (arrived - slot)
        for arrived, slot in zip(seen.pop("stamps"), sorted(pacer.released), strict=False)
    )
    delivered = result.counts.get("delivered", 0)
    achieved = seen["achieved_rate"]
    figures: dict[str, Any] = {
        "bench": "broadcast",
        "db": args.db,
        "recipients": n,
        "rate": rate,
        "latency_s": args.latency,
        "concurrency": concurrency,
        "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
        "compat_patches_on": patches,
        "finished": result.finished,
        "wall_s": round(wall, 2),
        "sends": seen["sends"],
        "achieved_rate": achieved,
        "achieved_pct": round(100 * achieved / rate, 1) if achieved else None,
        "busiest_1s": seen["busiest_1s"],
        "busiest_1s_at_sender": busiest_second(sorted(pacer.released)),
        "slot_to_arrival_ms": {
            "p50": round(late[len(late) // 2], 2) if late else None,
            "p99": round(late[int(len(late) * 0.99)], 2) if late else None,
            "max": round(late[-1], 2) if late else None,
        },
        "duplicates": seen["duplicates"],
        "lost_never_sent": seen["never_sent"],
        "lost_not_delivered": n - delivered,
        "counts": {k: v for k, v in result.counts.items() if v},
        "pauses_429": pacer.pauses,
        "write_transactions": result.write_transactions,
        "results_per_transaction": round(result.results_written / result.write_transactions, 1)
        if result.write_transactions
        else None,
        "peak_rss_mb": _peak_mb(),
        "rss_before_run_mb": rss_before,
        "peak_before_run_mb": peak_before,
        "rss_after_import_mb": IMPORTED_RSS_MB,
        "cpu_s": round(cpu, 2),
        "cpu_s_per_1000": round(cpu / (n / 1000), 3),
        "fake_server": {
            key: seen[key] for key in ("cpu_s", "peak_rss_mb", "gc_longest_pause_ms", "gc_pauses_s")
        },
        "cpu_note": "bot process only, the run without the fill; the fake server is a subprocess",
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "date": date.today().isoformat(),
    }
    return figures


IMPORTED_RSS_MB: float | None = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per send")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=0, help="default: 2 x R x latency")
    parser.add_argument(
        "--no-server-gc-freeze",
        dest="server_gc_freeze",
        action="store_false",
        help="let the fake server's garbage collector walk its whole call log",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--server-gc-freeze", dest="serve_freeze", action="store_true", help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.latency, args.serve_freeze))
        return 0
    if args.rate <= 0 or args.recipients <= 0:
        parser.error("--rate and --recipients must be positive")

    # What the bot weighs before it does anything; the patches first, as `python -m bot`
    # starts (they defer the Telegram types' builds: bot/compat/lean_types.py).
    from bot import compat

    compat.start()
    import aiogram  # noqa: F401
    import sqlalchemy.ext.asyncio  # noqa: F401

    import bot.broadcast.engine  # noqa: F401

    global IMPORTED_RSS_MB  # noqa: PLW0603
    IMPORTED_RSS_MB = _rss_mb()
    pg = os.environ.get("TEST_DATABASE_URL")
    if args.db == "postgres" and not pg:
        parser.error("--db postgres needs TEST_DATABASE_URL")
    server = FakeServer(args.latency, args.server_gc_freeze)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.db == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                figures = asyncio.run(run(args, url, server))
            else:
                assert pg
                url, drop = postgres_database(pg)
                try:
                    figures = asyncio.run(run(args, url, server))
                finally:
                    drop()
    finally:
        server.close()
    print(
        f"{args.db}: {figures['sends']} sends to {figures['recipients']} members at "
        f"{figures['achieved_rate']}/s of {figures['rate']:g}/s ({figures['achieved_pct']} %), "
        f"busiest second {figures['busiest_1s']}, duplicates {figures['duplicates']}, "
        f"lost {figures['lost_never_sent']}/{figures['lost_not_delivered']}, "
        f"peak {figures['peak_rss_mb']} MB, {figures['cpu_s_per_1000']} CPU s per 1,000"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
