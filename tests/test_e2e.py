"""End to end: `python -m bot` as a subprocess, long polling the fake Bot API server.

Plays the whole member journey in Kazakh and in Russian, as members on phones would.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import TOKEN
from tests.databases import migrated_sqlite
from tests.fake_bot_api import Call, FakeBotAPI
from tests.processes import free_port
from tests.warm_start import COLD, STARTER, WarmProcess

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


class BotProcess:
    def __init__(self, api: FakeBotAPI, db: Path | str, *, cold: bool = COLD) -> None:
        """`db`: a SQLite file, or a database URL. `cold`: started as a fresh `python -m bot`,
        not forked from the worker's warm starter (tests/warm_start.py)."""
        self.api = api
        self.db = db
        self.cold = cold
        self.proc: asyncio.subprocess.Process | WarmProcess | None = None
        self.api_url: str | None = None
        self.extra_env: dict[str, str] = {}
        # /healthz and /metrics (METRICS_LISTEN): a port of its own, as for each instance on
        # a server; never the default, which another bot on this machine may hold.
        self.metrics_port = free_port()

    async def start(self) -> None:
        """Start the bot and wait until it polls (after a restart: polls again)."""
        mark = self.api.polls_mark()
        await self.spawn()
        await self.api.wait_polling(after=mark)

    async def spawn(self) -> None:
        env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.api_url or self.api.base_url,
            "DATABASE_URL": self.db if isinstance(self.db, str) else f"sqlite:///{self.db}",
            "ADMIN_IDS": "900",
            "LOG_LEVEL": "INFO",
            "FLOOD_LIMIT": "10000",  # a journey at machine speed is not a flood
            "METRICS_LISTEN": f"127.0.0.1:{self.metrics_port}",
            # A process that does not stop is made to show where it hangs (see stop()).
            "PYTHONFAULTHANDLER": "1",
            **self.extra_env,
        }
        if not self.cold:
            self.proc = await STARTER.start(["-m", "bot"], env, ROOT)
            return
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def stop(self) -> tuple[int, str]:
        """SIGINT, as an operator stops it. One that has not stopped within 20 s gets
        SIGABRT: faulthandler writes every thread's stack to its stderr, which is returned
        whole (a cancelled read would lose what it had read), then it is killed."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        output = asyncio.ensure_future(self.proc.communicate())
        done, _ = await asyncio.wait({output}, timeout=20)
        if not done:
            self.proc.send_signal(signal.SIGABRT)
            done, _ = await asyncio.wait({output}, timeout=5)
            if not done:
                self.proc.kill()
        _, stderr = await output
        await self.proc.wait()
        return int(self.proc.returncode or 0), stderr.decode()


@asynccontextmanager
async def bot_running(directory: Path) -> AsyncIterator[tuple[FakeBotAPI, BotProcess]]:
    """A bot process on a migrated database (a copy of the template: the start's own
    migration check finds nothing to do), stopped cleanly at the end."""
    async with FakeBotAPI() as api:
        bot = BotProcess(api, migrated_sqlite(directory / "qorgau.db"))
        await bot.start()
        try:
            yield api, bot
        finally:
            code, stderr = await bot.stop()
            assert "Traceback" not in stderr, stderr[-3000:]
            assert code == 0, stderr[-3000:]


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[FakeBotAPI, BotProcess]]:
    async with bot_running(tmp_path) as pair:
        yield pair


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def journeys_bot(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[FakeBotAPI, BotProcess]]:
    """One bot process for both languages' journeys (members of their own, queries by
    member): starting a bot is most of a journey's time."""
    async with bot_running(tmp_path_factory.mktemp("journeys")) as pair:
        yield pair


class Phone:
    """One member's phone: sends, taps, and waits for what the bot shows."""

    def __init__(self, api: FakeBotAPI, user_id: int, language_code: str) -> None:
        self.api = api
        self.user_id = user_id
        self.language_code = language_code

    async def expect(self, method: str | None = None, contains: str = "", after: int = 0) -> Call:
        def match(call: Call) -> bool:
            return call.chat_id in (self.user_id, str(self.user_id)) and contains in (
                call.text or ""
            )

        return await self.api.wait_for(method, match, timeout=15, after=after)

    async def say(self, text: str, *, reply_contains: str = "") -> Call:
        mark = self.api.mark()
        if text.startswith("/"):
            self.api.send_command(self.user_id, text, language_code=self.language_code)
        else:
            self.api.send_text(self.user_id, text, language_code=self.language_code)
        return await self.expect(None, reply_contains, after=mark)

    async def say_sticker(self) -> Call:
        mark = self.api.mark()
        self.api.send_sticker(self.user_id)
        return await self.expect("sendMessage", "", after=mark)

    async def find_button(self, data_prefix: str, wait: float = 15) -> tuple[int, str]:
        """The newest button with this data on the member's screen, waiting for it to appear."""
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            for message in reversed(self.api.bot_messages(self.user_id)):
                for _, data in self.api.buttons(message):
                    if data.startswith(data_prefix):
                        return int(message["message_id"]), data
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no button {data_prefix!r} on screen")
            await asyncio.sleep(0.05)

    async def tap(self, data_prefix: str, *, reply_contains: str = "") -> Call:
        message_id, data = await self.find_button(data_prefix)
        mark = self.api.mark()
        self.api.press(self.user_id, message_id, data)
        await self.api.wait_for("answerCallbackQuery", lambda c: True, timeout=15, after=mark)
        if reply_contains:
            return await self.expect(None, reply_contains, after=mark)
        return self.api.calls[-1]

    def screen(self) -> dict[str, Any]:
        message = self.api.last_bot_message(self.user_id)
        assert message is not None
        return message


JOURNEY = {
    "kk": {
        "org": "org:aktobe",
        "menu": "тіркелдіңіз",
        "question": "педагогтын демалысы канша кун",
        "appeal": "Заңгерге өтініш",
        "story": "Директор жазғы демалысты 42 күн ғана береді, 56 күн емес. Не істеу керек?",
        "received": "қабылданды",
        "my": "кезек",
        "sticker": "стикер",
        "outdated": "ескірген",
    },
    "ru": {
        "org": "org:pavlodar",
        "menu": "зарегистрированы",
        "question": "отпуск у учителя сколько дней",
        "appeal": "Обращение к юристу",
        "story": "Директор даёт только 42 дня отпуска вместо 56. Что делать?",
        "received": "принято",
        "my": "очеред",
        "sticker": "стикер",
        "outdated": "устарел",
    },
}


@pytest.mark.xdist_group("journeys")
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_member_journey(journeys_bot: tuple[FakeBotAPI, BotProcess], lang: str) -> None:
    api, bot = journeys_bot
    words = JOURNEY[lang]
    phone = Phone(api, 7000 + len(lang) + (1 if lang == "ru" else 0), language_code=lang)

    # Onboarding: language → member organisation → workplace → consent.
    await phone.say("/start", reply_contains="Бот тілін таңдаңыз")
    await phone.tap(f"lang:{lang}")
    await phone.tap(words["org"])
    await phone.tap("wp:university")
    await phone.tap("consent:1", reply_contains=words["menu"])

    # Free text → three FAQ answers and "Ask a lawyer".
    await phone.say(words["question"], reply_contains="")
    results = phone.screen()
    data = [d for _, d in api.buttons(results)]
    assert (
        len(data) == 4
        and all(d.startswith("hit:open:") for d in data[:3])
        and data[3].startswith("asks:")
    )

    # Open the first answer: the same message is edited into the answer with its articles.
    mark = api.mark()
    api.press(phone.user_id, results["message_id"], data[0])
    edited = await api.wait_for("editMessageText", timeout=15, after=mark)
    assert "📖" in (edited.text or "") and "🗓" in (edited.text or "")
    node_id = data[0].split(":")[2]

    # "No, ask a lawyer" → appeal draft with the topic pre-filled.
    await phone.tap(f"hit:nos:{node_id}:", reply_contains=words["appeal"])
    await phone.say(words["story"], reply_contains="")
    mark = api.mark()
    api.send_photo(phone.user_id, "AgACAgIAAxkBAAIBZ2order", caption=None)
    await phone.expect("sendMessage", "1", after=mark)
    await phone.tap("draft:files_done", reply_contains="")
    await phone.tap("draft:anon")
    sent = await phone.tap("draft:send", reply_contains=words["received"])
    assert "№" in (sent.text or "")

    # The appeal is in the database, as the member wrote it.
    with sqlite3.connect(bot.db) as db:
        row = db.execute(
            "SELECT a.topic, a.text, a.attachments, a.hide_from_employer, a.status, a.source "
            "FROM appeal a JOIN member m ON m.id = a.member_id WHERE m.telegram_id = ?",
            (phone.user_id,),
        ).fetchone()
    assert row is not None
    # The question typed into search leads the appeal; the story follows it.
    assert row[1] == words["question"] + "\n\n" + words["story"] and "order" in row[2]
    assert row[3] == 1 and row[4] == "queued" and row[5] == "faq-miss"

    # /my shows it with its status; a sticker gets a hint; a forged button is refused politely.
    await phone.say("/my", reply_contains=words["my"])
    hint = await phone.say_sticker()
    assert words["sticker"] in (hint.text or "").lower()
    mark = api.mark()
    api.press(phone.user_id, results["message_id"], "my:open:999999")
    answer = await api.wait_for("answerCallbackQuery", timeout=15, after=mark)
    assert words["outdated"] in (answer.params.get("text") or "").lower()

    # Union mailbox.
    await phone.say("/feedback", reply_contains="")
    await phone.tap("fb:kind:suggestion")
    await phone.say("Кітапхана / библиотека үшін көбірек семинар", reply_contains="")
    await phone.tap("fb:send:signed")
    with sqlite3.connect(bot.db) as db:
        signed = db.execute(
            "SELECT count(*) FROM feedback f JOIN member m ON m.id = f.member_id "
            "WHERE m.telegram_id = ?",
            (phone.user_id,),
        )
        assert signed.fetchone()[0] == 1


async def test_restart_keeps_a_half_written_appeal(tmp_path: Path) -> None:
    """Also the suite's check that a fresh `python -m bot` (a cold start, as an operator's)
    behaves as the warm-started processes of the other tests do."""
    async with FakeBotAPI() as api:
        bot = BotProcess(api, tmp_path / "q.db", cold=True)
        await bot.start()
        phone = Phone(api, 7100, language_code="ru")
        await phone.say("/start", reply_contains="")
        await phone.tap("lang:ru")
        await phone.tap("org:astana")
        await phone.tap("wp:school")
        await phone.tap("consent:1", reply_contains="")
        await phone.say("/ask", reply_contains="")
        await phone.tap("topic:pay", reply_contains="")
        await phone.say("Не доплачивают за категорию с сентября.", reply_contains="")
        code, _ = await bot.stop()
        assert code == 0
        bot.cold = COLD  # one cold start is the check; the restart may be warm
        await bot.start()
        await phone.tap("draft:files_done", reply_contains="")
        await phone.tap("draft:send", reply_contains="№")
        code, stderr = await bot.stop()
        assert code == 0, stderr
    with sqlite3.connect(tmp_path / "q.db") as db:
        assert db.execute("SELECT text FROM appeal").fetchone()[0].startswith("Не доплачивают")


async def test_bot_waits_for_an_unreachable_bot_api_and_recovers(tmp_path: Path) -> None:

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = FakeBotAPI()
    bot = BotProcess(api, tmp_path / "late.db")
    bot.api_url = f"http://127.0.0.1:{port}"
    # First a broken Bot API: it accepts each connection and drops it at once.
    attempts = 0

    async def drop(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()

    broken = await asyncio.start_server(drop, "127.0.0.1", port)
    await bot.spawn()
    for _ in range(600):
        if attempts >= 2:
            break
        await asyncio.sleep(0.1)
    broken.close()
    await broken.wait_closed()
    assert attempts >= 2, "the bot did not retry"
    assert bot.proc is not None and bot.proc.returncode is None
    polls = api.polls_mark()
    await api.start(port=port)
    try:
        await api.wait_polling(after=polls)
        phone = Phone(api, 7200, language_code="kk")
        await phone.say("/start", reply_contains="Бот тілін")
    finally:
        code, stderr = await bot.stop()
        await api.stop()
    assert code == 0 and "Traceback" not in stderr
    assert "Bot API unreachable" in stderr


async def test_member_asks_lawyer_takes_and_they_talk(
    running: tuple[FakeBotAPI, BotProcess],
) -> None:
    api, bot = running
    member, admin, lawyer = Phone(api, 7300, "ru"), Phone(api, 900, "kk"), Phone(api, 7301, "kk")

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
    plain = re.sub(r"<[^>]+>", "", invite.text or "")
    code = plain.split("/join ", 1)[1].split()[0]
    await lawyer.say(f"/join {code}", reply_contains="")
    await lawyer.say("/queue", reply_contains="")
    await lawyer.tap("desk:card:", reply_contains="выговор")
    mark = api.mark()
    await lawyer.tap("desk:take:")
    taken = await member.expect("sendMessage", "", after=mark)
    assert "№" in (taken.text or "")

    await lawyer.tap("desk:reply:", reply_contains="")
    mark = api.mark()
    api.send_document(lawyer.user_id, "BQACAgIAAxkBAAIBtemplate", file_name="объяснительная.docx")
    copied = await api.wait_for(
        "sendDocument", lambda c: str(c.chat_id) == str(member.user_id), timeout=15, after=mark
    )
    # A copy by Telegram's file id, labelled with the appeal; never a forward.
    assert str(copied.params.get("document")).startswith("BQACAgIAAxkBAAIBtemplate")
    assert "№" in str(copied.params.get("caption"))
    assert not api.calls_for("forwardMessage")

    await member.tap("my:add:", reply_contains="")
    mark = api.mark()
    api.send_text(member.user_id, "Спасибо, заполню.", language_code="ru")
    # The lawyer's confirmation of the document may arrive after the mark: wait for the
    # member's words themselves.
    relayed = await api.wait_for(
        "sendMessage",
        lambda c: str(c.chat_id) == str(lawyer.user_id) and "Спасибо, заполню." in (c.text or ""),
        timeout=15,
        after=mark,
    )
    assert "№" in (relayed.text or "")
    with sqlite3.connect(bot.db) as db:
        sides = [r[0] for r in db.execute("SELECT side FROM appeal_message ORDER BY id")]
        status = db.execute("SELECT status FROM appeal").fetchone()[0]
    assert sides == ["lawyer", "member"] and status == "answered"

    # Close with outcomes in taps → the member says "not solved" → back to the same lawyer.
    await lawyer.say("/mine", reply_contains="")
    await lawyer.tap("desk:card:", reply_contains="")
    await lawyer.tap("oc:open:", reply_contains="")
    await lawyer.tap("oc:t:1:just")
    await lawyer.tap("oc:t:1:conc")
    mark = api.mark()
    await lawyer.tap("oc:save:")
    await member.expect("sendMessage", "№", after=mark)
    mark = api.mark()
    await member.tap("rate:1:0")
    back = await lawyer.expect("sendMessage", "№", after=mark)
    assert "1" in (back.text or "")
    with sqlite3.connect(bot.db) as db:
        row = db.execute(
            "SELECT status, reopen_count, outcome_justified, outcome_conciliation FROM appeal"
        ).fetchone()
    assert row == ("claimed", 1, 1, 1)

    # Closed again, the member rates it.
    await lawyer.tap("desk:card:", reply_contains="")
    await lawyer.tap("oc:open:", reply_contains="")
    mark = api.mark()
    await lawyer.tap("oc:save:")
    await member.expect("sendMessage", "№", after=mark)
    await member.tap("rate:1:5", reply_contains="")
    with sqlite3.connect(bot.db) as db:
        assert db.execute("SELECT status, rating FROM appeal").fetchone() == ("closed", 5)


async def test_a_head_lawyer_edits_and_signs_off_and_members_read_it_at_once(
    running: tuple[FakeBotAPI, BotProcess],
) -> None:
    """A head lawyer new to the bot: joins, opens /faqedit, edits an answer in Kazakh and
    Russian, previews, publishes and signs off; members in both languages read the new
    text and the sign-off line in their very next tap, from the running bot process."""
    api, bot = running
    admin, head = Phone(api, 900, "kk"), Phone(api, 7400, "ru")
    kk_member, ru_member = Phone(api, 7401, "kk"), Phone(api, 7402, "ru")
    for member, lang in ((kk_member, "kk"), (ru_member, "ru")):
        await member.say("/start", reply_contains="")
        await member.tap(f"lang:{lang}")
        await member.tap("org:kostanay")
        await member.tap("wp:school")
        await member.tap("consent:1", reply_contains="")

    invite = await admin.say("/invite head-lawyer", reply_contains="/join")
    code = re.sub(r"<[^>]+>", "", invite.text or "").split("/join ", 1)[1].split()[0]
    await head.say(f"/join {code}", reply_contains="")
    await head.say("/faqedit", reply_contains="")
    await head.tap("fe:browse::", reply_contains="")
    await head.tap("fe:browse:leave:", reply_contains="")
    await head.tap("fe:browse:leave-annual:", reply_contains="")
    await head.tap("fe:open:leave-pay-timing:", reply_contains="✏️")
    texts = {
        "kk": "Демалыс ақысы демалыс басталғанға дейін кемінде 3 жұмыс күні бұрын төленеді.",
        "ru": "Отпускные выплачиваются не позднее чем за 3 рабочих дня до начала отпуска.",
    }
    for lang, text in texts.items():
        await head.tap(f"fe:field:leave-pay-timing:answer.{lang}", reply_contains="")
        await head.say(text, reply_contains="✏️")
    preview = await head.tap("fe:preview:leave-pay-timing:ru", reply_contains=texts["ru"])
    assert "Подготовлено по Трудовому кодексу" in (preview.text or "")
    await head.tap("fe:publish:leave-pay-timing:", reply_contains="2")
    await head.tap("fe:sign:leave-pay-timing:2", reply_contains="")
    await head.tap("fe:signok:leave-pay-timing:2", reply_contains="")

    for member, lang, checked in (
        (kk_member, "kk", "Кәсіподақ заңгері"),
        (ru_member, "ru", "Проверено юристом профсоюза"),
    ):
        await member.say("/faq", reply_contains="")
        await member.tap("faq:open:leave", reply_contains="")
        await member.tap("faq:open:leave-annual", reply_contains="")
        shown = await member.tap("faq:open:leave-pay-timing", reply_contains=texts[lang])
        assert checked in (shown.text or ""), shown.text
    with sqlite3.connect(bot.db) as db:
        assert db.execute(
            "SELECT number, signed_at IS NOT NULL FROM faq_version "
            "WHERE entry_id = 'leave-pay-timing' ORDER BY number"
        ).fetchall() == [(1, 0), (2, 1)]


async def test_a_stop_waits_for_the_reply_a_handler_is_sending(tmp_path: Path) -> None:
    """SIGINT while a handler waits on Telegram for its reply: the reply still goes out and
    the bot stops cleanly. (aiogram's polling closes the bot's connection as soon as polling
    stops: the reply failed with "Server disconnected" and a traceback, once in a CI-like run
    at the end of tests/test_e2e.py's lawyer journey.)"""
    async with FakeBotAPI() as api:
        bot = BotProcess(api, tmp_path / "qorgau.db")
        await bot.start()
        slow = api.inject("sendMessage", status=0, delay=2.0, chat_id=555)
        api.send_command(555, "/start", language_code="ru")
        async with asyncio.timeout(15):
            # The reply has reached Telegram, which takes 2 s to answer it.
            while slow in api.faults:  # noqa: ASYNC110 - the fake server has no event for it
                await asyncio.sleep(0.02)
        code, stderr = await bot.stop()
        replies = api.calls_for("sendMessage", chat_id=555)
    assert "Traceback" not in stderr and code == 0, stderr[-3000:]
    assert replies and all(call.status == 200 for call in replies), replies
    assert "Добро пожаловать" in (replies[0].text or "")


async def test_a_regions_staff_group_gets_a_topic_and_answers_from_it_reach_the_member(
    running: tuple[FakeBotAPI, BotProcess],
) -> None:
    """Over HTTP, as Telegram would carry it: the link, the topic, the answer from it."""
    api, bot = running
    group = -1001000000099
    api.store.forum(group, bot_rights={"can_manage_topics": True})
    member, admin, lawyer = Phone(api, 7400, "ru"), Phone(api, 900, "kk"), Phone(api, 7401, "kk")
    await admin.say("/start", reply_contains="")  # the admin's Telegram user is known
    invite = await admin.say("/invite lawyer kostanay", reply_contains="/join")
    code = re.sub(r"<[^>]+>", "", invite.text or "").split("/join ", 1)[1].split()[0]
    await lawyer.say(f"/join {code}", reply_contains="")

    mark = api.mark()
    api.send_in_group(admin.user_id, group, "/linkgroup kostanay")
    await api.wait_for("sendMessage", lambda c: str(c.chat_id) == str(group), 15, after=mark)

    await member.say("/start", reply_contains="")
    await member.tap("lang:ru")
    await member.tap("org:kostanay")
    await member.tap("wp:college")
    await member.tap("consent:1", reply_contains="")
    await member.say("/ask", reply_contains="")
    await member.tap("topic:discipline", reply_contains="")
    await member.say("Объявили выговор без объяснительной.", reply_contains="")
    await member.tap("draft:files_done", reply_contains="")
    mark = api.mark()
    await member.tap("draft:send", reply_contains="№")
    created = await api.wait_for("createForumTopic", lambda c: True, timeout=15, after=mark)
    thread = int(created.result["message_thread_id"])
    card = await api.wait_for(
        "sendMessage",
        lambda c: str(c.chat_id) == str(group) and "выговор" in (c.text or ""),
        timeout=15,
        after=mark,
    )
    assert int(card.params["message_thread_id"]) == thread
    card_id = int(card.result["message_id"])
    shown = api.store.find(group, card_id)
    assert shown is not None
    take = next(d for _, d in api.buttons(shown.message) if "take" in d)

    mark = api.mark()
    api.press_in_group(lawyer.user_id, group, card_id, take)
    await member.expect("sendMessage", "№", after=mark)
    mark = api.mark()
    api.send_in_group(lawyer.user_id, group, "Напишите объяснительную.", thread_id=thread)
    answer = await member.expect("sendMessage", "Напишите объяснительную.", after=mark)
    assert "№" in (answer.text or "")
    mark = api.mark()
    api.send_in_group(lawyer.user_id, group, "!Позвонить в колледж", thread_id=thread)
    await api.wait_for(  # the note's confirmation, in the topic
        "sendMessage",
        lambda c: (
            str(c.chat_id) == str(group)
            and c.params.get("message_thread_id") == thread
            and "жазба" in (c.text or "")
        ),
        timeout=15,
        after=mark,
    )
    with sqlite3.connect(bot.db) as db:
        sides = [r[0] for r in db.execute("SELECT side FROM appeal_message ORDER BY id")]
    assert sides == ["lawyer", "note"]
    to_member = api.calls_for("sendMessage", member.user_id)
    assert not [c for c in to_member if "колледж" in (c.text or "")]
