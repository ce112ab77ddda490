"""/join CODE: an invite code makes its holder staff (handled before onboarding).

The invite's start link (`/start join_CODE`, bot/links.py) goes through the same handler:
the same checks, audit and refusals.

Someone who already has a staff role is asked first (their role now and the invite's);
the code is used only when they say yes. Until then its hash waits in their FSM data with
a one-time token, so an older confirmation, or a made-up button, does nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.access import FIRST_TRY, numbers, refresh_menu, role_text, role_title, tell_members
from bot.callbacks import JoinCb
from bot.handlers.shared.common import outdated
from bot.handlers.shared.forum import released_cards
from bot.i18n import guess_language
from bot.links import JOIN, payload_after
from bot.outbox import Outbox
from bot.services.members import MemberDirectory
from bot.services.staff import (
    Joined,
    StaffDirectory,
    StaffError,
    StaffView,
    invite_digest,
    invite_to_redeem,
    join,
)
from bot.storage.models import OutboxMessage, utcnow
from bot.topics import MemberOrgs

router = Router(name=__name__)

CONFIRM_FOR = timedelta(minutes=15)  # a confirmation older than this is stale


def refused(code: str) -> str:
    if code == "own-invite":
        return _(
            "You made this invite yourself. An admin or head-lawyer invite must be made by "
            "another admin: ask them for one."
        )
    return _("This code is unknown, already used or expired. Ask an admin for a new one.")


def confirm_markup(token: str) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("✅ Yes, change my role"), callback_data=JoinCb(action="yes", token=token)
    )
    builder.button(text=_("✖️ No, keep my role"), callback_data=JoinCb(action="no", token=token))
    builder.adjust(1)
    return builder.as_markup()


async def _language(user: User, session: AsyncSession, member_directory: MemberDirectory) -> str:
    known = await member_directory.get(session, user.id)
    return known.language if known else guess_language(user)


def code_of(command: CommandObject) -> str:
    """The invite code: /join's argument, or what the start link carries after `join_`."""
    if command.command == "start":
        return payload_after(JOIN, command.args) or ""
    return (command.args or "").strip()


@router.message(Command("join"))
@router.message(CommandStart(deep_link=True, magic=F.args.startswith(JOIN)))
async def cmd_join(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    staff_directory: StaffDirectory,
    member_directory: MemberDirectory,
    orgs: MemberOrgs,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    outbox: Outbox,
    staff: StaffView | None = None,
) -> None:
    code = code_of(command)
    if not code or message.from_user is None:
        # A start link cut short is a bad code; a bare /join, a question of usage.
        await message.answer(
            refused("bad-code")
            if command.command == "start"
            else _("Send the code with the command: /join CODE")
        )
        return
    digest = invite_digest(code)
    lang = await _language(message.from_user, session, member_directory)
    try:
        invite = await invite_to_redeem(session, message.from_user.id, digest)
    except StaffError as exc:
        await message.answer(refused(exc.code))
        return
    if staff is not None:
        token = secrets.token_hex(8)
        until = (utcnow() + CONFIRM_FOR).isoformat()
        await state.update_data(join={"token": token, "hash": digest, "until": until})
        await message.answer(
            _(
                "You already have a staff role. Change it?\n"
                "Now: {now}\nWith this invite: {new}\n"
                "Appeals you hold of regions the new role does not cover go back to their "
                "queues. The code stays unused if you say no."
            ).format(
                now=role_text(staff.role, staff.member_orgs, orgs, lang),
                new=role_text(invite.role, invite.member_orgs or [], orgs, lang),
            ),
            reply_markup=confirm_markup(token),
        )
        return
    text, rows = await redeem(
        message.from_user,
        digest,
        session=session,
        staff_directory=staff_directory,
        lang=lang,
        bot=bot,
        i18n=i18n,
        outbox=outbox,
    )
    await message.answer(text)
    await outbox.deliver(bot, rows[:FIRST_TRY])


async def redeem(
    user: User,
    digest: str,
    *,
    session: AsyncSession,
    staff_directory: StaffDirectory,
    lang: str,
    bot: Bot,
    i18n: I18n,
    outbox: Outbox,
) -> tuple[str, list[OutboxMessage]]:
    """Use the invite; what to say, and the members' notices to send once said."""
    try:
        joined = await join(session, user.id, digest, user.full_name, language=lang)
    except StaffError as exc:
        await session.rollback()
        return refused(exc.code), []
    rows = tell_members(session, i18n, joined.released, not_before=outbox.head_start())
    rows += await released_cards(
        [r.appeal_id for r in joined.released], session=session, outbox=outbox, i18n=i18n
    )
    await session.commit()
    staff_directory.invalidate()
    await refresh_menu(bot, i18n, user.id, lang, joined.staff.role)
    return welcome(joined), rows


def welcome(joined: Joined) -> str:
    text = _(
        "Welcome to the union's team! Your role: {role}. Send /help to see your commands."
    ).format(role=role_title(joined.staff.role))
    if joined.released:
        text += "\n" + _(
            "These appeals went back to their regions' queues; the members are told "
            "another lawyer will take them: {numbers}."
        ).format(numbers=numbers(joined.released))
    return text


async def _take(state: FSMContext, token: str) -> str | None:
    """The code's hash kept by the latest /join, if the button carries its token and it is
    still fresh; used up either way once it matched."""
    pending = (await state.get_data()).get("join")
    if not isinstance(pending, dict) or not token:
        return None
    if not secrets.compare_digest(str(pending.get("token") or ""), token):
        return None
    await state.update_data(join=None)
    try:
        until = datetime.fromisoformat(str(pending.get("until")))
    except ValueError:
        return None
    return str(pending.get("hash") or "") if utcnow() <= until else None


@router.callback_query(JoinCb.filter(F.action == "yes"))
async def on_join_yes(
    query: CallbackQuery,
    callback_data: JoinCb,
    session: AsyncSession,
    state: FSMContext,
    staff_directory: StaffDirectory,
    member_directory: MemberDirectory,
    bot: Bot,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    digest = await _take(state, callback_data.token)
    if not digest:
        await query.answer(outdated(), show_alert=True)
        return
    lang = await _language(query.from_user, session, member_directory)
    text, rows = await redeem(
        query.from_user,
        digest,
        session=session,
        staff_directory=staff_directory,
        lang=lang,
        bot=bot,
        i18n=i18n,
        outbox=outbox,
    )
    if isinstance(query.message, Message):
        await query.message.edit_text(text)
    await query.answer()
    await outbox.deliver(bot, rows[:FIRST_TRY])


@router.callback_query(JoinCb.filter(F.action == "no"))
async def on_join_no(query: CallbackQuery, callback_data: JoinCb, state: FSMContext) -> None:
    if not await _take(state, callback_data.token):
        await query.answer(outdated(), show_alert=True)
        return
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Your role stays as it is; the code was not used."))
    await query.answer()
