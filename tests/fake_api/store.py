"""What the fake server keeps: chats, the people in them, every message (the bot's and the
people's, as each would see it now) and files."""

from __future__ import annotations

import copy
import hashlib
import itertools
import mimetypes
import secrets
import time
from dataclasses import dataclass
from typing import Any

from tests.fake_api.content import buttons, inline, validate_markup
from tests.fake_api.params import JSONDict, UploadedFile, chat_id_of
from tests.fake_api.users import person

BOT_USER: JSONDict = {
    "id": 1000,
    "is_bot": True,
    "first_name": "Qorgau",
    "username": "qorgau_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class StoredMessage:
    message: JSONDict  # the Telegram Message JSON as the bot would see it now
    from_bot: bool
    method: str
    reply_markup: JSONDict | None = None  # as sent (any keyboard kind)
    raw_text: str | None = None  # text/caption exactly as sent (before parse_mode)
    deleted: bool = False
    seq: int = 0  # bumped on send and edit


class Store:
    def __init__(self) -> None:
        self.bot_user: JSONDict = dict(BOT_USER)
        self.files: dict[str, bytes] = {}  # file_id -> content served by getFile downloads
        self.messages: dict[int, dict[int, StoredMessage]] = {}
        self.next_message_id: dict[int, int] = {}
        self.chats: dict[int, JSONDict] = {}
        self.users: dict[int, JSONDict] = {}
        self.seq = itertools.count(1)  # orders sends and edits
        self.ids = itertools.count(1)  # callback queries, polls, media groups, files
        # The bot's description and short description by language_code ("": without one).
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        # Forum supergroups' topics: chat -> message_thread_id -> {"name", "closed"}.
        self.topics: dict[int, dict[int, JSONDict]] = {}
        # The bot's rights as an administrator, per chat (getChatMember for the bot).
        self.bot_rights: dict[int, JSONDict] = {}

    # --- chats and people ----------------------------------------------------------------

    def chat(self, chat_id: int) -> JSONDict:
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": "Group"}
        return {"id": chat_id, "type": "private", "first_name": "Member"}

    def forum(
        self, chat_id: int, title: str = "Lawyers", *, bot_rights: JSONDict | None = None
    ) -> None:
        """A supergroup with topics; `bot_rights`: the bot is an administrator there with
        these rights (e.g. {"can_manage_topics": True}), otherwise a plain member."""
        self.chats[chat_id] = {
            "id": chat_id,
            "type": "supergroup",
            "title": title,
            "is_forum": True,
        }
        if bot_rights is not None:
            self.bot_rights[chat_id] = dict(bot_rights)

    def remember_user(
        self, user_id: int, first_name: str, language_code: str | None, username: str | None
    ) -> JSONDict:
        user, chat = person(user_id, first_name, language_code, username)
        self.users[user_id] = user
        self.chats[user_id] = chat
        return dict(user)

    def user(self, user_id: int) -> JSONDict:
        if user_id not in self.users:
            return self.remember_user(user_id, "Member", "kk", None)
        return dict(self.users[user_id])

    # --- messages --------------------------------------------------------------------------

    def new_message_id(self, chat_id: int) -> int:
        message_id = self.next_message_id.get(chat_id, 1)
        self.next_message_id[chat_id] = message_id + 1
        return message_id

    def add(self, stored: StoredMessage) -> None:
        chat_id = int(stored.message["chat"]["id"])
        message_id = int(stored.message["message_id"])
        stored.seq = next(self.seq)
        self.messages.setdefault(chat_id, {})[message_id] = stored
        counter = self.next_message_id.get(chat_id, 1)
        self.next_message_id[chat_id] = max(counter, message_id + 1)

    def find(self, chat_id: int, message_id: int) -> StoredMessage | None:
        return self.messages.get(chat_id, {}).get(message_id)

    def bot_message(
        self,
        params: JSONDict,
        method: str,
        content: JSONDict,
        raw_text: str | None = None,
        extra: JSONDict | None = None,
    ) -> JSONDict:
        """A message the bot sends, stored; its JSON as Telegram returns it."""
        chat_id = chat_id_of(params)
        markup = params.get("reply_markup")
        validate_markup(markup)
        message: JSONDict = {
            "message_id": self.new_message_id(chat_id),
            "from": dict(self.bot_user),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            **(extra or {}),
            **content,
        }
        thread = params.get("message_thread_id")
        if thread is not None:
            # A message in a topic keeps its thread, as Telegram's does.
            message["message_thread_id"] = int(thread)
            if self.chat(chat_id).get("is_forum"):
                message["is_topic_message"] = True
        if inline(markup) is not None:
            message["reply_markup"] = markup
        self.add(
            StoredMessage(
                message,
                from_bot=True,
                method=method,
                reply_markup=markup if isinstance(markup, dict) else None,
                raw_text=raw_text,
            )
        )
        return copy.deepcopy(message)

    def sequence(self) -> int:
        """A number below every message stored or edited from now on."""
        return next(self.seq)

    # --- what a chat shows -----------------------------------------------------------------

    def bot_messages(self, chat_id: int | str, *, include_deleted: bool = False) -> list[JSONDict]:
        chat = self.messages.get(int(chat_id), {})
        return [
            view(stored)
            for stored in chat.values()
            if stored.from_bot and (include_deleted or not stored.deleted)
        ]

    def last_bot_message(self, chat_id: int | str) -> JSONDict | None:
        candidates = [
            stored
            for stored in self.messages.get(int(chat_id), {}).values()
            if stored.from_bot and not stored.deleted
        ]
        if not candidates:
            return None
        return view(max(candidates, key=lambda stored: stored.seq))

    def newest_with_button(self, chat_id: int, prefix: str, after: int = 0) -> StoredMessage | None:
        """The newest bot message in the chat (sent or edited after `after`, a `sequence()`)
        with a button whose data starts with `prefix`."""
        best: StoredMessage | None = None
        for stored in self.messages.get(chat_id, {}).values():
            if (
                stored.from_bot
                and not stored.deleted
                and stored.seq > after
                and (best is None or stored.seq > best.seq)
                and any(data.startswith(prefix) for _, data in buttons(stored.reply_markup))
            ):
                best = stored
        return best

    # --- files -----------------------------------------------------------------------------

    def file_json(self, file_id: str, suffix: str = "") -> JSONDict:
        file_id = file_id + suffix
        self.files.setdefault(file_id, f"fake content of {file_id}".encode())
        unique = hashlib.sha1(file_id.encode()).hexdigest()[:16]
        return {"file_id": file_id, "file_unique_id": unique}

    def new_file(self, kind: str, value: Any) -> JSONDict:
        """File JSON for a sent file: reuse a file_id string, mint one for uploads/URLs."""
        if isinstance(value, str) and value and not value.startswith(("http://", "https://")):
            file_json = self.file_json(value)
        else:
            file_id = f"{kind}-{next(self.ids)}-{secrets.token_hex(6)}"
            file_json = self.file_json(file_id)
            if isinstance(value, UploadedFile):
                self.files[file_id] = value.data
        if isinstance(value, UploadedFile):
            file_json["file_size"] = len(value.data)
            if kind in ("document", "audio", "video", "animation"):
                file_json["file_name"] = value.filename
                file_json["mime_type"] = (
                    mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
                )
        return file_json

    def media_content(self, kind: str, value: Any, params: JSONDict) -> JSONDict:
        file_json = self.new_file(kind, value)
        media: Any
        if kind == "photo":
            media = [{**file_json, "width": 1280, "height": 960}]
        elif kind == "sticker":
            media = {
                **file_json,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        elif kind in ("video", "animation"):
            media = {**file_json, "width": 640, "height": 360, "duration": 5}
        elif kind in ("audio", "voice"):
            media = {**file_json, "duration": int(params.get("duration") or 5)}
        elif kind == "video_note":
            media = {**file_json, "length": 240, "duration": 5}
        else:
            media = file_json
        return {kind: media}


def view(stored: StoredMessage) -> JSONDict:
    """A stored message as tests read it (see FakeBotAPI.last_bot_message)."""
    message = stored.message
    return {
        "message_id": message["message_id"],
        "chat_id": message["chat"]["id"],
        "text": message.get(
            "text", message.get("caption", message.get("poll", {}).get("question"))
        ),
        "raw_text": stored.raw_text,
        "reply_markup": copy.deepcopy(stored.reply_markup),
        "method": stored.method,
        "edited": "edit_date" in message,
        "deleted": stored.deleted,
        "message_thread_id": message.get("message_thread_id"),  # in a forum topic
        "message": copy.deepcopy(message),
    }
