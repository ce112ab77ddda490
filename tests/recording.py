"""A recording bot session: answers every Bot API call plausibly and remembers it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import SendPoll, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    Chat,
    ChatMember,
    ChatMemberMember,
    ForumTopic,
    InlineKeyboardMarkup,
    Message,
    MessageId,
    ReplyKeyboardMarkup,
    User,
)

from bot.compat.sends import Sent, SentPoll

BOT_USER = User(id=1000, is_bot=True, first_name="Qorgau", username="qorgau_test_bot")
# Supergroups' ids are below this (Telegram's -100… ids): their messages are shown as a
# forum supergroup's, in their topic.
SUPERGROUPS = -1_000_000_000_000


@dataclass
class Screen:
    """The bot's messages per chat as a member would see them, edits applied."""

    messages: dict[int, dict[int, Message]] = field(default_factory=dict)
    reply_keyboards: dict[int, ReplyKeyboardMarkup] = field(default_factory=dict)


def _inline(markup: Any) -> InlineKeyboardMarkup | None:
    return markup if isinstance(markup, InlineKeyboardMarkup) else None


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.screen = Screen()
        self._ids = itertools.count(10_000)
        self.blocked: set[int] = set()  # chats that answer 403, as after a member blocks the bot
        # Per chat, errors the next requests to it raise (made from the method), in order.
        self.failing: dict[int, list[Callable[[TelegramMethod[Any]], Exception]]] = {}
        # getChatMember's answers by (chat, user); anyone else is a plain member.
        self.chat_members: dict[tuple[int, int], ChatMember] = {}

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # pragma: no cover - the bot downloads nothing
        yield b""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        self.requests.append(method)
        returning = method.__returning__
        chat_id = getattr(method, "chat_id", None)
        if chat_id in self.blocked:
            raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")
        failing = self.failing.get(chat_id) if isinstance(chat_id, int) else None
        if failing:
            raise failing.pop(0)(method)
        if returning is Message or (
            isinstance(returning, type) is False and "Message" in str(returning) and chat_id
        ):
            return self._message(method, int(chat_id or 0))  # type: ignore[return-value]
        if returning is Sent:  # a post's sends (bot/compat/sends.py): shown, answered lean
            shown = self._message(method, int(chat_id or 0))
            poll = SentPoll(id=f"poll-{shown.message_id}") if isinstance(method, SendPoll) else None
            return Sent(message_id=shown.message_id, poll=poll)  # type: ignore[return-value]
        if method.__api_method__ == "createForumTopic":
            return ForumTopic(  # type: ignore[return-value]
                message_thread_id=next(self._ids),
                name=str(getattr(method, "name", "")),
                icon_color=0x6FB9F0,
            )
        if method.__api_method__ == "getChatMember":
            user_id = int(getattr(method, "user_id", 0))
            found = self.chat_members.get((int(chat_id or 0), user_id))
            user = (
                BOT_USER
                if user_id == BOT_USER.id
                else User(id=user_id, is_bot=False, first_name="Someone")
            )
            return found or ChatMemberMember(user=user)  # type: ignore[return-value]
        if returning is MessageId:
            return MessageId(message_id=next(self._ids))  # type: ignore[return-value]
        if returning is User:
            return BOT_USER  # type: ignore[return-value]
        if returning is bool:
            return True  # type: ignore[return-value]
        if "list" in str(returning) and "Message" in str(returning):
            return [self._message(method, int(chat_id or 0))]  # type: ignore[return-value]
        return True  # type: ignore[return-value]

    def _message(self, method: TelegramMethod[Any], chat_id: int) -> Message:
        message_id = getattr(method, "message_id", None)
        chat = self.screen.messages.setdefault(chat_id, {})
        if method.__api_method__.startswith("edit") and message_id in chat:
            old = chat[message_id]
            update: dict[str, Any] = {}
            if hasattr(method, "text") and method.text is not None:
                update["text"] = method.text
            if (
                "reply_markup" in method.model_fields_set
                or method.__api_method__ != "editMessageText"
            ):
                update["reply_markup"] = _inline(getattr(method, "reply_markup", None))
            else:
                update["reply_markup"] = None
            new = old.model_copy(update=update)
            chat[message_id] = new
            return new
        thread = getattr(method, "message_thread_id", None)
        group = chat_id < SUPERGROUPS
        message = Message(
            message_id=next(self._ids),
            date=datetime.now(UTC),
            chat=Chat(id=chat_id, type="supergroup", is_forum=True)
            if group
            else Chat(id=chat_id, type="private"),
            message_thread_id=thread,
            is_topic_message=True if group and thread else None,
            from_user=BOT_USER,
            text=getattr(method, "text", None),
            caption=getattr(method, "caption", None),
            reply_markup=_inline(getattr(method, "reply_markup", None)),
        )
        chat[message.message_id] = message
        if isinstance(getattr(method, "reply_markup", None), ReplyKeyboardMarkup):
            self.screen.reply_keyboards[chat_id] = method.reply_markup  # type: ignore[attr-defined]
        return message
