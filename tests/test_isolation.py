"""MemberIsolation: aiogram's event isolation (one update at a time per member, in arrival
order; members in parallel) with a lock only while a member's update holds or waits for it.

The tests that check emptiness fail against aiogram's SimpleEventIsolation, which keeps a
lock per key for ever (`test_aiogram_keeps_a_lock_per_member_for_ever` shows it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bot.middlewares.isolation import MemberIsolation
from tests.driver import Person


def key(user_id: int) -> StorageKey:
    return StorageKey(bot_id=1000, chat_id=user_id, user_id=user_id)


async def settle() -> None:
    """Lets every ready task run until it blocks."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_one_members_updates_run_one_at_a_time_in_arrival_order() -> None:
    isolation = MemberIsolation()
    log: list[str] = []
    inside = 0

    async def update(n: int) -> None:
        nonlocal inside
        async with isolation.lock(key(1)):
            inside += 1
            assert inside == 1
            log.append(f"in {n}")
            await asyncio.sleep(0.001 * (5 - n))  # the first ones take longest
            log.append(f"out {n}")
            inside -= 1

    tasks = []
    for n in range(5):
        tasks.append(asyncio.create_task(update(n)))
        await asyncio.sleep(0)  # each task reaches the lock before the next is made
    await asyncio.gather(*tasks)
    assert log == [step for n in range(5) for step in (f"in {n}", f"out {n}")]
    assert isolation.held == 0


async def test_different_members_run_in_parallel() -> None:
    isolation = MemberIsolation()
    all_inside = asyncio.Event()
    inside = 0

    async def update(user_id: int) -> None:
        nonlocal inside
        async with isolation.lock(key(user_id)):
            inside += 1
            if inside == 3:
                all_inside.set()
            await asyncio.wait_for(all_inside.wait(), 1.0)  # each needs the other two inside

    await asyncio.gather(*(update(user_id) for user_id in (1, 2, 3)))
    assert isolation.held == 0


async def test_no_lock_is_kept_after_many_members() -> None:
    isolation = MemberIsolation()

    async def update(user_id: int) -> None:
        async with isolation.lock(key(user_id)):
            await asyncio.sleep(0)

    await asyncio.gather(*(update(user_id) for user_id in range(5_000)))
    assert len(isolation._locks) == 0


async def test_aiogram_keeps_a_lock_per_member_for_ever() -> None:
    """Why MemberIsolation exists: the same workload leaves aiogram's with 5,000 locks."""
    isolation = SimpleEventIsolation()

    async def update(user_id: int) -> None:
        async with isolation.lock(key(user_id)):
            await asyncio.sleep(0)

    await asyncio.gather(*(update(user_id) for user_id in range(5_000)))
    assert len(isolation._locks) == 5_000


async def test_an_exception_inside_releases_and_drops_the_lock() -> None:
    isolation = MemberIsolation()
    with pytest.raises(RuntimeError):
        async with isolation.lock(key(1)):
            raise RuntimeError("the handler failed")
    assert len(isolation._locks) == 0
    async with isolation.lock(key(1)):  # free again
        assert len(isolation._locks) == 1
    assert len(isolation._locks) == 0


async def test_cancelled_while_holding_releases_and_drops_the_lock() -> None:
    isolation = MemberIsolation()
    entered = asyncio.Event()

    async def update() -> None:
        async with isolation.lock(key(1)):
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(update())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(isolation._locks) == 0
    await asyncio.wait_for(_enter_and_leave(isolation, 1), 1.0)


async def _enter_and_leave(isolation: MemberIsolation, user_id: int) -> None:
    async with isolation.lock(key(user_id)):
        pass


async def test_a_waiter_keeps_the_lock_alive_after_the_holder_leaves() -> None:
    isolation = MemberIsolation()
    release_first, release_second = asyncio.Event(), asyncio.Event()
    log: list[str] = []

    async def update(name: str, release: asyncio.Event | None) -> None:
        async with isolation.lock(key(1)):
            log.append(f"in {name}")
            if release is not None:
                await release.wait()
            log.append(f"out {name}")

    first = asyncio.create_task(update("first", release_first))
    await settle()
    second = asyncio.create_task(update("second", release_second))
    await settle()
    lock = isolation._locks[key(1)].lock
    assert log == ["in first"] and isolation._locks[key(1)].users == 2

    release_first.set()
    await first
    await settle()
    # The second holds the very lock it queued on; it was not dropped under it.
    assert log == ["in first", "out first", "in second"]
    assert isolation._locks[key(1)].lock is lock and lock.locked()

    # A third arriving now waits for the second, on the same lock.
    third = asyncio.create_task(update("third", None))
    await settle()
    assert log[-1] == "in second" and isolation._locks[key(1)].users == 2
    release_second.set()
    await asyncio.gather(second, third)
    assert log == [
        "in first",
        "out first",
        "in second",
        "out second",
        "in third",
        "out third",
    ]
    assert len(isolation._locks) == 0


async def test_a_waiter_cancelled_in_the_queue_leaves_the_others_their_lock() -> None:
    isolation = MemberIsolation()
    release = asyncio.Event()
    log: list[str] = []

    async def update(name: str, wait: bool) -> None:
        async with isolation.lock(key(1)):
            log.append(f"in {name}")
            if wait:
                await release.wait()

    holder = asyncio.create_task(update("holder", True))
    await settle()
    cancelled = asyncio.create_task(update("cancelled", False))
    last = asyncio.create_task(update("last", False))
    await settle()
    assert isolation._locks[key(1)].users == 3
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert isolation._locks[key(1)].users == 2  # the holder and the last: still kept
    release.set()
    await asyncio.gather(holder, last)
    assert log == ["in holder", "in last"]
    assert len(isolation._locks) == 0


async def test_the_holder_cancelled_hands_the_lock_to_the_next_in_line() -> None:
    isolation = MemberIsolation()
    log: list[str] = []

    async def update(name: str, seconds: float) -> None:
        async with isolation.lock(key(1)):
            log.append(f"in {name}")
            await asyncio.sleep(seconds)
            log.append(f"out {name}")

    holder = asyncio.create_task(update("holder", 60))
    await settle()
    waiters = [asyncio.create_task(update(f"w{n}", 0)) for n in range(3)]
    await settle()
    holder.cancel()
    await asyncio.wait_for(asyncio.gather(*waiters), 1.0)
    assert holder.cancelled()
    assert log == ["in holder", "in w0", "out w0", "in w1", "out w1", "in w2", "out w2"]
    assert len(isolation._locks) == 0


async def test_close_while_held_does_not_break_the_holder() -> None:
    isolation = MemberIsolation()
    async with isolation.lock(key(1)):
        await isolation.close()
        # A new entry for the same key may be made meanwhile; the holder leaves it alone.
        waiter = asyncio.create_task(_enter_and_leave(isolation, 1))
        await settle()
    await asyncio.wait_for(waiter, 1.0)
    assert len(isolation._locks) == 0


async def test_the_production_dispatcher_keeps_no_lock_after_its_members(
    dp: Dispatcher, person: Callable[..., Person]
) -> None:
    isolation = dp.fsm.events_isolation
    assert isinstance(isolation, MemberIsolation)
    people = [person(50_000 + n) for n in range(40)]
    await asyncio.gather(*(p.send("/start") for p in people))
    assert all(p.session.requests for p in people)  # each was answered
    assert isolation.held == 0
