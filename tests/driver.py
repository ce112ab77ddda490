"""Drive the production Dispatcher as a member would: send text, press buttons."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    Document,
    InlineKeyboardMarkup,
    Location,
    Message,
    MessageEntity,
    PhotoSize,
    Sticker,
    Update,
    User,
    Voice,
)

from tests.recording import RecordingSession

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


class Person:
    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        session: RecordingSession,
        user_id: int,
        *,
        language_code: str = "kk",
        first_name: str = "Айгүл",
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.session = session
        self.user = User(
            id=user_id, is_bot=False, first_name=first_name, language_code=language_code
        )
        self.chat = Chat(id=user_id, type="private")
        self.last_sent_id = 0  # the message_id of the last message this person sent
        self.thread: int | None = None  # the forum topic this person writes in

    def in_topic(self, chat: Chat, thread_id: int | None) -> Person:
        """The same person writing in a forum supergroup: in a topic, or in its general
        chat (None)."""
        elsewhere = self.in_chat(chat)
        elsewhere.thread = thread_id
        return elsewhere

    def in_chat(self, chat: Chat) -> Person:
        """The same person writing somewhere else, e.g. in a group the bot is in."""
        elsewhere = copy.copy(self)
        elsewhere.chat = chat
        return elsewhere

    # --- what the person does --------------------------------------------------------------

    def update(self, **kwargs: Any) -> Update:
        """The update with this content (a message, a callback query...), numbered."""
        return Update(update_id=next(_update_ids), **kwargs)

    async def feed(self, **kwargs: Any) -> list[TelegramMethod[Any]]:
        before = len(self.session.requests)
        await self.dp.feed_update(self.bot, self.update(**kwargs))
        return self.session.requests[before:]

    def _message(self, **kwargs: Any) -> Message:
        self.last_sent_id = next(_message_ids)
        return Message(
            message_id=self.last_sent_id,
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            message_thread_id=self.thread,
            is_topic_message=True if self.thread else None,
            **kwargs,
        )

    async def send(
        self, text: str, *, reply_to: Message | None = None
    ) -> list[TelegramMethod[Any]]:
        """`reply_to`: the message this one quotes (Telegram's reply)."""
        entities = None
        if text.startswith("/"):
            entities = [
                MessageEntity(type="bot_command", offset=0, length=len(text.split(maxsplit=1)[0]))
            ]
        return await self.feed(
            message=self._message(text=text, entities=entities, reply_to_message=reply_to)
        )

    async def send_formatted(
        self, text: str, entities: list[MessageEntity]
    ) -> list[TelegramMethod[Any]]:
        """Text formatted with Telegram's own menu (bold, links…): its entities."""
        return await self.feed(message=self._message(text=text, entities=entities))

    async def edit(self, message_id: int, text: str) -> list[TelegramMethod[Any]]:
        """Telegram's "Edit" on one of this person's messages (an edited_message update)."""
        message = Message(
            message_id=message_id,
            date=datetime.now(UTC),
            edit_date=int(datetime.now(UTC).timestamp()),
            chat=self.chat,
            from_user=self.user,
            message_thread_id=self.thread,
            is_topic_message=True if self.thread else None,
            text=text,
        )
        return await self.feed(edited_message=message)

    async def send_photo(
        self, file_id: str, caption: str | None = None, *, reply_to: Message | None = None
    ) -> list[TelegramMethod[Any]]:
        photo = [PhotoSize(file_id=file_id, file_unique_id=file_id + "u", width=800, height=600)]
        return await self.feed(
            message=self._message(photo=photo, caption=caption, reply_to_message=reply_to)
        )

    async def send_document(
        self, file_id: str, name: str = "order.pdf"
    ) -> list[TelegramMethod[Any]]:
        document = Document(file_id=file_id, file_unique_id=file_id + "u", file_name=name)
        return await self.feed(message=self._message(document=document))

    async def send_sticker(self) -> list[TelegramMethod[Any]]:
        sticker = Sticker(
            file_id="stk",
            file_unique_id="stku",
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
        )
        return await self.feed(message=self._message(sticker=sticker))

    async def send_voice(self) -> list[TelegramMethod[Any]]:
        return await self.feed(
            message=self._message(voice=Voice(file_id="v", file_unique_id="vu", duration=3))
        )

    async def send_location(self) -> list[TelegramMethod[Any]]:
        return await self.feed(
            message=self._message(location=Location(latitude=43.2, longitude=76.9))
        )

    async def send_contact(self) -> list[TelegramMethod[Any]]:
        contact = Contact(phone_number="+77010000000", first_name="A")
        return await self.feed(message=self._message(contact=contact))

    async def press(self, data: str, message: Message | None = None) -> list[TelegramMethod[Any]]:
        message = message or self.last_message()
        query = CallbackQuery(
            id=str(next(_update_ids)),
            from_user=self.user,
            chat_instance="ci",
            message=message,
            data=data,
        )
        return await self.feed(callback_query=query)

    async def tap(self, label_part: str) -> list[TelegramMethod[Any]]:
        """Press the button whose text contains `label_part` on the latest message having it."""
        for message in reversed(list(self.messages())):
            for text, data in buttons(message):
                if label_part in text:
                    return await self.press(data, message)
        raise AssertionError(f"no button with {label_part!r}; last: {self.last_text()!r}")

    # --- what the person sees ---------------------------------------------------------------

    def messages(self) -> list[Message]:
        """The bot's messages in this chat (in a group: in this person's topic)."""
        shown = list(self.session.screen.messages.get(self.chat.id, {}).values())
        if self.chat.type == "private":
            return shown
        return [m for m in shown if m.message_thread_id == self.thread]

    def last_message(self) -> Message:
        return self.messages()[-1]

    def last_text(self) -> str:
        return self.last_message().text or ""

    def message_with(self, words: str) -> Message:
        """The bot's latest message in this chat whose text or caption contains `words`."""
        for message in reversed(self.messages()):
            if words in (message.text or message.caption or ""):
                return message
        raise AssertionError(f"no message with {words!r}; last: {self.last_text()!r}")


def buttons(message: Message) -> list[tuple[str, str]]:
    markup = message.reply_markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]


def texts(requests: list[TelegramMethod[Any]]) -> str:
    return "\n---\n".join(str(getattr(r, "text", "") or "") for r in requests)
