"""Any handler error: logged with the update id, and the member gets an apology."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)


# Registered on the Dispatcher (see bot.app): only there does it see every router's errors.
async def on_error(event: ErrorEvent, bot: Bot) -> None:
    update = event.update
    log.error(
        "handler error in update %s: %s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    chat_id = None
    if update.message:
        chat_id = update.message.chat.id
    elif update.callback_query:
        chat_id = update.callback_query.from_user.id
        try:
            await update.callback_query.answer()
        except Exception:  # the callback may be too old to answer: the apology still goes out
            log.debug("could not answer callback of update %s", update.update_id)
    if chat_id is None:
        return
    try:
        await bot.send_message(
            chat_id,
            _("Sorry, something went wrong on our side. Please try again; your data is safe."),
        )
    except Exception:
        log.exception("could not send the apology for update %s", update.update_id)
