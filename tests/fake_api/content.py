"""What a sent message may hold, checked as Telegram checks it: a text or caption after
parsing (not empty, not too long) and an inline keyboard (button text, an action,
callback data of at most 64 bytes); and the buttons of a message, as tests read them."""

from __future__ import annotations

from typing import Any

from tests.fake_api.errors import bad_request
from tests.fake_api.params import JSONDict
from tests.fake_api.telegram_html import parse_text, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64


def text_content(params: JSONDict) -> tuple[JSONDict, str]:
    """A message's text and entities, and the text exactly as sent."""
    raw = params.get("text")
    if raw is None:
        raise bad_request("message text is empty")
    parsed = parse_text(str(raw), params.get("parse_mode"), params.get("entities"))
    if not parsed.text.strip():
        raise bad_request("message text is empty")
    if utf16_len(parsed.text) > MAX_TEXT:
        raise bad_request("message is too long")
    content: JSONDict = {"text": parsed.text}
    if parsed.entities:
        content["entities"] = parsed.entities
    return content, str(raw)


def caption_content(params: JSONDict) -> tuple[JSONDict, str | None]:
    """A caption and its entities (nothing without one), and the caption as sent."""
    caption = params.get("caption")
    if caption is None or caption == "":
        return {}, None
    parsed = parse_text(str(caption), params.get("parse_mode"), params.get("caption_entities"))
    if utf16_len(parsed.text) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    content: JSONDict = {"caption": parsed.text}
    if parsed.entities:
        content["caption_entities"] = parsed.entities
    return content, str(caption)


def inline(markup: Any) -> JSONDict | None:
    """The part of a reply_markup Telegram echoes back in Message.reply_markup."""
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        return markup
    return None


def validate_markup(markup: Any) -> None:
    keyboard = inline(markup)
    if keyboard is None:
        return
    for row in keyboard["inline_keyboard"]:
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
