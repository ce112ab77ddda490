"""/posts: the list of posts and a post's card: open, change, pause, resume, cancel.

Approving and returning a post awaiting approval is approval.py, on the same card.
"""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.broadcast import composition, lifecycle
from bot.broadcast.lifecycle import PostError
from bot.broadcast.telegram_html import plain_text, telegram_length
from bot.callbacks import PostCb
from bot.handlers.press import keyboards as press_kb
from bot.handlers.press.compose import warn_if_left_unconfirmed
from bot.handlers.press.context import PressContext
from bot.handlers.press.texts import STATUS_LABELS, card_text, schedule_text, status_label
from bot.handlers.shared.common import outdated
from bot.handlers.shared.states import PostCompose
from bot.storage.models import Broadcast, PostStatus

router = Router(name=__name__)

# The list is one message: at most this many of Telegram's units once the HTML is parsed.
POSTS_LIST_UNITS = 4000


async def posts_view(press: PressContext) -> tuple[str, InlineKeyboardMarkup]:
    listed = await lifecycle.list_posts(press.session)
    lang, tz = press.lang, press.tz

    def line(post: Broadcast) -> str:
        extra = ""
        if post.status in lifecycle.FINISHED:
            extra = " — " + _(STATUS_LABELS[post.status])
        elif post.status in lifecycle.UNDER_WAY or lifecycle.has_started(post):
            counts = listed.counts.get(post.id, {})
            # Members who turned news off or left are never sent to.
            total = sum(counts.values()) - counts.get("opted-out", 0) - counts.get("skipped", 0)
            extra = " — " + _("{delivered} of {total} delivered").format(
                delivered=counts.get("delivered", 0), total=total
            )
            if post.status != PostStatus.RUNNING:  # paused, or held for the quiet hours
                extra += " — " + status_label(post)
        elif post.status in lifecycle.UPCOMING:
            extra = f" — {schedule_text(post, lang, tz)}"
            if post.status == PostStatus.AWAITING_APPROVAL:
                extra += " — " + _(STATUS_LABELS[post.status])
        title = escape(composition.title(post, language=lang)) or "—"
        return _("• No. {number} {title}").format(number=post.id, title=f"«{title}»") + extra

    groups = [
        (_("<b>Drafts</b>"), [(p, line(p)) for p in listed.drafts]),
        (_("<b>Scheduled and awaiting approval</b>"), [(p, line(p)) for p in listed.upcoming]),
        (_("<b>Sending now</b>"), [(p, line(p)) for p in listed.under_way]),
        (_("<b>Finished</b> (the last 10)"), [(p, line(p)) for p in listed.finished]),
    ]
    hidden = [0] * len(groups)

    def render() -> str:
        lines = [_("<b>Posts</b>")]
        for (head, items), more in zip(groups, hidden, strict=True):
            if items or more:
                lines += ["", head, *(text for _post, text in items)]
            if more:
                lines.append(_("… and {count} more").format(count=more))
        if len(lines) == 1:
            lines.append(_("No posts yet. /post writes one."))
        return "\n".join(lines)

    text = render()
    # Many long titles could pass Telegram's limit: the longest group gives up its last
    # (oldest draft, latest scheduled) lines until the list fits, and says how many.
    while telegram_length(plain_text(text)) > POSTS_LIST_UNITS:
        longest = max(range(len(groups)), key=lambda i: len(groups[i][1]))
        groups[longest][1].pop()
        hidden[longest] += 1
        text = render()
    builder = kb.InlineKeyboard()
    for _head, items in groups:
        for post, _text in items:
            builder.button(
                text=_("No. {number}").format(number=post.id),
                callback_data=PostCb(action="open", post=post.id),
            )
    builder.adjust(4)
    return text, builder.as_markup()


@router.message(Command("posts"))
async def cmd_posts(message: Message, press: PressContext) -> None:
    text, markup = await posts_view(press)
    await message.answer(text, reply_markup=markup)


@router.callback_query(PostCb.filter(F.action == "list"))
async def on_list(query: CallbackQuery, press: PressContext) -> None:
    text, markup = await posts_view(press)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


async def show_card(
    query: CallbackQuery, press: PressContext, post: Broadcast, note: str | None = None
) -> None:
    text = await card_text(press.session, post, press.lang, press.orgs, press.tz)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=press_kb.card_markup(post, press.staff))
    await query.answer(note)


@router.callback_query(PostCb.filter(F.action == "open"))
async def on_open(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await lifecycle.get_post(press.session, callback_data.post)
    if post is None:
        await query.answer(_("This post no longer exists."), show_alert=True)
        return
    await show_card(query, press, post)


@router.callback_query(PostCb.filter(F.action == "edit"))
async def on_edit(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    before = await lifecycle.get_post(press.session, callback_data.post)
    # A scheduled (or awaiting) post is off the schedule until confirmed again: /post
    # while it is being changed says so (compose.warn_if_left_unconfirmed).
    reopened = before is not None and before.status in lifecycle.UPCOMING
    try:
        post = await lifecycle.begin_edit(press.session, press.staff, callback_data.post)
        await press.session.commit()
    except PostError as exc:
        await press.refuse(query, exc)
        return
    await warn_if_left_unconfirmed(press, going_to=post.id)
    await press.state.clear()
    await press.state.set_state(PostCompose.preview)
    await press.state.update_data(
        post=post.id, editing=True, reopened=post.id if reopened else None
    )
    text = await card_text(press.session, post, press.lang, press.orgs, press.tz)
    text += "\n\n" + _(
        "While you change it, the post is a draft and does not go out: confirm it again "
        "when you are done. What do you want to change?"
    )
    await query.answer()
    await press.send(text, press_kb.parts_markup(post.id))


@router.callback_query(PostCb.filter(F.action == "cancel"))
async def on_cancel_ask(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await lifecycle.get_post(press.session, callback_data.post)
    if post is None or post.status not in lifecycle.CANCELLABLE:
        await query.answer(outdated(), show_alert=True)
        return
    composing = callback_data.value == "step"
    markup = press_kb.cancel_question_markup(post.id, composing=composing)
    await query.answer()
    if composing:
        await press.send(
            _("✖️ Cancel post No. {number}? It will not go out.").format(number=post.id), markup
        )
    elif isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=markup)


@router.callback_query(PostCb.filter(F.action == "cancelno"))
async def on_cancel_no(query: CallbackQuery) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(_("The post is kept: go on where you left off."))
    await query.answer()


MANAGE = {
    "cancelyes": lifecycle.cancel,
    "pause": lifecycle.pause,
    "resume": lifecycle.resume,
}


@router.callback_query(PostCb.filter(F.action.in_(MANAGE)))
async def on_manage(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    try:
        post = await MANAGE[callback_data.action](press.session, press.staff, callback_data.post)
        await press.session.commit()
    except PostError as exc:
        await press.refuse(query, exc)
        return
    if (
        callback_data.action == "cancelyes"
        and (await press.state.get_data()).get("post") == post.id
    ):
        await press.state.clear()
    notes = {
        "cancelyes": _("The post is cancelled."),
        "pause": _("Paused: nothing more is sent until you resume."),
        "resume": _("Resumed."),
    }
    await show_card(query, press, post, notes[callback_data.action])
