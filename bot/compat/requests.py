"""aiogram's `Response[...]` classes held for the life of the process.

aiogram reads every answer of Telegram with `Response[method.__returning__]`, a pydantic
generic class that pydantic keeps only weakly: each garbage collection drops it, and the
next request builds it again (a new class and its validator, ~1 ms; in the 1,000-a-second
broadcast benchmark 5 % of the bot's CPU). Holding each one builds it once.

Relied on (aiogram 3.31, pydantic 2.13, neither documented): `BaseSession.check_response`
parametrizes `Response` again for every answer, and pydantic gives back the class it still
holds. `probe` reads an answer through aiogram after a garbage collection and checks it was
read with the held class; when not, nothing is held any more (aiogram's normal path).
"""

from __future__ import annotations

import gc
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import GetMe, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.compat import NotAsRelied, Patch

PATCH = Patch("response_types")

_kept: dict[Any, Any] = {}


def keep_response_type(returning: Any) -> Any:
    """`Response[returning]`, held while this patch is on."""
    kept = _kept.get(returning)
    if kept is None:
        kept = Response[returning]
        if PATCH.on:
            _kept[returning] = kept
    return kept


class KeepResponseTypes(BaseRequestMiddleware):
    """Holds the answer type of every request before aiogram reads the answer. Register on
    the bot's session (`bot.app.with_request_middlewares` does, while the patch is on)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if PATCH.on and method.__returning__ not in _kept:
            keep_response_type(method.__returning__)
        return await make_request(bot, method)


async def probe() -> None:
    method = GetMe()
    held = keep_response_type(method.__returning__)
    gc.collect()
    answer = '{"ok": true, "result": {"id": 1, "is_bot": true, "first_name": "Q"}}'
    session = AiohttpSession()  # opens no connection until a request is made
    response = session.check_response(Bot("123456:probe", session=session), method, 200, answer)
    if type(response) is not held:
        raise NotAsRelied("aiogram read an answer with a new Response class, not the held one")


def switch_off() -> None:
    _kept.clear()
    PATCH.on = False
