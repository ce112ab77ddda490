"""How the members' updates reach the bot, and the two processes that send them.

- Embedded mode: the fake Bot API server (`serve`, a process of its own) queues each
  update for the bot's long poll and tells the waiting member when the bot replied
  (`PollingDriver`); a tap presses the stored message it was looked up on.
- Scaled mode: the load generator (`generate_load`, a process of its own) POSTs each update
  to the instances in turn, as Telegram does (`WebhookDriver`), and asks the fake server
  (GET /_bench/screen, not timed) for the message a tap presses.

The updates are what a member's Telegram app sends (tests/fake_api/users.py), both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from common import GcPauses, heap_frozen_every_second, own_cpu, stdin_lines

from tests.fake_api.users import button_press, message, person, typed
from workload.journeys import Member, Tally, drive

if TYPE_CHECKING:
    import aiohttp

# Made as the README says; the load generator (a child process) reads the parent's.
SECRET = os.environ.setdefault("BENCH_WEBHOOK_SECRET", secrets.token_urlsafe(32))
REPLY_TIMEOUT = 30.0  # embedded mode: an update without a reply by then is an error
SCREEN_TIMEOUT = 10.0  # a screen that should follow an answered update
REPLIES = ("send", "edit", "copy", "forward", "delete")


# --- embedded mode: the fake Bot API, in a process of its own -------------------------------


def bench_api() -> Any:
    """FakeBotAPI that also tells waiting members when the bot replied (embedded mode)."""
    from tests.fake_bot_api import Call, FakeBotAPI

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

    return BenchAPI()


def datas(markup: Any) -> list[str]:
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

    async def say(self, member: Member, text: str) -> bool:
        measured = self.tally.take(time.monotonic())
        member.mark = self.api.store.sequence()
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.api.awaiting_chat[member.id] = future
        queued = time.monotonic()
        if text.startswith("/"):
            self.api.send_command(member.id, text, language_code=member.lang)
        else:
            self.api.send_text(member.id, text, language_code=member.lang)
        return await self._answered(future, measured, queued)

    async def look(self, member: Member, prefix: str) -> list[str] | None:
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while True:
            # Only what the bot showed after the member's last update: not an old screen.
            stored = self.api.store.newest_with_button(member.id, prefix, after=member.mark)
            if stored is not None:
                member.screen = int(stored.message["message_id"])
                return datas(stored.reply_markup)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.tally.broken[prefix] += 1
                return None
            event = self.api.chat_events.setdefault(member.id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def press(self, member: Member, data: str) -> bool:
        measured = self.tally.take(time.monotonic())
        member.mark = self.api.store.sequence()
        queued = time.monotonic()
        self.api.press(member.id, int(member.screen), data)
        callback_id = str(self.api.updates[-1]["callback_query"]["id"])
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.api.awaiting_callback[callback_id] = future
        return await self._answered(future, measured, queued)


async def serve() -> None:
    """The fake server: prints its URLs as one JSON line, then answers commands on stdin:
    `summary` (its counts) and `poll {...}` (drive the embedded workload, see `drive`)."""
    from aiohttp import web

    pauses = GcPauses()
    api = bench_api()
    await api.start()

    async def screen(request: web.Request) -> web.Response:
        stored = api.store.newest_with_button(int(request.query["chat"]), request.query["prefix"])
        if stored is None:
            return web.json_response({"ok": False}, status=404)
        return web.json_response({"message": stored.message, "datas": datas(stored.reply_markup)})

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


# --- scaled mode: the load generator, in a process of its own ------------------------------


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

    async def say(self, member: Member, text: str) -> bool:
        user, chat = person(member.id, language_code=member.lang)
        return await self._post(
            {"message": message(next(self.message_ids), chat, user, typed(text))}
        )

    async def look(self, member: Member, prefix: str) -> list[str] | None:
        # The bot answered the previous update only after handling it: its screen is there.
        async with self.http.get(
            f"{self.control}/_bench/screen", params={"chat": str(member.id), "prefix": prefix}
        ) as response:
            if response.status != 200:
                self.tally.broken[prefix] += 1
                return None
            found = await response.json()
        member.screen = found["message"]
        return list(found["datas"])

    async def press(self, member: Member, data: str) -> bool:
        user, _chat = person(member.id, language_code=member.lang)
        callback = button_press(
            str(next(self.callback_ids)), user, member.screen, data, str(member.id * 7919)
        )
        return await self._post({"callback_query": callback})


async def generate_load(args: argparse.Namespace) -> None:
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
