"""A lawyer's answer that Telegram would not take survives the bot being killed: after the
restart it reaches the member, once (the outbox is in the database, not in memory)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.fake_bot_api import FakeBotAPI
from tests.test_e2e import BotProcess, Phone

pytestmark = pytest.mark.e2e
ANSWER = "Объяснительную должны были запросить до выговора."


async def test_an_answer_waiting_for_telegram_survives_a_kill(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        bot = BotProcess(api, tmp_path / "qorgau.db")
        await bot.start()
        member, admin, lawyer = (
            Phone(api, 7400, "ru"),
            Phone(api, 900, "kk"),
            Phone(api, 7401, "ru"),
        )
        await member.say("/start", reply_contains="")
        await member.tap("lang:ru")
        await member.tap("org:kostanay")
        await member.tap("wp:college")
        await member.tap("consent:1", reply_contains="")
        await member.say("/ask", reply_contains="")
        await member.tap("topic:discipline", reply_contains="")
        await member.say("Объявили выговор без объяснительной.", reply_contains="")
        await member.tap("draft:files_done", reply_contains="")
        await member.tap("draft:send", reply_contains="№")
        invite = await admin.say("/invite lawyer kostanay", reply_contains="/join")
        code = re.sub(r"<[^>]+>", "", invite.text or "").split("/join ", 1)[1].split()[0]
        await lawyer.say(f"/join {code}", reply_contains="")
        await lawyer.say("/queue", reply_contains="")
        await lawyer.tap("desk:card:", reply_contains="")
        await lawyer.tap("desk:take:")
        await lawyer.tap("desk:reply:", reply_contains="")

        # Telegram fails every message to the member: the answer is saved, on its way.
        api.inject("sendMessage", status=502, times=-1, chat_id=7400)
        told = await lawyer.say(ANSWER, reply_contains="№")
        assert "💾" in (told.text or "")
        assert bot.proc is not None
        bot.proc.kill()  # no stop, no goodbye: SIGKILL
        await bot.proc.wait()

        api.clear_faults()
        await bot.start()
        delivered = await api.wait_for(
            "sendMessage",
            lambda c: c.ok and str(c.chat_id) == "7400" and ANSWER in (c.text or ""),
            timeout=30,
        )
        assert "№" in (delivered.text or "")
        await asyncio.sleep(2.0)  # anything sent twice would have come by now
        got = [
            c
            for c in api.calls_for("sendMessage", chat_id=7400)
            if c.ok and ANSWER in (c.text or "")
        ]
        code_, stderr = await bot.stop()
    assert len(got) == 1
    assert code_ == 0 and "Traceback" not in stderr, stderr[-3000:]
