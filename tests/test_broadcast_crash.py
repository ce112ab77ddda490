"""A post survives the bot being killed: SIGKILL in the middle of a post, restart, and every
member has it exactly once, except at most the sends in flight at the kill."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from bot.broadcast.engine import SendSettings
from bot.storage.db import create_engine
from bot.storage.models import Broadcast, Delivery, DeliveryStatus, Member, PostStatus
from tests.fake_bot_api import FakeBotAPI
from tests.test_e2e import BotProcess

pytestmark = pytest.mark.e2e
MEMBERS = 400
FIRST = 30_000
AUTHOR = 900  # ADMIN_IDS of the e2e bot


def _got_post(api: FakeBotAPI) -> Counter[int]:
    return Counter(
        int(c.chat_id)
        for c in api.calls_for("sendMessage")
        if c.ok and c.chat_id is not None and "Жаңалық" in str(c.params.get("text"))
    )


async def test_sigkill_mid_post_then_restart_sends_everyone_once(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        api.latency = 0.02
        bot = BotProcess(api, tmp_path / "q.db")
        bot.extra_env = {
            "BROADCAST_PAID": "true",
            "BROADCAST_RATE": "150",
            "BROADCAST_LEASE_SECONDS": "2",
            "POSTS_TICK_SECONDS": "0.5",
        }
        await bot.start()  # migrates the database
        engine = create_engine(f"sqlite:///{tmp_path / 'q.db'}")
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.execute(
                insert(Member),
                [
                    {
                        "telegram_id": FIRST + i,
                        "language": "kk",
                        "member_org": "almaty",
                        "consent_version": "1",
                        "consent_at": now,
                        "created_at": now,
                    }
                    for i in range(MEMBERS)
                ],
            )
            await conn.execute(
                insert(Broadcast).values(
                    created_by=AUTHOR,
                    status=PostStatus.SCHEDULED,
                    text_kk="<b>Жаңалық</b>: сынақ",
                    text_ru=None,
                    orgs=[],
                    workplace_types=[],
                    urgent=True,  # whatever the hour the test runs at
                    run_at=now,
                    created_at=now,
                )
            )
        while len(_got_post(api)) < MEMBERS // 4:  # noqa: ASYNC110 - polls the fake server
            await asyncio.sleep(0.02)
        assert bot.proc is not None
        bot.proc.kill()  # SIGKILL: no clean-up at all
        await bot.proc.wait()
        at_kill = len(_got_post(api))
        assert at_kill < MEMBERS, "the post finished before the kill: make it longer"

        await bot.start()
        for _ in range(600):
            if len(_got_post(api)) == MEMBERS:
                break
            await asyncio.sleep(0.1)
        await api.wait_for("sendMessage", lambda c: c.chat_id == AUTHOR, timeout=30)
        code, stderr = await bot.stop()
        assert code == 0, stderr[-3000:]

        got = _got_post(api)
        assert set(got) == {FIRST + i for i in range(MEMBERS)}  # nobody skipped
        twice = sum(1 for n in got.values() if n > 1)
        assert twice <= SendSettings().max_twice, twice  # the documented bound
        async with engine.connect() as conn:
            statuses = dict(
                (
                    await conn.execute(
                        select(Delivery.status, func.count()).group_by(Delivery.status)
                    )
                ).all()
            )
            post = (await conn.execute(select(Broadcast.status, Broadcast.reported_at))).one()
        await engine.dispose()
        assert statuses == {DeliveryStatus.DELIVERED: MEMBERS}
        assert post.status == PostStatus.DONE and post.reported_at is not None
        reports = [c for c in api.calls_for("sendMessage") if c.chat_id == AUTHOR and c.ok]
        # One report to the author, with the delivered count, however many processes ran it.
        assert len([r for r in reports if str(MEMBERS) in str(r.params.get("text"))]) == 1
        print(f"killed after {at_kill} of {MEMBERS}; {twice} members got it twice")
