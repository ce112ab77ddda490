"""/my: the member's appeals with status; adding a message to an open one."""

from __future__ import annotations

from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import MyCb
from bot.filters import FILE, WORDS, Magic, MenuButton, Registered
from bot.handlers.member.appeal import appeal_error_text
from bot.handlers.member.conversation import add_from_message, deps_of
from bot.handlers.shared.appeals import status_label
from bot.handlers.shared.common import outdated
from bot.handlers.shared.media import clip
from bot.handlers.shared.states import AddToAppeal
from bot.i18n import fmt_date, fmt_datetime, fmt_number
from bot.services.appeals import (
    MAX_ATTACHMENTS,
    AppealError,
    get_member_appeal,
    list_member_appeals,
    visible_thread,
)
from bot.services.members import MemberView
from bot.storage.models import OPEN_STATUSES, Appeal, MessageSide
from bot.topics import topic_title

router = Router(name=__name__)
router.message.filter(Registered())
router.callback_query.filter(Registered())

PER_PAGE = 5


async def list_view(
    session: AsyncSession, member: MemberView, page: int, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    appeals, total = await list_member_appeals(
        session, member, offset=page * PER_PAGE, limit=PER_PAGE
    )
    builder = kb.InlineKeyboard()
    if not total:
        return (
            _("You have no appeals yet. To ask a lawyer, press “✍️ Ask a lawyer” or send /ask."),
            builder.as_markup(),
        )
    blocks = [_("<b>Your appeals</b> ({total})").format(total=fmt_number(total, member.language))]
    for appeal in appeals:
        blocks.append(
            f"№ {appeal.id} · {fmt_date(appeal.created_at, member.language, tz)} · "
            f"{escape(topic_title(appeal.topic, member.language))}\n"
            f"{status_label(appeal.status)}"
        )
        builder.button(
            text=_("Appeal No. {number}").format(number=appeal.id),
            callback_data=MyCb(action="open", value=appeal.id),
        )
    builder.adjust(1)
    pages = (total + PER_PAGE - 1) // PER_PAGE
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(text="◀️", callback_data=MyCb(action="list", value=page - 1).pack())
        )
    if page + 1 < pages:
        nav.append(
            InlineKeyboardButton(text="▶️", callback_data=MyCb(action="list", value=page + 1).pack())
        )
    if nav:
        builder.row(*nav)
        blocks.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    return "\n\n".join(blocks), builder.as_markup()


async def card_view(
    session: AsyncSession, member: MemberView, appeal: Appeal, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    lang = member.language
    text = clip(str(appeal.text or ""), 1500)
    parts = [
        _("<b>Appeal No. {number}</b>").format(number=appeal.id),
        _("Status: {status}").format(status=status_label(appeal.status)),
        _("Topic: {topic}").format(topic=escape(topic_title(appeal.topic, lang))),
        _("Sent: {date}").format(date=fmt_datetime(appeal.created_at, lang, tz)),
    ]
    if appeal.attachments:
        parts.append(_("Files: {count}").format(count=len(appeal.attachments)))
    if appeal.hide_from_employer:
        parts.append(
            _(
                "🔒 You asked the union's lawyers not to name you to your workplace's union "
                "committee."
            )
        )
    body = "\n".join(parts) + f"\n\n«{escape(text)}»"
    thread = await visible_thread(session, appeal)
    if thread:
        body += "\n\n<b>{}</b>".format(_("Latest messages:"))
        for item in thread:
            who = _("You") if item.side == MessageSide.MEMBER else _("Lawyer")
            snippet = escape(clip(item.text or _("(file)"), 300))
            body += f"\n{fmt_datetime(item.sent_at, lang, tz)} · {who}: {snippet}"
    builder = kb.InlineKeyboard()
    if appeal.status in OPEN_STATUSES:
        builder.button(text=_("✍️ Add a message"), callback_data=MyCb(action="add", value=appeal.id))
    builder.button(text=_("⬅️ All my appeals"), callback_data=MyCb(action="list", value=0))
    builder.adjust(1)
    return body, builder.as_markup()


@router.message(Command("my"))
@router.message(MenuButton(kb.BTN_MY))
async def cmd_my(
    message: Message, session: AsyncSession, member: MemberView, tz: ZoneInfo, state: FSMContext
) -> None:
    if await state.get_state() == AddToAppeal.message.state:
        await state.set_state(None)
    text, markup = await list_view(session, member, 0, tz)
    await message.answer(text, reply_markup=markup)


@router.callback_query(MyCb.filter(F.action == "list"))
async def on_list(
    query: CallbackQuery,
    callback_data: MyCb,
    session: AsyncSession,
    member: MemberView,
    tz: ZoneInfo,
) -> None:
    text, markup = await list_view(session, member, max(0, callback_data.value), tz)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(MyCb.filter(F.action == "open"))
async def on_open(
    query: CallbackQuery,
    callback_data: MyCb,
    session: AsyncSession,
    member: MemberView,
    tz: ZoneInfo,
) -> None:
    try:
        appeal = await get_member_appeal(session, member, callback_data.value)
    except AppealError:
        await query.answer(outdated(), show_alert=True)
        return
    text, markup = await card_view(session, member, appeal, tz)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(MyCb.filter(F.action == "add"))
async def on_add(
    query: CallbackQuery,
    callback_data: MyCb,
    session: AsyncSession,
    member: MemberView,
    state: FSMContext,
) -> None:
    try:
        appeal = await get_member_appeal(session, member, callback_data.value)
    except AppealError:
        await query.answer(outdated(), show_alert=True)
        return
    if appeal.status not in OPEN_STATUSES:
        await query.answer(appeal_error_text("closed"), show_alert=True)
        return
    await state.set_state(AddToAppeal.message)
    await state.update_data(appeal_id=appeal.id)
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Write your message for appeal No. {number}. You can also send a photo or a "
                "document (up to {limit} per appeal). To cancel, send /my."
            ).format(number=appeal.id, limit=MAX_ATTACHMENTS)
        )
    await query.answer()


@router.message(StateFilter(AddToAppeal.message), Magic(WORDS.magic | FILE.magic))
async def on_added_message(message: Message, state: FSMContext, **data: Any) -> None:
    appeal_id = int((await state.get_data()).get("appeal_id") or 0)
    if await add_from_message(message, appeal_id, undo=False, **deps_of(data)):
        await state.set_state(None)
