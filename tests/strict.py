"""A recording session that refuses what Telegram would refuse, with Telegram's errors.

The plain RecordingSession answers everything; this one applies the Bot API's cheap rules
(those tests/fake_bot_api.py checks too), so a handler that would fail in production fails
in a test: text and caption lengths after HTML parsing, HTML Telegram cannot parse, empty
texts, callback answers over 200 characters, button data over 64 bytes, empty buttons, and
an edit that changes nothing ("message is not modified").
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardMarkup

from tests.fake_bot_api import MAX_CAPTION, MAX_TEXT, TelegramError, parse_text
from tests.recording import RecordingSession

TEXT_METHODS = {"sendMessage", "editMessageText"}
CAPTION_METHODS = {"sendPhoto", "sendDocument", "copyMessage", "editMessageCaption"}
ALERT_LIMIT = 200


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class StrictSession(RecordingSession):
    def __init__(self) -> None:
        super().__init__()
        self.refused: list[tuple[str, str]] = []  # (method, Telegram's description)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        problem = self.problem(method)
        if problem is not None:
            self.refused.append((method.__api_method__, problem))
            raise TelegramBadRequest(method=method, message=f"Bad Request: {problem}")
        return await super().make_request(bot, method, timeout)

    def problem(self, method: TelegramMethod[Any]) -> str | None:
        name = method.__api_method__
        parse_mode = getattr(method, "parse_mode", None)
        html = isinstance(parse_mode, Default) or str(parse_mode).lower() == "html"
        try:
            if name in TEXT_METHODS:
                parsed = parse_text(str(method.text), "HTML" if html else None, None)  # type: ignore[attr-defined]
                if not parsed.text.strip():
                    return "message text is empty"
                if utf16_len(parsed.text) > MAX_TEXT:
                    return "message is too long"
            if name in CAPTION_METHODS and getattr(method, "caption", None):
                parsed = parse_text(str(method.caption), "HTML" if html else None, None)  # type: ignore[attr-defined]
                if utf16_len(parsed.text) > MAX_CAPTION:
                    return "message caption is too long"
        except TelegramError as exc:
            return exc.description.removeprefix("Bad Request: ")
        if name == "answerCallbackQuery" and len(getattr(method, "text", None) or "") > ALERT_LIMIT:
            return "MESSAGE_TOO_LONG"
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            if sum(len(row) for row in markup.inline_keyboard) > 100:
                return "BUTTONS_TOO_MUCH"
            for row in markup.inline_keyboard:
                for button in row:
                    if not button.text.strip():
                        return "BUTTON_TEXT_EMPTY"
                    if button.callback_data is not None and not (
                        0 < len(button.callback_data.encode()) <= 64
                    ):
                        return "BUTTON_DATA_INVALID"
        if name.startswith("edit"):
            chat = self.screen.messages.get(int(getattr(method, "chat_id", 0) or 0), {})
            old = chat.get(getattr(method, "message_id", None) or -1)
            if old is not None and self._unchanged(method, old.text, old.reply_markup):
                return (
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
        return None

    @staticmethod
    def _unchanged(method: TelegramMethod[Any], text: str | None, markup: Any) -> bool:
        name = method.__api_method__
        new_markup = getattr(method, "reply_markup", None)
        if not isinstance(new_markup, InlineKeyboardMarkup):
            new_markup = None
        if name == "editMessageText":
            return bool(method.text == text and new_markup == markup)  # type: ignore[attr-defined]
        if name == "editMessageReplyMarkup":
            return bool(new_markup == markup)
        return False
