"""Updates per second through two webhook instances (PostgreSQL, Redis) and through one
polling instance (SQLite), for the same mixed member workload.

    python bench/webhook.py [--members 500] [--updates 20000] [--seconds 45] [--concurrency 8]
    python bench/webhook.py --small          # CI size: about 40 s for both modes
    python bench/webhook.py --mode webhook   # or polling; default: both, webhook first
    python bench/webhook.py --mode polling --post 2500   # while a 25/s news post is sent
    TEST_DATABASE_URL=postgresql://... TEST_REDIS_URL=redis://... python bench/webhook.py
    ... --logs DIR (keep the bots' logs) --profile DIR (run the bots under cProfile)

Processes (the machine this was written on has 2 cores; everything shares them):

- the bot: `python -m bot`, exactly as deployed. Scaled mode: two instances with
  WEBHOOK_URL/WEBHOOK_SECRET/WEBHOOK_LISTEN/METRICS_LISTEN, REDIS_URL with a prefix of this
  run's own (REDIS_PREFIX; its keys are deleted afterwards) and DATABASE_URL on a PostgreSQL
  database of this run's own (CREATE DATABASE t_bench_…, dropped afterwards) on the server
  of TEST_DATABASE_URL. Embedded mode: one instance, long polling, a SQLite file.
- the fake Bot API (tests/fake_bot_api.py) in a subprocess of its own (this script with
  --serve): the bots' replies go there, so its CPU is not the bots'. In embedded mode it
  also queues the updates the bot long-polls.
- the load generator, scaled mode only: a subprocess of its own (this script with --load),
  aiohttp on loopback, a bounded number of requests in flight (--concurrency), to the
  instances in turn (round robin), each with the X-Telegram-Bot-Api-Secret-Token header.
  An instance answers only after it handled the update (handle_in_background=False).

The workload, the same in both modes: --members onboarded members are written to the
database before the bots start (as bench/broadcast.py does); each of --concurrency members
at a time goes through one journey, one update after the other, each sent only when the
previous one was answered (as a person taps after seeing the screen); then the next member
in line takes its place (members take turns, so nobody trips the flood control). Journeys,
by weight: search 50 (a free-text question → open the best hit → "it helped" 7 times in
10), browse 30 (/faq → a topic → down to an answer → "it helped" half the time), appeal 8
(/ask → topic → text → no files → send), newcomer 7 (/start → language → organisation →
workplace → consent, all button taps, then a search), return 5 (/start → the main menu,
then a search). Taps press buttons of the bot's real messages: the fake server stores them;
the load generator asks it (GET /_bench/screen, not timed) for the newest message of the
chat carrying a button of the kind it wants, and sends the whole message in the callback
query as Telegram does.

Concurrency 8 by default: on this machine both modes use all of its CPU from 4 updates in
flight on, and more only lengthens the queue (latency) without adding throughput. Do not
go to 15 or more in embedded mode: there, each update's database session keeps its
pooled connection from the member's first read until the update ends, while the FSM
storage takes a second connection from the same pool (5 + 10); 15 members at once whose
directory entries are cold (a start, or after their 5-minute TTL) hold all 15 and wait
for a 16th: 30 s later every one fails with SQLAlchemy's pool TimeoutError (try
`--mode polling --concurrency 32`: the bot's log shows "QueuePool limit … reached").

Measured, after --warmup updates (sent the same way, not counted), until --updates were
sent or --seconds passed, whichever first (the updates in flight are then waited for):

- scaled: updates/s = updates answered 200 / (last answer − first measured send); latency
  = request sent → HTTP answer, p50/p99; errors = any other answer or a failed request.
- embedded: an update counts as handled when the bot's reply reaches the fake server: a
  callback query at its answerCallbackQuery, a message at the first send/edit call into
  its chat (the next update of that member is queued only then, and only once the screen
  it taps is shown); updates/s = handled / (last reply − first measured queueing); latency
  = queued → that reply call arriving; errors = no reply within 30 s.
- CPU seconds of every process during the measured phase, from /proc/<pid>/stat (the bots,
  the fake server, the load generator, PostgreSQL's and Redis's processes), and
  `everything_else`: the machine's busy time (/proc/stat) less all of those, i.e. other
  jobs on a shared machine (if it is not near 0, the run competed for the cores); the
  machine's busy share, and the 1-minute load average before the mode started and after
  its load ended; handler errors and flood blocks counted from the bots' logs (their
  LOG_LEVEL is INFO as in production unless --log-level says otherwise).

Targets: every update answered (200 / a reply), no handler error, no journey broken (a
screen that should have appeared did not). Issue #6 sets no throughput figure: the numbers
compare scaled with embedded mode on the same machine. With no TEST_DATABASE_URL, or Redis
unreachable (--redis-url, default TEST_REDIS_URL or redis://127.0.0.1:6379/0), the scaled
part is reported as skipped and the embedded part still runs. Prints its figures last as
one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from common import (
    ROOT,
    TOKEN,
    Child,
    GcPauses,
    heap_frozen_every_second,
    own_cpu,
    postgres_database,
    running_news_post,
    stdin_lines,
)

if TYPE_CHECKING:
    import aiohttp

# Made as the README says; the load generator (a child process) reads the parent's.
SECRET = os.environ.setdefault("BENCH_WEBHOOK_SECRET", secrets.token_urlsafe(32))
FIRST = 3_000_000  # the first seeded member's Telegram id
NEWCOMERS = 5_000_000  # Telegram ids of people who onboard during the run start here
REPLY_TIMEOUT = 30.0  # embedded mode: an update without a reply by then is an error
SCREEN_TIMEOUT = 10.0  # a screen that should follow an answered update
FILL_BATCH = 2_000

QUESTIONS = (
    "зарплату задерживают что делать",
    "демалыс ақысы қашан төленеді",
    "уволили по сокращению без предупреждения",
    "санат устемакысы канша",
    "заставляют писать лишние отчеты",
    "больничный во время отпуска",
    "жалақы кешігіп жатыр",
    "меня заставляют работать в выходные",
    "еңбек шартын бұзды",
    "как получить материальную помощь от профсоюза",
    "декреттік демалыс",
    "не выплатили отпускные",
)
APPEAL_TEXTS = (
    "Жалақы екі айдан бері кешігіп келеді, директор жауап бермейді.",
    "Директор требует писать отчёты по выходным и грозит выговором. Что мне делать?",
    "Мені ескертусіз басқа сыныпқа ауыстырды, жүктеме азайды, жалақы да азайды.",
    "Отпускные выплатили на две недели позже, чем начался отпуск.",
)


# --- the workload -----------------------------------------------------------------------------


class Stop(Exception):
    """The measured phase is over: no more updates."""


@dataclass
class Person:
    id: int
    lang: str
    rng: random.Random
    mark: int = 0  # embedded mode: the store's sequence number when their last update was queued
    screen: Any = None  # the message their next tap presses (a message id, or its JSON)


class Driver(Protocol):
    """How a member's updates reach the bot (webhook requests, or the fake server's queue)."""

    async def say(self, person: Person, text: str) -> bool:
        """Send a text (or a command); True when the bot answered it."""
        ...

    async def look(self, person: Person, prefix: str) -> list[str] | None:
        """The buttons of the newest message in the chat having one starting with `prefix`
        (it becomes the screen `press` taps on); None (counted as broken) if none shows."""
        ...

    async def press(self, person: Person, data: str) -> bool:
        """Tap a button of the screen last looked at; True when the bot answered it."""
        ...


@dataclass
class Tally:
    """What one run measured. `take` is called before each update is sent."""

    warmup: int
    budget: int
    seconds: float
    on_measuring: Callable[[], None] = lambda: None
    sent: int = 0  # warm-up included
    measured: int = 0
    acked: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    broken: Counter[str] = field(default_factory=Counter)
    journeys: Counter[str] = field(default_factory=Counter)
    start: float | None = None
    last_done: float = 0.0

    def take(self, now: float) -> bool:
        """Whether this update is measured; raises Stop when the run is over."""
        if self.start is None and self.sent >= self.warmup:
            self.start = now
            self.on_measuring()
        if self.start is not None and (
            self.measured >= self.budget or now - self.start >= self.seconds
        ):
            raise Stop
        self.sent += 1
        if self.start is None:
            return False
        self.measured += 1
        return True

    def answered(self, measured: bool, sent_at: float, done_at: float) -> None:
        if measured:
            self.acked += 1
            self.latencies.append(done_at - sent_at)
            self.last_done = max(self.last_done, done_at)

    def failed(self, measured: bool, kind: str, done_at: float) -> None:
        if measured:
            self.errors[kind] += 1
            self.last_done = max(self.last_done, done_at)

    def figures(self) -> dict[str, Any]:
        span = self.last_done - self.start if self.start is not None else 0.0
        ordered = sorted(self.latencies)

        def ms(q: float) -> float | None:
            if not ordered:
                return None
            return round(1000 * ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 1)

        return {
            "updates_sent": self.measured,
            "acknowledged": self.acked,
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
            "updates_per_s": round(self.acked / span, 1) if span > 0 else None,
            "p50_ms": ms(0.50),
            "p90_ms": ms(0.90),
            "p99_ms": ms(0.99),
            "max_ms": ms(1.0),
            "measured_s": round(span, 2),
            "warmup_updates": self.sent - self.measured,
            "journeys": dict(self.journeys),
            "broken_journeys": dict(self.broken),
        }


def _children(datas: list[str]) -> list[str]:
    """The entries of an FAQ branch screen: its buttons without the Back/Home row."""
    entries = [d for d in datas if d.startswith("faq:open:")]
    if entries and entries[-1] == "faq:open:":
        entries = entries[:-2]
    return [d for d in entries if d != "faq:open:"]


async def search(d: Driver, p: Person) -> bool:
    if not await d.say(p, p.rng.choice(QUESTIONS)):
        return False
    hits = await d.look(p, "hit:open:")
    if hits is None or not await d.press(p, next(h for h in hits if h.startswith("hit:open:"))):
        return False
    if p.rng.random() < 0.7:
        answer = await d.look(p, "faq:yes:")
        return answer is not None and await d.press(
            p, next(a for a in answer if a.startswith("faq:yes:"))
        )
    return True


async def browse(d: Driver, p: Person) -> bool:
    if not await d.say(p, "/faq"):
        return False
    screen = await d.look(p, "faq:open:")
    for _ in range(4):
        if screen is None:
            return False
        yes = [s for s in screen if s.startswith("faq:yes:")]
        if yes:
            return p.rng.random() >= 0.5 or await d.press(p, yes[0])
        children = _children(screen)
        if not children or not await d.press(p, p.rng.choice(children)):
            return False
        screen = await d.look(p, "faq:")
    return True


async def appeal(d: Driver, p: Person) -> bool:
    if not await d.say(p, "/ask"):
        return False
    topics = await d.look(p, "topic:")
    if topics is None or not await d.press(
        p, p.rng.choice([t for t in topics if t.startswith("topic:")])
    ):
        return False
    # The topic's tap is answered before the next question is sent: wait for it to show.
    if await d.look(p, "draft:cancel") is None or not await d.say(p, p.rng.choice(APPEAL_TEXTS)):
        return False
    if await d.look(p, "draft:files_done") is None or not await d.press(p, "draft:files_done"):
        return False
    return await d.look(p, "draft:send") is not None and await d.press(p, "draft:send")


async def newcomer(d: Driver, p: Person) -> bool:
    if not await d.say(p, "/start"):
        return False
    steps: list[tuple[str, Callable[[list[str]], str]]] = [
        ("lang:", lambda _: f"lang:{p.lang}"),
        ("org:", lambda datas: p.rng.choice([x for x in datas if x.startswith("org:")])),
        ("wp:", lambda _: "wp:school"),
        ("consent:", lambda _: "consent:1"),
    ]
    for prefix, choose in steps:
        datas = await d.look(p, prefix)
        if datas is None or not await d.press(p, choose(datas)):
            return False
    return await search(d, p)


async def returning(d: Driver, p: Person) -> bool:
    return await d.say(p, "/start") and await search(d, p)


JOURNEYS: dict[str, tuple[int, Callable[[Driver, Person], Awaitable[bool]]]] = {
    "search": (50, search),
    "browse": (30, browse),
    "appeal": (8, appeal),
    "newcomer": (7, newcomer),
    "return": (5, returning),
}


def _lang(telegram_id: int) -> str:
    return "kk" if telegram_id % 2 else "ru"


async def drive(driver: Driver, tally: Tally, members: int, concurrency: int, seed: int) -> None:
    """`concurrency` members at a time, each through one journey; members take turns."""
    rng = random.Random(seed)
    people = [Person(FIRST + i, _lang(FIRST + i), random.Random(seed + i)) for i in range(members)]
    rng.shuffle(people)
    line = deque(people)
    newcomers = itertools.count(NEWCOMERS)
    names = list(JOURNEYS)
    weights = [JOURNEYS[name][0] for name in names]

    async def member_after_member() -> None:
        while True:
            kind = rng.choices(names, weights)[0]
            if kind == "newcomer":
                telegram_id = next(newcomers)
                person = Person(telegram_id, _lang(telegram_id), random.Random(telegram_id))
            else:
                person = line.popleft()
            tally.journeys[kind] += 1
            completed = False
            try:
                completed = await JOURNEYS[kind][1](driver, person)
            except Stop:
                return
            finally:
                # A newcomer whose onboarding broke is not a member: not asked again.
                if kind != "newcomer" or completed:
                    line.append(person)

    await asyncio.gather(*(member_after_member() for _ in range(concurrency)))


# --- the fake Bot API, in a process of its own ---------------------------------------------

REPLIES = ("send", "edit", "copy", "forward", "delete")


def _bench_api() -> Any:
    """FakeBotAPI that also tells waiting members when the bot replied (embedded mode)."""
    from tests.fake_bot_api import Call, FakeBotAPI, StoredMessage

    class BenchAPI(FakeBotAPI):
        def __init__(self) -> None:
            super().__init__()
            self.awaiting_chat: dict[int, asyncio.Future[float]] = {}
            self.awaiting_callback: dict[str, asyncio.Future[float]] = {}
            self.chat_events: dict[int, asyncio.Event] = {}
            self.polled = asyncio.Event()

        async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
            # Set when the bot's first long poll arrives (it is recorded only when answered).
            self.polled.set()
            return await super()._get_updates(params)

        def _record(self, call: Call) -> None:
            super()._record(call)
            method = call.method.lower()
            future = None
            if method == "answercallbackquery":
                future = self.awaiting_callback.pop(str(call.params.get("callback_query_id")), None)
            elif isinstance(call.chat_id, int) and method.startswith(REPLIES):
                future = self.awaiting_chat.pop(call.chat_id, None)
                event = self.chat_events.pop(call.chat_id, None)
                if event is not None:
                    event.set()
            if future is not None and not future.done():
                future.set_result(call.at)

        def sequence(self) -> int:
            """A number below every message stored or edited from now on."""
            return self.store.sequence()

        def screen(self, chat_id: int, prefix: str, after: int = 0) -> StoredMessage | None:
            """The newest bot message in the chat (sent or edited after `after`) with a
            button whose data starts with `prefix`."""
            return self.store.newest_with_button(chat_id, prefix, after)

    return BenchAPI()


def _datas(markup: Any) -> list[str]:
    from tests.fake_bot_api import buttons

    return [data for _, data in buttons(markup) if data]


class PollingDriver:
    """Embedded mode: updates are queued in the fake server, which the bot long-polls."""

    def __init__(self, api: Any, tally: Tally) -> None:
        self.api = api
        self.tally = tally

    async def _answered(self, future: asyncio.Future[float], measured: bool, queued: float) -> bool:
        try:
            at = await asyncio.wait_for(future, REPLY_TIMEOUT)
        except TimeoutError:
            self.tally.failed(measured, "no reply", time.monotonic())
            return False
        self.tally.answered(measured, queued, at)
        return True

    async def say(self, person: Person, text: str) -> bool:
        measured = self.tally.take(time.monotonic())
        person.mark = self.api.sequence()
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.api.awaiting_chat[person.id] = future
        queued = time.monotonic()
        if text.startswith("/"):
            self.api.send_command(person.id, text, language_code=person.lang)
        else:
            self.api.send_text(person.id, text, language_code=person.lang)
        return await self._answered(future, measured, queued)

    async def look(self, person: Person, prefix: str) -> list[str] | None:
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while True:
            # Only what the bot showed after the member's last update: not an old screen.
            stored = self.api.screen(person.id, prefix, after=person.mark)
            if stored is not None:
                person.screen = int(stored.message["message_id"])
                return _datas(stored.reply_markup)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.tally.broken[prefix] += 1
                return None
            event = self.api.chat_events.setdefault(person.id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def press(self, person: Person, data: str) -> bool:
        measured = self.tally.take(time.monotonic())
        person.mark = self.api.sequence()
        queued = time.monotonic()
        self.api.press(person.id, int(person.screen), data)
        callback_id = str(self.api.updates[-1]["callback_query"]["id"])
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.api.awaiting_callback[callback_id] = future
        return await self._answered(future, measured, queued)


async def serve() -> None:
    """The fake server: prints its URLs as one JSON line, then answers commands on stdin:
    `summary` (its counts) and `poll {...}` (drive the embedded workload, see `drive`)."""
    from aiohttp import web

    pauses = GcPauses()
    api = _bench_api()
    await api.start()

    async def screen(request: web.Request) -> web.Response:
        stored = api.screen(int(request.query["chat"]), request.query["prefix"])
        if stored is None:
            return web.json_response({"ok": False}, status=404)
        return web.json_response({"message": stored.message, "datas": _datas(stored.reply_markup)})

    control = web.Application()
    control.router.add_get("/_bench/screen", screen)
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(json.dumps({"api": api.base_url, "control": f"http://{host}:{port}"}), flush=True)

    try:
        async with heap_frozen_every_second():
            async for line in stdin_lines():
                command, _, rest = line.strip().partition(" ")
                if command == "summary":
                    methods = Counter(c.method for c in api.calls)
                    print(
                        json.dumps(
                            {
                                "calls": len(api.calls),
                                "calls_by_method": dict(methods.most_common()),
                                "failed_calls": sum(1 for c in api.calls if not c.ok),
                                "cpu_s": round(own_cpu(), 2),
                                "gc_longest_pause_ms": round(1000 * pauses.longest, 1),
                            }
                        ),
                        flush=True,
                    )
                elif command == "poll":
                    options = json.loads(rest)
                    await asyncio.wait_for(api.polled.wait(), 120)
                    tally = Tally(
                        options["warmup"],
                        options["updates"],
                        options["seconds"],
                        on_measuring=lambda: print("measuring", flush=True),
                    )
                    driver = PollingDriver(api, tally)
                    print("ready", flush=True)
                    await drive(
                        driver, tally, options["members"], options["concurrency"], options["seed"]
                    )
                    print(json.dumps(tally.figures()), flush=True)
    finally:
        await runner.cleanup()
        await api.stop()


# --- the load generator (scaled mode), in a process of its own -----------------------------


class WebhookDriver:
    """Scaled mode: each update POSTed to an instance in turn, as Telegram does."""

    def __init__(
        self, http: aiohttp.ClientSession, targets: Sequence[str], control: str, tally: Tally
    ) -> None:
        self.http = http
        self.targets = list(targets)
        self.control = control
        self.tally = tally
        self.turn = itertools.count()
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(10**6)
        self.callback_ids = itertools.count(10**12)

    @staticmethod
    def _user(person: Person) -> dict[str, Any]:
        return {
            "id": person.id,
            "is_bot": False,
            "first_name": "Member",
            "language_code": person.lang,
        }

    async def _post(self, update: dict[str, Any]) -> bool:
        import aiohttp

        measured = self.tally.take(time.perf_counter())
        update["update_id"] = next(self.update_ids)
        body = json.dumps(update).encode()
        target = self.targets[next(self.turn) % len(self.targets)]
        sent = time.perf_counter()
        try:
            async with self.http.post(
                target,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": SECRET,
                },
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.tally.failed(measured, type(exc).__name__, time.perf_counter())
            return False
        if status != 200:
            self.tally.failed(measured, f"HTTP {status}", time.perf_counter())
            return False
        self.tally.answered(measured, sent, time.perf_counter())
        return True

    async def say(self, person: Person, text: str) -> bool:
        user = self._user(person)
        message: dict[str, Any] = {
            "message_id": next(self.message_ids),
            "date": int(time.time()),
            "chat": {"id": person.id, "type": "private", "first_name": "Member"},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._post({"message": message})

    async def look(self, person: Person, prefix: str) -> list[str] | None:
        # The bot answered the previous update only after handling it: its screen is there.
        async with self.http.get(
            f"{self.control}/_bench/screen", params={"chat": str(person.id), "prefix": prefix}
        ) as response:
            if response.status != 200:
                self.tally.broken[prefix] += 1
                return None
            found = await response.json()
        person.screen = found["message"]
        return list(found["datas"])

    async def press(self, person: Person, data: str) -> bool:
        callback = {
            "id": str(next(self.callback_ids)),
            "from": self._user(person),
            "message": person.screen,
            "chat_instance": str(person.id * 7919),
            "data": data,
        }
        return await self._post({"callback_query": callback})


async def load(args: argparse.Namespace) -> None:
    """Prints `ready`, waits for `go` on stdin, prints `measuring` after the warm-up, then
    its figures as one JSON line."""
    import aiohttp

    tally = Tally(
        args.warmup,
        args.updates,
        args.seconds,
        on_measuring=lambda: print("measuring", flush=True),
    )
    connector = aiohttp.TCPConnector(limit=2 * args.concurrency + 8)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        driver = WebhookDriver(http, args.targets.split(","), args.control, tally)
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)
        await drive(driver, tally, args.members, args.concurrency, args.seed)
    print(json.dumps(tally.figures()), flush=True)


# --- processes and their CPU -----------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def named_cpu(names: Sequence[str]) -> float:
    """CPU seconds of every process whose name (comm) is one of `names`, summed. A process
    that ended in between takes its seconds with it: a difference is a lower bound."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        if comm in names:
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


@dataclass
class Snapshot:
    pids: dict[str, int]
    cpu: dict[str, float | None]
    postgres: float
    redis: float
    machine: tuple[int, int]
    at: float

    @classmethod
    def take(cls, pids: dict[str, int]) -> Snapshot:
        return cls(
            pids,
            {name: proc_cpu(pid) for name, pid in pids.items()},
            named_cpu(("postgres",)),
            named_cpu(("redis-server",)),
            machine_jiffies(),
            time.monotonic(),
        )

    def since(self, before: Snapshot) -> dict[str, Any]:
        def diff(a: float | None, b: float | None) -> float | None:
            return round(a - b, 2) if a is not None and b is not None else None

        cpu: dict[str, float | None] = {
            name: diff(self.cpu[name], before.cpu[name]) for name in self.pids
        }
        cpu["postgres_all"] = round(self.postgres - before.postgres, 2)
        cpu["redis_server"] = round(self.redis - before.redis, 2)
        busy = self.machine[0] - before.machine[0]
        total = self.machine[1] - before.machine[1]
        # Whatever else ran on the machine meanwhile (other jobs, the kernel's own work).
        cpu["everything_else"] = round(busy / TICK - sum(x for x in cpu.values() if x), 2)
        return {
            "cpu_s": cpu,
            "wall_s": round(self.at - before.at, 2),
            "machine_busy_pct": round(100 * busy / total, 1) if total else None,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


# --- the databases ---------------------------------------------------------------------------


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
                    "language": _lang(FIRST + i),
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
        await redis.ping()
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
    return deleted


# --- the two modes ---------------------------------------------------------------------------


def _load_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "members": args.members,
        "concurrency": args.concurrency,
        "updates": args.updates,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "seed": args.seed,
    }


def _finish(
    figures: dict[str, Any],
    bots: list[BotInstance],
    server: Child,
    before: Snapshot,
    after: Snapshot,
    load_before: float,
) -> dict[str, Any]:
    usage = after.since(before)
    figures["measuring_at"] = before.at  # main() makes it the set-up time of the mode
    bot_cpu = [usage["cpu_s"][f"bot{i + 1}"] for i in range(len(bots))]
    total = sum(x for x in bot_cpu if x is not None)
    figures["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    figures.update(usage)
    figures["bots_cpu_s"] = round(total, 2)
    figures["bot_cpu_ms_per_update"] = (
        round(1000 * total / figures["acknowledged"], 2) if figures["acknowledged"] else None
    )
    server.send("summary")
    figures["fake_server"] = json.loads(server.read())
    return figures


def run_webhook(args: argparse.Namespace) -> dict[str, Any]:
    head: dict[str, Any] = {"mode": "webhook", "instances": args.instances}
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        return {**head, "skipped": "TEST_DATABASE_URL is not set"}
    problem = asyncio.run(redis_problem(args.redis_url))
    if problem:
        return {**head, "skipped": problem}
    load_before = os.getloadavg()[0]
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    url, drop = postgres_database(pg, prefix="t_bench_", digits=10)
    try:
        asyncio.run(prepare(url, args.members))
        with tempfile.TemporaryDirectory() as tmp:
            figures = _webhook_run(args, head, url, prefix, Path(tmp), load_before)
    finally:
        drop()
        deleted = asyncio.run(clear_redis(args.redis_url, prefix))
    figures["redis_keys_deleted"] = deleted
    return figures


def _webhook_run(
    args: argparse.Namespace,
    head: dict[str, Any],
    url: str,
    prefix: str,
    tmp: Path,
    load_before: float,
) -> dict[str, Any]:
    server = Child([sys.executable, __file__, "--serve"])
    bots: list[BotInstance] = []
    try:
        urls = json.loads(server.read())
        for i in range(args.instances):
            port, metrics_port = _free_port(), _free_port()
            env = {
                **bot_env(urls["api"], url, args.log_level),
                "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg",
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
                "METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
                "REDIS_URL": args.redis_url,
                "REDIS_PREFIX": prefix,
            }
            profile = args.profile / f"webhook-bot{i + 1}.prof" if args.profile else None
            bots.append(BotInstance(env, tmp / f"bot{i + 1}.log", port, profile, metrics_port))
        for bot in bots:
            bot.wait_healthy()
        targets = ",".join(f"http://127.0.0.1:{bot.port}/tg" for bot in bots)
        command = [sys.executable, __file__, "--load", "--targets", targets]
        command += ["--control", urls["control"]]
        for key, value in _load_options(args).items():
            command += [f"--{key}", str(value)]
        loader = Child(command)
        try:
            if loader.read() != "ready":
                raise RuntimeError("the load generator did not start")
            pids = {f"bot{i + 1}": bot.process.pid for i, bot in enumerate(bots)}
            pids |= {"fake_server": server.pid, "load_generator": loader.pid}
            loader.send("go")
            line = loader.read()
            before = Snapshot.take(pids)
            if line != "measuring":
                raise RuntimeError(f"unexpected line from the load generator: {line}")
            measured = json.loads(loader.read())
            after = Snapshot.take(pids)
        finally:
            loader.close()
        figures = {
            **head,
            "database": "postgresql",
            "fsm_and_updates_seen": "redis",
            "concurrency": args.concurrency,
            "members": args.members,
            **measured,
        }
        figures = _finish(figures, bots, server, before, after, load_before)
        figures["metrics"] = [bot.metrics() for bot in bots]
    finally:
        exits = [bot.stop() for bot in bots]
        server.close()
    logs = [bot.log_counts() for bot in bots]
    for i, bot in enumerate(bots):
        bot.keep(args.logs, f"webhook-bot{i + 1}.log")
    figures["bot_exit_codes"] = exits
    figures["bot_logs"] = {key: sum(log[key] for log in logs) for key in logs[0]}
    if figures["bot_logs"]["tracebacks"]:
        figures["first_traceback"] = _first_traceback(bots)
    return figures


def _first_traceback(bots: list[BotInstance]) -> str:
    for bot in bots:
        text = bot.log.read_text(errors="replace")
        at = text.find("Traceback")
        if at >= 0:
            return text[max(0, at - 300) : at + 1500]
    return ""


def run_polling(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(prepare(url, args.members, args.post))
        server = Child([sys.executable, __file__, "--serve"])
        bot: BotInstance | None = None
        try:
            urls = json.loads(server.read())
            env = bot_env(urls["api"], url, args.log_level)
            env["METRICS_LISTEN"] = f"127.0.0.1:{_free_port()}"  # polling serves it too
            if args.post:
                env["POSTS_TICK_SECONDS"] = "1"  # the post starts within a second
            bot = BotInstance(
                env,
                Path(tmp) / "bot.log",
                profile=args.profile / "polling-bot.prof" if args.profile else None,
            )
            server.send("poll " + json.dumps(_load_options(args)))
            if server.read() != "ready":
                raise RuntimeError("the fake server did not start polling")
            pids = {"bot1": bot.process.pid, "fake_server": server.pid}
            line = server.read()
            before, measure_from = Snapshot.take(pids), datetime.now(UTC)
            if line != "measuring":
                raise RuntimeError(f"unexpected line from the fake server: {line}")
            figures = json.loads(server.read())
            after, measure_to = Snapshot.take(pids), datetime.now(UTC)
            figures = {
                "mode": "polling",
                "instances": 1,
                "database": "sqlite",
                "concurrency": args.concurrency,
                "members": args.members,
                **figures,
            }
            figures = _finish(figures, [bot], server, before, after, load_before)
        finally:
            exit_code = bot.stop() if bot is not None else None
            server.close()
        assert bot is not None
        bot.keep(args.logs, "polling-bot.log")
        figures["bot_exit_codes"] = [exit_code]
        figures["bot_logs"] = bot.log_counts()
        if figures["bot_logs"]["tracebacks"]:
            figures["first_traceback"] = _first_traceback([bot])
        if args.post:
            figures["post"] = asyncio.run(
                post_progress(url, args.members + args.post, measure_from, measure_to)
            )
    return figures


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


def _line(figures: dict[str, Any]) -> str:
    if "skipped" in figures:
        return f"{figures['mode']}: skipped ({figures['skipped']})"
    cpu = figures["cpu_s"]
    return (
        f"{figures['mode']} x{figures['instances']} ({figures['database']}): "
        f"{figures['acknowledged']}/{figures['updates_sent']} answered, "
        f"{figures['errors']} errors, {figures['updates_per_s']}/s, "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; CPU s: bots "
        f"{figures['bots_cpu_s']}, fake server {cpu.get('fake_server')}, load "
        f"{cpu.get('load_generator', '(in the fake server)')}, postgres {cpu['postgres_all']}, "
        f"redis {cpu['redis_server']}, anything else {cpu['everything_else']} in "
        f"{figures['wall_s']} s; machine busy "
        f"{figures['machine_busy_pct']} %, load {figures['load_1min']}"
    )


def _timed(figures: dict[str, Any], started: float) -> None:
    """The mode's set-up (database, processes, warm-up) and its whole wall time."""
    measuring_at = figures.pop("measuring_at", None)
    if measuring_at is not None:
        figures["setup_s"] = round(measuring_at - started, 1)
    figures["mode_wall_s"] = round(time.monotonic() - started, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--mode", choices=("both", "webhook", "polling"), default="both")
    parser.add_argument("--members", type=int, default=500, help="onboarded members seeded")
    parser.add_argument("--updates", type=int, default=20_000, help="measured updates, at most")
    parser.add_argument("--seconds", type=float, default=45.0, help="measured phase, at most")
    parser.add_argument("--warmup", type=int, default=200, help="updates sent before measuring")
    parser.add_argument("--concurrency", type=int, default=8, help="updates in flight")
    parser.add_argument("--instances", type=int, default=2, help="webhook instances")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--log-level", default="INFO", help="the bots' LOG_LEVEL")
    parser.add_argument("--logs", type=Path, help="keep the bots' logs in this directory")
    parser.add_argument(
        "--profile", type=Path, help="run the bots under cProfile, its files to this directory"
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0",
        help="default: TEST_REDIS_URL, else redis://127.0.0.1:6379/0",
    )
    parser.add_argument(
        "--small",
        action="store_true",
        help="CI size: 200 members, 1,500 updates or 10 s per mode, 50 warm-up updates",
    )
    parser.add_argument(
        "--post",
        type=int,
        default=0,
        metavar="N",
        help="polling mode: a news post to N more members (and the load's) is being sent "
        "(BROADCAST_RATE, "
        "25/s by default) while the members' load runs; N >= 25 x the run's seconds covers it",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--targets", help=argparse.SUPPRESS)
    parser.add_argument("--control", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
        return 0
    if args.load:
        asyncio.run(load(args))
        return 0
    if args.small:
        args.members, args.updates, args.seconds, args.warmup = 200, 1_500, 10.0, 50
    if args.concurrency < 1 or args.members < 2 * args.concurrency:
        parser.error("--members must be at least twice --concurrency (members take turns)")
    if args.updates < 1 or args.seconds <= 0 or args.warmup < 1 or args.instances < 1:
        parser.error("--updates, --seconds, --warmup and --instances must be positive")
    figures: dict[str, Any] = {
        "bench": "webhook",
        "date": date.today().isoformat(),
        "cores": os.cpu_count(),
        "workload": {
            "members": args.members,
            "concurrency": args.concurrency,
            "updates_max": args.updates,
            "seconds_max": args.seconds,
            "warmup": args.warmup,
            "journeys": {name: weight for name, (weight, _) in JOURNEYS.items()},
            "log_level": args.log_level,
            "post_recipients": args.post,
        },
    }
    if args.mode in ("both", "webhook"):
        started = time.monotonic()
        figures["webhook"] = run_webhook(args)
        _timed(figures["webhook"], started)
        print(_line(figures["webhook"]), flush=True)
    if args.mode in ("both", "polling"):
        started = time.monotonic()
        figures["polling"] = run_polling(args)
        _timed(figures["polling"], started)
        print(_line(figures["polling"]), flush=True)
        if "post" in figures["polling"]:
            post = figures["polling"]["post"]
            print(
                f"the post: {post['delivered']} of {post['recipients']} delivered, "
                f"{post['delivered_while_measured']} while measured "
                f"({post['rate_while_measured']}/s)",
                flush=True,
            )
    web, poll = figures.get("webhook", {}), figures.get("polling", {})
    if web.get("updates_per_s") and poll.get("updates_per_s"):
        figures["webhook_vs_polling"] = round(web["updates_per_s"] / poll["updates_per_s"], 2)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
