"""Staff supergroups with a topic per appeal (bot/services/staff_groups.py).

Every update from a supergroup that `PrivateChatsOnly` let through ends here, first of
all routers, so nothing said in a group reaches a member's or a lawyer's private flow:
- `/linkgroup ORG` or `/linkgroup head` (an admin, in a supergroup with topics, where the
  bot is an administrator allowed to manage topics), `/unlinkgroup`;
- in an appeal's topic, the holder's message goes to the member as a typed answer does
  (`answer_member`); a message starting with "!" is an internal note; anyone else's
  goes to nobody, and its writer is told once;
- the card's buttons (take, back to the queue, close with the outcome, hand over, the
  card in the private chat), checked against the person who tapped as on the private
  desk (closing and handing over: bot/handlers/desk/topic_buttons.py);
- a served lawyer's edit of their answer in a topic corrects the member's copy;
- anything else in a group, and anything from people the group does not serve, is
  ignored.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ForumCb, TopicDeskCb
from bot.filters import FILE, WORDS, Magic
from bot.handlers.desk.answers import answer_member
from bot.handlers.desk.desk import card_screen, end_writing
from bot.handlers.desk.member_notices import tell_member_moved
from bot.handlers.desk.topic_buttons import (
    group_language,
    on_desk_button,
    private_state,
    refresh,
    take,
)
from bot.handlers.edits import on_edited
from bot.handlers.shared.common import outdated, too_long
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.forum import deliver_quietly, open_topics, refresh_cards, topic_markup
from bot.handlers.shared.media import attachment_of
from bot.handlers.shared.relay import told_lawyer
from bot.logs import describe
from bot.outbox import Outbox
from bot.services.desk import DeskError, add_note, open_card, release
from bot.services.members import MemberDirectory, MemberView
from bot.services.staff import StaffView
from bot.services.staff_groups import (
    HEAD_SCOPE,
    StaffGroupError,
    StaffGroups,
    appeal_at,
    appeals_without_topic,
    link,
    serves,
    unlink,
)
from bot.storage.models import Appeal, StaffRole
from bot.topics import MemberOrgs

log = logging.getLogger(__name__)

router = Router(name=__name__)
router.message.filter(Magic(F.chat.type == "supergroup"))
router.edited_message.filter(Magic(F.chat.type == "supergroup"))
router.callback_query.filter(Magic(F.message.chat.type == "supergroup"))

NOTE_MARK = "!"
CATCH_UP = 30  # open appeals given a topic when a group is linked (or linked again)


def _is_admin(staff: StaffView | None) -> bool:
    return staff is not None and staff.role == StaffRole.ADMIN


@router.message(Command("linkgroup"))
async def cmd_linkgroup(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    staff: StaffView | None,
    member: MemberView | None,
    orgs: MemberOrgs,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
    staff_groups: StaffGroups,
) -> None:
    if not _is_admin(staff):
        await message.reply(_("Only an admin can link a group."))
        return
    assert staff is not None
    lang = _lang(member, i18n)
    arg = (command.args or "").strip().lower()
    scope = HEAD_SCOPE if arg == "head" else arg
    if not arg or (scope != HEAD_SCOPE and scope not in orgs.by_id):
        await message.reply(
            _(
                "Send /linkgroup with the member organisation's id (e.g. /linkgroup "
                "karaganda), or /linkgroup head for the head lawyers' group."
            )
        )
        return
    if not message.chat.is_forum:
        await message.reply(
            _(
                "This group has no topics. Turn on “Topics” in the group's settings, then "
                "send /linkgroup again."
            )
        )
        return
    try:
        me = await bot.get_chat_member(message.chat.id, bot.id)
    except TelegramAPIError as exc:
        log.info("linking staff group %s: %s", message.chat.id, describe(exc))
        me = None
    allowed = me is not None and (
        me.status == ChatMemberStatus.CREATOR
        or (
            me.status == ChatMemberStatus.ADMINISTRATOR
            and bool(getattr(me, "can_manage_topics", False))
        )
    )
    if not allowed:
        await message.reply(
            _(
                "Make me an administrator of this group with the right to manage topics, "
                "then send /linkgroup again."
            )
        )
        return
    try:
        await link(session, staff, message.chat.id, scope, lang)
        await session.commit()
    except StaffGroupError as exc:
        await session.rollback()
        if exc.code == "scope-taken":
            text = _("Another group is already linked for this. Unlink it there first.")
        else:
            text = _("This group is already linked for another region. Send /unlinkgroup first.")
        await message.reply(text)
        return
    staff_groups.changed()
    region = _("all regions") if scope == HEAD_SCOPE else orgs.title(scope, lang)
    await message.reply(
        _(
            "✅ This group is linked: each new appeal of {region} gets its own topic here. "
            "Only the lawyers who cover it are served here."
        ).format(region=region)
    )
    # The region's open appeals get their topics too (and those Telegram refused before:
    # /linkgroup again opens what is missing), oldest first, a bounded number at a time.
    waiting = await appeals_without_topic(session, scope, message.chat.id, CATCH_UP)
    await session.rollback()
    for appeal_id in waiting:
        await open_topics(appeal_id, session=session, bot=bot, outbox=outbox, orgs=orgs, i18n=i18n)


@router.message(Command("unlinkgroup"))
async def cmd_unlinkgroup(
    message: Message,
    session: AsyncSession,
    staff: StaffView | None,
    staff_groups: StaffGroups,
) -> None:
    if not _is_admin(staff):
        await message.reply(_("Only an admin can unlink a group."))
        return
    assert staff is not None
    try:
        await unlink(session, staff, message.chat.id)
        await session.commit()
    except StaffGroupError:
        await session.rollback()
        await message.reply(_("This group is not linked."))
        return
    staff_groups.changed()
    await message.reply(
        _(
            "This group is unlinked: new appeals get no topic here. The appeals stay on the "
            "desk in the private chat."
        )
    )


@router.message(Magic(WORDS.magic | FILE.magic))
async def on_topic_message(
    message: Message,
    session: AsyncSession,
    staff: StaffView | None,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
    staff_groups: StaffGroups,
) -> None:
    scope = await staff_groups.scope_of(message.chat.id)
    if scope is None or not serves(staff, scope) or message.from_user is None:
        return  # not served here: ignored
    assert staff is not None
    thread = message.message_thread_id if message.is_topic_message else None
    appeal_id = await appeal_at(session, message.chat.id, thread)
    if appeal_id is None or thread is None:
        return  # the group's own talk
    text = message.text or message.caption
    if text is not None and text.startswith(NOTE_MARK) and not message.caption:
        note = text[len(NOTE_MARK) :].strip()
        if not note:
            return
        try:
            await add_note(session, staff, appeal_id, note)
            await session.commit()
        except DeskError as exc:
            await session.rollback()
            await message.reply(too_long() if exc.code == "too-long" else outdated())
            return
        await message.reply(_("Note saved to appeal No. {number}.").format(number=appeal_id))
        return
    holder = await session.scalar(select(Appeal.claimed_by).where(Appeal.id == appeal_id))
    await session.rollback()
    if holder != staff.id:
        if staff_groups.first_time(message.chat.id, thread, message.from_user.id):
            await message.reply(
                _(
                    "Not sent to the member: only the lawyer who took appeal No. {number} "
                    "writes to them from here. Start a message with “!” for an internal note."
                ).format(number=appeal_id)
            )
        return
    attachment = attachment_of(message)
    try:
        delivery = await answer_member(
            appeal_id,
            text,
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
        await message.reply(
            too_long() if exc.code == "too-long" else _("This appeal is not yours or is closed.")
        )
        return
    await message.reply(told_lawyer(delivery, appeal_id))


@router.callback_query(ForumCb.filter())
async def on_topic_button(
    query: CallbackQuery,
    callback_data: ForumCb,
    session: AsyncSession,
    staff: StaffView | None,
    member: MemberView | None,
    orgs: MemberOrgs,
    i18n: I18n,
    tz: ZoneInfo,
    bot: Bot,
    outbox: Outbox,
    staff_groups: StaffGroups,
    state: FSMContext,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer(outdated(), show_alert=True)
        return
    scope = await staff_groups.scope_of(message.chat.id)
    if scope is None or not serves(staff, scope):
        await query.answer(_("Only the lawyers of this group's region use these buttons."))
        return
    assert staff is not None
    thread = message.message_thread_id
    appeal_id = callback_data.appeal
    if await appeal_at(session, message.chat.id, thread) != appeal_id:
        await session.rollback()
        await query.answer(outdated(), show_alert=True)
        return
    lang = _lang(member, i18n)
    # What stays in the topic for everyone is in the group's language.
    group_lang = await group_language(session, message.chat.id, lang)
    if callback_data.action == "take":
        await take(query, message, appeal_id, session, staff, (lang, group_lang), i18n, bot, outbox)
    elif callback_data.action == "release":
        try:
            released = await release(session, staff, appeal_id)
            status = released.status
            told = await tell_member_moved(
                released, "queue", session=session, outbox=outbox, i18n=i18n
            )
            cards = told + await refresh_cards(
                appeal_id,
                status,
                session=session,
                outbox=outbox,
                i18n=i18n,
                tapped=(message.chat.id, message.message_id),
            )
            await session.commit()
        except DeskError:
            await session.rollback()
            await refresh(message, session, appeal_id, group_lang, i18n)
            await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
            return
        with i18n.use_locale(group_lang):
            markup = topic_markup(appeal_id, status)
        await message.edit_reply_markup(reply_markup=markup)
        await deliver_quietly(bot, outbox, cards)
        await query.answer(
            _("Appeal No. {number} is back in the queue of its region.").format(number=appeal_id)
        )
    elif callback_data.action == "card":
        try:
            card = await open_card(session, staff, appeal_id)
            await session.commit()
        except DeskError:
            await session.rollback()
            await query.answer(outdated(), show_alert=True)
            return
        text, markup = card_screen(card, staff, orgs, lang, tz)
        try:
            await bot.send_message(query.from_user.id, text, reply_markup=markup)
        except TelegramAPIError:
            await query.answer(
                _("Start a private chat with me first, then tap again."), show_alert=True
            )
            return
        # Another appeal's card is now the newest in the private chat: writing there to a
        # member of another appeal ends, as when the card is opened in that chat.
        await end_writing(private_state(state, bot, query.from_user.id), appeal_id)
        await query.answer(_("The card is in your private chat with me."))
    else:
        await query.answer(outdated(), show_alert=True)


@router.callback_query(TopicDeskCb.filter())
async def on_topic_desk_button(
    query: CallbackQuery,
    callback_data: TopicDeskCb,
    session: AsyncSession,
    staff: StaffView | None,
    member: MemberView | None,
    state: FSMContext,
    orgs: MemberOrgs,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
    staff_groups: StaffGroups,
    member_directory: MemberDirectory,
) -> None:
    """Close and hand over in the topic (bot/handlers/desk/topic_buttons.py)."""
    message = query.message
    if not isinstance(message, Message):
        await query.answer(outdated(), show_alert=True)
        return
    scope = await staff_groups.scope_of(message.chat.id)
    if scope is None or not serves(staff, scope):
        await query.answer(_("Only the lawyers of this group's region use these buttons."))
        return
    assert staff is not None
    if await appeal_at(session, message.chat.id, message.message_thread_id) != (
        callback_data.appeal
    ):
        await session.rollback()
        await query.answer(outdated(), show_alert=True)
        return
    lang = _lang(member, i18n)
    group_lang = await group_language(session, message.chat.id, lang)
    await on_desk_button(
        query,
        message,
        callback_data,
        session=session,
        staff=staff,
        langs=(lang, group_lang),
        state=state,
        orgs=orgs,
        i18n=i18n,
        bot=bot,
        outbox=outbox,
        member_directory=member_directory,
    )


@router.callback_query()
async def on_other_button(query: CallbackQuery) -> None:
    """A button of the private flows in a group (forged, or an old screen): nothing."""
    await query.answer(outdated())


@router.message()
async def on_anything_else(message: Message) -> None:
    """Stickers, service messages and the like in a group: nothing."""


@router.edited_message()
async def on_edit_in_group(
    message: Message,
    session: AsyncSession,
    staff: StaffView | None,
    outbox: Outbox,
    i18n: I18n,
    member_directory: MemberDirectory,
    bot: Bot,
    staff_groups: StaffGroups,
) -> None:
    """A served lawyer's edit of their answer in a topic corrects the member's copy, as an
    edit in the private chat does (bot/handlers/edits.py); any other edit in a group
    changes nothing."""
    scope = await staff_groups.scope_of(message.chat.id)
    if scope is None or not serves(staff, scope):
        return
    await on_edited(
        message,
        session=session,
        outbox=outbox,
        i18n=i18n,
        member_directory=member_directory,
        bot=bot,
    )
