"""Admins: /invite ROLE [org …] gives a one-time code (shown once: only its hash is
stored), its start link and the link's QR code; /invites lists the open ones, each
revocable."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.access import role_title
from bot.callbacks import InviteCb
from bot.filters import HasRole
from bot.handlers.shared.common import reader_language as _lang
from bot.i18n import fmt_datetime
from bot.links import JOIN, NO_PREVIEW, qr_png, start_link, username
from bot.services.members import MemberView
from bot.services.staff import (
    GUARDED_ROLES,
    StaffError,
    StaffView,
    create_invite,
    open_invites,
    revoke_invite,
)
from bot.storage.models import Staff, StaffRole
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.ADMIN))
router.callback_query.filter(HasRole(StaffRole.ADMIN))

SHOWN = 30  # invites listed at once; a union has a handful open at a time


def _usage(orgs: MemberOrgs) -> str:
    return _(
        "Usage: /invite ROLE [ORGANISATION …]\n"
        "Roles: lawyer, head-lawyer, press, admin. A lawyer needs one or more member "
        "organisations, by id: {ids}"
    ).format(ids=", ".join(o.id for o in orgs.orgs))


@router.message(Command("invite"))
async def cmd_invite(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
) -> None:
    words = (command.args or "").split()
    if not words or words[0] not in {r.value for r in StaffRole}:
        await message.answer(_usage(orgs))
        return
    role = StaffRole(words[0])
    # Before the invite is stored: the code is shown only once, with its link.
    bot_username = await username(bot)
    try:
        invite, code = await create_invite(
            session, staff, role, words[1:], known_orgs=set(orgs.by_id)
        )
        await session.commit()
    except StaffError as exc:
        await session.rollback()
        await message.answer(
            {
                "unknown-org": _("Unknown member organisation."),
                "lawyer-needs-org": _("A lawyer needs at least one member organisation."),
            }.get(exc.code, _("Not allowed."))
            + "\n\n"
            + _usage(orgs)
        )
        return
    lang = _lang(member, i18n)
    link = start_link(bot_username, JOIN + code)
    until = fmt_datetime(invite.expires_at, lang, tz)
    regions = ", ".join(orgs.title(o, lang) for o in invite.member_orgs) or "—"
    text = _(
        "Invite for the role <b>{role}</b> (regions: {regions}).\n"
        "Code: <code>{code}</code>\nValid until {until}, once.\n"
        "The person sends to this bot: <code>/join {code}</code>"
    ).format(
        role=role_title(role),
        regions=escape(regions),
        code=code,
        until=until,
    )
    text += "\n" + _("Or they open this link, which sends the code for them: {link}").format(
        link=link
    )
    text += "\n\n" + _(
        "The code is shown only now: the bot keeps only a fingerprint of it. /invites lists "
        "open invites and revokes them."
    )
    if role in GUARDED_ROLES:
        text += "\n" + _("You cannot use this code yourself: it is for someone else.")
    await message.answer(text, link_preview_options=NO_PREVIEW)
    await message.answer_photo(
        BufferedInputFile(qr_png(link), filename="invite.png"),
        caption=_(
            "The QR code of this invite's link: the person scans it with their phone's camera "
            "and the bot opens with the code. It is personal: give it only to the person you "
            "invite, never in a group or on a poster. It works once, until {until}."
        ).format(until=until),
    )


async def invites_view(
    session: AsyncSession, orgs: MemberOrgs, lang: str, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    invites = await open_invites(session)
    creators = {
        person.telegram_id: person.full_name or str(person.telegram_id)
        for person in await session.scalars(
            select(Staff).where(Staff.telegram_id.in_({i.created_by for i in invites}))
        )
    }
    lines = [_("<b>Open invites</b> ({count})").format(count=len(invites))]
    if not invites:
        lines.append(_("None: every invite was used, revoked or has expired."))
    builder = kb.InlineKeyboard()
    for invite in invites[:SHOWN]:
        regions = ", ".join(orgs.title(o, lang) for o in invite.member_orgs or [])
        lines.append(
            _("• No. {number}: {role}{regions}; by {creator}; until {until}").format(
                number=invite.id,
                role=role_title(invite.role),
                regions=f" ({escape(regions)})" if regions else "",
                creator=escape(creators.get(invite.created_by, str(invite.created_by))),
                until=fmt_datetime(invite.expires_at, lang, tz),
            )
        )
        builder.button(
            text=_("⛔ Revoke No. {number}").format(number=invite.id),
            callback_data=InviteCb(action="revoke", invite=invite.id),
        )
    builder.adjust(2)
    if len(invites) > SHOWN:
        lines.append(_("…and {count} more, expiring later.").format(count=len(invites) - SHOWN))
    return "\n".join(lines), builder.as_markup()


@router.message(Command("invites"))
async def cmd_invites(
    message: Message,
    session: AsyncSession,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    text, markup = await invites_view(session, orgs, _lang(member, i18n), tz)
    await message.answer(text, reply_markup=markup)


@router.callback_query(InviteCb.filter(F.action == "revoke"))
async def on_revoke(
    query: CallbackQuery,
    callback_data: InviteCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    try:
        await revoke_invite(session, staff, callback_data.invite)
        await session.commit()
    except StaffError:
        await session.rollback()
        await query.answer(
            _("This invite is no longer open: used, revoked or expired."), show_alert=True
        )
        return
    text, markup = await invites_view(session, orgs, _lang(member, i18n), tz)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer(_("Invite No. {number} is revoked.").format(number=callback_data.invite))
