"""The Bot API requests a post is sent with, lean on CPU.

A post goes to hundreds of thousands of members, and at 1,000 sends a second the bot's CPU
is the limit. aiogram's general path spends ~0.25 ms a send on work a broadcast does not
need (measured on this project's 2-core machine):

- it parses Telegram's whole answer into a `Message` (chat, sender, entities: ~110 µs)
  where a post needs at most its poll's id: here the answer type is `Sent`;
- it builds the request from every field of the method (~20, each resolved against the
  bot's defaults: ~45 µs) where a post sets four or five: here only the fields set go
  (those left unset take Telegram's defaults, as the bot's defaults are; `parse_mode`,
  the only default the bot sets, a post always sets);
- it sends them as a form (aiohttp's FormData makes a multipart writer and URL-quotes
  every value: ~60 µs): `BotSession` sends a post's fields as a small JSON body, which
  the Bot API takes as well.

The classes are aiogram's own methods (a `BroadcastMessage` is a `SendMessage`, sent
through the same session and its middlewares), so the preview and the tests see them as
such; every other request goes as aiogram builds it.
"""

from __future__ import annotations

import functools
import json
from typing import Any, ClassVar

import aiogram.types
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import SendDocument, SendMessage, SendPhoto, SendPoll, TelegramMethod
from aiogram.methods.base import Response
from aiohttp import FormData
from aiohttp.payload import BytesPayload
from pydantic import BaseModel, ConfigDict


class SentPoll(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str


class Sent(BaseModel):
    """What a post keeps of Telegram's answer to a send."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    message_id: int
    poll: SentPoll | None = None


class _SetFieldsOnly:
    """aiogram builds a request from `model_dump()`: only the fields given are sent."""

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        return super().model_dump(**{"exclude_unset": True, **kwargs})  # type: ignore[misc, no-any-return]


class BroadcastMessage(_SetFieldsOnly, SendMessage):
    __returning__: ClassVar[Any] = Sent


class BroadcastPhoto(_SetFieldsOnly, SendPhoto):
    __returning__: ClassVar[Any] = Sent


class BroadcastDocument(_SetFieldsOnly, SendDocument):
    __returning__: ClassVar[Any] = Sent


class BroadcastPoll(_SetFieldsOnly, SendPoll):
    __returning__: ClassVar[Any] = Sent


# aiogram reads each answer with `Response[Sent]`, which pydantic keeps only weakly: every
# garbage collection would drop it and the next send build it again (5-10 ms, the event
# loop stalled; bot.middlewares.KeepResponseTypes does the same for the bot's other
# requests). Held here, it is built once, whatever bot sends the post.
_ANSWER = Response[Sent]

# Their fields name Telegram's types (forward references, resolved in aiogram's namespace):
# pydantic builds each class on its first use with that namespace (see bot/lean_types.py).
for _method in (BroadcastMessage, BroadcastPhoto, BroadcastDocument, BroadcastPoll):
    _method.__pydantic_parent_namespace__ = {
        **vars(aiogram.types),
        **(_method.__pydantic_parent_namespace__ or {}),
    }


class BotSession(AiohttpSession):
    """aiogram's session; a post's sends (no files: a photo or document is a file id) go as
    a JSON body of the fields set. Every other request goes as aiogram builds it."""

    def build_form_data(self, bot: Bot, method: TelegramMethod[Any]) -> FormData:
        if isinstance(method, _SetFieldsOnly):
            body = json.dumps(method.model_dump(mode="json"), ensure_ascii=False)
            payload = BytesPayload(body.encode(), content_type="application/json")
            return payload  # type: ignore[return-value]  # aiohttp posts any payload as data
        return super().build_form_data(bot, method)


@functools.cache
def build_types() -> None:
    """Build these classes' validators now rather than at a post's first send (pydantic
    builds a class on its first use: ~25 ms measured). That send would leave so long after
    its slot that, with the next `rate` sends on time, Telegram would count rate + 1 of them
    in one second (bench/broadcast.py at 25/s: 26 at the server in every run before)."""
    BroadcastMessage(chat_id=0, text=".")
    BroadcastPhoto(chat_id=0, photo=".")
    BroadcastDocument(chat_id=0, document=".")
    BroadcastPoll(chat_id=0, question=".", options=[".", "."])
    _ANSWER.model_validate({"ok": True, "result": {"message_id": 0, "poll": {"id": "."}}})
