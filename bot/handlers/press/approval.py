"""Admins' approval of posts: /approval on|off, the admins asked when a post awaits them,
and approving or returning it to its author's drafts (who is told)."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.broadcast import lifecycle
from bot.broadcast.lifecycle import PostError
from bot.callbacks import PostCb
from bot.filters import HasRole
from bot.handlers.press import keyboards as press_kb
from bot.handlers.press.card import show_card
from bot.handlers.press.compose import send_versions
from bot.handlers.press.context import PressContext
from bot.handlers.press.texts import card_text, schedule_text
from bot.handlers.shared.common import outdated
from bot.handlers.shared.relay import send_later
from bot.outbox.texts import TO_STAFF
from bot.storage.models import Broadcast, OutboxMessage, PostStatus, StaffRole

router = Router(name=__name__)


def _tell(
    press: PressContext, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> list[OutboxMessage]:
    """A notice to another person about a post, stored with the change it tells of."""
    return send_later(
        press.session,
        press.outbox,
        [SendMessage(chat_id=chat_id, text=text, reply_markup=markup)],
        purpose=TO_STAFF,
    )


async def ask_admins(press: PressContext, post: Broadcast) -> list[OutboxMessage]:
    """Each admin, in their language, is asked to approve the post (sent once committed)."""
    rows: list[OutboxMessage] = []
    for admin_id in await lifecycle.approvers(press.session):
        lang = await press.members.language_of(press.session, admin_id)
        with press.i18n.use_locale(lang):
            text = _("📨 A post awaits your approval.") + "\n\n"
            text += await card_text(press.session, post, lang, press.orgs, press.tz)
            rows += _tell(press, admin_id, text, press_kb.approval_markup(post.id))
    return rows


DECIDE = {"approve": lifecycle.approve, "reject": lifecycle.reject}


@router.callback_query(PostCb.filter(F.action.in_(DECIDE)))
async def on_decide(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    approve = callback_data.action == "approve"
    try:
        post = await DECIDE[callback_data.action](press.session, press.staff, callback_data.post)
        rows: list[OutboxMessage] = []
        if post.created_by != press.staff.telegram_id:
            lang = await press.members.language_of(press.session, post.created_by)
            with press.i18n.use_locale(lang):
                text = (
                    _("✅ An admin approved your post No. {number}: {when}.").format(
                        number=post.id, when=schedule_text(post, lang, press.tz)
                    )
                    if approve
                    else _(
                        "↩️ An admin returned your post No. {number} to drafts. Change it in "
                        "/posts and confirm it again."
                    ).format(number=post.id)
                )
            rows = _tell(press, post.created_by, text)
        await press.session.commit()
    except PostError as exc:
        await press.refuse(query, exc)
        return
    await show_card(query, press, post, _("Approved.") if approve else _("Returned to drafts."))
    await press.outbox.deliver(press.bot, rows)


@router.callback_query(PostCb.filter(F.action == "show"), HasRole(StaffRole.ADMIN))
async def on_show(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    """An admin asked to approve a post reads it first, as members will get it."""
    post = await lifecycle.get_post(press.session, callback_data.post)
    if post is None or post.status != PostStatus.AWAITING_APPROVAL:
        await query.answer(outdated(), show_alert=True)
        return
    await query.answer()
    refused = await send_versions(press, post)
    if refused is not None:
        await press.send(_("⚠️ Telegram refused this post: {reason}").format(reason=escape(refused)))
    await press.send(
        _("Post No. {number}: approve it, or return it to its author's drafts.").format(
            number=post.id
        ),
        press_kb.approval_markup(post.id),
    )


@router.message(Command("approval"), HasRole(StaffRole.ADMIN))
async def cmd_approval(message: Message, command: CommandObject, press: PressContext) -> None:
    word = (command.args or "").strip().lower()
    if word in ("on", "off"):
        await lifecycle.set_approval_needed(press.session, press.staff, word == "on")
        await press.session.commit()
    on = await lifecycle.approval_needed(press.session)
    text = (
        _("Posts need an admin's approval before they go out.")
        if on
        else _("Posts go out without approval.")
    )
    await message.answer(text + "\n" + _("Change it: /approval on or /approval off"))
