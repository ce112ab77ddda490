"""/mydata (a file of everything stored about the member) and /forget (erase it).

The rules live in bot/services/privacy.py; here: the texts, the confirmation and its
one-time token (kept in the member's FSM data: a button from an older /forget, or one
made up, finds no matching token and does nothing).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import ForgetCb
from bot.handlers.shared.common import outdated
from bot.i18n import LANGUAGES, N_, fmt_datetime
from bot.services.members import MemberDirectory, MemberView
from bot.services.privacy import export_member, forget_member, open_appeal_numbers
from bot.storage.models import utcnow

router = Router(name=__name__)

CONFIRM_FOR = timedelta(minutes=15)  # a /forget confirmation older than this is stale
FILENAME = "qorgau-mydata.json"
# Left in each open appeal of a member who asked to be forgotten, in both languages: the
# lawyers of any language read it.
NOTE_FORGOTTEN = N_(
    "⚠️ The member asked to erase their personal data: the texts are erased and the member "
    "can no longer be reached through the bot. Please close this appeal."
)


def nothing_stored() -> str:
    return _(
        "The bot stores nothing about you as a member: you have not registered, so there are "
        "no appeals, messages or settings of yours."
    )


@router.message(Command("mydata"))
async def cmd_mydata(
    message: Message,
    session: AsyncSession,
    member: MemberView | None,
    state: FSMContext,
    tz: ZoneInfo,
) -> None:
    if member is None:
        await message.answer(nothing_stored())
        return
    now = utcnow()
    conversation = {"state": await state.get_state(), "data": await state.get_data()}
    document = await export_member(session, member.id, now=now, conversation=conversation)
    await session.rollback()  # only read: end the transaction before the upload
    payload = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    await message.answer_document(
        BufferedInputFile(payload, filename=FILENAME),
        caption=_(
            "Everything the bot stores about you, as of {date}: your settings, your appeals "
            "with their messages and files, your messages to the union mailbox, your survey "
            "answers and more. Messages you sent to the mailbox anonymously are not linked to "
            "you, so they are not in it. Keep this file private."
        ).format(date=fmt_datetime(now, member.language, tz)),
    )


def delivered_copies() -> str:
    """What /forget cannot reach: Telegram keeps what it delivered, the bot cannot delete it."""
    return _(
        "The bot cannot delete copies already delivered to Telegram chats: your appeals, "
        "messages and files as lawyers received them in their Telegram, your mailbox letters "
        "on the screen of an admin who read them, and everything in your own chat with the "
        "bot (you can clear that chat yourself)."
    )


def forget_text(open_numbers: list[int]) -> str:
    text = _(
        "<b>Erase my personal data</b>\n\n"
        "The bot will erase your Telegram id, name and username; the texts of your appeals "
        "and of all messages in them, yours and the lawyers'; the files you sent; your "
        "comments on ratings; the messages you signed in the union mailbox; your consent, "
        "settings and any unfinished dialogue.\n\n"
        "Kept without anything that points to you, for the union's statistics and the legal "
        "inspection's report: the region, workplace type, topic, dates, status and outcome "
        "of each appeal and your star ratings; the kind and date of your mailbox messages; "
        "your survey answers; the fact that you registered.\n\n"
        "Messages you sent to the mailbox anonymously are not linked to you and stay as they "
        "are. Erased data cannot be restored. Afterwards the bot treats you as a new user."
    )
    text += "\n\n" + delivered_copies()
    if open_numbers:
        text += "\n\n" + _(
            "⚠️ Your appeals still open: {numbers}. They stay with the lawyers without your "
            "texts and name, and the lawyers will no longer be able to answer you."
        ).format(numbers=", ".join(f"№ {n}" for n in open_numbers))
    return text


def forget_markup(token: str) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("🗑 Yes, erase my data"), callback_data=ForgetCb(action="yes", token=token)
    )
    builder.button(text=_("✖️ Cancel"), callback_data=ForgetCb(action="no", token=token))
    builder.adjust(1)
    return builder.as_markup()


@router.message(Command("forget"))
async def cmd_forget(
    message: Message, session: AsyncSession, member: MemberView | None, state: FSMContext
) -> None:
    if member is None:
        await message.answer(nothing_stored())
        return
    token = secrets.token_hex(8)
    await state.update_data(forget={"token": token, "until": (utcnow() + CONFIRM_FOR).isoformat()})
    open_numbers = await open_appeal_numbers(session, member.id)
    await message.answer(forget_text(open_numbers), reply_markup=forget_markup(token))


async def _take_token(state: FSMContext, token: str) -> bool:
    """Whether the button carries the token of the latest /forget, still fresh; the token
    is used up either way once it matched."""
    pending = (await state.get_data()).get("forget")
    if not isinstance(pending, dict) or not token:
        return False
    if not secrets.compare_digest(str(pending.get("token") or ""), token):
        return False
    await state.update_data(forget=None)
    try:
        until = datetime.fromisoformat(str(pending.get("until")))
    except ValueError:
        return False
    return utcnow() <= until


@router.callback_query(ForgetCb.filter(F.action == "no"))
async def on_forget_cancel(
    query: CallbackQuery, callback_data: ForgetCb, state: FSMContext, member: MemberView | None
) -> None:
    if member is None or not await _take_token(state, callback_data.token):
        await query.answer(outdated(), show_alert=True)
        return
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Cancelled: nothing was erased."))
    await query.answer()


@router.callback_query(ForgetCb.filter(F.action == "yes"))
async def on_forget_confirm(
    query: CallbackQuery,
    callback_data: ForgetCb,
    session: AsyncSession,
    state: FSMContext,
    member: MemberView | None,
    member_directory: MemberDirectory,
    i18n: I18n,
) -> None:
    if member is None or not await _take_token(state, callback_data.token):
        await query.answer(outdated(), show_alert=True)
        return
    # The conversation first (its own storage, its own transaction), then the database in
    # one transaction; nothing has been written through this database session yet.
    await state.clear()
    note = "\n\n".join(i18n.gettext(NOTE_FORGOTTEN, locale=lang) for lang in LANGUAGES)
    await forget_member(session, member.id, note=note)
    await session.commit()
    member_directory.forget(query.from_user.id)  # the next update finds no member: a new user
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            _(
                "Your personal data are erased. Thank you for using Qorgau. To use the bot "
                "again, send /start."
            ),
            reply_markup=ReplyKeyboardRemove(),
        )
    await query.answer()
