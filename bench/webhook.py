"""Updates per second through two webhook instances (PostgreSQL, Redis) and through one
polling instance (SQLite), for the same mixed member workload.

    python bench/webhook.py [--members 500] [--updates 20000] [--seconds 45] [--concurrency 8]
    python bench/webhook.py --small          # CI size: about 30 s for both modes
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
screen that should have appeared did not). There is no throughput target: the numbers
compare scaled with embedded mode on the same machine. With no TEST_DATABASE_URL, or Redis
unreachable (--redis-url, default TEST_REDIS_URL or redis://127.0.0.1:6379/0), the scaled
part is reported as skipped and the embedded part still runs. Prints its figures last as
one JSON line.

The journeys are in bench/workload/journeys.py, the fake server, the load generator and
their drivers in bench/workload/drivers.py, the bots and their databases in
bench/workload/processes.py, CPU time in bench/workload/cpu.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from common import Child, postgres_database
from workload.cpu import Snapshot
from workload.drivers import SECRET, generate_load, serve
from workload.journeys import JOURNEYS
from workload.processes import (
    BotInstance,
    bot_env,
    clear_redis,
    post_progress,
    prepare,
    redis_problem,
)

from tests.processes import free_port

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
            port, metrics_port = free_port(), free_port()
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
            env["METRICS_LISTEN"] = f"127.0.0.1:{free_port()}"  # polling serves it too
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
        help="CI size: 100 members, 500 updates or 4 s per mode, 30 warm-up updates",
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
        asyncio.run(generate_load(args))
        return 0
    if args.small:
        args.members, args.updates, args.seconds, args.warmup = 100, 500, 4.0, 30
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
