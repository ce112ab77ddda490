"""The preview's buttons: change a part, see the preview again, confirm the post.

Confirming schedules the post, or hands it to the admins when posts need approval
(approval.py tells them in the same transaction).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.broadcast import composition, lifecycle
from bot.broadcast.lifecycle import PostError
from bot.callbacks import PostCb
from bot.handlers.press import keyboards as press_kb
from bot.handlers.press import texts
from bot.handlers.press.approval import ask_admins
from bot.handlers.press.compose import ask, preview
from bot.handlers.press.context import PressContext
from bot.handlers.shared.common import outdated
from bot.handlers.shared.states import PostCompose
from bot.services.calendar import is_quiet
from bot.storage.models import OutboxMessage, PostStatus, utcnow

router = Router(name=__name__)


@router.callback_query(StateFilter(PostCompose.preview), PostCb.filter(F.action == "change"))
async def on_change_menu(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=press_kb.parts_markup(post.id))
    await query.answer()


@router.callback_query(StateFilter(PostCompose), PostCb.filter(F.action == "part"))
async def on_part(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    if callback_data.value not in texts.PARTS:
        await query.answer(outdated(), show_alert=True)
        return
    await press.state.update_data(editing=True)
    await query.answer()
    await ask(press, post, callback_data.value)


@router.callback_query(StateFilter(PostCompose), PostCb.filter(F.action == "preview"))
async def on_preview(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    await query.answer()
    await preview(press, post)


@router.callback_query(StateFilter(PostCompose.preview), PostCb.filter(F.action == "confirm"))
async def on_confirm(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    tz, lang = press.tz, press.lang
    try:
        post = await composition.confirm(press.session, press.staff, post.id, tz)
        rows: list[OutboxMessage] = []
        if post.status == PostStatus.AWAITING_APPROVAL:
            rows = await ask_admins(press, post)
        await press.session.commit()
    except PostError as exc:
        await press.refuse(query, exc)
        again = await lifecycle.get_post(press.session, callback_data.post)
        if exc.code == "past" and again is not None:
            await press.state.update_data(editing=True)
            await ask(press, again, "schedule")
        return
    await press.state.clear()
    now = post.repeat_weekday is None and post.run_at is None  # "right after confirming"
    waits = not post.urgent and is_quiet(post.run_at or utcnow(), tz)
    if post.status == PostStatus.AWAITING_APPROVAL:
        done = _("📨 Post No. {number} is waiting for an admin's approval.").format(number=post.id)
        waits = False  # the admin's approval decides when
    elif now and not waits:
        done = _("✅ Post No. {number} goes out now; /posts shows how it is going.").format(
            number=post.id
        )
    elif now:
        done = _("✅ Post No. {number} is confirmed.").format(number=post.id)
    else:
        done = _("✅ Post No. {number} is scheduled: {when}.").format(
            number=post.id, when=texts.schedule_text(post, lang, tz)
        )
    if waits:
        done += "\n" + _(
            "🌙 It is not urgent and starts within the quiet hours (22:00–08:00, {zone} "
            "time): it goes out at 08:00."
        ).format(zone=texts.zone_name(tz, lang))
    if isinstance(query.message, Message):
        await query.message.edit_text(done, reply_markup=None)
    await query.answer()
    await press.outbox.deliver(press.bot, rows)
