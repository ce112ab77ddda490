"""The lawyers' desk: /queue, appeal cards with their whole thread, Take, /mine, writing
to the member (a writing mode tied to one appeal, or a Telegram reply to the member's
message), internal notes, release, hand-over."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_timedelta
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import DeskCb, HandCb, MemberAppealsCb, OutcomeCb, PickCb, ThreadCb
from bot.filters import FILE, WORDS, HasRole, Magic, MenuButton
from bot.handlers.desk.member_notices import tell_member_moved
from bot.handlers.desk.thread import age, files_of, pages
from bot.handlers.shared.common import outdated
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.forum import deliver_quietly, refresh_cards
from bot.handlers.shared.relay import (
    Writer,
    not_reached,
    send_later,
    unreachable,
)
from bot.handlers.shared.states import AnswerPreview, LawyerNote, LawyerReply
from bot.outbox import Outbox
from bot.outbox.texts import TO_MEMBER
from bot.services.desk import (
    AppealCard,
    DeskError,
    awaiting_answer,
    claim,
    lawyer_stats,
    member_of,
    my_open_appeals,
    open_card,
    queue_page,
    release,
)
from bot.services.logged import is_logged
from bot.services.members import MemberView
from bot.services.staff import StaffView
from bot.storage.models import Appeal, AppealStatus, OutboxMessage, StaffRole, utcnow
from bot.topics import TOPICS, MemberOrgs, topic_title

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))

PER_PAGE = 8
WRITING = (
    LawyerReply.message.state,
    LawyerNote.text.state,
    AnswerPreview.search.state,
    AnswerPreview.text.state,
)


async def end_writing(state: FSMContext, appeal_id: int | None = None) -> None:
    """Writing to a member (or a note) is tied to one appeal: it ends as soon as the lawyer
    turns to another appeal (opens, takes, releases, closes, hands over), so words meant for
    one member can never reach another."""
    if await state.get_state() not in WRITING:
        return
    data = await state.get_data()
    if appeal_id is None or appeal_id not in (
        data.get("appeal_id"),
        data.get("note_appeal"),
        data.get("preview_appeal"),
    ):
        await state.set_state(None)


async def queue_view(
    session: AsyncSession, staff: StaffView, orgs: MemberOrgs, lang: str, page: int, topic: str
) -> tuple[str, InlineKeyboardMarkup]:
    appeals, total = await queue_page(
        session, staff, topic=topic or None, offset=page * PER_PAGE, limit=PER_PAGE
    )
    header = _("<b>Queue</b>: {total} appeals waiting").format(total=total)
    if topic:
        header += " · " + escape(topic_title(topic, lang))
    builder = kb.InlineKeyboard()
    for appeal in appeals:
        builder.button(
            text=" · ".join(
                (
                    f"№ {appeal.id}",
                    age(appeal.created_at, lang),
                    topic_title(appeal.topic, lang),
                    orgs.title(appeal.member_org, lang),
                )
            ),
            callback_data=DeskCb(action="card", value=appeal.id),
        )
    builder.adjust(1)
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text="◀️", callback_data=DeskCb(action="queue", value=page - 1, topic=topic).pack()
            )
        )
    nav.append(
        InlineKeyboardButton(text=_("🔎 Topic"), callback_data=DeskCb(action="topics").pack())
    )
    if (page + 1) * PER_PAGE < total:
        nav.append(
            InlineKeyboardButton(
                text="▶️", callback_data=DeskCb(action="queue", value=page + 1, topic=topic).pack()
            )
        )
    builder.row(*nav)
    if not total:
        header += "\n" + _("Nothing is waiting. New appeals will appear here.")
    return header, builder.as_markup()


def cannot_write() -> str:
    """Said when a lawyer would write in an appeal logged from a letter or a visit."""
    return _(
        "This appeal came in writing or in person: the bot cannot write to anyone in it. "
        "Answer the person as they came to you, keep what you did in an internal note and "
        "close the appeal with its outcome."
    )


def card_screen(
    card: AppealCard,
    staff: StaffView,
    orgs: MemberOrgs,
    lang: str,
    tz: ZoneInfo,
    page: int | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of the card (the last, newest, unless `page` is given) and its buttons."""
    texts = pages(card, orgs, lang, tz)
    shown = len(texts) - 1 if page is None else max(0, min(page, len(texts) - 1))
    return texts[shown], card_markup(card, staff, shown, len(texts))


def card_markup(
    card: AppealCard, staff: StaffView, page: int = 0, total: int = 1
) -> InlineKeyboardMarkup:
    appeal = card.appeal
    builder = kb.InlineKeyboard()
    if appeal.status in (AppealStatus.QUEUED, AppealStatus.REOPENED):
        builder.button(text=_("✋ Take"), callback_data=DeskCb(action="take", value=appeal.id))
    elif appeal.claimed_by == staff.id and appeal.status in (
        AppealStatus.CLAIMED,
        AppealStatus.ANSWERED,
    ):
        if not is_logged(appeal):  # a logged appeal has nobody the bot can write to
            builder.button(
                text=_("✍️ Write to the member"),
                callback_data=DeskCb(action="reply", value=appeal.id),
            )
        builder.button(
            text=_("✅ Close with the outcome"),
            callback_data=OutcomeCb(action="open", appeal=appeal.id),
        )
        builder.button(
            text=_("📝 Internal note"), callback_data=DeskCb(action="note", value=appeal.id)
        )
        builder.button(
            text=_("↩️ Back to the queue"), callback_data=DeskCb(action="release", value=appeal.id)
        )
        builder.button(
            text=_("🔀 Hand over"), callback_data=HandCb(action="menu", appeal=appeal.id)
        )
        builder.adjust(1)
        if not is_logged(appeal):
            # A ready text, previewed before it goes (bot/handlers/desk/ready_texts.py).
            builder.row(
                InlineKeyboardButton(
                    text=_("📋 Saved reply"),
                    callback_data=PickCb(action="saved", appeal=appeal.id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("📖 FAQ answer"),
                    callback_data=PickCb(action="faq", appeal=appeal.id).pack(),
                ),
            )
    if card.other_appeals:
        builder.button(
            text=_("🗂 The member's other appeals"),
            callback_data=MemberAppealsCb(appeal=appeal.id),
        )
    files = len(files_of(card))
    if files:
        builder.button(
            text=_("📎 Files ({count})").format(count=files),
            callback_data=DeskCb(action="files", value=appeal.id),
        )
    builder.adjust(1)
    if total > 1:
        nav = []
        if page > 0:
            nav.append(
                InlineKeyboardButton(
                    text=_("◀️ Earlier"),
                    callback_data=ThreadCb(appeal=appeal.id, page=page - 1).pack(),
                )
            )
        if page + 1 < total:
            nav.append(
                InlineKeyboardButton(
                    text=_("Later ▶️"),
                    callback_data=ThreadCb(appeal=appeal.id, page=page + 1).pack(),
                )
            )
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(text=_("⬅️ Queue"), callback_data=DeskCb(action="queue").pack())
    )
    return builder.as_markup()


@router.message(Command("queue"))
async def cmd_queue(
    message: Message,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    state: FSMContext,
) -> None:
    await end_writing(state)
    text, markup = await queue_view(session, staff, orgs, _lang(member, i18n), 0, "")
    await message.answer(text, reply_markup=markup)


@router.callback_query(DeskCb.filter(F.action == "queue"))
async def on_queue(
    query: CallbackQuery,
    callback_data: DeskCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    topic = callback_data.topic if callback_data.topic in TOPICS else ""
    text, markup = await queue_view(
        session, staff, orgs, _lang(member, i18n), max(0, callback_data.value), topic
    )
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(DeskCb.filter(F.action == "topics"))
async def on_topics(query: CallbackQuery, member: MemberView | None, i18n: I18n) -> None:
    lang = _lang(member, i18n)
    builder = kb.InlineKeyboard()
    builder.button(text=_("All topics"), callback_data=DeskCb(action="queue"))
    for topic in TOPICS:
        builder.button(
            text=topic_title(topic, lang), callback_data=DeskCb(action="queue", topic=topic)
        )
    builder.adjust(1, 2)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Show the queue for which topic?"), reply_markup=builder.as_markup()
        )
    await query.answer()


@router.callback_query(DeskCb.filter(F.action == "card"))
async def on_card(
    query: CallbackQuery,
    callback_data: DeskCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
    state: FSMContext,
) -> None:
    try:
        card = await open_card(session, staff, callback_data.value)
        await session.commit()
    except DeskError:
        await query.answer(outdated(), show_alert=True)
        return
    await end_writing(state, card.appeal.id)
    if isinstance(query.message, Message):
        text, markup = card_screen(card, staff, orgs, _lang(member, i18n), tz)
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(ThreadCb.filter())
async def on_thread_page(
    query: CallbackQuery,
    callback_data: ThreadCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
    state: FSMContext,
) -> None:
    try:
        card = await open_card(session, staff, callback_data.appeal, audited=False)
    except DeskError:
        await query.answer(outdated(), show_alert=True)
        return
    await end_writing(state, card.appeal.id)  # another appeal's pages: not its member's
    if isinstance(query.message, Message):
        text, markup = card_screen(
            card, staff, orgs, _lang(member, i18n), tz, page=callback_data.page
        )
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(DeskCb.filter(F.action == "files"))
async def on_files(
    query: CallbackQuery,
    callback_data: DeskCb,
    session: AsyncSession,
    staff: StaffView,
    bot: Bot,
    state: FSMContext,
) -> None:
    """The appeal's files sent again by Telegram's file id (nothing is downloaded)."""
    try:
        card = await open_card(session, staff, callback_data.value, audited=False)
    except DeskError:
        await query.answer(outdated(), show_alert=True)
        return
    await end_writing(state, card.appeal.id)
    await query.answer()
    caption = _("Appeal No. {number}").format(number=card.appeal.id)
    for item in files_of(card):
        if item.get("kind") == "photo":
            await bot.send_photo(query.from_user.id, item["file_id"], caption=caption)
        else:
            await bot.send_document(query.from_user.id, item["file_id"], caption=caption)


@router.callback_query(DeskCb.filter(F.action == "take"))
async def on_take(
    query: CallbackQuery,
    callback_data: DeskCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
    bot: Bot,
    state: FSMContext,
    outbox: Outbox,
) -> None:
    await end_writing(state, callback_data.value)
    lang = _lang(member, i18n)
    try:
        result = await claim(session, staff, callback_data.value)
        rows = []
        # A logged appeal's person cannot be reached: nobody to tell.
        if result.won and not is_logged(await session.get_one(Appeal, callback_data.value)):
            # The member's notice is stored with the claim itself: one commit, so a crash
            # cannot keep the claim and lose the notice.
            person = await member_of(session, callback_data.value)
            with i18n.use_locale(person.language):
                notice = _(
                    "👩‍⚖️ A union lawyer has taken your appeal No. {number} and will answer here."
                ).format(number=callback_data.value)
            rows = send_later(
                session,
                outbox,
                [SendMessage(chat_id=person.telegram_id, text=notice)],
                purpose=TO_MEMBER,
                appeal_id=callback_data.value,
                writer=Writer(staff.telegram_id, lang),
            )
        cards: list[OutboxMessage] = []
        if result.won:  # the appeal's topic cards show it taken
            cards = await refresh_cards(
                callback_data.value, AppealStatus.CLAIMED, session=session, outbox=outbox, i18n=i18n
            )
        await session.commit()
    except DeskError:
        await session.rollback()
        await query.answer(outdated(), show_alert=True)
        return
    await deliver_quietly(bot, outbox, cards)
    if not result.won and not result.mine:
        await query.answer(
            _("Already taken by {name}.").format(name=result.holder or "—"), show_alert=True
        )
        return
    card = await open_card(session, staff, callback_data.value)
    await session.commit()
    if isinstance(query.message, Message):
        text, markup = card_screen(card, staff, orgs, lang, tz)
        await query.message.edit_text(text, reply_markup=markup)
    if result.mine:  # a tap on an old card: it is theirs already, shown as it is
        await query.answer(_("This appeal is already yours."))
        return
    delivery = await outbox.deliver(bot, rows)
    if not_reached(delivery):
        await query.answer(_("The appeal is yours.") + "\n" + unreachable(), show_alert=True)
    else:
        await query.answer(_("The appeal is yours."))


@router.message(Command("mine"))
async def cmd_mine(
    message: Message,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    state: FSMContext,
) -> None:
    await end_writing(state)
    lang = _lang(member, i18n)
    appeals = await my_open_appeals(session, staff)
    waiting = await awaiting_answer(session, [appeal.id for appeal in appeals])
    builder = kb.InlineKeyboard()
    for appeal in appeals:
        builder.button(
            text=("🆕 " if appeal.id in waiting else "")
            + " · ".join(
                (
                    f"№ {appeal.id}",
                    topic_title(appeal.topic, lang),
                    orgs.title(appeal.member_org, lang),
                )
            ),
            callback_data=DeskCb(action="card", value=appeal.id),
        )
    builder.adjust(1)
    text = _("<b>Your open appeals</b>: {count}").format(count=len(appeals))
    if waiting:
        text += "\n" + _("🆕 the member wrote since your last answer: {count}").format(
            count=len(waiting)
        )
    if not appeals:
        text += "\n" + _("Take one from the /queue.")
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(DeskCb.filter(F.action == "release"))
async def on_release(
    query: CallbackQuery,
    callback_data: DeskCb,
    session: AsyncSession,
    staff: StaffView,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
    outbox: Outbox,
) -> None:
    await end_writing(state)
    try:
        appeal = await release(session, staff, callback_data.value)
        cards = await refresh_cards(
            appeal.id, appeal.status, session=session, outbox=outbox, i18n=i18n
        )
        cards += await tell_member_moved(appeal, "queue", session=session, outbox=outbox, i18n=i18n)
        await session.commit()
    except DeskError:
        await session.rollback()
        await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
        return
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Appeal No. {number} is back in the queue of its region.").format(number=appeal.id)
        )
    await deliver_quietly(bot, outbox, cards)
    await query.answer()


@router.message(Command("mystats"))
async def cmd_mystats(
    message: Message,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
) -> None:
    lang = _lang(member, i18n)
    now = utcnow().astimezone(tz)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    stats = await lawyer_stats(session, staff, month_start)
    median = (
        format_timedelta(stats.median_first_answer, threshold=1.1, locale=lang)
        if stats.median_first_answer is not None
        else "—"
    )
    await message.answer(
        _(
            "<b>Your statistics</b>\n"
            "Open appeals: {open}\n"
            "Closed this month: {closed}\n"
            "Median time to the first answer this month: {median}"
        ).format(open=stats.open, closed=stats.closed_this_month, median=median)
    )


@router.message(StateFilter(None), Magic(WORDS.magic | FILE.magic), ~MenuButton(*kb.MENU))
async def on_words_for_nobody(message: Message) -> None:
    """A lawyer's words with no appeal chosen go nowhere, and the lawyer is told how to
    address them: a message to the wrong member is worse than none."""
    await message.answer(
        _(
            "This was not sent to anyone. To write to a member, press “✍️ Write to the "
            "member” on the appeal's card (/mine), or reply to the member's message. To "
            "search the legal FAQ, use /faq."
        )
    )
