"""Sending a post's parts to one chat, as members get them: the press secretary's preview
and the delivery engine (bot/broadcast/engine.py) both send through `send_part`, so the
preview is what members receive. The requests are the lean ones of bot/compat/sends.py.
"""

from __future__ import annotations

from typing import Any, cast

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Message

from bot.broadcast.composition import Rendition
from bot.compat.sends import Sent, send_methods


async def send_part(
    bot: Bot, chat_id: int, version: Rendition, part: str, *, paid: bool = False
) -> str | None:
    """Send one part of a version, as members get it (the preview and the delivery engine
    both send through here); returns the poll's id for the "poll" part."""
    extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
    methods = send_methods()  # lean, or aiogram's own if the start-up check said so
    method: TelegramMethod[Any]
    if part == "poll":
        method = methods.poll(
            chat_id=chat_id,
            question=version.poll_question or "",
            options=list(version.poll_options),
            is_anonymous=False,
            **extra,
        )
    elif version.media_kind == "photo" and version.media_file_id:
        method = methods.photo(
            chat_id=chat_id,
            photo=version.media_file_id,
            caption=version.text,
            parse_mode="HTML",
            **extra,
        )
    elif version.media_kind == "document" and version.media_file_id:
        method = methods.document(
            chat_id=chat_id,
            document=version.media_file_id,
            caption=version.text,
            parse_mode="HTML",
            **extra,
        )
    else:
        method = methods.message(chat_id=chat_id, text=version.text, parse_mode="HTML", **extra)
    # The lean answer type (bot/compat/sends.py), or a whole Message: both carry the poll.
    sent = cast(Sent | Message, await bot(method))
    return sent.poll.id if part == "poll" and sent.poll else None
