"""Where aiogram calls a handler, as seen in a traceback.

bot/logs.py names the handler an error came from: the bot's first frame after aiogram's
last call into a handler, which aiogram 3.31 makes in `aiogram.dispatcher.event.handler`
(`CallableObject.call`; undocumented). `probe` raises in a handler called through
aiogram's own HandlerObject and looks for that module in the traceback. When it is not
there, errors are logged naming no handler ("-") rather than a wrong one.
"""

from __future__ import annotations

import traceback

from bot.compat import NotAsRelied, Patch

PATCH = Patch("handler_names")

HANDLER_CALL_MODULE = "aiogram.dispatcher.event.handler"


class _Raised(Exception):
    pass


async def probe() -> None:
    from aiogram.dispatcher.event.handler import HandlerObject

    async def handler() -> None:
        raise _Raised

    try:
        await HandlerObject(callback=handler).call()
    except _Raised as exc:
        modules = {f.f_globals.get("__name__") for f, _ in traceback.walk_tb(exc.__traceback__)}
    else:
        raise NotAsRelied("a handler called through aiogram did not run")
    if HANDLER_CALL_MODULE not in modules:
        raise NotAsRelied(f"aiogram no longer calls handlers from {HANDLER_CALL_MODULE}")


def switch_off() -> None:
    PATCH.on = False
