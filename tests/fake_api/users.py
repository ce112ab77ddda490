"""What people's Telegram apps send: who they are, their private chat, their messages (a
command carries its entity, as Telegram adds it) and button presses, as update JSON.
`UserActions` is the fake server's side: it queues them as updates for the bot."""

from __future__ import annotations

import copy
import mimetypes
import time
from typing import TYPE_CHECKING

from tests.fake_api.params import JSONDict
from tests.fake_api.telegram_html import utf16_len

if TYPE_CHECKING:
    from tests.fake_api.store import Store


def person(
    user_id: int,
    first_name: str = "Member",
    language_code: str | None = None,
    username: str | None = None,
) -> tuple[JSONDict, JSONDict]:
    """A person's Telegram user and their private chat with the bot."""
    user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    chat: JSONDict = {"id": user_id, "type": "private", "first_name": first_name}
    if username:
        chat["username"] = username
    return user, chat


def typed(text: str) -> JSONDict:
    """A typed text as a message's content; a command gets its bot_command entity."""
    content: JSONDict = {"text": text}
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
    return content


def message(message_id: int, chat: JSONDict, sender: JSONDict, content: JSONDict) -> JSONDict:
    """A message a person sends now."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": sender,
        **content,
    }


def button_press(
    callback_id: str, sender: JSONDict, pressed: JSONDict, data: str, chat_instance: str
) -> JSONDict:
    """A callback query: `sender` pressed a button with `data` on the message `pressed`."""
    return {
        "id": callback_id,
        "from": sender,
        "message": pressed,
        "chat_instance": chat_instance,
        "data": data,
    }


class UserActions:
    """A person's actions, each queued as an update (the fake server's push_update)."""

    store: Store

    def push_update(self, update: JSONDict) -> int:
        raise NotImplementedError

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Member",
        language_code: str = "kk",
        username: str | None = None,
    ) -> int:
        user = self.store.remember_user(user_id, first_name, language_code, username)
        return self._push_user_message(user, typed(text))

    def send_command(
        self,
        user_id: int,
        command: str,
        *,
        first_name: str = "Member",
        language_code: str = "kk",
        username: str | None = None,
    ) -> int:
        if not command.startswith("/"):
            command = "/" + command
        return self.send_text(
            user_id, command, first_name=first_name, language_code=language_code, username=username
        )

    def send_photo(self, user_id: int, file_id: str, caption: str | None = None) -> int:
        store = self.store
        content: JSONDict = {
            "photo": [
                {**store.file_json(file_id, suffix="s"), "width": 90, "height": 90},
                {**store.file_json(file_id), "width": 1280, "height": 960, "file_size": 123456},
            ]
        }
        if caption is not None:
            content["caption"] = caption
        return self._push_user_message(store.user(user_id), content)

    def send_document(
        self,
        user_id: int,
        file_id: str,
        file_name: str = "doc.pdf",
        caption: str | None = None,
    ) -> int:
        mime = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        content: JSONDict = {
            "document": {
                **self.store.file_json(file_id),
                "file_name": file_name,
                "mime_type": mime,
                "file_size": 2048,
            }
        }
        if caption is not None:
            content["caption"] = caption
        return self._push_user_message(self.store.user(user_id), content)

    def send_sticker(self, user_id: int, file_id: str = "user-sticker") -> int:
        sticker = {
            **self.store.file_json(file_id),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._push_user_message(self.store.user(user_id), {"sticker": sticker})

    def send_voice(self, user_id: int, file_id: str = "user-voice", duration: int = 3) -> int:
        voice = {**self.store.file_json(file_id), "duration": duration, "mime_type": "audio/ogg"}
        return self._push_user_message(self.store.user(user_id), {"voice": voice})

    def send_location(
        self, user_id: int, latitude: float = 51.1694, longitude: float = 71.4491
    ) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self._push_user_message(self.store.user(user_id), {"location": location})

    def send_contact(
        self, user_id: int, phone_number: str = "+77010000000", *, own: bool = True
    ) -> int:
        user = self.store.user(user_id)
        contact: JSONDict = {"phone_number": phone_number, "first_name": user["first_name"]}
        if own:
            contact["user_id"] = user_id
        return self._push_user_message(user, {"contact": contact})

    def press(self, user_id: int, message_id: int, callback_data: str) -> int:
        """Press an inline button of the bot message ``message_id`` in chat ``user_id``."""
        store = self.store
        user = store.user(user_id)
        stored = store.find(user_id, message_id)
        if stored is not None:
            pressed = copy.deepcopy(stored.message)
        else:
            pressed = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": store.chat(user_id),
                "from": dict(store.bot_user),
            }
        callback = button_press(
            str(10**12 + next(store.ids)),
            user,
            pressed,
            callback_data,
            str(abs(hash(("chat", user_id))) % 10**18),
        )
        return self.push_update({"callback_query": callback})

    def send_in_group(
        self, user_id: int, chat_id: int, text: str, *, thread_id: int | None = None
    ) -> int:
        """A message a person writes in a group (see `Store.forum`): in a topic, or in its
        general chat (`thread_id` None)."""
        user = self.store.user(user_id)
        content = typed(text)
        if thread_id is not None:
            content = {**content, "message_thread_id": thread_id, "is_topic_message": True}
        sent = message(self.store.new_message_id(chat_id), self.store.chat(chat_id), user, content)
        return self.push_update({"message": sent})

    def press_in_group(self, user_id: int, chat_id: int, message_id: int, data: str) -> int:
        """Press an inline button of the bot's message in a group."""
        stored = self.store.find(chat_id, message_id)
        if stored is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        callback = button_press(
            str(10**12 + next(self.store.ids)),
            self.store.user(user_id),
            copy.deepcopy(stored.message),
            data,
            str(abs(hash(("chat", chat_id))) % 10**18),
        )
        return self.push_update({"callback_query": callback})

    def _push_user_message(self, user: JSONDict, content: JSONDict) -> int:
        chat_id = int(user["id"])
        sent = message(self.store.new_message_id(chat_id), self.store.chat(chat_id), user, content)
        return self.push_update({"message": sent})
