"""Saved replies: /replies, a lawyer's saved replies in pages per language (their own,
those shared with their member organisations, the union-wide ones); add (own or shared,
where allowed), change the title or text, delete (asks first). The rules are in
bot/services/saved_replies.py; sending one to a member is bot/handlers/desk/ready_texts.py.
"""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import RepliesCb
from bot.filters import WORDS, HasRole, Magic
from bot.handlers.shared.common import outdated, too_long
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.media import TEXT_LIMIT, clip, utf16_len
from bot.handlers.shared.states import AnswerPreview, SavedReplyForm
from bot.i18n import N_
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


def language_name(code: str) -> str:
    return _(LANG_NAMES[code]) if code in LANG_NAMES else code


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """The screen replaces the one whose button was pressed (or comes as a new message)."""
    if isinstance(query.message, Message) and query.message.text is not None:
        await query.message.edit_text(text, reply_markup=markup)
    elif isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)


async def leave(state: FSMContext, states: tuple[str | None, ...]) -> None:
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
            language=language_name(lang), count=total
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
                text=("• " if code == lang else "") + f"{FLAGS[code]} {language_name(code)}",
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
        f"{FLAGS.get(reply.lang, '')} {language_name(reply.lang)}",
        "",
    ]
    if note:
        lines[:0] = [note, ""]
    # The text as far as it fits in one message beside its heading (a reply of 3,000
    # characters with emoji may not: Telegram counts an emoji twice); it is sent whole.
    room = TEXT_LIMIT - utf16_len("\n".join(lines)) - 1
    lines.append(escape(clip(reply.text, room)))
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
    await leave(state, FORM)
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
    await leave(state, FORM)
    lang = callback_data.lang if callback_data.lang in LANGS else _lang(member, i18n)
    await show(query, *await list_screen(session, staff, lang, callback_data.value))
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
    await leave(state, FORM)
    await show(query, *reply_screen(reply, staff, orgs, _lang(member, i18n)))
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
    await show(
        query,
        _(
            "New reply in {language}. Who may use it? Shared replies are seen by the lawyers "
            "of that member organisation."
        ).format(language=language_name(callback_data.lang)),
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
    await show(
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
    await show(query, question, builder.as_markup())
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
    await leave(state, FORM)
    await show(query, *await list_screen(session, staff, lang, 0))
    await query.answer(_("Deleted."))
