"""Writing to a member from the desk: ✍️ on a held appeal's card, what the lawyer then
sends (text, photos, documents; a sticker or a voice message is refused and said so), a
Telegram reply to a member's relayed message, and internal notes.

Writing is tied to one appeal (`end_writing` in desk.py ends it whenever the lawyer turns
to another); this router comes before the desk's, whose last handler tells words typed for
no appeal that they went nowhere.
"""

from __future__ import annotations

from html import escape
from typing import Literal

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import DeskCb
from bot.filters import FILE, NOT_COMMAND, WORDS, HasRole, Magic, RepliesToAppeal
from bot.handlers.desk.answers import answer_member
from bot.handlers.desk.desk import cannot_write
from bot.handlers.shared.common import outdated, too_long
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.media import attachment_of
from bot.handlers.shared.relay import (
    told_lawyer,
)
from bot.handlers.shared.states import Closing, LawyerNote, LawyerReply
from bot.outbox import Outbox
from bot.services.desk import (
    DeskError,
    add_note,
    held_appeal,
    open_card,
)
from bot.services.logged import is_logged
from bot.services.members import MemberView
from bot.services.staff import StaffView
from bot.storage.models import AppealStatus, StaffRole

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))


@router.callback_query(DeskCb.filter(F.action == "reply"))
async def on_reply(
    query: CallbackQuery,
    callback_data: DeskCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
) -> None:
    try:
        card = await open_card(session, staff, callback_data.value, audited=False)
    except DeskError:
        await query.answer(outdated(), show_alert=True)
        return
    appeal = card.appeal
    if appeal.claimed_by != staff.id or appeal.status not in (
        AppealStatus.CLAIMED,
        AppealStatus.ANSWERED,
    ):
        await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
        return
    if is_logged(appeal):
        await query.answer(cannot_write(), show_alert=True)
        return
    await state.set_state(LawyerReply.message)
    await state.update_data(appeal_id=appeal.id)
    who = escape(card.member.full_name or _("(name not given)"))
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "✍️ Writing to <b>{who}</b>, appeal No. {number}: text, photos or documents. "
                "Each message goes to them as it is. Opening or taking another appeal ends "
                "this; /mine ends it too. You can also answer any member by replying to their "
                "message."
            ).format(who=who, number=appeal.id)
        )
    await query.answer()


async def write_to_member(
    message: Message,
    appeal_id: int,
    *,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
) -> Literal["sent", "too-long", "refused"]:
    """Store the lawyer's message in the appeal, pass it to the member, tell the lawyer
    which appeal it went to. "too-long": nothing sent, the lawyer may send it shorter;
    "refused": the appeal is not theirs to write in (any more)."""
    attachment = attachment_of(message)
    try:
        delivery = await answer_member(
            appeal_id,
            message.text or message.caption,
            [attachment] if attachment else [],
            session=session,
            staff=staff,
            lang=_lang(member, i18n),
            i18n=i18n,
            bot=bot,
            outbox=outbox,
            source=(message.chat.id, message.message_id),
        )
    except DeskError as exc:
        await session.rollback()
        if exc.code == "too-long":
            await message.answer(
                too_long(len(message.text or message.caption or ""))
                + "\n"
                + _(
                    "Nothing was sent. You are still writing in appeal No. {number}: send it "
                    "shorter, or in several messages."
                ).format(number=appeal_id)
            )
            return "too-long"
        await message.answer(
            cannot_write() if exc.code == "logged" else _("This appeal is not yours or is closed.")
        )
        return "refused"
    await message.answer(told_lawyer(delivery, appeal_id))
    return "sent"


@router.message(
    # Where typed words are not some other input: the desk, writing, the closing form's
    # marks (not while it waits for an amount).
    StateFilter(None, LawyerReply.message, Closing.outcome),
    RepliesToAppeal(relayed_only=True),
    Magic(WORDS.magic | FILE.magic),
)
async def on_lawyer_quote(
    message: Message,
    quoted_appeal: int,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
) -> None:
    """A Telegram reply to a member's relayed message answers that appeal, also while
    writing to another member: the quoted message says which member it is for. Not while
    the lawyer types something else (a note, an amount, a saved reply, a logged appeal):
    there the words are that input's, wherever the lawyer happened to reply."""
    await write_to_member(
        message,
        quoted_appeal,
        session=session,
        staff=staff,
        member=member,
        i18n=i18n,
        bot=bot,
        outbox=outbox,
    )


@router.message(StateFilter(LawyerReply.message), Magic(WORDS.magic | FILE.magic))
async def on_lawyer_message(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
) -> None:
    appeal_id = int((await state.get_data()).get("appeal_id") or 0)
    stored = await write_to_member(
        message,
        appeal_id,
        session=session,
        staff=staff,
        member=member,
        i18n=i18n,
        bot=bot,
        outbox=outbox,
    )
    if stored == "refused":
        await state.set_state(None)


@router.message(StateFilter(LawyerReply.message), NOT_COMMAND)
async def on_unsendable_while_writing(message: Message, state: FSMContext) -> None:
    """A sticker, voice, video, location… while writing: nothing goes, and the lawyer is
    told so (not the members' "nice sticker")."""
    appeal_id = int((await state.get_data()).get("appeal_id") or 0)
    await message.answer(
        _(
            "Only text, photos and documents go to the member: this was not sent. You are "
            "still writing in appeal No. {number}."
        ).format(number=appeal_id)
    )


@router.callback_query(DeskCb.filter(F.action == "note"))
async def on_note(
    query: CallbackQuery,
    callback_data: DeskCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
) -> None:
    try:  # asked only of the holder, before the note is typed
        await held_appeal(session, staff, callback_data.value)
    except DeskError:
        await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
        return
    await state.set_state(LawyerNote.text)
    await state.update_data(note_appeal=callback_data.value)
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Write the internal note for appeal No. {number}. It is not sent to the member, "
                "but it is part of their personal data: the member gets it with everything else "
                "if they ask for their data (/mydata)."
            ).format(number=callback_data.value)
        )
    await query.answer()


@router.message(StateFilter(LawyerNote.text), WORDS)
async def on_note_text(
    message: Message, state: FSMContext, session: AsyncSession, staff: StaffView
) -> None:
    appeal_id = int((await state.get_data()).get("note_appeal") or 0)
    await state.set_state(None)
    try:
        await add_note(session, staff, appeal_id, (message.text or "").strip())
        await session.commit()
    except DeskError as exc:
        await session.rollback()
        await message.answer(
            too_long() if exc.code == "too-long" else _("This appeal is not yours or is closed.")
        )
        return
    await message.answer(_("Note saved to appeal No. {number}.").format(number=appeal_id))
