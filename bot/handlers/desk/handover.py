"""Handing an appeal over: to a colleague who covers its region (they are told), or to
another region's queue (its lawyers are told by the desk's clock)."""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import DeskCb, HandCb
from bot.filters import HasRole
from bot.handlers.desk.desk import end_writing
from bot.handlers.desk.member_notices import tell_member_moved
from bot.handlers.shared.common import outdated
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.forum import close_topics, deliver_quietly, open_topics, refresh_cards
from bot.handlers.shared.relay import (
    not_reached,
    send_later,
)
from bot.outbox import Outbox
from bot.outbox.texts import TO_STAFF
from bot.services.desk import (
    DeskError,
    colleagues_for,
    hand_over,
)
from bot.services.members import MemberDirectory, MemberView
from bot.services.staff import StaffView
from bot.storage.models import Appeal, Staff, StaffRole
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))


@router.callback_query(HandCb.filter(F.action == "menu"))
async def on_hand_menu(
    query: CallbackQuery, callback_data: HandCb, session: AsyncSession, staff: StaffView
) -> None:
    try:
        people = await colleagues_for(session, staff, callback_data.appeal)
    except DeskError:
        await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
        return
    builder = kb.InlineKeyboard()
    for person in people:
        builder.button(
            text="👤 " + (person.full_name or str(person.telegram_id)),
            callback_data=HandCb(action="staff", appeal=callback_data.appeal, target=person.id),
        )
    builder.button(
        text=_("🗺 To another region's queue"),
        callback_data=HandCb(action="regions", appeal=callback_data.appeal),
    )
    builder.adjust(1)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Hand appeal No. {number} to:").format(number=callback_data.appeal),
            reply_markup=builder.as_markup(),
        )
    await query.answer()


@router.callback_query(HandCb.filter(F.action == "regions"))
async def on_hand_regions(
    query: CallbackQuery,
    callback_data: HandCb,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    lang = _lang(member, i18n)
    builder = kb.InlineKeyboard()
    for org in orgs.orgs:
        builder.button(
            text=org.title(lang),
            callback_data=HandCb(action="org", appeal=callback_data.appeal, org=org.id),
        )
    builder.adjust(2)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Hand appeal No. {number} to:").format(number=callback_data.appeal),
            reply_markup=builder.as_markup(),
        )
    await query.answer()


@router.callback_query(HandCb.filter(F.action.in_({"staff", "org"})))
async def on_hand_over(
    query: CallbackQuery,
    callback_data: HandCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    bot: Bot,
    i18n: I18n,
    member_directory: MemberDirectory,
    member: MemberView | None,
    state: FSMContext,
    outbox: Outbox,
) -> None:
    await end_writing(state)
    try:
        appeal, colleague = await hand_over(
            session,
            staff,
            callback_data.appeal,
            to_staff_id=callback_data.target if callback_data.action == "staff" else None,
            to_org=callback_data.org if callback_data.action == "org" else None,
            known_orgs=set(orgs.by_id),
        )
    except DeskError:
        await session.rollback()
        await query.answer(outdated(), show_alert=True)
        return
    appeal_id, org = appeal.id, appeal.member_org
    told = await tell_handed(
        appeal,
        colleague,
        session=session,
        bot=bot,
        outbox=outbox,
        orgs=orgs,
        i18n=i18n,
        member_directory=member_directory,
    )
    if isinstance(query.message, Message):
        where = (
            colleague.full_name or str(colleague.telegram_id)
            if colleague
            else orgs.title(org, _lang(member, i18n))
        )
        done = _("Appeal No. {number} is handed to {whom}.").format(
            number=appeal_id, whom=escape(where)
        )
        if not told:  # the colleague blocked the bot: they find it in /mine
            done += "\n" + _(
                "⚠️ The colleague could not be told in Telegram; the appeal is in their /mine."
            )
        await query.message.edit_text(done)
    await query.answer()


async def tell_handed(
    appeal: Appeal,
    colleague: Staff | None,
    *,
    session: AsyncSession,
    bot: Bot,
    outbox: Outbox,
    orgs: MemberOrgs,
    i18n: I18n,
    member_directory: MemberDirectory,
) -> bool:
    """After `hand_over` in the caller's session: the colleague is told (with a button to
    the card); handed to another region, the old region's topic is closed and the new one's
    opened. Commits, then makes the first try. False when the colleague could not be told."""
    rows = []
    if colleague is not None:
        lang = await member_directory.language_of(session, colleague.telegram_id)
        with i18n.use_locale(lang):
            open_it = kb.InlineKeyboard()
            open_it.button(
                text=_("Open the appeal"), callback_data=DeskCb(action="card", value=appeal.id)
            )
            handed = _("🔀 A colleague handed appeal No. {number} to you.").format(number=appeal.id)
        rows = send_later(
            session,
            outbox,
            [
                SendMessage(
                    chat_id=colleague.telegram_id, text=handed, reply_markup=open_it.as_markup()
                )
            ],
            purpose=TO_STAFF,
            appeal_id=appeal.id,
        )
    # The member hears that it changed hands (never whose).
    moved = await tell_member_moved(
        appeal,
        "colleague" if colleague is not None else "region",
        session=session,
        outbox=outbox,
        i18n=i18n,
    )
    # Handed to another region: the old region's topic is closed, the new one's opened.
    if colleague is None:
        moved += await refresh_cards(
            appeal.id, appeal.status, session=session, outbox=outbox, i18n=i18n
        )
        moved += await close_topics(appeal.id, session=session, outbox=outbox, covering=False)
    appeal_id = appeal.id
    await session.commit()
    told = not not_reached(await outbox.deliver(bot, rows))
    await deliver_quietly(bot, outbox, moved)
    if colleague is None:
        await open_topics(appeal_id, session=session, bot=bot, outbox=outbox, orgs=orgs, i18n=i18n)
    return told
