"""/inbox: admins read the union mailbox, newest first, paged."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import InboxCb
from bot.filters import HasRole
from bot.handlers.member.mailbox import KIND_LABELS
from bot.handlers.shared.media import clip
from bot.i18n import fmt_datetime, fmt_number
from bot.services.mailbox import inbox_page
from bot.services.members import MemberView
from bot.services.staff import StaffView, audit
from bot.storage.models import Member, StaffRole
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.ADMIN))
router.callback_query.filter(HasRole(StaffRole.ADMIN))

PER_PAGE = 5


async def inbox_view(
    session: AsyncSession, page: int, lang: str, tz: ZoneInfo, orgs: MemberOrgs, reader: StaffView
) -> tuple[str, InlineKeyboardMarkup]:
    items, total = await inbox_page(session, page=page, per_page=PER_PAGE)
    # Reading members' messages (with their names when not anonymous) is audited.
    await audit(session, reader.telegram_id, "read-inbox", page=page)
    await session.commit()
    if not total:
        return _("The union mailbox is empty."), kb.InlineKeyboard().as_markup()
    pages = (total + PER_PAGE - 1) // PER_PAGE
    blocks = [
        _("<b>Union mailbox</b>: {total} messages, page {page} of {pages}").format(
            total=fmt_number(total, lang), page=page + 1, pages=pages
        )
    ]
    for item, author in items:
        who = _("anonymous") if item.anonymous or author is None else _author(author)
        text = (
            escape(clip(item.text, 600))
            if item.text
            # /forget, or the retention period (bot/services/privacy.py): the row stays counted
            else "<i>{}</i>".format(
                _("The text is erased: at the member's request, or after the storage period.")
            )
        )
        blocks.append(
            "\n".join(
                (
                    f"#{item.id} · {fmt_datetime(item.created_at, lang, tz)} · "
                    + _(KIND_LABELS[item.kind]),
                    f"{escape(orgs.title(item.member_org, lang))} · {who}",
                    text,
                )
            )
        )
    builder = kb.InlineKeyboard()
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀️", callback_data=InboxCb(page=page - 1).pack()))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(text="▶️", callback_data=InboxCb(page=page + 1).pack()))
    if nav:
        builder.row(*nav)
    return "\n\n".join(blocks), builder.as_markup()


def _author(member: Member) -> str:
    name = escape(member.full_name or "")
    handle = "@" + escape(member.username) if member.username else ""
    return " ".join(p for p in (name, handle) if p) or f"id {member.telegram_id}"


@router.message(Command("inbox"))
async def cmd_inbox(
    message: Message,
    session: AsyncSession,
    tz: ZoneInfo,
    orgs: MemberOrgs,
    member: MemberView | None,
    staff: StaffView,
) -> None:
    lang = member.language if member else "kk"
    text, markup = await inbox_view(session, 0, lang, tz, orgs, staff)
    await message.answer(text, reply_markup=markup)


@router.callback_query(InboxCb.filter())
async def on_page(
    query: CallbackQuery,
    callback_data: InboxCb,
    session: AsyncSession,
    tz: ZoneInfo,
    orgs: MemberOrgs,
    member: MemberView | None,
    staff: StaffView,
) -> None:
    lang = member.language if member else "kk"
    text, markup = await inbox_view(session, max(0, callback_data.page), lang, tz, orgs, staff)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()
