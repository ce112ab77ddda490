"""The lawyers' desk: /queue, appeal cards, Take, /mine, writing to the member."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_timedelta
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import DeskCb, HandCb, MyCb, OutcomeCb
from bot.filters import FILE, WORDS, HasRole, Magic
from bot.handlers.common import reader_language as _lang
from bot.handlers.media import TEXT_LIMIT, attachment_of, clip, pass_on, pieces, utf16_len
from bot.handlers.reach import reach, unreachable
from bot.handlers.states import LawyerNote, LawyerReply
from bot.keyboards import WORKPLACE_LABELS
from bot.services.desk import (
    AppealCard,
    DeskError,
    add_note,
    claim,
    colleagues_for,
    hand_over,
    lawyer_stats,
    lawyer_writes,
    my_open_appeals,
    open_card,
    queue_page,
    release,
)
from bot.services.members import MemberDirectory, MemberView
from bot.services.staff import StaffView
from bot.storage.models import Appeal, AppealStatus, StaffRole, utcnow
from bot.topics import TOPICS, MemberOrgs, topic_title

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))

PER_PAGE = 8


def age(created: datetime, lang: str) -> str:
    return format_timedelta(utcnow() - created, threshold=1.1, format="short", locale=lang)


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


def card_text(card: AppealCard, orgs: MemberOrgs, lang: str, tz: ZoneInfo) -> str:
    return _card(card, orgs, lang, tz)[0]


def full_text(card: AppealCard, orgs: MemberOrgs, lang: str, tz: ZoneInfo) -> list[str]:
    """The member's whole text in messages of its own when the card could not hold it."""
    if not _card(card, orgs, lang, tz)[1]:
        return []
    return [escape(part) for part in pieces(card.appeal.text or "", TEXT_LIMIT)]


def _card(card: AppealCard, orgs: MemberOrgs, lang: str, tz: ZoneInfo) -> tuple[str, bool]:
    """The card's HTML, and whether the member's text had to be cut to fit it."""
    appeal, member = card.appeal, card.member
    who = escape(member.full_name or _("(name not given)"))
    if member.username:
        who += " @" + escape(member.username)
    lines = [
        _("<b>Appeal No. {number}</b> · {topic}").format(
            number=appeal.id, topic=escape(topic_title(appeal.topic, lang))
        ),
        _("Region: {org} · workplace: {workplace}").format(
            org=escape(orgs.title(appeal.member_org, lang)),
            workplace=_(WORKPLACE_LABELS[appeal.workplace_type]) if appeal.workplace_type else "—",
        ),
        _("Member: {who} · earlier appeals: {count}").format(who=who, count=card.earlier_appeals),
        _("Waiting: {age} · files: {files}").format(
            age=age(appeal.created_at, lang), files=len(appeal.attachments)
        ),
    ]
    if appeal.hide_from_employer:
        lines.append(_("🔒 Do not name the member to their workplace's union committee."))
    if card.lawyer is not None:
        lines.append(
            _("Taken by: {name}").format(
                name=escape(card.lawyer.full_name or str(card.lawyer.telegram_id))
            )
        )
    notes = ""
    if card.notes:
        notes = "\n\n<b>{}</b>".format(
            _("Internal notes (not sent to the member; included in their /mydata):")
        )
        for note in card.notes:
            notes += "\n📝 " + escape(clip(note.text or "", 300))
    head = "\n".join(lines)
    # The member's text gets what Telegram's limit leaves; a longer one is cut here and
    # sent in full after the card (full_text). The HTML counted as text: a safe margin.
    if appeal.text is None:  # /forget, or the retention period after closing
        erased = _("The text is erased: at the member's request, or after the storage period.")
        return head + f"\n\n<i>{erased}</i>" + notes, False
    body = clip(appeal.text, TEXT_LIMIT - utf16_len(head + notes) - 8)
    return head + f"\n\n«{escape(body)}»" + notes, body != appeal.text


def card_markup(appeal: Appeal, staff: StaffView) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    if appeal.status in (AppealStatus.QUEUED, AppealStatus.REOPENED):
        builder.button(text=_("✋ Take"), callback_data=DeskCb(action="take", value=appeal.id))
    elif appeal.claimed_by == staff.id and appeal.status in (
        AppealStatus.CLAIMED,
        AppealStatus.ANSWERED,
    ):
        builder.button(
            text=_("✍️ Write to the member"), callback_data=DeskCb(action="reply", value=appeal.id)
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
    builder.button(text=_("⬅️ Queue"), callback_data=DeskCb(action="queue"))
    builder.adjust(1)
    return builder.as_markup()


@router.message(Command("queue"))
async def cmd_queue(
    message: Message,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
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
    bot: Bot,
) -> None:
    try:
        card = await open_card(session, staff, callback_data.value)
        await session.commit()
    except DeskError:
        await query.answer(
            _("This button is outdated. Please use the latest message."), show_alert=True
        )
        return
    if isinstance(query.message, Message):
        await query.message.edit_text(
            card_text(card, orgs, _lang(member, i18n), tz),
            reply_markup=card_markup(card.appeal, staff),
        )
        for part in full_text(card, orgs, _lang(member, i18n), tz):
            await bot.send_message(query.from_user.id, part)
        # The member's files, sent again by file id (Telegram keeps them; nothing is downloaded).
        for item in card.appeal.attachments:
            caption = _("Appeal No. {number}").format(number=card.appeal.id)
            if item.get("kind") == "photo":
                await bot.send_photo(query.from_user.id, item["file_id"], caption=caption)
            else:
                await bot.send_document(query.from_user.id, item["file_id"], caption=caption)
    await query.answer()


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
) -> None:
    try:
        result = await claim(session, staff, callback_data.value)
        await session.commit()
    except DeskError:
        await session.rollback()
        await query.answer(
            _("This button is outdated. Please use the latest message."), show_alert=True
        )
        return
    if not result.won:
        await query.answer(
            _("Already taken by {name}.").format(name=result.holder or "—"), show_alert=True
        )
        return
    card = await open_card(session, staff, callback_data.value)
    await session.commit()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            card_text(card, orgs, _lang(member, i18n), tz),
            reply_markup=card_markup(card.appeal, staff),
        )
    with i18n.use_locale(card.member.language):
        notice = _(
            "👩‍⚖️ A union lawyer has taken your appeal No. {number} and will answer here."
        ).format(number=card.appeal.id)
    reached = await reach(
        card.member.telegram_id, lambda: bot.send_message(card.member.telegram_id, notice)
    )
    if reached:
        await query.answer(_("The appeal is yours."))
    else:
        await query.answer(_("The appeal is yours.") + "\n" + unreachable(), show_alert=True)


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
    await state.set_state(None)
    lang = _lang(member, i18n)
    appeals = await my_open_appeals(session, staff)
    builder = kb.InlineKeyboard()
    for appeal in appeals:
        builder.button(
            text=" · ".join(
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
    if not appeals:
        text += "\n" + _("Take one from the /queue.")
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(DeskCb.filter(F.action == "reply"))
async def on_reply(query: CallbackQuery, callback_data: DeskCb, state: FSMContext) -> None:
    await state.set_state(LawyerReply.message)
    await state.update_data(appeal_id=callback_data.value)
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Write to the member of appeal No. {number}: text, photos or documents. Each "
                "message goes to them as it is. Send /mine when you are done."
            ).format(number=callback_data.value)
        )
    await query.answer()


@router.message(StateFilter(LawyerReply.message), Magic(WORDS.magic | FILE.magic))
async def on_lawyer_message(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    i18n: I18n,
    bot: Bot,
) -> None:
    appeal_id = int((await state.get_data()).get("appeal_id") or 0)
    attachment = attachment_of(message)
    attachments = [attachment] if attachment else []
    text = message.text or message.caption
    try:
        appeal, member = await lawyer_writes(
            session, staff, appeal_id, text=text, attachments=attachments
        )
        await session.commit()
    except DeskError as exc:
        await session.rollback()
        await state.set_state(None)
        await message.answer(
            _("Too long: the limit is 3000 characters.")
            if exc.code == "too-long"
            else _("This appeal is not yours or is closed.")
        )
        return
    # Stored first; then copied (never forwarded: members who hide their account still get it).
    with i18n.use_locale(member.language):
        label = _("💬 Lawyer's answer to your appeal No. {number}:").format(number=appeal.id)
        reply = kb.InlineKeyboard()
        reply.button(text=_("✍️ Reply"), callback_data=MyCb(action="add", value=appeal.id))
        reached = await reach(
            member.telegram_id,
            lambda: pass_on(bot, member.telegram_id, message, label, reply.as_markup()),
        )
    if reached:
        await message.answer(
            _("Sent to the member (appeal No. {number}).").format(number=appeal.id)
        )
    else:
        await message.answer(
            _("Saved to appeal No. {number}.").format(number=appeal.id) + "\n" + unreachable()
        )


@router.callback_query(DeskCb.filter(F.action == "note"))
async def on_note(query: CallbackQuery, callback_data: DeskCb, state: FSMContext) -> None:
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
            _("Too long: the limit is 3000 characters.")
            if exc.code == "too-long"
            else _("This appeal is not yours or is closed.")
        )
        return
    await message.answer(_("Note saved to appeal No. {number}.").format(number=appeal_id))


@router.callback_query(DeskCb.filter(F.action == "release"))
async def on_release(
    query: CallbackQuery, callback_data: DeskCb, session: AsyncSession, staff: StaffView
) -> None:
    try:
        appeal = await release(session, staff, callback_data.value)
        await session.commit()
    except DeskError:
        await session.rollback()
        await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
        return
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Appeal No. {number} is back in the queue of its region.").format(number=appeal.id)
        )
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
) -> None:
    try:
        appeal, colleague = await hand_over(
            session,
            staff,
            callback_data.appeal,
            to_staff_id=callback_data.target if callback_data.action == "staff" else None,
            to_org=callback_data.org if callback_data.action == "org" else None,
            known_orgs=set(orgs.by_id),
        )
        await session.commit()
    except DeskError:
        await session.rollback()
        await query.answer(
            _("This button is outdated. Please use the latest message."), show_alert=True
        )
        return
    told = True
    if colleague is not None:
        lang = await member_directory.language_of(session, colleague.telegram_id)
        with i18n.use_locale(lang):
            open_it = kb.InlineKeyboard()
            open_it.button(
                text=_("Open the appeal"), callback_data=DeskCb(action="card", value=appeal.id)
            )
            handed = _("🔀 A colleague handed appeal No. {number} to you.").format(number=appeal.id)
        chat = colleague.telegram_id
        told = await reach(
            chat, lambda: bot.send_message(chat, handed, reply_markup=open_it.as_markup())
        )
    if isinstance(query.message, Message):
        where = (
            colleague.full_name or str(colleague.telegram_id)
            if colleague
            else orgs.title(appeal.member_org, _lang(member, i18n))
        )
        done = _("Appeal No. {number} is handed to {whom}.").format(
            number=appeal.id, whom=escape(where)
        )
        if not told:  # the colleague blocked the bot: they find it in /mine
            done += "\n" + _(
                "⚠️ The colleague could not be told in Telegram; the appeal is in their /mine."
            )
        await query.message.edit_text(done)
    await query.answer()
