"""Admins: /invite ROLE [org …] gives a one-time code; /staff lists and changes roles."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import StaffCb
from bot.filters import HasRole
from bot.i18n import fmt_datetime
from bot.services.members import MemberView
from bot.services.staff import (
    StaffDirectory,
    StaffError,
    StaffView,
    change_role,
    create_invite,
    list_staff,
)
from bot.staff_texts import ROLE_TITLES, role_title
from bot.storage.models import StaffRole
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.ADMIN))
router.callback_query.filter(HasRole(StaffRole.ADMIN))


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
) -> None:
    words = (command.args or "").split()
    if not words or words[0] not in {r.value for r in StaffRole}:
        await message.answer(_usage(orgs))
        return
    role = StaffRole(words[0])
    try:
        invite = await create_invite(session, staff, role, words[1:], known_orgs=set(orgs.by_id))
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
    lang = member.language if member else "kk"
    regions = ", ".join(orgs.title(o, lang) for o in invite.member_orgs) or "—"
    await message.answer(
        _(
            "Invite for the role <b>{role}</b> (regions: {regions}).\n"
            "Code: <code>{code}</code>\nValid until {until}, once.\n"
            "The person sends to this bot: <code>/join {code}</code>"
        ).format(
            role=role_title(role),
            regions=escape(regions),
            code=invite.code,
            until=fmt_datetime(invite.expires_at, lang, tz),
        )
    )


async def staff_view(
    session: AsyncSession, orgs: MemberOrgs, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    people = await list_staff(session)
    lines = [_("<b>Staff</b> ({count})").format(count=len(people))]
    builder = kb.InlineKeyboard()
    for person in people:
        regions = ", ".join(orgs.title(o, lang) for o in person.member_orgs or [])
        name = escape(person.full_name or str(person.telegram_id))
        lines.append(
            "• {name} — {role}{regions}".format(
                name=name,
                role=role_title(person.role),
                regions=f" ({escape(regions)})" if regions else "",
            )
        )
        builder.button(
            text=person.full_name or str(person.telegram_id),
            callback_data=StaffCb(action="pick", staff_id=person.id),
        )
    builder.adjust(2)
    return "\n".join(lines), builder.as_markup()


@router.message(Command("staff"))
async def cmd_staff(
    message: Message, session: AsyncSession, orgs: MemberOrgs, member: MemberView | None
) -> None:
    text, markup = await staff_view(session, orgs, member.language if member else "kk")
    await message.answer(text, reply_markup=markup)


@router.callback_query(StaffCb.filter(F.action == "pick"))
async def on_pick(query: CallbackQuery, callback_data: StaffCb) -> None:
    builder = kb.InlineKeyboard()
    for role in StaffRole:
        builder.button(
            text=_(ROLE_TITLES[role]),
            callback_data=StaffCb(action="role", staff_id=callback_data.staff_id, role=role.value),
        )
    builder.button(
        text=_("⛔ Revoke"), callback_data=StaffCb(action="revoke", staff_id=callback_data.staff_id)
    )
    builder.adjust(2)
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Choose the new role:"), reply_markup=builder.as_markup())
    await query.answer()


@router.callback_query(StaffCb.filter(F.action.in_({"role", "revoke"})))
async def on_change(
    query: CallbackQuery,
    callback_data: StaffCb,
    session: AsyncSession,
    staff: StaffView,
    staff_directory: StaffDirectory,
    orgs: MemberOrgs,
    member: MemberView | None,
) -> None:
    role = None
    if callback_data.action == "role":
        if callback_data.role not in {r.value for r in StaffRole}:
            await query.answer(
                _("This button is outdated. Please use the latest message."), show_alert=True
            )
            return
        role = StaffRole(callback_data.role)
    try:
        await change_role(session, staff, callback_data.staff_id, role)
        await session.commit()
    except StaffError as exc:
        await session.rollback()
        await query.answer(
            _("You cannot change your own role.")
            if exc.code == "self"
            else _("This button is outdated. Please use the latest message."),
            show_alert=True,
        )
        return
    staff_directory.invalidate()
    text, markup = await staff_view(session, orgs, member.language if member else "kk")
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer(_("Saved."))
