"""The member workload: journeys by weight, members taking turns, and what was measured.

Each of `concurrency` members at a time goes through one journey, one update after the
other, each sent only when the previous one was answered (as a person taps after seeing
the screen); then the next member in line takes its place. A `Driver` is how the updates
reach the bot (webhook requests, or the fake server's queue).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

FIRST = 3_000_000  # the first seeded member's Telegram id
NEWCOMERS = 5_000_000  # Telegram ids of people who onboard during the run start here

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


class Stop(Exception):
    """The measured phase is over: no more updates."""


@dataclass
class Member:
    """A member of the workload: who, their dice, and the screen they look at."""

    id: int
    lang: str
    rng: random.Random
    mark: int = 0  # embedded mode: the store's sequence number when their last update was queued
    screen: Any = None  # the message their next tap presses (a message id, or its JSON)


def language_of(telegram_id: int) -> str:
    return "kk" if telegram_id % 2 else "ru"


class Driver(Protocol):
    """How a member's updates reach the bot (webhook requests, or the fake server's queue)."""

    async def say(self, member: Member, text: str) -> bool:
        """Send a text (or a command); True when the bot answered it."""
        ...

    async def look(self, member: Member, prefix: str) -> list[str] | None:
        """The buttons of the newest message in the chat having one starting with `prefix`
        (it becomes the screen `press` taps on); None (counted as broken) if none shows."""
        ...

    async def press(self, member: Member, data: str) -> bool:
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


# --- the journeys ---------------------------------------------------------------------------


def _children(datas: list[str]) -> list[str]:
    """The entries of an FAQ branch screen: its buttons without the Back/Home row."""
    entries = [d for d in datas if d.startswith("faq:open:")]
    if entries and entries[-1] == "faq:open:":
        entries = entries[:-2]
    return [d for d in entries if d != "faq:open:"]


async def search(d: Driver, m: Member) -> bool:
    if not await d.say(m, m.rng.choice(QUESTIONS)):
        return False
    hits = await d.look(m, "hit:open:")
    if hits is None or not await d.press(m, next(h for h in hits if h.startswith("hit:open:"))):
        return False
    if m.rng.random() < 0.7:
        answer = await d.look(m, "faq:yes:")
        return answer is not None and await d.press(
            m, next(a for a in answer if a.startswith("faq:yes:"))
        )
    return True


async def browse(d: Driver, m: Member) -> bool:
    if not await d.say(m, "/faq"):
        return False
    screen = await d.look(m, "faq:open:")
    for _ in range(4):
        if screen is None:
            return False
        yes = [s for s in screen if s.startswith("faq:yes:")]
        if yes:
            return m.rng.random() >= 0.5 or await d.press(m, yes[0])
        children = _children(screen)
        if not children or not await d.press(m, m.rng.choice(children)):
            return False
        screen = await d.look(m, "faq:")
    return True


async def appeal(d: Driver, m: Member) -> bool:
    if not await d.say(m, "/ask"):
        return False
    topics = await d.look(m, "topic:")
    if topics is None or not await d.press(
        m, m.rng.choice([t for t in topics if t.startswith("topic:")])
    ):
        return False
    # The topic's tap is answered before the next question is sent: wait for it to show.
    if await d.look(m, "draft:cancel") is None or not await d.say(m, m.rng.choice(APPEAL_TEXTS)):
        return False
    if await d.look(m, "draft:files_done") is None or not await d.press(m, "draft:files_done"):
        return False
    return await d.look(m, "draft:send") is not None and await d.press(m, "draft:send")


async def newcomer(d: Driver, m: Member) -> bool:
    if not await d.say(m, "/start"):
        return False
    steps: list[tuple[str, Callable[[list[str]], str]]] = [
        ("lang:", lambda _: f"lang:{m.lang}"),
        ("org:", lambda datas: m.rng.choice([x for x in datas if x.startswith("org:")])),
        ("wp:", lambda _: "wp:school"),
        ("consent:", lambda _: "consent:1"),
    ]
    for prefix, choose in steps:
        datas = await d.look(m, prefix)
        if datas is None or not await d.press(m, choose(datas)):
            return False
    return await search(d, m)


async def returning(d: Driver, m: Member) -> bool:
    return await d.say(m, "/start") and await search(d, m)


JOURNEYS: dict[str, tuple[int, Callable[[Driver, Member], Awaitable[bool]]]] = {
    "search": (50, search),
    "browse": (30, browse),
    "appeal": (8, appeal),
    "newcomer": (7, newcomer),
    "return": (5, returning),
}


async def drive(driver: Driver, tally: Tally, members: int, concurrency: int, seed: int) -> None:
    """`concurrency` members at a time, each through one journey; members take turns."""
    rng = random.Random(seed)
    people = [
        Member(FIRST + i, language_of(FIRST + i), random.Random(seed + i)) for i in range(members)
    ]
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
                member = Member(telegram_id, language_of(telegram_id), random.Random(telegram_id))
            else:
                member = line.popleft()
            tally.journeys[kind] += 1
            completed = False
            try:
                completed = await JOURNEYS[kind][1](driver, member)
            except Stop:
                return
            finally:
                # A newcomer whose onboarding broke is not a member: not asked again.
                if kind != "newcomer" or completed:
                    line.append(member)

    await asyncio.gather(*(member_after_member() for _ in range(concurrency)))
