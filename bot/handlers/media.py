"""What a message carries (text, a photo or a document), and passing it on, labelled."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, Message


def attachment_of(message: Message) -> dict[str, Any] | None:
    """The file a message carries, as stored with appeals (Telegram keeps the file)."""
    if message.photo:
        return {"kind": "photo", "file_id": message.photo[-1].file_id, "name": None}
    if message.document:
        return {
            "kind": "document",
            "file_id": message.document.file_id,
            "name": message.document.file_name,
        }
    return None


async def pass_on(
    bot: Bot, chat_id: int, message: Message, label: str, markup: InlineKeyboardMarkup
) -> None:
    """Copied, never forwarded: a member who hides their account still gets it, and the
    label says which appeal it belongs to."""
    text = message.text or message.caption
    body = label + ("\n\n" + escape(text) if text else "")
    if attachment_of(message) is not None:
        await bot.copy_message(
            chat_id, message.chat.id, message.message_id, caption=body, reply_markup=markup
        )
    else:
        await bot.send_message(chat_id, body, reply_markup=markup)
