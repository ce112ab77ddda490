"""What a message carries (text, a photo or a document), and passing it on, labelled."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.methods import SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import fmt_number

# The Bot API lets a bot download files up to 20 MB: a bigger file could never be read by
# anything but a person in Telegram, so appeals take files up to that size.
MAX_FILE_BYTES = 20 * 1024 * 1024
CAPTION_LIMIT = 1024  # Telegram's, in characters after the HTML is parsed
TEXT_LIMIT = 4096


def file_size(message: Message) -> int | None:
    """What Telegram says the message's file weighs (None: it did not say)."""
    if message.photo:
        return message.photo[-1].file_size
    if message.document:
        return message.document.file_size
    return None


def too_big(message: Message) -> str | None:
    """The member's explanation when the message's file is over the limit, else None."""
    size = file_size(message)
    if size is None or size <= MAX_FILE_BYTES:
        return None
    return _(
        "This file is too big: {size} MB, the limit is {limit} MB. It was not added. Please "
        "send a smaller file, or photos of the pages."
    ).format(
        size=fmt_number(round(size / 1024 / 1024, 1), get_i18n().current_locale),
        limit=MAX_FILE_BYTES // 1024 // 1024,
    )


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


def relay(
    chat_id: int,
    label: str,
    text: str | None,
    attachments: list[dict[str, Any]],
    markup: InlineKeyboardMarkup | None,
) -> list[TelegramMethod[Any]]:
    """What one person's message becomes for the other: the label saying which appeal it
    belongs to, their words, their files (sent by Telegram's file id: a copy, never a
    forward, so a member who hides their account still gets it). Built from what is stored
    in the appeal, for the outbox; the buttons go on the last message."""
    text = text or ""
    files = list(attachments or [])
    fits = utf16_len(label) + 2 + utf16_len(text) <= (CAPTION_LIMIT if files else TEXT_LIMIT)
    body = label + ("\n\n" + escape(text) if text and fits else "")
    methods: list[TelegramMethod[Any]] = []
    if files:
        methods.append(_file(chat_id, files[0], body))
        methods.extend(_file(chat_id, item, label) for item in files[1:])
    else:
        methods.append(SendMessage(chat_id=chat_id, text=body))
    if text and not fits:
        # The label and the words together are longer than Telegram allows in one message:
        # the words follow on their own (a member's caption may fill a caption by itself).
        methods.extend(
            SendMessage(chat_id=chat_id, text=escape(part)) for part in pieces(text, TEXT_LIMIT)
        )
    methods[-1] = methods[-1].model_copy(update={"reply_markup": markup})
    return methods


def _file(chat_id: int, item: dict[str, Any], caption: str) -> TelegramMethod[Any]:
    if item.get("kind") == "photo":
        return SendPhoto(chat_id=chat_id, photo=item["file_id"], caption=caption)
    return SendDocument(chat_id=chat_id, document=item["file_id"], caption=caption)


def utf16_len(text: str) -> int:
    """Telegram's length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, units: int) -> str:
    """At most `units` UTF-16 code units (Telegram's measure: an emoji counts two); "…"
    marks a cut."""
    if utf16_len(text) <= units:
        return text
    kept, used = [], 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def pieces(text: str, units: int) -> list[str]:
    """The text cut into pieces of at most `units` UTF-16 code units each."""
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > units:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    if current:
        parts.append("".join(current))
    return parts
