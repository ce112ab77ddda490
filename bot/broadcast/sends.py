"""The Bot API methods a post is sent with, lean on CPU.

A post goes to hundreds of thousands of members, and at 1,000 sends a second the bot's CPU
is the limit. aiogram's general path spends ~0.2 ms a send on work a broadcast does not
need: it parses Telegram's whole answer into a `Message` (chat, sender, entities: ~110 µs
measured) where a post needs at most its poll's id, and it builds the request from every
field the method has (~20, each resolved against the bot's defaults: ~45 µs) where a post
sets four or five. These are aiogram's own method classes (a `BroadcastMessage` is a
`SendMessage`, sent through the same session and its middlewares) with a small answer type
and a request of the fields set; the fields a post leaves unset take Telegram's defaults,
as the bot's defaults are (only `parse_mode`, which a post always sets).
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiogram.types
from aiogram.methods import SendDocument, SendMessage, SendPhoto, SendPoll
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


# Their fields name Telegram's types (forward references, resolved in aiogram's namespace):
# pydantic builds each class on its first use with that namespace (see bot/lean_types.py).
for _method in (BroadcastMessage, BroadcastPhoto, BroadcastDocument, BroadcastPoll):
    _method.__pydantic_parent_namespace__ = {
        **vars(aiogram.types),
        **(_method.__pydantic_parent_namespace__ or {}),
    }
