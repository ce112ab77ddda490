"""Bot API request middlewares (registered on the bot's session, not the dispatcher)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

NOT_MODIFIED = "message is not modified"


class EditsThatChangeNothing(BaseRequestMiddleware):
    """An edit that would show exactly what is shown already (a button tapped twice) is
    answered by Telegram with 400 "message is not modified": that is success, not an
    error. Register on the bot's session: `bot.session.middleware(EditsThatChangeNothing())`.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if method.__api_method__.startswith("edit") and NOT_MODIFIED in exc.message:
                # The edit methods return the message or True; nobody reads the message.
                return True  # type: ignore[return-value]
            raise
