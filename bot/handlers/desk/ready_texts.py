"""Ready texts for a member: on an appeal's card its lawyer picks a saved reply (the
member's language first) or an FAQ answer (browsed or searched, in the member's language),
sees exactly what the member will get, may change the text first, and sends it through
`answer_member`, the path of a typed answer, so it is stored, labelled and delivered as
one. The preview is kept in the lawyer's FSM data under a one-time token its buttons carry:
an older preview, a second tap on Send, a reply deleted meanwhile or an appeal no longer
theirs gets "outdated"."""

from __future__ import annotations

import secrets
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import DeskCb, PickCb, PreviewCb
from bot.faq.content import Faq, Node, signed_now
from bot.faq.search import FaqIndex
from bot.filters import WORDS, HasRole
from bot.handlers.desk.answers import answer_label, answer_member
from bot.handlers.desk.replies import (
    FLAGS,
    HITS,
    MARKS,
    PER_PAGE,
    PREVIEWING,
    language_name,
    leave,
    show,
)
from bot.handlers.shared.common import outdated, too_long
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.media import TEXT_LIMIT, clip
from bot.handlers.shared.relay import told_lawyer
from bot.handlers.shared.states import AnswerPreview
from bot.outbox import Outbox
from bot.services.desk import DeskError, held_appeal, member_of
from bot.services.limits import MAX_TEXT
from bot.services.logged import is_logged
from bot.services.members import MemberView
from bot.services.saved_replies import (
    SavedReplyError,
    get_reply,
    replies_page,
    scope_of,
)
from bot.services.staff import StaffView
from bot.storage.models import StaffRole

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))


# --- a ready text for an appeal's member ------------------------------------------------


async def _member_language(session: AsyncSession, staff: StaffView, appeal_id: int) -> str:
    """The member's language of an appeal this lawyer holds; DeskError otherwise, and for
    an appeal a lawyer logged (nobody in it can be written to)."""
    if is_logged(await held_appeal(session, staff, appeal_id)):
        raise DeskError("logged")
    return (await member_of(session, appeal_id)).language


def _back_to_card(appeal_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("⬅️ Back to the appeal"),
        callback_data=DeskCb(action="card", value=appeal_id).pack(),
    )


@router.callback_query(PickCb.filter(F.action == "saved"))
async def on_saved(
    query: CallbackQuery, callback_data: PickCb, session: AsyncSession, staff: StaffView
) -> None:
    appeal_id, page = callback_data.appeal, callback_data.value
    try:
        first = await _member_language(session, staff, appeal_id)
    except DeskError:
        await query.answer(outdated(), show_alert=True)
        return
    replies, total = await replies_page(
        session, staff, first_lang=first, offset=page * PER_PAGE, limit=PER_PAGE
    )
    text = _(
        "<b>📋 Saved replies for appeal No. {number}</b>\nThe member reads {language}: "
        "replies in it come first. You see what the member will get before it goes."
    ).format(number=appeal_id, language=language_name(first))
    if not total:
        text += "\n\n" + _("You have no saved replies yet: add them with /replies.")
    builder = kb.InlineKeyboard()
    for reply in replies:
        builder.button(
            text=f"{FLAGS.get(reply.lang, '')} {MARKS[scope_of(reply)]} {reply.title}",
            callback_data=PickCb(action="reply", appeal=appeal_id, value=reply.id),
        )
    builder.adjust(1)
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text="◀️",
                callback_data=PickCb(action="saved", appeal=appeal_id, value=page - 1).pack(),
            )
        )
    if (page + 1) * PER_PAGE < total:
        nav.append(
            InlineKeyboardButton(
                text="▶️",
                callback_data=PickCb(action="saved", appeal=appeal_id, value=page + 1).pack(),
            )
        )
    if nav:
        builder.row(*nav)
    builder.row(_back_to_card(appeal_id))
    await show(query, text, builder.as_markup())
    await query.answer()


@router.callback_query(PickCb.filter(F.action == "reply"))
async def on_reply_picked(
    query: CallbackQuery,
    callback_data: PickCb,
    session: AsyncSession,
    staff: StaffView,
    state: FSMContext,
    i18n: I18n,
) -> None:
    try:
        lang = await _member_language(session, staff, callback_data.appeal)
        reply = await get_reply(session, staff, callback_data.value)
    except (DeskError, SavedReplyError):
        await query.answer(outdated(), show_alert=True)
        return
    text, markup = await preview(
        state, i18n, callback_data.appeal, lang, reply.text, f"r:{reply.id}"
    )
    await leave(state, PREVIEWING)
    await show(query, text, markup)
    await query.answer()


def faq_answer_text(node: Node, lang: str) -> str:
    """An FAQ answer as a lawyer sends it, in the current locale (the member's): the title,
    the answer and its references as members read them in the FAQ, without the FAQ's line
    on whether a lawyer checked it — sent by a lawyer as their answer, the lawyer answers
    for it (the preview tells them when no lawyer has signed it off)."""
    refs = "; ".join(ref.text(lang) for ref in node.refs)
    return "\n\n".join([node.title_in(lang), node.answer_in(lang), f"📖 {refs}"])


@router.callback_query(PickCb.filter(F.action == "faq"))
async def on_faq(
    query: CallbackQuery,
    callback_data: PickCb,
    session: AsyncSession,
    staff: StaffView,
    faq: Faq,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    appeal_id = callback_data.appeal
    try:
        await _member_language(session, staff, appeal_id)
    except DeskError:
        await query.answer(outdated(), show_alert=True)
        return
    lang = _lang(member, i18n)
    node = faq.get(callback_data.node) if callback_data.node else None
    if callback_data.node and (node is None or node.is_answer):
        await query.answer(outdated(), show_alert=True)
        return
    builder = kb.InlineKeyboard()
    children = node.children if node is not None else faq.topics
    for child in children:
        action = "answer" if child.is_answer else "faq"
        builder.button(
            text=("" if child.is_answer else "📁 ") + child.title_in(lang),
            callback_data=PickCb(action=action, appeal=appeal_id, node=child.id),
        )
    builder.adjust(1 if node is not None else 2)
    builder.row(
        InlineKeyboardButton(
            text=_("🔎 Search"), callback_data=PickCb(action="search", appeal=appeal_id).pack()
        )
    )
    if node is not None:
        back = node.parent.id if node.parent else ""
        builder.row(
            InlineKeyboardButton(
                text=_("⬅️ Back"),
                callback_data=PickCb(action="faq", appeal=appeal_id, node=back).pack(),
            )
        )
    builder.row(_back_to_card(appeal_id))
    heading = _("<b>📖 FAQ answer for appeal No. {number}</b>").format(number=appeal_id)
    if node is not None:
        heading += "\n" + " › ".join(escape(p.title_in(lang)) for p in node.path())
    text = (
        heading
        + "\n"
        + _(
            "Choose an answer: the member gets it in their language, as members read it in the "
            "FAQ, after a preview."
        )
    )
    await show(query, text, builder.as_markup())
    await query.answer()


@router.callback_query(PickCb.filter(F.action == "search"))
async def on_search(
    query: CallbackQuery,
    callback_data: PickCb,
    session: AsyncSession,
    staff: StaffView,
    state: FSMContext,
) -> None:
    try:
        await _member_language(session, staff, callback_data.appeal)
    except DeskError:
        await query.answer(outdated(), show_alert=True)
        return
    await state.set_state(AnswerPreview.search)
    await state.update_data(preview_appeal=callback_data.appeal)
    builder = kb.InlineKeyboard()
    builder.row(_back_to_card(callback_data.appeal))
    if isinstance(query.message, Message):
        await query.message.answer(
            _("🔎 Type a few words to search the FAQ for appeal No. {number}.").format(
                number=callback_data.appeal
            ),
            reply_markup=builder.as_markup(),
        )
    await query.answer()


@router.message(StateFilter(AnswerPreview.search), WORDS)
async def on_search_words(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    faq_index: FaqIndex,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    appeal_id = int((await state.get_data()).get("preview_appeal") or 0)
    try:
        await _member_language(session, staff, appeal_id)
    except DeskError:
        await state.set_state(None)
        await message.answer(outdated())
        return
    lang = _lang(member, i18n)
    hits = faq_index.search(message.text or "", limit=HITS)
    builder = kb.InlineKeyboard()
    for hit in hits:
        builder.button(
            text=hit.node.title_in(lang),
            callback_data=PickCb(action="answer", appeal=appeal_id, node=hit.node.id),
        )
    builder.adjust(1)
    builder.row(
        InlineKeyboardButton(
            text=_("📂 Topics"), callback_data=PickCb(action="faq", appeal=appeal_id).pack()
        ),
        _back_to_card(appeal_id),
    )
    text = (
        _("Answers found for appeal No. {number}; or type other words.").format(number=appeal_id)
        if hits
        else _("Nothing found. Type other words, or browse the topics.")
    )
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(PickCb.filter(F.action == "answer"))
async def on_answer_picked(
    query: CallbackQuery,
    callback_data: PickCb,
    session: AsyncSession,
    staff: StaffView,
    faq: Faq,
    state: FSMContext,
    i18n: I18n,
) -> None:
    node = faq.get(callback_data.node)
    try:
        lang = await _member_language(session, staff, callback_data.appeal)
    except DeskError:
        node = None
    if node is None or not node.is_answer:
        await query.answer(outdated(), show_alert=True)
        return
    with i18n.use_locale(lang):
        text = faq_answer_text(node, lang)
    markup_text, markup = await preview(
        state, i18n, callback_data.appeal, lang, text, f"f:{node.id}"
    )
    if not (signed_now(node) and node.signed_at is not None):
        warning = _(
            "⚠️ No lawyer has signed this FAQ answer off yet. Sent by you, it is your answer: "
            "read it against the member's case, and edit it before sending if needed."
        )
        markup_text = f"{warning}\n\n{markup_text}"
    await leave(state, PREVIEWING)
    await show(query, markup_text, markup)
    await query.answer()


# --- the preview, its edit, sending -------------------------------------------------------


async def preview(
    state: FSMContext, i18n: I18n, appeal_id: int, lang: str, text: str, source: str
) -> tuple[str, InlineKeyboardMarkup]:
    """Keep the text to send under a new token and show exactly what the member will get:
    the label in their language and the text (as `relay` builds it for one message)."""
    token = secrets.token_hex(4)
    await state.update_data(
        answer_preview={"token": token, "appeal": appeal_id, "text": text, "source": source}
    )
    with i18n.use_locale(lang):
        label = answer_label(appeal_id)
    heading = _(
        "👁 <b>Preview for appeal No. {number}</b>: the member gets exactly this, in {language}."
    ).format(number=appeal_id, language=language_name(lang))
    builder = kb.InlineKeyboard()
    if len(text) > MAX_TEXT:
        heading += "\n⚠️ " + too_long(len(text)) + " " + _("Shorten it: “Edit before sending”.")
        shown = clip(text, TEXT_LIMIT - 600)
    else:
        shown = text
        builder.button(
            text=_("📨 Send"), callback_data=PreviewCb(action="send", appeal=appeal_id, token=token)
        )
    builder.button(
        text=_("✏️ Edit before sending"),
        callback_data=PreviewCb(action="edit", appeal=appeal_id, token=token),
    )
    builder.button(
        text=_("✖️ Cancel"), callback_data=PreviewCb(action="cancel", appeal=appeal_id, token=token)
    )
    builder.adjust(1)
    body = f"{label}\n\n{escape(shown)}"
    return f"{heading}\n\n<blockquote>{body}</blockquote>", builder.as_markup()


async def _kept(state: FSMContext, appeal_id: int, token: str) -> dict[str, Any] | None:
    """The preview these buttons belong to, if it is still the lawyer's latest."""
    kept = (await state.get_data()).get("answer_preview")
    if not isinstance(kept, dict) or kept.get("token") != token or kept.get("appeal") != appeal_id:
        return None
    return kept


async def _source_gone(session: AsyncSession, staff: StaffView, faq: Faq, source: str) -> bool:
    """The saved reply was deleted (or is no longer the lawyer's to use), or the FAQ answer
    left the FAQ, since the preview was made."""
    kind, _sep, key = source.partition(":")
    if kind == "r":
        try:
            await get_reply(session, staff, int(key) if key.isdigit() else 0)
        except SavedReplyError:
            return True
        return False
    node = faq.get(key)
    return node is None or not node.is_answer


@router.callback_query(PreviewCb.filter(F.action == "send"))
async def on_send(
    query: CallbackQuery,
    callback_data: PreviewCb,
    session: AsyncSession,
    staff: StaffView,
    faq: Faq,
    member: MemberView | None,
    i18n: I18n,
    bot: Bot,
    state: FSMContext,
    outbox: Outbox,
) -> None:
    appeal_id = callback_data.appeal
    kept = await _kept(state, appeal_id, callback_data.token)
    if kept is None or await _source_gone(session, staff, faq, str(kept.get("source"))):
        await query.answer(outdated(), show_alert=True)
        return
    # Used up before anything is stored: a second tap on Send finds nothing to send.
    await state.update_data(answer_preview=None)
    await leave(state, PREVIEWING)
    try:
        delivery = await answer_member(
            appeal_id,
            str(kept.get("text") or ""),
            [],
            session=session,
            staff=staff,
            lang=_lang(member, i18n),
            i18n=i18n,
            bot=bot,
            outbox=outbox,
        )
    except DeskError:
        await session.rollback()
        await query.answer(outdated(), show_alert=True)
        return
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(told_lawyer(delivery, appeal_id))
    await query.answer()


@router.callback_query(PreviewCb.filter(F.action == "edit"))
async def on_edit(
    query: CallbackQuery,
    callback_data: PreviewCb,
    session: AsyncSession,
    staff: StaffView,
    state: FSMContext,
) -> None:
    kept = await _kept(state, callback_data.appeal, callback_data.token)
    try:
        await held_appeal(session, staff, callback_data.appeal)
    except DeskError:
        kept = None
    if kept is None:
        await query.answer(outdated(), show_alert=True)
        return
    await state.set_state(AnswerPreview.text)
    await state.update_data(preview_appeal=callback_data.appeal)
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("✖️ Cancel"),
        callback_data=PreviewCb(action="cancel", appeal=callback_data.appeal, token=kept["token"]),
    )
    if isinstance(query.message, Message):
        # The text as it is, to copy (a long press) and change.
        await query.message.answer(escape(clip(str(kept.get("text") or ""), TEXT_LIMIT)))
        await query.message.answer(
            "✏️ "
            + _(
                "Send the text as it should go to the member of appeal No. {number}. You will "
                "see it again before it is sent."
            ).format(number=callback_data.appeal),
            reply_markup=builder.as_markup(),
        )
    await query.answer()


@router.message(StateFilter(AnswerPreview.text), WORDS)
async def on_edited(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    kept, appeal_id = data.get("answer_preview"), int(data.get("preview_appeal") or 0)
    try:
        lang = await _member_language(session, staff, appeal_id)
    except DeskError:
        kept = None
    if not isinstance(kept, dict) or kept.get("appeal") != appeal_id:
        await state.set_state(None)
        await message.answer(outdated())
        return
    text = (message.text or "").strip()
    if len(text) > MAX_TEXT:
        await message.answer(too_long(len(text)))
        return
    screen, markup = await preview(state, i18n, appeal_id, lang, text, str(kept.get("source")))
    await state.set_state(None)
    await message.answer(screen, reply_markup=markup)


@router.callback_query(PreviewCb.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, callback_data: PreviewCb, state: FSMContext) -> None:
    if await _kept(state, callback_data.appeal, callback_data.token) is None:
        await query.answer(outdated(), show_alert=True)
        return
    await state.update_data(answer_preview=None)
    await leave(state, PREVIEWING)
    builder = kb.InlineKeyboard()
    builder.row(_back_to_card(callback_data.appeal))
    await show(query, _("Cancelled; nothing was sent."), builder.as_markup())
    await query.answer()
