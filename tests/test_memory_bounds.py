"""What the bot keeps per member in memory is capped, and small: the member directory, the
FSM storage's cache, the flood counter (the event isolation: tests/test_isolation.py).
bench/members_memory.py measures the whole process over 600,000 members."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from bot.middlewares import Flood, FloodLimits, MemoryFloodCounter
from bot.services.members import MemberDirectory, MemberView
from bot.storage import fsm
from bot.storage.fsm import DatabaseStorage
from bot.storage.models import WorkplaceType


@pytest.fixture
def traced() -> Iterator[list[int]]:
    """Bytes allocated (and still held) while the test runs: read `traced[0]` after
    calling `grown(traced)`."""
    tracemalloc.start()
    start = [tracemalloc.get_traced_memory()[0]]
    yield start
    tracemalloc.stop()


def grown(traced: list[int]) -> int:
    return tracemalloc.get_traced_memory()[0] - traced[0]


def row(telegram_id: int) -> Any:
    """A member as the database returns them: fresh strings in every row."""
    return SimpleNamespace(
        id=telegram_id + 1,
        telegram_id=telegram_id,
        language="".join(["k", "k"]),
        member_org="".join(["kz-", "almaty-", "city"]),
        workplace_type=WorkplaceType.SCHOOL,
        consent_version="".join(["2026", "-11"]),
    )


def test_member_directory_keeps_the_20_000_most_recent() -> None:
    directory = MemberDirectory()
    assert directory.size == 20_000 and directory.ttl == 300.0
    for telegram_id in range(25_000):
        directory.remember(telegram_id, None)
    assert len(directory._views) == 20_000
    assert 4_999 not in directory._views and 5_000 in directory._views


def test_a_cached_member_costs_a_few_hundred_bytes(traced: list[int]) -> None:
    directory = MemberDirectory()
    for telegram_id in range(1_000_000_000, 1_000_010_000):
        directory.remember(telegram_id, MemberView.of(row(telegram_id)))
    assert grown(traced) < 10_000 * 400  # ~330 measured; ~500 with a copy of each string


async def test_fsm_cache_keeps_10_000_conversations() -> None:
    assert fsm.CACHE_SIZE == 10_000
    storage = DatabaseStorage(None)  # type: ignore[arg-type]  # the cache alone
    assert storage.cache_size == 10_000
    for n in range(12_000):
        storage._remember(f"fsm:1000:{n}:{n}:default", ("Onboarding:language", {}))
    assert len(storage._cache) == 10_000


async def test_flood_counter_keeps_20_000_people_at_a_few_hundred_bytes_each(
    traced: list[int],
) -> None:
    counter = MemoryFloodCounter()
    assert counter.max_people == 20_000
    limits = FloodLimits()
    for user_id in range(10_000):
        assert await counter.hit(user_id, 1_000.0, limits) is Flood.PASS
    # ~235 measured; a deque per person took ~1,000.
    assert grown(traced) < 10_000 * 400
    for user_id in range(10_000, 30_000):  # all within the window: the cap holds
        await counter.hit(user_id, 1_001.0, limits)
    assert len(counter) == 20_000
