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

Relied on (aiogram 3.31, pydantic 2.13, none of it documented): aiogram reads the answer as
`Response[method.__returning__]`; `AiohttpSession.make_request` posts what
`build_form_data` returns, which it builds from `method.model_dump()`. `probe` sends each
class through the bot's session, answered in this process, and compares the request's body
and the answer's type with what a post relies on; when they differ, `send_methods()` gives
aiogram's own SendMessage/SendPhoto/SendDocument/SendPoll (answered with a whole `Message`,
sent as aiogram's form).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar

import aiogram.types
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendPoll,
    TelegramMethod,
)
from aiogram.types import Message
from aiohttp import ClientSession, FormData
from aiohttp.payload import BytesPayload
from pydantic import BaseModel, ConfigDict

from bot.compat import NotAsRelied, Patch
from bot.compat.requests import keep_response_type

PATCH = Patch("lean_sends")


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


# Their fields name Telegram's types (forward references, resolved in aiogram's namespace):
# pydantic builds each class on its first use with that namespace (see lean_types.py).
for _method in (BroadcastMessage, BroadcastPhoto, BroadcastDocument, BroadcastPoll):
    _method.__pydantic_parent_namespace__ = {
        **vars(aiogram.types),
        **(_method.__pydantic_parent_namespace__ or {}),
    }


@dataclass(frozen=True)
class SendMethods:
    """The classes a post is sent with, and what Telegram's answer is read as."""

    message: type[SendMessage]
    photo: type[SendPhoto]
    document: type[SendDocument]
    poll: type[SendPoll]
    answer: type[BaseModel]


LEAN = SendMethods(BroadcastMessage, BroadcastPhoto, BroadcastDocument, BroadcastPoll, Sent)
PLAIN = SendMethods(SendMessage, SendPhoto, SendDocument, SendPoll, Message)


def send_methods() -> SendMethods:
    """The lean classes, or aiogram's own when the start-up check switched them off."""
    return LEAN if PATCH.on else PLAIN


class BotSession(AiohttpSession):
    """aiogram's session; a post's sends (no files: a photo or document is a file id) go as
    a JSON body of the fields set. Every other request goes as aiogram builds it."""

    def build_form_data(self, bot: Bot, method: TelegramMethod[Any]) -> FormData:
        if isinstance(method, _SetFieldsOnly):
            body = json.dumps(method.model_dump(mode="json"), ensure_ascii=False)
            payload = BytesPayload(body.encode(), content_type="application/json")
            return payload  # type: ignore[return-value]  # aiohttp posts any payload as data
        return super().build_form_data(bot, method)


def build_types() -> None:
    """Build the send classes' validators now rather than at a post's first send (pydantic
    builds a class on its first use: ~25 ms measured). That send would leave so long after
    its slot that, with the next `rate` sends on time, Telegram would count rate + 1 of them
    in one second (bench/broadcast.py at 25/s: 26 at the server in every run before)."""
    _build(send_methods())


@functools.cache
def _build(methods: SendMethods) -> None:
    methods.message(chat_id=0, text=".")
    methods.photo(chat_id=0, photo=".")
    methods.document(chat_id=0, document=".")
    methods.poll(chat_id=0, question=".", options=[".", "."])
    # aiogram reads each answer with `Response[answer]`: built now, and held (requests.py).
    keep_response_type(methods.answer).model_validate({"ok": True, "result": SAMPLE_ANSWER})


SAMPLE_ANSWER = {"message_id": 7, "date": 0, "chat": {"id": 1, "type": "private"}}


# --- the start-up check ---------------------------------------------------------------------


class _Reply:
    """What `AiohttpSession.make_request` reads of aiohttp's response."""

    def __init__(self, body: Any) -> None:
        self.status = 200
        self.body = json.dumps(body)

    async def text(self) -> str:
        return self.body

    async def __aenter__(self) -> _Reply:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class _Client:
    """aiohttp's client as far as `make_request` uses it: keeps what was posted."""

    closed = False

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.posted: list[Any] = []

    def post(self, url: str, *, data: Any, timeout: Any = None) -> _Reply:
        self.posted.append(data)
        return _Reply({"ok": True, "result": self.answer})


class _ProbeSession(BotSession):
    """The bot's session, answered in this process instead of by Telegram."""

    def __init__(self, client: _Client) -> None:
        super().__init__()
        self.client = client

    async def create_session(self) -> ClientSession:
        return self.client  # type: ignore[return-value]


class _Collect:
    """A stream writer for a payload's bytes (aiohttp writes a payload this way)."""

    def __init__(self) -> None:
        self.data = b""

    async def write(self, chunk: bytes) -> None:
        self.data += bytes(chunk)


async def _sent(method: TelegramMethod[Any], answer: Any) -> tuple[Any, Any]:
    """What the bot's session posts for `method`, and what `bot(method)` returns."""
    client = _Client(answer)
    default = DefaultBotProperties(parse_mode=ParseMode.HTML)
    bot = Bot("123456:probe", session=_ProbeSession(client), default=default)
    result = await bot(method)
    return client.posted[-1], result


async def _json_body(posted: Any) -> Any:
    if not isinstance(posted, BytesPayload) or posted.content_type != "application/json":
        raise NotAsRelied(f"a post's send went as {type(posted).__name__}, not as JSON")
    writer = _Collect()
    await posted.write(writer)  # type: ignore[arg-type]
    return json.loads(writer.data)


async def probe() -> None:
    """Each class goes as a JSON body of exactly the fields set and is answered as `Sent`;
    any other method still goes as aiogram's form."""
    checks: list[tuple[TelegramMethod[Any], dict[str, Any], dict[str, Any]]] = [
        (
            BroadcastMessage(chat_id=1, text="<b>a</b>", parse_mode="HTML"),
            {"chat_id": 1, "text": "<b>a</b>", "parse_mode": "HTML"},
            SAMPLE_ANSWER,
        ),
        (
            BroadcastPhoto(chat_id=1, photo="f", caption="c", parse_mode="HTML"),
            {"chat_id": 1, "photo": "f", "caption": "c", "parse_mode": "HTML"},
            SAMPLE_ANSWER,
        ),
        (
            BroadcastDocument(chat_id=1, document="f", allow_paid_broadcast=True),
            {"chat_id": 1, "document": "f", "allow_paid_broadcast": True},
            SAMPLE_ANSWER,
        ),
        (
            BroadcastPoll(chat_id=1, question="q", options=["a", "b"], is_anonymous=False),
            {"chat_id": 1, "question": "q", "options": ["a", "b"], "is_anonymous": False},
            {**SAMPLE_ANSWER, "poll": {"id": "p", "question": "q"}},
        ),
    ]
    for method, body, answer in checks:
        posted, result = await _sent(method, answer)
        sent_body = await _json_body(posted)
        if sent_body != body:
            raise NotAsRelied(f"{type(method).__name__} went as {sent_body}, not {body}")
        if type(result) is not Sent or result.message_id != 7:
            raise NotAsRelied(f"{type(method).__name__} was answered as {type(result).__name__}")
        if isinstance(method, SendPoll) and (result.poll is None or result.poll.id != "p"):
            raise NotAsRelied("a poll's id was not read from the answer")
    # (A method with a small answer: reading a whole Message would build its validator, the
    # largest of all, in a process that may never need it.)
    posted, result = await _sent(AnswerCallbackQuery(callback_query_id="1"), True)
    if not isinstance(posted, FormData) or result is not True:
        raise NotAsRelied("the session no longer sends other requests as aiogram builds them")


def switch_off() -> None:
    """`send_methods()` gives aiogram's own classes from now on."""
    PATCH.on = False
