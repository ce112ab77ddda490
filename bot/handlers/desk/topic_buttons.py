"""The desk's work on an appeal done from its topic in a staff group: take, back to the
queue (bot/handlers/desk/topics.py calls these), close with the outcome, hand over.

Each tap is checked as on the private desk, by the same services: only the holder closes
or hands over (`held_appeal`), and what follows is the private desk's own code (the
member's closing message and the topics closed, `tell_closed`; the colleague told and the
topics moved, `tell_handed`), so the claim, the audit, the outbox and the desk's clock see
no difference.

Closing in a topic is a compact picker posted in the topic: the outcome's marks (the
flags, "justified", "court claim won") are toggled with buttons, the picker's state
travels in the buttons themselves (a bit mask, nothing stored until it is closed), and
"Close the appeal" closes it with the appeal's topic as it is. Counts and amounts need
typing, and typing in a topic goes to the member, so they are not asked there: the
picker's "amounts" button moves the draft, marks kept, to the closing screen in the
lawyer's private chat, where the numbers and the topic are set and the appeal closed.
Closed in the topic, the picker becomes a line saying who closed it, with the private
closing's offer of the answer to the FAQ editors (`offer_answer`, the closer's only).

What stays in the topic for everyone (the picker, the hand-over menu, "taken", "closed")
is in the group's language; the short answers to a tap in the tapper's."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import TopicDeskCb
from bot.handlers.desk.closing import (
    closing_header,
    closing_screen,
    offer_answer,
    save_draft,
    tell_closed,
    tristate,
)
from bot.handlers.desk.desk import end_writing
from bot.handlers.desk.handover import tell_handed
from bot.handlers.desk.outcome_labels import FLAGS, TRISTATE
from bot.handlers.shared.common import outdated
from bot.handlers.shared.forum import refresh_cards, topic_markup
from bot.handlers.shared.relay import Writer, not_reached, send_later, unreachable
from bot.handlers.shared.states import Closing
from bot.logs import describe
from bot.outbox import Outbox
from bot.outbox.texts import TO_MEMBER, TO_STAFF
from bot.services.desk import (
    DeskError,
    claim,
    colleagues_for,
    hand_over,
    held_appeal,
    member_of,
)
from bot.services.logged import is_logged
from bot.services.members import MemberDirectory
from bot.services.outcomes import Outcome, close_appeal
from bot.services.staff import StaffView
from bot.storage.models import Appeal, AppealStatus, StaffGroup
from bot.topics import MemberOrgs

log = logging.getLogger(__name__)

# The picker's mask: one bit per flag (FLAGS' order), then two bits per three-way mark.
_FLAG_BITS = {code: 1 << i for i, code in enumerate(FLAGS)}
_TRI_SHIFT = {"just": len(FLAGS), "won": len(FLAGS) + 2}
_TRI_CODES: dict[int, bool | None] = {0: None, 1: True, 2: False}
MASK_LIMIT = 1 << (len(FLAGS) + 4)


def outcome_of(mask: int) -> Outcome:
    outcome = Outcome(consultation=False)
    for code, bit in _FLAG_BITS.items():
        setattr(outcome, FLAGS[code][0], bool(mask & bit))
    for code, shift in _TRI_SHIFT.items():
        setattr(outcome, TRISTATE[code][0], _TRI_CODES.get((mask >> shift) & 3))
    if not outcome.court:
        outcome.court_won = None
    return outcome


def mask_of(outcome: Outcome) -> int:
    mask = sum(bit for code, bit in _FLAG_BITS.items() if getattr(outcome, FLAGS[code][0]))
    for code, shift in _TRI_SHIFT.items():
        value = getattr(outcome, TRISTATE[code][0])
        mask |= {None: 0, True: 1, False: 2}[value] << shift
    return mask


def picker(appeal_id: int, topic: str, mask: int, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """The outcome picker in a topic (in the locale in use): each button carries the mask
    it leads to."""
    outcome = outcome_of(mask)
    builder = kb.InlineKeyboard()
    for code, (name, label) in FLAGS.items():
        mark = "✅" if getattr(outcome, name) else "▫️"
        toggled = mask ^ _FLAG_BITS[code]
        if code == "court" and outcome.court:
            toggled &= ~(3 << _TRI_SHIFT["won"])
        builder.button(
            text=f"{mark} {_(label)}",
            callback_data=TopicDeskCb(action="pick", appeal=appeal_id, value=toggled),
        )
    for code, (name, label) in TRISTATE.items():
        if code == "won" and not outcome.court:
            continue
        shift = _TRI_SHIFT[code]
        after = {0: 1, 1: 2}.get((mask >> shift) & 3, 0)  # — → yes → no → —
        builder.button(
            text=f"{_(label)}: {tristate(getattr(outcome, name))}",
            callback_data=TopicDeskCb(
                action="pick", appeal=appeal_id, value=(mask & ~(3 << shift)) | (after << shift)
            ),
        )
    builder.button(
        text=_("✏️ Amounts, counts, topic: in my private chat"),
        callback_data=TopicDeskCb(action="private", appeal=appeal_id, value=mask),
    )
    builder.button(
        text=_("✅ Close the appeal"),
        callback_data=TopicDeskCb(action="save", appeal=appeal_id, value=mask),
    )
    builder.button(text=_("✖️ Cancel"), callback_data=TopicDeskCb(action="cancel", appeal=appeal_id))
    builder.adjust(2)
    return closing_header(appeal_id, topic, lang), builder.as_markup()


async def group_language(session: AsyncSession, chat_id: int, fallback: str) -> str:
    """The language of what stays in a linked group's topics (chosen when it was linked)."""
    language = await session.scalar(
        select(StaffGroup.language).where(StaffGroup.chat_id == chat_id)
    )
    return language or fallback


def private_state(state: FSMContext, bot: Bot, user_id: int) -> FSMContext:
    """The tapper's conversation in their private chat with the bot."""
    key = StorageKey(bot_id=bot.id, chat_id=user_id, user_id=user_id)
    return FSMContext(storage=state.storage, key=key)


async def take(
    query: CallbackQuery,
    message: Message,
    appeal_id: int,
    session: AsyncSession,
    staff: StaffView,
    langs: tuple[str, str],
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
) -> None:
    """As the desk's take (bot/handlers/desk/desk.py on_take): one claim, the member's
    notice in its transaction."""
    lang, group_lang = langs  # the tapper's, the group's
    try:
        result = await claim(session, staff, appeal_id)
        rows = []
        if result.won:
            person = await member_of(session, appeal_id)
            with i18n.use_locale(person.language):
                notice = _(
                    "👩‍⚖️ A union lawyer has taken your appeal No. {number} and will answer here."
                ).format(number=appeal_id)
            rows = send_later(
                session,
                outbox,
                [SendMessage(chat_id=person.telegram_id, text=notice)],
                purpose=TO_MEMBER,
                appeal_id=appeal_id,
                writer=Writer(staff.telegram_id, lang),
            )
            # The topic says who took it (its colleagues read it there).
            name = staff.full_name or str(staff.telegram_id)
            with i18n.use_locale(group_lang):
                took = _("✋ {name} took appeal No. {number}.").format(
                    name=escape(name), number=appeal_id
                )
            rows += send_later(
                session,
                outbox,
                [
                    SendMessage(
                        chat_id=message.chat.id,
                        message_thread_id=message.message_thread_id,
                        text=took,
                    )
                ],
                purpose=TO_STAFF,
                appeal_id=appeal_id,
            )
            rows += await refresh_cards(
                appeal_id,
                AppealStatus.CLAIMED,
                session=session,
                outbox=outbox,
                i18n=i18n,
                tapped=(message.chat.id, message.message_id),
            )
        await session.commit()
    except DeskError:
        await session.rollback()
        await refresh(message, session, appeal_id, group_lang, i18n)
        await query.answer(outdated(), show_alert=True)
        return
    if not result.won:
        await refresh(message, session, appeal_id, group_lang, i18n)
        if result.mine:
            await query.answer(_("This appeal is already yours."))
            return
        await query.answer(
            _("Already taken by {name}.").format(name=result.holder or "—"), show_alert=True
        )
        return
    with i18n.use_locale(group_lang):
        markup = topic_markup(appeal_id, AppealStatus.CLAIMED)
    await message.edit_reply_markup(reply_markup=markup)
    await outbox.deliver(bot, rows)
    await query.answer(_("The appeal is yours."))


async def refresh(
    message: Message, session: AsyncSession, appeal_id: int, group_lang: str, i18n: I18n
) -> None:
    """The tapped card's buttons as the appeal is now (it was taken on the desk, released
    by the desk's clock or an access change, closed): the next tap finds the right one."""
    status = await session.scalar(select(Appeal.status).where(Appeal.id == appeal_id))
    await session.rollback()
    if status is None:
        return
    with i18n.use_locale(group_lang):
        markup = topic_markup(appeal_id, status)
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except TelegramAPIError as exc:  # too old to edit, or deleted in the group
        log.info("topic card of appeal %s not refreshed: %s", appeal_id, describe(exc))


async def _edit(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """A picker or menu shown anew; a double tap (the same screen: "not modified") or a
    message too old to edit changes nothing."""
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramAPIError as exc:
        log.info("topic menu not updated: %s", describe(exc))


async def _drop(message: Message) -> None:
    """A picker or menu that is done with: removed from the topic (an old one stays)."""
    try:
        await message.delete()
    except TelegramAPIError as exc:
        log.info("topic menu not removed: %s", describe(exc))


async def on_desk_button(
    query: CallbackQuery,
    message: Message,
    data: TopicDeskCb,
    *,
    session: AsyncSession,
    staff: StaffView,
    langs: tuple[str, str],
    state: FSMContext,
    orgs: MemberOrgs,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
    member_directory: MemberDirectory,
) -> None:
    """A tap on the topic's close or hand-over buttons, or on their pickers; the caller
    has checked that the tapper is served in the group and that this is the appeal's
    topic."""
    lang, group_lang = langs
    if data.action == "propose":  # after closing: only for the lawyer who closed it
        offered, said = await offer_answer(session, staff, data.appeal)
        if offered:
            try:
                await message.edit_reply_markup(reply_markup=None)
            except TelegramAPIError as exc:
                log.info("closing line not updated: %s", describe(exc))
        await query.answer(said, show_alert=True)
        return
    try:
        appeal = await held_appeal(session, staff, data.appeal)
    except DeskError:
        await session.rollback()
        await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
        return
    if data.action == "cancel":  # the holder's own picker or menu, no longer wanted
        await session.rollback()
        await _drop(message)
        await query.answer()
        return
    if data.value >= MASK_LIMIT and data.action in ("pick", "save", "private"):
        await session.rollback()
        await query.answer(outdated(), show_alert=True)
        return
    if data.action == "close":
        with i18n.use_locale(group_lang):
            if appeal.first_answer_at is None and not is_logged(appeal):
                # Closing without a word to the member is rare and easy to tap by mistake.
                builder = kb.InlineKeyboard()
                builder.button(
                    text=_("✅ Close it all the same"),
                    callback_data=TopicDeskCb(
                        action="pick", appeal=appeal.id, value=mask_of(Outcome())
                    ),
                )
                builder.button(
                    text=_("✖️ Cancel"),
                    callback_data=TopicDeskCb(action="cancel", appeal=appeal.id),
                )
                builder.adjust(1)
                text = _(
                    "You have not written to the member in appeal No. {number}. Close it all "
                    "the same? (The member gets the outcome and is asked to rate the help.)"
                ).format(number=appeal.id)
                markup = builder.as_markup()
            else:
                text, markup = picker(appeal.id, appeal.topic, mask_of(Outcome()), group_lang)
        await session.rollback()
        await message.answer(text, reply_markup=markup)
        await query.answer()
    elif data.action == "pick":
        with i18n.use_locale(group_lang):
            text, markup = picker(appeal.id, appeal.topic, data.value, group_lang)
        await session.rollback()
        await _edit(message, text, markup)
        await query.answer()
    elif data.action == "save":
        await _close(query, message, appeal, data.value, session, staff, langs, i18n, bot, outbox)
    elif data.action == "private":
        appeal_id, topic = appeal.id, appeal.topic
        await session.rollback()
        private = private_state(state, bot, query.from_user.id)
        outcome = outcome_of(data.value)
        text, markup = closing_screen(appeal_id, outcome, topic, lang)
        try:
            await bot.send_message(query.from_user.id, text, reply_markup=markup)
        except TelegramAPIError:
            await query.answer(
                _("Start a private chat with me first, then tap again."), show_alert=True
            )
            return
        await end_writing(private, appeal_id)
        await private.set_state(Closing.outcome)
        await save_draft(private, appeal_id, outcome, topic)
        await _drop(message)
        await query.answer(_("The closing screen is in your private chat with me."))
    elif data.action in ("hand", "regions"):
        await _hand_menu(query, message, data, session, staff, group_lang, orgs, i18n)
    elif data.action in ("staff", "org"):
        await end_writing(private_state(state, bot, query.from_user.id))
        try:
            appeal, colleague = await hand_over(
                session,
                staff,
                appeal.id,
                to_staff_id=data.value if data.action == "staff" else None,
                to_org=data.org if data.action == "org" else None,
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
        where = (
            colleague.full_name or str(colleague.telegram_id)
            if colleague
            else orgs.title(org, group_lang)
        )
        with i18n.use_locale(group_lang):
            done = _("Appeal No. {number} is handed to {whom}.").format(
                number=appeal_id, whom=escape(where)
            )
        await _edit(message, done)
        if told:
            await query.answer()
        else:  # the colleague blocked the bot: they find it in /mine
            await query.answer(
                _("⚠️ The colleague could not be told in Telegram; the appeal is in their /mine."),
                show_alert=True,
            )
    else:
        await session.rollback()
        await query.answer(outdated(), show_alert=True)


async def _close(
    query: CallbackQuery,
    message: Message,
    appeal: Appeal,
    mask: int,
    session: AsyncSession,
    staff: StaffView,
    langs: tuple[str, str],
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
) -> None:
    lang, group_lang = langs
    try:
        appeal = await close_appeal(session, staff, appeal.id, outcome_of(mask), appeal.topic)
    except DeskError:
        await session.rollback()
        await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
        return
    appeal_id = appeal.id
    delivery = await tell_closed(
        appeal, session=session, staff=staff, lang=lang, i18n=i18n, outbox=outbox, bot=bot
    )
    name = staff.full_name or str(staff.telegram_id)
    with i18n.use_locale(group_lang):
        done = _("✅ {name} closed appeal No. {number}.").format(
            name=escape(name), number=appeal_id
        )
        offer = None
        if delivery is not None:  # as after closing in the private chat
            builder = kb.InlineKeyboard()
            builder.button(
                text=_("💡 This answer would help others"),
                callback_data=TopicDeskCb(action="propose", appeal=appeal_id),
            )
            offer = builder.as_markup()
    await _edit(message, done, offer)
    if delivery is not None and not_reached(delivery):
        await query.answer(unreachable(), show_alert=True)
        return
    await query.answer(_("Appeal No. {number} is closed. Thank you!").format(number=appeal_id))


async def _hand_menu(
    query: CallbackQuery,
    message: Message,
    data: TopicDeskCb,
    session: AsyncSession,
    staff: StaffView,
    group_lang: str,
    orgs: MemberOrgs,
    i18n: I18n,
) -> None:
    """Whom to hand it to, as the private desk offers: a colleague who covers the region,
    or another region's queue."""
    people = [
        (person.id, person.full_name or str(person.telegram_id))
        for person in (
            await colleagues_for(session, staff, data.appeal) if data.action == "hand" else []
        )
    ]
    await session.rollback()
    with i18n.use_locale(group_lang):
        builder = kb.InlineKeyboard()
        if data.action == "hand":
            for person_id, name in people:
                builder.button(
                    text="👤 " + name,
                    callback_data=TopicDeskCb(action="staff", appeal=data.appeal, value=person_id),
                )
            builder.button(
                text=_("🗺 To another region's queue"),
                callback_data=TopicDeskCb(action="regions", appeal=data.appeal),
            )
        else:
            for org in orgs.orgs:
                builder.button(
                    text=org.title(group_lang),
                    callback_data=TopicDeskCb(action="org", appeal=data.appeal, org=org.id),
                )
        builder.button(
            text=_("✖️ Cancel"), callback_data=TopicDeskCb(action="cancel", appeal=data.appeal)
        )
        builder.adjust(1 if data.action == "hand" else 2)
        text = _("Hand appeal No. {number} to:").format(number=data.appeal)
    if data.action == "hand":
        await message.answer(text, reply_markup=builder.as_markup())
    else:
        await _edit(message, text, builder.as_markup())
    await query.answer()
