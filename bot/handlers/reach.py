"""Messages to another person (a member, a colleague) who may not be reachable.

A member who blocked the bot, deleted their account or erased their data with /forget
cannot receive the lawyer's answer; the answer is stored first, so the lawyer is told
"saved, but not delivered" instead of an error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)

# Telegram's 400 descriptions that mean "no such person to write to".
_GONE = ("chat not found", "user not found", "user is deactivated", "peer_id_invalid")


async def reach(chat_id: int, send: Callable[[], Awaitable[object]]) -> bool:
    """Run `send` (messages to `chat_id`); False when the person cannot be reached.

    A member who used /forget keeps a negative placeholder id: nothing is sent to it
    (negative ids are group chats in Telegram)."""
    if chat_id <= 0:
        log.info("not sent: the person erased their data")
        return False
    try:
        await send()
    except TelegramForbiddenError:
        log.info("not sent: the person blocked the bot or was deactivated")
        return False
    except TelegramBadRequest as exc:
        if not any(words in exc.message.lower() for words in _GONE):
            raise
        log.info("not sent: %s", exc.message)
        return False
    return True


def unreachable() -> str:
    """What staff are told when the member did not get a message."""
    return _(
        "⚠️ The member cannot be reached in Telegram: they blocked the bot or erased their "
        "data. Everything is kept in the appeal."
    )
