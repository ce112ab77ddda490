"""Saved replies, and ready texts sent to a member.

/replies: a lawyer's saved replies in pages per language (their own, those shared with
their member organisations, the union-wide ones); add (own or shared, where allowed),
change the title or text, delete (asks first). The rules are in
bot/services/saved_replies.py.

On an appeal's card its lawyer picks a saved reply (the member's language first) or an FAQ
answer (browsed or searched, in the member's language), sees exactly what the member will
get, may change the text first, and sends it: through `answer_member`, the path of a typed
answer, so it is stored, labelled and delivered as one. The preview is kept in the
lawyer's FSM data under a one-time token its buttons carry: an older preview, a second tap
on Send, a reply deleted meanwhile or an appeal no longer theirs gets "outdated".
"""

from __future__ import annotations

import secrets
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import DeskCb, PickCb, PreviewCb, RepliesCb
from bot.faq.content import Faq, Node, signed_now
from bot.faq.search import FaqIndex
from bot.filters import WORDS, HasRole, Magic
from bot.handlers.desk.desk import answer_label, answer_member
from bot.handlers.member.faq import NOT_REVIEWED, SIGNED_OFF
from bot.handlers.shared.common import outdated, too_long
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.media import TEXT_LIMIT, clip
from bot.handlers.shared.relay import told_lawyer
from bot.handlers.shared.states import AnswerPreview, SavedReplyForm
from bot.i18n import N_
from bot.outbox import Outbox
from bot.services.desk import DeskError, held_appeal, member_of
from bot.services.limits import MAX_TEXT
from bot.services.members import MemberView
from bot.services.saved_replies import (
    LANGS,
    MAX_TITLE,
    SavedReplyError,
    Scope,
    add_reply,
    change_reply,
    clean_title,
    delete_reply,
    get_reply,
    may_edit,
    replies_page,
    scope_of,
    scopes_for,
)
from bot.services.staff import StaffView
from bot.storage.models import SavedReply, StaffRole
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))

PER_PAGE = 8
HITS = 6
LANG_NAMES = {"kk": N_("Kazakh"), "ru": N_("Russian")}
FLAGS = {"kk": "🇰🇿", "ru": "🇷🇺"}
MARKS = {Scope.OWN: "👤", Scope.ORG: "🏢", Scope.UNION: "🌐"}
FORM = (SavedReplyForm.title.state, SavedReplyForm.text.state, SavedReplyForm.change.state)
PREVIEWING = (AnswerPreview.search.state, AnswerPreview.text.state)
TEXT_ONLY = N_("Please send the text as a message (not a file or a sticker).")


def _language(code: str) -> str:
    return _(LANG_NAMES[code]) if code in LANG_NAMES else code


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """The screen replaces the one whose button was pressed (or comes as a new message)."""
    if isinstance(query.message, Message) and query.message.text is not None:
        await query.message.edit_text(text, reply_markup=markup)
    elif isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)


async def _leave(state: FSMContext, states: tuple[str | None, ...]) -> None:
    """End one of these states, if the person is in it; other conversations stay."""
    if await state.get_state() in states:
        await state.set_state(None)


def _problem(code: str, length: int = 0) -> str:
    """A reply's title or text the rules refused."""
    if code == "title-too-long":
        return _("The title is too long: at most {limit} characters. Send a shorter one.").format(
            limit=MAX_TITLE
        )
    if code == "text-too-long":
        return too_long(length)
    if code in ("title-empty", "text-empty"):
        return _(TEXT_ONLY)
    return outdated()


# --- /replies -----------------------------------------------------------------------------


def _scope_line(reply: SavedReply, orgs: MemberOrgs, lang: str) -> str:
    scope = scope_of(reply)
    if scope is Scope.OWN:
        return "👤 " + _("Yours: only you see it")
    if scope is Scope.ORG:
        return "🏢 " + _("Shared with the lawyers of {org}").format(
            org=escape(orgs.title(reply.member_org, lang))
        )
    return "🌐 " + _("Shared with the whole union")


async def list_screen(
    session: AsyncSession, staff: StaffView, lang: str, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    replies, total = await replies_page(
        session, staff, lang=lang, offset=page * PER_PAGE, limit=PER_PAGE
    )
    lines = [
        _("<b>📋 Saved replies</b> · {language}: {count}").format(
            language=_language(lang), count=total
        ),
        _("👤 yours · 🏢 shared with a member organisation · 🌐 the whole union"),
    ]
    if not total:
        lines.append(
            _(
                "None in this language yet. Save the answers you write again and again: on an "
                "appeal's card “📋 Saved reply” then sends one after a preview."
            )
        )
    builder = kb.InlineKeyboard()
    for reply in replies:
        builder.button(
            text=f"{MARKS[scope_of(reply)]} {reply.title}",
            callback_data=RepliesCb(action="open", value=reply.id),
        )
    builder.adjust(1)
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text="◀️", callback_data=RepliesCb(action="list", value=page - 1, lang=lang).pack()
            )
        )
    if (page + 1) * PER_PAGE < total:
        nav.append(
            InlineKeyboardButton(
                text="▶️", callback_data=RepliesCb(action="list", value=page + 1, lang=lang).pack()
            )
        )
    if nav:
        builder.row(*nav)
    builder.row(
        *(
            InlineKeyboardButton(
                text=("• " if code == lang else "") + f"{FLAGS[code]} {_language(code)}",
                callback_data=RepliesCb(action="list", lang=code).pack(),
            )
            for code in LANGS
        )
    )
    builder.row(
        InlineKeyboardButton(
            text=_("➕ New reply"), callback_data=RepliesCb(action="new", lang=lang).pack()
        )
    )
    return "\n".join(lines), builder.as_markup()


def reply_screen(
    reply: SavedReply, staff: StaffView, orgs: MemberOrgs, lang: str, note: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        f"📋 <b>{escape(reply.title)}</b>",
        _scope_line(reply, orgs, lang),
        f"{FLAGS.get(reply.lang, '')} {_language(reply.lang)}",
        "",
        escape(reply.text),
    ]
    if note:
        lines[:0] = [note, ""]
    builder = kb.InlineKeyboard()
    if may_edit(staff, reply):
        builder.button(text=_("✏️ Title"), callback_data=RepliesCb(action="title", value=reply.id))
        builder.button(text=_("✏️ Text"), callback_data=RepliesCb(action="text", value=reply.id))
        builder.button(text=_("🗑 Delete"), callback_data=RepliesCb(action="delete", value=reply.id))
        builder.adjust(2, 1)
    builder.row(
        InlineKeyboardButton(
            text=_("⬅️ Back"), callback_data=RepliesCb(action="list", lang=reply.lang).pack()
        )
    )
    return "\n".join(lines), builder.as_markup()


@router.message(Command("replies"))
async def cmd_replies(
    message: Message,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    state: FSMContext,
) -> None:
    await _leave(state, FORM)
    text, markup = await list_screen(session, staff, _lang(member, i18n), 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(RepliesCb.filter(F.action == "list"))
async def on_list(
    query: CallbackQuery,
    callback_data: RepliesCb,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    state: FSMContext,
) -> None:
    await _leave(state, FORM)
    lang = callback_data.lang if callback_data.lang in LANGS else _lang(member, i18n)
    await _show(query, *await list_screen(session, staff, lang, callback_data.value))
    await query.answer()


@router.callback_query(RepliesCb.filter(F.action == "open"))
async def on_open(
    query: CallbackQuery,
    callback_data: RepliesCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    state: FSMContext,
) -> None:
    try:
        reply = await get_reply(session, staff, callback_data.value)
    except SavedReplyError:
        await query.answer(outdated(), show_alert=True)
        return
    await _leave(state, FORM)
    await _show(query, *reply_screen(reply, staff, orgs, _lang(member, i18n)))
    await query.answer()


@router.callback_query(RepliesCb.filter(F.action == "new"))
async def on_new(
    query: CallbackQuery,
    callback_data: RepliesCb,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    state: FSMContext,
) -> None:
    if callback_data.lang not in LANGS:
        await query.answer(outdated(), show_alert=True)
        return
    places = scopes_for(staff, [org.id for org in orgs.orgs])
    if len(places) == 1:  # nowhere to share it: the reply is the lawyer's own
        await _ask_title(query, state, callback_data.lang, Scope.OWN.value)
        return
    lang = _lang(member, i18n)
    builder = kb.InlineKeyboard()
    for scope, org in places:
        if scope is Scope.OWN:
            label, where = "👤 " + _("Only me"), Scope.OWN.value
        elif scope is Scope.UNION:
            label, where = "🌐 " + _("The whole union"), Scope.UNION.value
        else:
            label, where = "🏢 " + orgs.title(org, lang), str(org)
        builder.button(
            text=label,
            callback_data=RepliesCb(action="where", lang=callback_data.lang, where=where),
        )
    builder.adjust(1, 2)
    builder.row(
        InlineKeyboardButton(
            text=_("✖️ Cancel"),
            callback_data=RepliesCb(action="list", lang=callback_data.lang).pack(),
        )
    )
    await _show(
        query,
        _(
            "New reply in {language}. Who may use it? Shared replies are seen by the lawyers "
            "of that member organisation."
        ).format(language=_language(callback_data.lang)),
        builder.as_markup(),
    )
    await query.answer()


def _place(where: str) -> tuple[Scope, str | None]:
    if where in (Scope.OWN.value, Scope.UNION.value):
        return Scope(where), None
    return Scope.ORG, where


@router.callback_query(RepliesCb.filter(F.action == "where"))
async def on_where(
    query: CallbackQuery,
    callback_data: RepliesCb,
    staff: StaffView,
    orgs: MemberOrgs,
    state: FSMContext,
) -> None:
    allowed = scopes_for(staff, [org.id for org in orgs.orgs])
    if callback_data.lang not in LANGS or _place(callback_data.where) not in allowed:
        await query.answer(outdated(), show_alert=True)
        return
    await _ask_title(query, state, callback_data.lang, callback_data.where)


async def _ask_title(query: CallbackQuery, state: FSMContext, lang: str, where: str) -> None:
    await state.set_state(SavedReplyForm.title)
    await state.update_data(reply_new={"lang": lang, "where": where})
    builder = kb.InlineKeyboard()
    builder.button(text=_("✖️ Cancel"), callback_data=RepliesCb(action="list", lang=lang))
    await _show(
        query,
        _(
            "Send the reply's title: a few words you will know it by, at most {limit} "
            "characters. Members do not see it."
        ).format(limit=MAX_TITLE),
        builder.as_markup(),
    )
    await query.answer()


@router.message(StateFilter(SavedReplyForm.title), WORDS)
async def on_title(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    draft = data.get("reply_new")
    if not isinstance(draft, dict):
        await state.set_state(None)
        await message.answer(outdated())
        return
    try:
        title = clean_title(message.text or "")
    except SavedReplyError as exc:
        await message.answer(_problem(exc.code))
        return
    await state.update_data(reply_new={**draft, "title": title})
    await state.set_state(SavedReplyForm.text)
    await message.answer(
        _(
            "Now send the text as the member will read it, at most {limit} characters. It "
            "goes under the line “💬 Lawyer's answer to your appeal No. …”."
        ).format(limit=MAX_TEXT)
    )


@router.message(StateFilter(SavedReplyForm.text), WORDS)
async def on_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    draft = data.get("reply_new")
    if not isinstance(draft, dict):
        await state.set_state(None)
        await message.answer(outdated())
        return
    scope, org = _place(str(draft.get("where")))
    text = message.text or ""
    try:
        reply = await add_reply(
            session,
            staff,
            lang=str(draft.get("lang")),
            title=str(draft.get("title") or ""),
            text=text,
            scope=scope,
            member_org=org,
            known_orgs=[o.id for o in orgs.orgs],
        )
        await session.commit()
    except SavedReplyError as exc:
        await session.rollback()
        if exc.code == "text-too-long":
            await message.answer(_problem(exc.code, len(text.strip())))
            return
        await state.set_state(None)  # the role changed meanwhile: start again
        await message.answer(outdated())
        return
    await state.set_state(None)
    await state.update_data(reply_new=None)
    screen, markup = reply_screen(reply, staff, orgs, _lang(member, i18n), "✅ " + _("Saved."))
    await message.answer(screen, reply_markup=markup)


@router.callback_query(RepliesCb.filter(F.action.in_({"title", "text"})))
async def on_change(
    query: CallbackQuery,
    callback_data: RepliesCb,
    session: AsyncSession,
    staff: StaffView,
    state: FSMContext,
) -> None:
    try:
        reply = await get_reply(session, staff, callback_data.value)
    except SavedReplyError:
        reply = None
    if reply is None or not may_edit(staff, reply):
        await query.answer(outdated(), show_alert=True)
        return
    await state.set_state(SavedReplyForm.change)
    await state.update_data(reply_change=[reply.id, callback_data.action])
    if callback_data.action == "title":
        current = reply.title
        hint = _("Send the new title, at most {limit} characters.").format(limit=MAX_TITLE)
    else:
        current = reply.text
        hint = _("Send the new text, at most {limit} characters.").format(limit=MAX_TEXT)
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("↩️ Keep it as it is"), callback_data=RepliesCb(action="open", value=reply.id)
    )
    if isinstance(query.message, Message):
        # The text as it is, to copy (a long press) and change.
        await query.message.answer(escape(current))
        await query.message.answer("✏️ " + hint, reply_markup=builder.as_markup())
    await query.answer()


@router.message(StateFilter(SavedReplyForm.change), WORDS)
async def on_changed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    reply_id, field = data.get("reply_change") or (0, "")
    text = message.text or ""
    try:
        reply = await change_reply(
            session,
            staff,
            int(reply_id or 0),
            title=text if field == "title" else None,
            text=text if field == "text" else None,
        )
        await session.commit()
    except SavedReplyError as exc:
        await session.rollback()
        if exc.code in ("title-too-long", "text-too-long"):
            await message.answer(_problem(exc.code, len(text.strip())))
            return
        await state.set_state(None)  # deleted meanwhile, or no longer theirs
        await message.answer(outdated())
        return
    await state.set_state(None)
    screen, markup = reply_screen(reply, staff, orgs, _lang(member, i18n), "✅ " + _("Saved."))
    await message.answer(screen, reply_markup=markup)


@router.message(StateFilter(*FORM, *PREVIEWING), Magic(~F.text))
async def on_not_words(message: Message) -> None:
    """A file, a sticker, a voice message where a text is expected (commands go on to
    their handlers)."""
    await message.answer(_(TEXT_ONLY))


@router.callback_query(RepliesCb.filter(F.action == "delete"))
async def on_delete(
    query: CallbackQuery, callback_data: RepliesCb, session: AsyncSession, staff: StaffView
) -> None:
    try:
        reply = await get_reply(session, staff, callback_data.value)
    except SavedReplyError:
        reply = None
    if reply is None or not may_edit(staff, reply):
        await query.answer(outdated(), show_alert=True)
        return
    question = _("Delete the saved reply «{title}»?").format(title=escape(reply.title))
    if scope_of(reply) is not Scope.OWN:
        question += "\n" + _("It is shared: colleagues will no longer find it either.")
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("🗑 Yes, delete it"), callback_data=RepliesCb(action="deleteok", value=reply.id)
    )
    builder.button(text=_("⬅️ No, keep it"), callback_data=RepliesCb(action="open", value=reply.id))
    builder.adjust(1)
    await _show(query, question, builder.as_markup())
    await query.answer()


@router.callback_query(RepliesCb.filter(F.action == "deleteok"))
async def on_delete_confirmed(
    query: CallbackQuery,
    callback_data: RepliesCb,
    session: AsyncSession,
    staff: StaffView,
    state: FSMContext,
) -> None:
    try:
        reply = await delete_reply(session, staff, callback_data.value)
        lang = reply.lang
        await session.commit()
    except SavedReplyError:
        await session.rollback()
        await query.answer(outdated(), show_alert=True)
        return
    await _leave(state, FORM)
    await _show(query, *await list_screen(session, staff, lang, 0))
    await query.answer(_("Deleted."))


# --- a ready text for an appeal's member ------------------------------------------------


async def _member_language(session: AsyncSession, staff: StaffView, appeal_id: int) -> str:
    """The member's language of an appeal this lawyer holds; DeskError otherwise."""
    await held_appeal(session, staff, appeal_id)
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
    ).format(number=appeal_id, language=_language(first))
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
    await _show(query, text, builder.as_markup())
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
    await _leave(state, PREVIEWING)
    await _show(query, text, markup)
    await query.answer()


def faq_answer_text(node: Node, lang: str) -> str:
    """An FAQ answer as a lawyer sends it, in the current locale (the member's): what
    members read in the FAQ (render_answer in bot/handlers/member/faq.py: the title, the
    answer, the references and whether a lawyer checked it) as plain text, without the
    buttons' question."""
    refs = "; ".join(ref.text(lang) for ref in node.refs)
    if signed_now(node) and node.signed_at is not None:
        review = "✅ " + _(SIGNED_OFF).format(
            name=node.signed_by or "", date=node.signed_at.strftime("%d.%m.%Y")
        )
    else:
        review = "🗓 " + _(NOT_REVIEWED)
    return "\n\n".join([node.title_in(lang), node.answer_in(lang), f"📖 {refs}\n{review}"])


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
        await held_appeal(session, staff, appeal_id)
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
    await _show(query, text, builder.as_markup())
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
        await held_appeal(session, staff, callback_data.appeal)
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
        await held_appeal(session, staff, appeal_id)
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
    await _leave(state, PREVIEWING)
    await _show(query, markup_text, markup)
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
    ).format(number=appeal_id, language=_language(lang))
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
    await _leave(state, PREVIEWING)
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
    await _leave(state, PREVIEWING)
    builder = kb.InlineKeyboard()
    builder.row(_back_to_card(callback_data.appeal))
    await _show(query, _("Cancelled; nothing was sent."), builder.as_markup())
    await query.answer()
