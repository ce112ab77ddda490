"""The fake Bot API server, driven by a real aiogram Bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.fake_bot_api import FakeBotAPI

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
USER = 777


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(TOKEN, session=session)
    try:
        yield bot
    finally:
        await bot.session.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs
        ]
    )


async def test_get_me_and_send_message_is_recorded(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (1000, "qorgau_test_bot", True)

    sent = await bot.send_message(USER, "Сәлем!", reply_markup=keyboard(("FAQ", "faq")))
    assert isinstance(sent, Message)
    assert (sent.chat.id, sent.text, sent.message_id) == (USER, "Сәлем!", 1)
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "faq"

    (call,) = api.calls_for("sendMessage", chat_id=USER)
    assert call.params["chat_id"] == USER
    assert call.params["text"] == "Сәлем!"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "FAQ", "callback_data": "faq"}]]
    }
    screen = api.last_bot_message(USER)
    assert screen is not None
    assert screen["text"] == "Сәлем!"
    assert api.buttons(screen) == [("FAQ", "faq")]


async def test_html_is_parsed_and_bad_html_rejected(bot: Bot) -> None:
    sent = await bot.send_message(USER, "<b>Qorgau</b> &amp; co", parse_mode="HTML")
    assert sent.text == "Qorgau & co"
    assert sent.entities is not None
    assert (sent.entities[0].type, sent.entities[0].offset, sent.entities[0].length) == (
        "bold",
        0,
        6,
    )
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "Hi <br> there", parse_mode="HTML")


async def test_edit_message_text(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER, "v1", reply_markup=keyboard(("A", "a")))
    edited = await bot.edit_message_text(
        text="v2", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
    )
    assert isinstance(edited, Message)
    assert edited.text == "v2"
    assert edited.edit_date is not None
    screen = api.last_bot_message(USER)
    assert screen is not None
    assert (screen["message_id"], screen["text"]) == (sent.message_id, "v2")
    assert api.buttons(screen) == [("B", "b")]

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="v2", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="v3", chat_id=USER, message_id=999)


async def test_get_updates_long_polls_and_offset_confirms(api: FakeBotAPI, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == []

    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    update_id = api.send_command(USER, "/start", first_name="Aigul")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 2
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start"
    assert message.from_user is not None
    assert (message.from_user.first_name, message.from_user.language_code) == ("Aigul", "kk")
    assert message.entities is not None
    assert message.entities[0].type == "bot_command"

    # Not confirmed yet: delivered again. Confirmed by a higher offset: gone.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []

    # User message ids share the per-chat counter with the bot's messages.
    sent = await bot.send_message(USER, "Welcome", reply_markup=keyboard(("Go", "go")))
    assert sent.message_id == message.message_id + 1

    press_id = api.press(USER, sent.message_id, "go")
    (update,) = await bot.get_updates(offset=update_id + 1, timeout=1)
    assert update.update_id == press_id
    callback = update.callback_query
    assert callback is not None
    assert callback.data == "go"
    assert isinstance(callback.message, Message)
    assert callback.message.text == "Welcome"
    assert callback.message.reply_markup is not None


async def test_injected_429_raises_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.inject("sendMessage", status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as excinfo:
        await bot.send_message(USER, "broadcast")
    assert excinfo.value.retry_after == 3
    # Only the next call was affected.
    assert (await bot.send_message(USER, "broadcast")).text == "broadcast"
    assert [c.status for c in api.calls_for("sendMessage")] == [429, 200]


async def test_injected_403_only_for_that_chat(api: FakeBotAPI, bot: Bot) -> None:
    api.inject("sendMessage", status=403, chat_id=USER, times=-1)
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError, match="blocked"):
            await bot.send_message(USER, "hi")
    assert (await bot.send_message(USER + 1, "hi")).chat.id == USER + 1


async def test_send_photo_upload_and_reuse(api: FakeBotAPI, bot: Bot) -> None:
    uploaded = await bot.send_photo(
        USER, BufferedInputFile(b"\x89PNG...", filename="card.png"), caption="Card"
    )
    assert uploaded.photo is not None
    file_id = uploaded.photo[-1].file_id
    assert uploaded.caption == "Card"
    again = await bot.send_photo(USER, file_id)
    assert again.photo is not None
    assert again.photo[-1].file_id == file_id
    assert api.files[file_id] == b"\x89PNG..."


async def test_wait_for(api: FakeBotAPI, bot: Bot) -> None:
    mark = api.mark()
    waiter = asyncio.create_task(api.wait_for("sendMessage", lambda c: c.text == "two", after=mark))
    await bot.send_message(USER, "one")
    await bot.send_message(USER, "two")
    call = await asyncio.wait_for(waiter, 2)
    assert call.chat_id == USER
    with pytest.raises(AssertionError, match="sendMessage chat=777"):
        await api.wait_for("sendMessage", lambda c: c.text == "three", timeout=0.2)


async def test_forum_topics_and_the_bots_rights(api: FakeBotAPI, bot: Bot) -> None:
    group = -1001000000077
    api.store.forum(group)
    me = await bot.get_chat_member(group, bot.id)
    assert me.status == "member"
    with pytest.raises(TelegramBadRequest):  # not an administrator: no topics
        await bot.create_forum_topic(group, "№1 · pay · karaganda")

    api.store.forum(group, bot_rights={"can_manage_topics": True})
    me = await bot.get_chat_member(group, bot.id)
    assert me.status == "administrator" and getattr(me, "can_manage_topics", False)
    first = await bot.create_forum_topic(group, "№1 · pay · karaganda")
    second = await bot.create_forum_topic(group, "№2 · pay · karaganda")
    assert first.message_thread_id != second.message_thread_id

    sent = await bot.send_message(group, "card", message_thread_id=second.message_thread_id)
    assert sent.message_thread_id == second.message_thread_id and sent.is_topic_message
    shown = api.store.bot_messages(group)
    assert shown[-1]["message_thread_id"] == second.message_thread_id

    assert await bot.close_forum_topic(group, first.message_thread_id)
    assert api.store.topics[group][first.message_thread_id]["closed"]
    assert await bot.reopen_forum_topic(group, first.message_thread_id)
    assert not api.store.topics[group][first.message_thread_id]["closed"]
    with pytest.raises(TelegramBadRequest):
        await bot.close_forum_topic(group, 999_999)
    with pytest.raises(TelegramBadRequest):  # a chat without topics
        await bot.create_forum_topic(-1001000000078, "x")
