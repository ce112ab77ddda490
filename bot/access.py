"""Staff roles as people read them; what people are told when someone's staff access
changes, and ADMIN_IDS at a start.

The rules are in bot/services/staff.py (`release_uncovered` and the functions that call
it); here: the texts, each in its reader's language, stored in the outbox in the
transaction of the change, so a crash cannot keep the change and lose the message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendMessage
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import set_chat_commands
from bot.handlers.shared.forum import released_cards
from bot.i18n import N_
from bot.outbox import letter
from bot.outbox.texts import NOTICE, TO_MEMBER
from bot.services.members import MemberDirectory
from bot.services.staff import Released, ensure_admins, release_stale_holds
from bot.storage import outbox as store
from bot.storage.models import OutboxMessage, Staff, StaffRole, utcnow
from bot.topics import MemberOrgs

if TYPE_CHECKING:
    from bot.context import Context

log = logging.getLogger(__name__)

# Notices a handler tries itself before it is done; a lawyer with hundreds of appeals
# leaves the rest to the outbox's sender, which paces them (a few seconds later).
FIRST_TRY = 20

ROLE_TITLES = {
    StaffRole.ADMIN: N_("admin"),
    StaffRole.HEAD_LAWYER: N_("head lawyer (all regions)"),
    StaffRole.LAWYER: N_("lawyer"),
    StaffRole.PRESS: N_("press secretary"),
}


def role_title(role: StaffRole) -> str:
    return _(ROLE_TITLES[role])


def back_in_queue(number: int) -> str:
    """The member's notice: no lawyer's name, nothing they wrote is lost."""
    return _(
        "ℹ️ Your appeal No. {number} is back in the queue of your member organisation: the "
        "lawyer who had it no longer handles your region. Another union lawyer will take it "
        "and answer here; everything you wrote is kept in the appeal."
    ).format(number=number)


def tell_members(
    session: AsyncSession,
    i18n: I18n,
    released: Sequence[Released],
    *,
    not_before: datetime | None = None,
) -> list[OutboxMessage]:
    """One message per appeal that went back to the queue, in its member's language (none
    for a person nobody can reach: an erased member, an appeal a lawyer logged)."""
    rows: list[OutboxMessage] = []
    for item in released:
        if item.member_telegram_id <= 0:
            continue
        with i18n.context(), i18n.use_locale(item.member_language):
            text = back_in_queue(item.appeal_id)
        rows += store.add(
            session,
            [letter(SendMessage(chat_id=item.member_telegram_id, text=text))],
            purpose=TO_MEMBER,
            now=utcnow(),
            not_before=not_before,
            appeal_id=item.appeal_id,
        )
    return rows


def numbers(released: Sequence[Released], shown: int = 40) -> str:
    """ "№ 3, № 7"; a long list is cut ("… +980"), so the message stays within Telegram's
    4,096 characters."""
    listed = ", ".join(f"№ {item.appeal_id}" for item in released[:shown])
    return listed + (f", … +{len(released) - shown}" if len(released) > shown else "")


def role_text(
    role: StaffRole | None, member_orgs: Iterable[str], orgs: MemberOrgs, lang: str
) -> str:
    """ "lawyer (Abai region, Karaganda region)", "press secretary", "no staff role"."""
    if role is None:
        return _("no staff role")
    regions = ", ".join(orgs.title(org, lang) for org in member_orgs)
    title = role_title(role)
    return f"{title} ({escape(regions)})" if regions else title


async def tell_person(
    session: AsyncSession,
    i18n: I18n,
    member_directory: MemberDirectory,
    orgs: MemberOrgs,
    staff: Staff,
    released: Sequence[Released],
    *,
    not_before: datetime | None = None,
) -> tuple[list[OutboxMessage], str]:
    """The person whose role an admin changed learns it (and which appeals left them);
    returns the stored message and the language it is in (for their command menu)."""
    lang = await member_directory.language_of(session, staff.telegram_id)
    with i18n.context(), i18n.use_locale(lang):
        if staff.active:
            text = _(
                "An admin changed your role in Qorgau. Your role now: {role}. Send /help to "
                "see your commands."
            ).format(role=role_text(staff.role, staff.member_orgs or [], orgs, lang))
        else:
            text = _("An admin has ended your staff role in Qorgau.")
        if released:
            text += "\n" + _(
                "These appeals went back to their regions' queues; the members are told "
                "another lawyer will take them: {numbers}."
            ).format(numbers=numbers(released))
    rows = store.add(
        session,
        [letter(SendMessage(chat_id=staff.telegram_id, text=text))],
        purpose=NOTICE,
        now=utcnow(),
        not_before=not_before,
    )
    return rows, lang


async def refresh_menu(
    bot: Bot, i18n: I18n, telegram_id: int, lang: str, role: StaffRole | None
) -> None:
    """The person's command menu after a role change. A person who never opened the bot
    or blocked it has no menu to change: not an error."""
    try:
        await set_chat_commands(bot, telegram_id, lang, i18n, role)
    except TelegramAPIError as exc:
        log.info("command menu of %s not changed: %s", telegram_id, type(exc).__name__)


async def settle_access(ctx: Context) -> dict[int, str]:
    """At start: ADMIN_IDS become admins; an admin who came from ADMIN_IDS and whose id is
    no longer there loses the role (audited; told, in the outbox, which sends it once the
    bot runs); appeals held by someone who no longer covers them go back to the queue
    (their members told). Returns the telegram ids whose admin role ended, with their
    language."""
    async with ctx.session_factory() as session:
        changes = await ensure_admins(session, ctx.settings.admin_ids)
        released = changes.released + await release_stale_holds(session)
        tell_members(session, ctx.i18n, released)
        # Their topic cards in staff groups offer "take" again, as after the desk's clock.
        with ctx.i18n.context():
            await released_cards(
                [r.appeal_id for r in released], session=session, outbox=ctx.outbox, i18n=ctx.i18n
            )
        ended: dict[int, str] = {}
        for telegram_id in changes.revoked:
            lang = await ctx.member_directory.language_of(session, telegram_id)
            with ctx.i18n.context(), ctx.i18n.use_locale(lang):
                text = _(
                    "Your admin role in Qorgau has ended: your Telegram id is no longer in "
                    "the bot's ADMIN_IDS setting."
                )
            store.add(
                session,
                [letter(SendMessage(chat_id=telegram_id, text=text))],
                purpose=NOTICE,
                now=utcnow(),
            )
            ended[telegram_id] = lang
        await session.commit()
    ctx.staff_directory.invalidate()
    if changes.made or changes.revoked or released:
        log.info(
            "at start: %d made admin and %d admin roles ended (ADMIN_IDS), %d appeals back "
            "to the queue",
            len(changes.made),
            len(changes.revoked),
            len(released),
        )
    return ended
