"""Telegram's errors: a status, a description, and parameters such as retry_after."""

from __future__ import annotations

from typing import Any

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class TelegramError(Exception):
    """Raised inside handlers to answer with a Telegram error."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(reason: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {reason}")


def error_payload(exc: TelegramError) -> dict[str, Any]:
    """The JSON body Telegram answers an error with."""
    payload: dict[str, Any] = {
        "ok": False,
        "error_code": exc.status,
        "description": exc.description,
    }
    if exc.parameters:
        payload["parameters"] = exc.parameters
    return payload
