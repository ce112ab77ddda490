"""/links: every member organisation's start link, for posters and the regions' channels;
/links ID: that region's link as a QR code (a PNG to print). A member who opens one starts
the bot with their region chosen (bot/handlers/member/start.py). Admins and head lawyers."""

from __future__ import annotations

from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.filters import HasRole
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.media import TEXT_LIMIT
from bot.links import NO_PREVIEW, ORG, qr_png, start_link, username
from bot.services.members import MemberView
from bot.storage.models import StaffRole
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.ADMIN, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.ADMIN, StaffRole.HEAD_LAWYER))


def _ids(orgs: MemberOrgs) -> str:
    return _("Member organisation ids: {ids}").format(ids=", ".join(o.id for o in orgs.orgs))


def _pages(lines: list[str]) -> list[str]:
    """The lines in as few messages as Telegram takes (the list is editable: it may grow)."""
    pages = [""]
    for line in lines:
        if pages[-1] and len(pages[-1]) + 1 + len(line) > TEXT_LIMIT:
            pages.append("")
        pages[-1] += ("\n" if pages[-1] else "") + line
    return pages


@router.message(Command("links"))
async def cmd_links(
    message: Message,
    command: CommandObject,
    bot: Bot,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    lang = _lang(member, i18n)
    bot_username = await username(bot)
    wanted = (command.args or "").strip()
    if not wanted:
        lines = [
            _("<b>Start links of the member organisations</b>"),
            _(
                "A new member who opens a region's link starts the bot with that region "
                "already chosen, and may change it. /links ID sends a region's QR code for a "
                "poster, e.g. /links {example}."
            ).format(example=orgs.orgs[0].id),
            "",
        ]
        lines += [
            f"• {escape(org.title(lang))} (<code>{org.id}</code>): "
            + start_link(bot_username, ORG + org.id)
            for org in orgs.orgs
        ]
        for page in _pages(lines):
            await message.answer(page, link_preview_options=NO_PREVIEW)
        return
    org = orgs.by_id.get(wanted)
    if org is None:
        await message.answer(_("Unknown member organisation.") + "\n" + _ids(orgs))
        return
    link = start_link(bot_username, ORG + org.id)
    await message.answer_photo(
        BufferedInputFile(qr_png(link), filename=f"qorgau-{org.id}.png"),
        caption=_(
            "The QR code for a poster of {region}: {link}\n"
            "A new member who scans it starts the bot with this region already chosen; "
            "members already registered get the main menu."
        ).format(region=escape(org.title(lang)), link=link),
    )
