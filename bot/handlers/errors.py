"""Any handler error: logged with the update id, and the member gets an apology.

The log line names the exception's type, the handler and the update (id and type), and
gives a traceback of frames only: never the exception's message (a database error carries
the values of its statement, a member's text among them) and never the update's content.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import gettext as _

from bot.logs import describe, frames, where

log = logging.getLogger(__name__)


def update_type(update: Update) -> str:
    try:
        return update.event_type
    except Exception:  # aiogram raises for a kind of update it does not know
        return "unknown"


# Registered on the Dispatcher (see bot.app): only there does it see every router's errors.
async def on_error(event: ErrorEvent, bot: Bot) -> None:
    update = event.update
    handler, raised_at = where(event.exception)
    log.error(
        "handler error in update %s (%s): %s in %s, raised in %s\n%s",
        update.update_id,
        update_type(update),
        describe(event.exception),
        handler,
        raised_at,
        frames(event.exception),
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
    except Exception as exc:  # nothing leaves the error handler: aiogram would log it whole
        log.warning("could not send the apology for update %s: %s", update.update_id, describe(exc))
