"""A fake Telegram Bot API HTTP server for Qorgau's test suite.

The bot under test talks to it through ``TELEGRAM_API_URL=<api.base_url>``; aiogram then posts to
``{base}/bot{token}/{method}`` with form fields whose complex values are JSON strings.

Usage::

    async with FakeBotAPI() as api:
        ...  # start `python -m bot` with TELEGRAM_API_URL=api.base_url
        api.send_command(42, "/start")
        call = await api.wait_for("sendMessage", lambda c: c.chat_id == 42)
        message = api.last_bot_message(42)
        api.press(42, message["message_id"], api.buttons(message)[0][1])

Behaviour worth knowing:

* ``getUpdates`` long-polls for real and honours ``offset``/``limit``/``timeout`` and
  ``allowed_updates`` (the default set excludes chat_member, message_reaction and
  message_reaction_count, as Telegram does; the last non-empty list sticks).
* ``parse_mode=HTML`` text and captions are parsed like Telegram does: the returned/stored text
  is the plain text plus ``entities``; unsupported or unbalanced tags give
  ``400 Bad Request: can't parse entities: ...``. Other parse modes are stored verbatim.
* Sending validates what is cheap to validate: empty/too long texts and captions, callback_data
  longer than 64 bytes, inline buttons without an action.
* ``Call.at`` is ``time.monotonic()`` at the moment the request arrived; a call is appended to
  ``api.calls`` once the response is ready (so the message store is already updated when
  ``wait_for`` returns).
* Fault injection: ``inject(method, status=..., retry_after=..., times=..., chat_id=...,
  delay=...)``; ``status=0`` only delays; ``times=-1`` never runs out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import mimetypes
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Self

from aiohttp import web

JSONDict = dict[str, Any]
Handler = Callable[[JSONDict], Awaitable[Any]]

BOT_USER: JSONDict = {
    "id": 1000,
    "is_bot": True,
    "first_name": "Qorgau",
    "username": "qorgau_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Params that are always plain strings (never JSON-decoded, so a text "123" stays "123").
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "question",
        "question_parse_mode",
        "explanation",
        "explanation_parse_mode",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "url",
        "action",
        "description",
        "short_description",
        "name",
        "title",
        "file_id",
        "emoji",
        "language_code",
        "first_name",
        "last_name",
        "phone_number",
        "address",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "video_note",
        "animation",
        "sticker",
        "thumbnail",
        "message_effect_id",
    }
)

# Update types delivered when allowed_updates is empty / never specified.
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Message fields copied by copyMessage / forwardMessage.
CONTENT_KEYS = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "video",
    "audio",
    "voice",
    "animation",
    "sticker",
    "video_note",
    "location",
    "contact",
    "poll",
    "dice",
)

SEND_PREFIXES = ("send", "copymessage", "forwardmessage")

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class TelegramError(Exception):
    """Raised inside handlers to answer with a Telegram error."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(reason: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {reason}")


@dataclass
class UploadedFile:
    """A file the client uploaded (multipart); replaces ``attach://...`` in recorded params."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One recorded Bot API request. ``params`` have JSON-encoded values decoded."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None

    @property
    def chat_id(self) -> int | str | None:
        return _norm_chat(self.params.get("chat_id"))

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Fault:
    method: str  # lower-cased
    status: int
    description: str
    retry_after: int | None
    times: int  # < 0: unlimited
    chat_id: int | str | None
    delay: float


@dataclass
class StoredMessage:
    message: JSONDict  # the Telegram Message JSON as the bot would see it now
    from_bot: bool
    method: str
    reply_markup: JSONDict | None = None  # as sent (any keyboard kind)
    raw_text: str | None = None  # text/caption exactly as sent (before parse_mode)
    deleted: bool = False
    seq: int = 0  # bumped on send and edit


@dataclass
class _ParsedText:
    text: str
    entities: list[JSONDict] | None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _norm_chat(value: Any) -> int | str | None:
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    try:
        return int(text)
    except ValueError:
        return text


_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _EntityParseError(Exception):
    pass


class _TelegramHTML(HTMLParser):
    """Telegram's HTML subset: plain text plus MessageEntity dicts (UTF-16 offsets)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pos = 0
        self.stack: list[tuple[str, dict[str, str | None], int]] = []
        self.entities: list[JSONDict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAG_ENTITY:
            raise _EntityParseError(f'Unsupported start tag "{tag}"')
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise _EntityParseError('Tag "span" must have class "tg-spoiler"')
        if tag == "a" and not attributes.get("href"):
            raise _EntityParseError('Tag "a" must have attribute "href"')
        self.stack.append((tag, attributes, self.pos))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise _EntityParseError(f'Unexpected end tag "{tag}"')
        open_tag, attributes, start = self.stack.pop()
        if open_tag != tag:
            raise _EntityParseError(f'Unmatched end tag "{tag}", expected "</{open_tag}>"')
        length = self.pos - start
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            if language:
                pre_tag, pre_attrs, pre_start = self.stack[-1]
                self.stack[-1] = (pre_tag, {**pre_attrs, "_language": language}, pre_start)
                return
        if length <= 0:
            return
        entity: JSONDict = {"type": _TAG_ENTITY[tag], "offset": start, "length": length}
        if tag == "a":
            entity["url"] = attributes["href"]
        elif tag == "pre" and attributes.get("_language"):
            entity["language"] = attributes["_language"]
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or "0"
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.pos += _utf16_len(data)

    def finish(self) -> _ParsedText:
        self.close()
        if self.stack:
            raise _EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"'
            )
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return _ParsedText("".join(self.parts), entities or None)


def parse_text(text: str, parse_mode: Any, entities: Any) -> _ParsedText:
    """Apply ``parse_mode`` like Telegram (HTML only); explicit entities win."""
    if isinstance(entities, list):
        return _ParsedText(text, entities or None)
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        parser = _TelegramHTML()
        try:
            parser.feed(text)
            return parser.finish()
        except _EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    return _ParsedText(text, None)


def _inline(markup: Any) -> JSONDict | None:
    """The part of a reply_markup Telegram echoes back in Message.reply_markup."""
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        return markup
    return None


def _validate_markup(markup: Any) -> None:
    inline = _inline(markup)
    if inline is None:
        return
    for row in inline["inline_keyboard"]:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("BUTTON_TEXT_EMPTY")
            if len(button) == 1:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if isinstance(data, str) and len(data.encode()) > MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")


def buttons(message: JSONDict | None) -> list[tuple[str, str]]:
    """``(text, callback_data or url)`` of a message's buttons, row by row.

    Accepts what ``last_bot_message`` returns, a Telegram Message dict or a markup dict.
    Reply-keyboard buttons are returned as ``(text, "")``.
    """
    if not message:
        return []
    markup = message.get("reply_markup") if "reply_markup" in message else message
    if not isinstance(markup, dict):
        return []
    result: list[tuple[str, str]] = []
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            value = button.get("callback_data") or button.get("url")
            for nested in ("web_app", "login_url"):
                if value is None and isinstance(button.get(nested), dict):
                    value = button[nested].get("url")
            result.append((str(button.get("text", "")), str(value or "")))
    for row in markup.get("keyboard") or []:
        for button in row:
            text = button if isinstance(button, str) else button.get("text", "")
            result.append((str(text), ""))
    return result


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request: chat not found",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    }.get(status, "Internal Server Error" if status >= 500 else "Error")


class FakeBotAPI:
    """In-process fake of the Telegram Bot API (aiohttp server in the current event loop)."""

    def __init__(self) -> None:
        self.bot_user: JSONDict = dict(BOT_USER)
        self.calls: list[Call] = []
        self.latency = 0.0
        self.updates: list[JSONDict] = []  # queued, not yet confirmed
        self.files: dict[str, bytes] = {}  # file_id -> content served by getFile downloads
        self.faults: list[Fault] = []
        self.allowed_updates: set[str] | None = None  # None: Telegram's default set
        self._messages: dict[int, dict[int, StoredMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._next_update_id = 1
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        # Webhook mode: called with every new update (tests post it to the bot's instances).
        self.on_update: Callable[[JSONDict], None] | None = None
        self._base_url: str | None = None
        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "sendphoto": self._send_media("photo"),
            "senddocument": self._send_media("document"),
            "sendvideo": self._send_media("video"),
            "sendaudio": self._send_media("audio"),
            "sendvoice": self._send_media("voice"),
            "sendanimation": self._send_media("animation"),
            "sendvideonote": self._send_media("video_note"),
            "sendsticker": self._send_media("sticker"),
            "sendlocation": self._send_location,
            "sendcontact": self._send_contact,
            "senddice": self._send_dice,
            "sendpoll": self._send_poll,
            "sendmediagroup": self._send_media_group,
            "copymessage": self._copy_message,
            "forwardmessage": self._forward_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagemedia": self._edit_message_media,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getfile": self._get_file,
            "getmycommands": self._empty_list,
            "getwebhookinfo": self._get_webhook_info,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_post("/_fake/update", self._control_push)
        app.router.add_get("/_fake/calls", self._control_calls)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._base_url

    # ------------------------------------------------------------------ recording helpers

    def mark(self) -> int:
        return len(self.calls)

    def calls_for(self, method: str | None = None, chat_id: int | str | None = None) -> list[Call]:
        wanted_chat = _norm_chat(chat_id)
        return [
            call
            for call in self.calls
            if (method is None or call.method.lower() == method.lower())
            and (wanted_chat is None or call.chat_id == wanted_chat)
        ]

    async def wait_for(
        self,
        method: str | None,
        predicate: Callable[[Call], bool] = lambda call: True,
        timeout: float = 10.0,  # noqa: ASYNC109
        after: int = 0,
    ) -> Call:
        """First call (index >= ``after``) of ``method`` matching ``predicate``."""
        index = after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._call_event
            while index < len(self.calls):
                call = self.calls[index]
                index += 1
                if (method is None or call.method.lower() == method.lower()) and predicate(call):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no {method or 'any'} call matching the predicate within {timeout}s "
                    f"(after index {after}); last calls:\n{self.describe_calls()}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def describe_calls(self, last: int = 20) -> str:
        shown = [(i, c) for i, c in enumerate(self.calls) if c.method.lower() != "getupdates"][
            -last:
        ]
        if not shown:
            return "  (no calls besides getUpdates)"
        return "\n".join(
            f"  #{i} {c.method} chat={c.chat_id} status={c.status} text={c.text!r:.120}"
            for i, c in shown
        )

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        event, self._call_event = self._call_event, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ screen view

    def bot_messages(self, chat_id: int | str, *, include_deleted: bool = False) -> list[JSONDict]:
        """All messages the bot sent in the chat, oldest first (see ``last_bot_message``)."""
        chat = self._messages.get(int(chat_id), {})
        return [
            self._view(stored)
            for stored in chat.values()
            if stored.from_bot and (include_deleted or not stored.deleted)
        ]

    def last_bot_message(self, chat_id: int | str) -> JSONDict | None:
        """The bot message sent or edited most recently in the chat (deleted ones skipped).

        Keys: message_id, chat_id, text (text or caption), reply_markup (as sent, any
        keyboard kind, None when removed), method, edited, message (full Telegram JSON).
        """
        candidates = [
            stored
            for stored in self._messages.get(int(chat_id), {}).values()
            if stored.from_bot and not stored.deleted
        ]
        if not candidates:
            return None
        return self._view(max(candidates, key=lambda stored: stored.seq))

    @staticmethod
    def buttons(message: JSONDict | None) -> list[tuple[str, str]]:
        return buttons(message)

    def _view(self, stored: StoredMessage) -> JSONDict:
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
            "message": copy.deepcopy(message),
        }

    # ------------------------------------------------------------------ driving as users

    def push_update(self, update: JSONDict) -> int:
        update = dict(update)
        update_id = self._next_update_id
        self._next_update_id += 1
        update["update_id"] = update_id
        for key in ("message", "edited_message", "channel_post", "business_message"):
            message = update.get(key)
            if isinstance(message, dict) and "chat" in message and "message_id" in message:
                self._store(StoredMessage(copy.deepcopy(message), from_bot=False, method=key))
                self._chats.setdefault(int(message["chat"]["id"]), dict(message["chat"]))
        for value in update.values():
            sender = value.get("from") if isinstance(value, dict) else None
            if isinstance(sender, dict) and "id" in sender and not sender.get("is_bot"):
                self._users.setdefault(int(sender["id"]), dict(sender))
        self.updates.append(update)
        self._wake_pollers()
        if self.on_update is not None:  # webhook mode: the test delivers it
            self.on_update(copy.deepcopy(update))
        return update_id

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Member",
        language_code: str = "kk",
        username: str | None = None,
    ) -> int:
        user = self._remember_user(user_id, first_name, language_code, username)
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self._push_user_message(user, content)

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
        content: JSONDict = {
            "photo": [
                {**self._file_json(file_id, suffix="s"), "width": 90, "height": 90},
                {**self._file_json(file_id), "width": 1280, "height": 960, "file_size": 123456},
            ]
        }
        if caption is not None:
            content["caption"] = caption
        return self._push_user_message(self._user(user_id), content)

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
                **self._file_json(file_id),
                "file_name": file_name,
                "mime_type": mime,
                "file_size": 2048,
            }
        }
        if caption is not None:
            content["caption"] = caption
        return self._push_user_message(self._user(user_id), content)

    def send_sticker(self, user_id: int, file_id: str = "user-sticker") -> int:
        sticker = {
            **self._file_json(file_id),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._push_user_message(self._user(user_id), {"sticker": sticker})

    def send_voice(self, user_id: int, file_id: str = "user-voice", duration: int = 3) -> int:
        voice = {**self._file_json(file_id), "duration": duration, "mime_type": "audio/ogg"}
        return self._push_user_message(self._user(user_id), {"voice": voice})

    def send_location(
        self, user_id: int, latitude: float = 51.1694, longitude: float = 71.4491
    ) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self._push_user_message(self._user(user_id), {"location": location})

    def send_contact(
        self, user_id: int, phone_number: str = "+77010000000", *, own: bool = True
    ) -> int:
        user = self._user(user_id)
        contact: JSONDict = {"phone_number": phone_number, "first_name": user["first_name"]}
        if own:
            contact["user_id"] = user_id
        return self._push_user_message(user, {"contact": contact})

    def press(self, user_id: int, message_id: int, callback_data: str) -> int:
        """Press an inline button of the bot message ``message_id`` in chat ``user_id``."""
        user = self._user(user_id)
        stored = self._messages.get(user_id, {}).get(message_id)
        if stored is not None:
            message = copy.deepcopy(stored.message)
        else:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(user_id),
                "from": dict(self.bot_user),
            }
        callback = {
            "id": str(10**12 + next(self._ids)),
            "from": user,
            "message": message,
            "chat_instance": str(abs(hash(("chat", user_id))) % 10**18),
            "data": callback_data,
        }
        return self.push_update({"callback_query": callback})

    def _remember_user(
        self, user_id: int, first_name: str, language_code: str | None, username: str | None
    ) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        chat: JSONDict = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        self._chats[user_id] = chat
        return dict(user)

    def _user(self, user_id: int) -> JSONDict:
        if user_id not in self._users:
            return self._remember_user(user_id, "Member", "kk", None)
        return dict(self._users[user_id])

    def _push_user_message(self, user: JSONDict, content: JSONDict) -> int:
        chat_id = int(user["id"])
        message = {
            "message_id": self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": user,
            **content,
        }
        return self.push_update({"message": message})

    def _file_json(self, file_id: str, suffix: str = "") -> JSONDict:
        file_id = file_id + suffix
        self.files.setdefault(file_id, f"fake content of {file_id}".encode())
        unique = hashlib.sha1(file_id.encode()).hexdigest()[:16]
        return {"file_id": file_id, "file_unique_id": unique}

    # ------------------------------------------------------------------ fault injection

    def inject(
        self,
        method: str,
        *,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (for ``chat_id`` if given) fail.

        A 429 always carries ``parameters.retry_after`` (default 1), as Telegram's do.
        ``status=0`` only sleeps ``delay`` seconds and then answers normally.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(
            method=method.lower(),
            status=status,
            description=description or _default_description(status, retry_after),
            retry_after=retry_after,
            times=times,
            chat_id=_norm_chat(chat_id),
            delay=delay,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def _take_fault(self, method: str, params: JSONDict) -> Fault | None:
        chat_id = _norm_chat(params.get("chat_id"))
        for fault in self.faults:
            if fault.method != method or (fault.chat_id is not None and fault.chat_id != chat_id):
                continue
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
            return fault
        return None

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        key = method.lower()
        params = await self._read_params(request)
        status, payload, result = 200, None, None
        try:
            fault = self._take_fault(key, params)
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status:
                    extra = {"retry_after": fault.retry_after} if fault.retry_after else None
                    raise TelegramError(fault.status, fault.description, extra)
            if self.latency and key.startswith(SEND_PREFIXES):
                await asyncio.sleep(self.latency)
            handler = self._handlers.get(key, self._true)
            result = await handler(params)
            payload = {"ok": True, "result": result}
        except TelegramError as exc:
            status = exc.status
            payload = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                payload["parameters"] = exc.parameters
        self._record(Call(method, params, arrived, status, result))
        return web.json_response(payload, status=status)

    async def _read_params(self, request: web.Request) -> JSONDict:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        if request.body_exists:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[name] = UploadedFile(
                        value.filename, value.content_type, value.file.read()
                    )
                elif isinstance(value, str):
                    raw[name] = value
                else:
                    raw[name] = bytes(value).decode()
        params: JSONDict = {}
        used: set[str] = set()
        for name, value in raw.items():
            params[name] = _resolve_attach(_decode(name, value), uploads, used)
        for name, upload in uploads.items():
            if name not in used:
                params[name] = upload
        return params

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=self.files[file_id])

    async def _control_push(self, request: web.Request) -> web.Response:
        update_id = self.push_update(dict(await request.json()))
        return web.json_response({"ok": True, "result": update_id})

    async def _control_calls(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"method": c.method, "params": c.params, "at": c.at, "status": c.status}
                for c in self.calls
            ],
            dumps=lambda obj: json.dumps(obj, default=repr),
        )

    # ------------------------------------------------------------------ updates

    def _wake_pollers(self) -> None:
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()

    def _deliverable(self, update: JSONDict) -> bool:
        kind = next((k for k in update if k != "update_id"), None)
        if kind is None:
            return False
        if self.allowed_updates is None:
            return kind not in NOT_DELIVERED_BY_DEFAULT
        return kind in self.allowed_updates

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = {str(kind) for kind in allowed} or None
        if offset < 0:
            self.updates = self.updates[offset:]
        elif offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._update_event
            batch = [u for u in self.updates if self._deliverable(u)][:limit]
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return copy.deepcopy(batch)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ------------------------------------------------------------------ message store

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _chat(self, chat_id: int) -> JSONDict:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": "Group"}
        return {"id": chat_id, "type": "private", "first_name": "Member"}

    def _store(self, stored: StoredMessage) -> None:
        chat_id = int(stored.message["chat"]["id"])
        message_id = int(stored.message["message_id"])
        stored.seq = next(self._seq)
        self._messages.setdefault(chat_id, {})[message_id] = stored
        counter = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = max(counter, message_id + 1)

    def _find(self, chat_id: int, message_id: int) -> StoredMessage | None:
        return self._messages.get(chat_id, {}).get(message_id)

    def _bot_message(
        self,
        params: JSONDict,
        method: str,
        content: JSONDict,
        raw_text: str | None = None,
        extra: JSONDict | None = None,
    ) -> JSONDict:
        chat_id = _chat_id(params)
        markup = params.get("reply_markup")
        _validate_markup(markup)
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": dict(self.bot_user),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            **(extra or {}),
            **content,
        }
        if _inline(markup) is not None:
            message["reply_markup"] = markup
        self._store(
            StoredMessage(
                message,
                from_bot=True,
                method=method,
                reply_markup=markup if isinstance(markup, dict) else None,
                raw_text=raw_text,
            )
        )
        return copy.deepcopy(message)

    def _new_file(self, kind: str, value: Any) -> JSONDict:
        """File JSON for a sent file: reuse a file_id string, mint one for uploads/URLs."""
        if isinstance(value, str) and value and not value.startswith(("http://", "https://")):
            file_json = self._file_json(value)
        else:
            file_id = f"{kind}-{next(self._ids)}-{secrets.token_hex(6)}"
            file_json = self._file_json(file_id)
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

    def _media_content(self, kind: str, value: Any, params: JSONDict) -> JSONDict:
        file_json = self._new_file(kind, value)
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

    def _caption(self, params: JSONDict) -> tuple[JSONDict, str | None]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return {}, None
        parsed = parse_text(str(caption), params.get("parse_mode"), params.get("caption_entities"))
        if _utf16_len(parsed.text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        content: JSONDict = {"caption": parsed.text}
        if parsed.entities:
            content["caption_entities"] = parsed.entities
        return content, str(caption)

    def _text(self, params: JSONDict) -> tuple[JSONDict, str]:
        raw = params.get("text")
        if raw is None:
            raise bad_request("message text is empty")
        parsed = parse_text(str(raw), params.get("parse_mode"), params.get("entities"))
        if not parsed.text.strip():
            raise bad_request("message text is empty")
        if _utf16_len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long")
        content: JSONDict = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return content, str(raw)

    # ------------------------------------------------------------------ method handlers

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _empty_list(self, params: JSONDict) -> list[Any]:
        return []

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return dict(self.bot_user)

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        return {
            **self._chat(_chat_id(params)),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        user_id = int(params.get("user_id") or 0)
        return {"status": "member", "user": self._user(user_id)}

    async def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        content = self.files.setdefault(file_id, f"fake content of {file_id}".encode())
        return {
            "file_id": file_id,
            "file_unique_id": hashlib.sha1(file_id.encode()).hexdigest()[:16],
            "file_size": len(content),
            "file_path": f"files/{file_id}",
        }

    async def _send_message(self, params: JSONDict) -> JSONDict:
        content, raw = self._text(params)
        return self._bot_message(params, "sendMessage", content, raw)

    def _send_media(self, kind: str) -> Handler:
        method = "send" + "".join(part.capitalize() for part in kind.split("_"))

        async def handler(params: JSONDict) -> JSONDict:
            value = params.get(kind)
            if value is None or value == "":
                raise bad_request(f"there is no {kind} in the request")
            content = self._media_content(kind, value, params)
            caption, raw = self._caption(params)
            return self._bot_message(params, method, {**content, **caption}, raw)

        return handler

    async def _send_location(self, params: JSONDict) -> JSONDict:
        location = {
            "latitude": float(params.get("latitude") or 0),
            "longitude": float(params.get("longitude") or 0),
        }
        return self._bot_message(params, "sendLocation", {"location": location})

    async def _send_contact(self, params: JSONDict) -> JSONDict:
        contact = {
            "phone_number": str(params.get("phone_number") or ""),
            "first_name": str(params.get("first_name") or ""),
        }
        return self._bot_message(params, "sendContact", {"contact": contact})

    async def _send_dice(self, params: JSONDict) -> JSONDict:
        dice = {"emoji": str(params.get("emoji") or "🎲"), "value": 3}
        return self._bot_message(params, "sendDice", {"dice": dice})

    async def _send_poll(self, params: JSONDict) -> JSONDict:
        options = params.get("options")
        if not isinstance(options, list) or not 2 <= len(options) <= 12:
            raise bad_request("POLL_OPTIONS_INVALID")
        poll_type = str(params.get("type") or "regular")
        poll: JSONDict = {
            "id": str(10**15 + next(self._ids)),
            "question": str(params.get("question") or ""),
            "options": [
                {
                    "persistent_id": str(index),
                    "text": option.get("text", "") if isinstance(option, dict) else str(option),
                    "voter_count": 0,
                }
                for index, option in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": bool(params.get("is_closed", False)),
            "is_anonymous": bool(params.get("is_anonymous", True)),
            "type": poll_type,
            "allows_multiple_answers": bool(params.get("allows_multiple_answers", False)),
            "allows_revoting": bool(params.get("allows_revoting", poll_type != "quiz")),
            "members_only": False,
        }
        if "correct_option_id" in params:
            poll["correct_option_id"] = params["correct_option_id"]
        return self._bot_message(params, "sendPoll", {"poll": poll}, poll["question"])

    async def _send_media_group(self, params: JSONDict) -> list[JSONDict]:
        media = params.get("media")
        if not isinstance(media, list) or not media:
            raise bad_request("there is no media in the request")
        group_id = str(10**17 + next(self._ids))
        params = {key: value for key, value in params.items() if key != "reply_markup"}
        messages = []
        for item in media:
            if not isinstance(item, dict):
                raise bad_request("can't parse InputMedia")
            kind = str(item.get("type", "photo"))
            content = self._media_content(kind, item.get("media"), params)
            caption, raw = self._caption(item)
            messages.append(
                self._bot_message(
                    params,
                    "sendMediaGroup",
                    {**content, **caption},
                    raw,
                    {"media_group_id": group_id},
                )
            )
        return messages

    def _source(self, params: JSONDict) -> tuple[JSONDict, StoredMessage | None]:
        from_chat = _norm_chat(params.get("from_chat_id"))
        message_id = int(params.get("message_id") or 0)
        stored = self._find(from_chat, message_id) if isinstance(from_chat, int) else None
        if stored is None:
            return {}, None
        message = stored.message
        return {k: copy.deepcopy(message[k]) for k in CONTENT_KEYS if k in message}, stored

    async def _copy_message(self, params: JSONDict) -> JSONDict:
        content, stored = self._source(params)
        raw = (stored.raw_text if stored else None) or content.get("text") or content.get("caption")
        if "caption" in params and "text" not in content:
            content.pop("caption_entities", None)
            caption, raw = self._caption(params)
            content.pop("caption", None)
            content.update(caption)
        message = self._bot_message(params, "copyMessage", content, raw)
        return {"message_id": message["message_id"]}

    async def _forward_message(self, params: JSONDict) -> JSONDict:
        content, stored = self._source(params)
        now = int(time.time())
        origin: JSONDict
        if stored is None:
            origin = {"type": "hidden_user", "sender_user_name": "Member", "date": now}
        elif "from" in stored.message:
            origin = {
                "type": "user",
                "sender_user": stored.message["from"],
                "date": stored.message["date"],
            }
        else:
            origin = {
                "type": "channel",
                "chat": stored.message["chat"],
                "message_id": stored.message["message_id"],
                "date": stored.message["date"],
            }
        raw = stored.raw_text if stored else None
        return self._bot_message(params, "forwardMessage", content, raw, {"forward_origin": origin})

    def _editable(self, params: JSONDict) -> StoredMessage | None:
        """The stored bot message addressed by an edit* call (None for inline messages)."""
        if params.get("inline_message_id"):
            return None
        chat_id = _chat_id(params)
        message_id = int(params.get("message_id") or 0)
        stored = self._find(chat_id, message_id)
        if stored is None or not stored.from_bot or stored.deleted:
            raise bad_request("message to edit not found")
        return stored

    def _apply_edit(
        self,
        stored: StoredMessage,
        content: JSONDict,
        drop: Iterable[str],
        markup: Any,
        raw_text: str | None,
    ) -> JSONDict:
        _validate_markup(markup)
        message = stored.message
        old = {key: message.get(key) for key in (*content, *drop)}
        new = {key: content.get(key) for key in old}
        if old == new and _inline(markup) == _inline(stored.reply_markup):
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        for key in drop:
            message.pop(key, None)
        message.update(content)
        message.pop("reply_markup", None)
        if _inline(markup) is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        stored.reply_markup = markup if isinstance(markup, dict) else None
        if raw_text is not None:
            stored.raw_text = raw_text
        stored.seq = next(self._seq)
        return copy.deepcopy(message)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        stored = self._editable(params)
        content, raw = self._text(params)
        if stored is None:
            return True
        if "text" not in stored.message:
            raise bad_request("there is no text in the message to edit")
        markup = params.get("reply_markup")
        return self._apply_edit(stored, content, ["entities"], markup, raw)

    async def _edit_message_caption(self, params: JSONDict) -> JSONDict | bool:
        stored = self._editable(params)
        content, raw = self._caption(params)
        if stored is None:
            return True
        if "text" in stored.message:
            raise bad_request("there is no caption in the message to edit")
        markup = params.get("reply_markup")
        return self._apply_edit(stored, content, ["caption", "caption_entities"], markup, raw)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        stored = self._editable(params)
        if stored is None:
            return True
        return self._apply_edit(stored, {}, [], params.get("reply_markup"), None)

    async def _edit_message_media(self, params: JSONDict) -> JSONDict | bool:
        stored = self._editable(params)
        media = params.get("media")
        if not isinstance(media, dict):
            raise bad_request("there is no media in the request")
        if stored is None:
            return True
        if "text" in stored.message:
            raise bad_request("there is no media in the message to edit")
        kind = str(media.get("type", "photo"))
        content = self._media_content(kind, media.get("media"), params)
        caption, raw = self._caption(media)
        media_keys = ["photo", "document", "video", "audio", "animation"]
        drop = [*media_keys, "caption", "caption_entities"]
        return self._apply_edit(
            stored, {**content, **caption}, drop, params.get("reply_markup"), raw or ""
        )

    async def _delete_message(self, params: JSONDict) -> bool:
        chat_id = _chat_id(params)
        stored = self._find(chat_id, int(params.get("message_id") or 0))
        if stored is not None:
            stored.deleted = True
        return True

    async def _delete_messages(self, params: JSONDict) -> bool:
        chat_id = _chat_id(params)
        ids = params.get("message_ids")
        for message_id in ids if isinstance(ids, list) else []:
            stored = self._find(chat_id, int(message_id))
            if stored is not None:
                stored.deleted = True
        return True


def _chat_id(params: JSONDict) -> int:
    value = _norm_chat(params.get("chat_id"))
    if value is None or value == "":
        raise bad_request("chat_id is empty")
    if not isinstance(value, int):
        raise bad_request("chat not found")
    return value


def _decode(name: str, value: Any) -> Any:
    """Undo aiogram's JSON encoding of a form value (plain strings stay strings)."""
    if not isinstance(value, str) or name in STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return value
    if isinstance(decoded, str):
        return value
    return decoded


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _resolve_attach(value: Any, uploads: dict[str, UploadedFile], used: set[str]) -> Any:
    """Replace ``attach://name`` references by the uploaded files (recording which were used)."""
    if isinstance(value, str) and value.startswith("attach://"):
        name = value.removeprefix("attach://")
        if name in uploads:
            used.add(name)
            return uploads[name]
        return value
    if isinstance(value, list):
        return [_resolve_attach(item, uploads, used) for item in value]
    if isinstance(value, dict):
        return {key: _resolve_attach(item, uploads, used) for key, item in value.items()}
    return value


async def _serve(host: str, port: int) -> None:
    api = FakeBotAPI()
    await api.start(host, port)
    print(api.base_url, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await api.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
