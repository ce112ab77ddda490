"""The lawyers' archive: `/appeal N` opens any appeal of their regions, open or closed;
`/find words` searches them by number, @username, the member's name and the words of the
appeal and its thread; a card's "member's appeals" lists the member's other appeals."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import DeskCb, FindCb, MemberAppealsCb
from bot.filters import HasRole
from bot.handlers.desk.desk import card_screen, end_writing
from bot.handlers.shared.appeals import status_label
from bot.handlers.shared.common import outdated
from bot.handlers.shared.common import reader_language as _lang
from bot.i18n import fmt_date
from bot.services.archive import Findings, appeal_number, find, member_appeals
from bot.services.desk import DeskError, open_card
from bot.services.limits import MAX_TEXT
from bot.services.members import MemberView
from bot.services.staff import StaffView
from bot.storage.models import StaffRole
from bot.topics import MemberOrgs, topic_title

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))

PER_PAGE = 8
QUERY_KEY = "find_query"  # the FSM data key of the last /find
MAX_QUERY = min(200, MAX_TEXT)


def findings_view(
    findings: Findings,
    heading: str,
    page: int,
    orgs: MemberOrgs,
    lang: str,
    tz: ZoneInfo,
    page_data: Callable[[int], str],
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of appeals found: a line each, a button each opening its card."""
    lines = [heading]
    builder = kb.InlineKeyboard()
    for found in findings.appeals:
        lines.append(
            " · ".join(
                (
                    f"<b>№ {found.id}</b>",
                    fmt_date(found.created_at, lang, tz),
                    escape(topic_title(found.topic, lang)),
                    escape(orgs.title(found.member_org, lang)),
                    status_label(found.status),
                )
            )
        )
        who = found.member_name or _("(name not given)")
        builder.button(
            text=f"№ {found.id} · {who}"[:60], callback_data=DeskCb(action="card", value=found.id)
        )
    builder.adjust(1)
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀️", callback_data=page_data(page - 1)))
    if (page + 1) * PER_PAGE < findings.total:
        nav.append(InlineKeyboardButton(text="▶️", callback_data=page_data(page + 1)))
    if nav:
        builder.row(*nav)
    return "\n".join(lines), builder.as_markup()


async def _find_view(
    session: AsyncSession,
    staff: StaffView,
    query: str,
    page: int,
    orgs: MemberOrgs,
    lang: str,
    tz: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup | None]:
    try:
        findings = await find(session, staff, query, offset=page * PER_PAGE, limit=PER_PAGE)
    except DeskError:
        return usage(), None
    if not findings.total:
        return _("Nothing found for «{query}» among the appeals of your regions.").format(
            query=escape(query)
        ), None
    heading = _("🔎 «{query}»: {count} appeals, newest first").format(
        query=escape(query), count=findings.total
    )
    return findings_view(findings, heading, page, orgs, lang, tz, lambda n: FindCb(page=n).pack())


def usage() -> str:
    return _(
        "Write /find and what to look for: an appeal's number, the member's name or "
        "@username, or words of the appeal or its conversation. For example: /find отпуск"
    )


@router.message(Command("appeal"))
async def cmd_appeal(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
    state: FSMContext,
) -> None:
    number = appeal_number(command.args or "")
    if number is None:
        await message.answer(_("Write /appeal and the appeal's number, for example /appeal 123."))
        return
    try:
        card = await open_card(session, staff, number)
        await session.commit()
    except DeskError:
        await message.answer(
            _("There is no appeal No. {number} among the appeals of your regions.").format(
                number=number
            )
        )
        return
    await end_writing(state, card.appeal.id)
    text, markup = card_screen(card, staff, orgs, _lang(member, i18n), tz)
    await message.answer(text, reply_markup=markup)


@router.message(Command("find"))
async def cmd_find(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
    state: FSMContext,
) -> None:
    query = " ".join((command.args or "").split())[:MAX_QUERY]
    if not query:
        await message.answer(usage())
        return
    await end_writing(state)
    await state.update_data({QUERY_KEY: query})
    text, markup = await _find_view(session, staff, query, 0, orgs, _lang(member, i18n), tz)
    await message.answer(text, reply_markup=markup)


@router.callback_query(FindCb.filter())
async def on_find_page(
    query: CallbackQuery,
    callback_data: FindCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
    state: FSMContext,
) -> None:
    words = (await state.get_data()).get(QUERY_KEY)
    if not isinstance(words, str) or not words:
        await query.answer(outdated(), show_alert=True)
        return
    text, markup = await _find_view(
        session, staff, words, callback_data.page, orgs, _lang(member, i18n), tz
    )
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(MemberAppealsCb.filter())
async def on_member_appeals(
    query: CallbackQuery,
    callback_data: MemberAppealsCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
) -> None:
    page = callback_data.page
    try:
        findings = await member_appeals(
            session, staff, callback_data.appeal, offset=page * PER_PAGE, limit=PER_PAGE
        )
    except DeskError:
        await query.answer(outdated(), show_alert=True)
        return
    heading = _("🗂 The member's other appeals (appeal No. {number}): {count}").format(
        number=callback_data.appeal, count=findings.total
    )
    text, markup = findings_view(
        findings,
        heading,
        page,
        orgs,
        _lang(member, i18n),
        tz,
        lambda n: MemberAppealsCb(appeal=callback_data.appeal, page=n).pack(),
    )
    back = InlineKeyboardButton(
        text=_("⬅️ Appeal No. {number}").format(number=callback_data.appeal),
        callback_data=DeskCb(action="card", value=callback_data.appeal).pack(),
    )
    markup.inline_keyboard.append([back])
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()
