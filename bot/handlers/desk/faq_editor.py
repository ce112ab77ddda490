"""An FAQ answer's editor card: edit title, answer and references per language, preview
exactly as members see it, publish, sign off, history and restore.

Head lawyers, and lawyers an admin made editors, reach it from the answer itself (the
"✏️ Edit" button members do not get) or from /faqedit (bot/handlers/desk/faq_desk.py). Their
unpublished changes are drafts in their own FSM data: nothing reaches members before
Publish, and a publish is a new version (bot/storage/faq.py).
"""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import FaqEditCb
from bot.faq.content import Faq, Node, signed_now
from bot.faq.drafts import FIELDS, Draft, load_all, store_all, too_long
from bot.faq.library import FaqLibrary
from bot.handlers.member.faq import render_answer
from bot.handlers.shared.common import outdated
from bot.handlers.shared.states import FaqEditing
from bot.i18n import LANGUAGES, N_
from bot.services.staff import StaffView, audit
from bot.storage import faq as store
from bot.storage.models import FaqCandidate, FaqCandidateStatus, FaqOrigin

router = Router(name=__name__)
TELEGRAM_LIMIT = 4096


class Editor(Filter):
    """Head lawyers and lawyers with the editor right."""

    async def __call__(self, event: TelegramObject, staff: StaffView | None = None) -> bool:
        return staff is not None and staff.edits_faq


router.message.filter(Editor())
router.callback_query.filter(Editor())

PARTS = {
    "title": N_("Title"),
    "answer": N_("Answer"),
    "refs": N_("References"),
    "keywords": N_("Search words"),
    "new": N_("new answer"),
}
PROBLEMS = {
    "title-missing": N_("the title in {lang} is empty"),
    "title-too-long": N_("the title in {lang} is longer than 60 characters"),
    "answer-missing": N_("the answer in {lang} is empty"),
    "answer-too-long": N_("the answer in {lang} is longer than 3000 characters"),
    "markup": N_("the text in {lang} has markup tags: answers are plain text"),
    "refs-missing": N_("at least one article reference is needed"),
    "ref-missing": N_("a reference has no {lang} text: each reference needs both languages"),
    "ref-too-long": N_("a reference in {lang} is longer than 200 characters"),
    "message-too-long": N_("the answer in {lang} does not fit in one Telegram message"),
}
LANG_NAMES = {"kk": N_("Kazakh"), "ru": N_("Russian")}


def _lang(code: str) -> str:
    return _(LANG_NAMES[code]) if code in LANG_NAMES else ""


def change_words(changes: list[str]) -> str:
    words = []
    for change in changes:
        part, _sep, lang = change.partition(":")
        name = _(PARTS[part]) if part in PARTS else part
        words.append(f"{name} ({lang})" if lang else name)
    return ", ".join(words)


def author_name(staff: StaffView, query_or_message: CallbackQuery | Message) -> str:
    user = query_or_message.from_user
    return staff.full_name or (user.full_name if user is not None else "") or str(staff.id)


async def drafts_of(state: FSMContext) -> dict[str, Draft]:
    return load_all(await state.get_data())


async def keep(state: FSMContext, drafts: dict[str, Draft]) -> None:
    await state.update_data(store_all(drafts))


async def draft_for(key: str, faq: Faq, state: FSMContext) -> Draft | None:
    """The editor's draft of an answer, or a fresh one from its published texts; None
    when the answer is no longer in the FAQ (retired by an import)."""
    node = faq.get(key)
    if node is None or not node.is_answer:
        return None
    drafts = await drafts_of(state)
    return drafts.get(key) or Draft.of_node(node)


def parent_title(draft: Draft, faq: Faq, lang: str) -> str:
    node = faq.get(draft.key) if not draft.is_new else faq.get(draft.parent)
    if node is None:
        return ""
    path = node.path()[:-1] if not draft.is_new else node.path()
    return " › ".join(escape(p.title_in(lang)) for p in path)


async def card(
    session: AsyncSession, draft: Draft, faq: Faq, lang: str, note: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    node = None if draft.is_new else faq.get(draft.key)
    live = Draft.of_node(node) if node is not None else None
    changed = [f for f in FIELDS if live is None or live.current(f) != draft.current(f)]
    title = draft.title.get(lang) or draft.title.get("kk") or "…"
    lines = [f"✏️ <b>{escape(title)}</b>", "📂 " + parent_title(draft, faq, lang)]
    if node is not None:
        current = await store.current_version(session, node.id)
        if current is not None:
            lines.append(
                _("Version {number}, published {date} by {name}.").format(
                    number=current.number,
                    date=current.created_at.strftime("%d.%m.%Y"),
                    name=escape(current.author_name or _("the repository")),
                )
            )
        if signed_now(node) and node.signed_at is not None:
            lines.append(
                "✅ "
                + _("Signed off by {name} on {date}.").format(
                    name=escape(node.signed_by or ""), date=node.signed_at.strftime("%d.%m.%Y")
                )
            )
        elif node.signed_at is not None:
            lines.append("⌛ " + _("The sign-off has expired (12 months): please check again."))
        else:
            lines.append("⚠️ " + _("Not signed off by a union lawyer yet."))
    else:
        lines.append("🆕 " + _("A new answer: members see it once it is published."))
    if draft.candidate:
        lines.append("💡 " + _("Drafted from a lawyer's answer in an appeal."))
    if changed and node is not None:
        lines.append(
            "📝 "
            + _("Draft, not published yet: {changes}.").format(
                changes=change_words(sorted(changed, key=FIELDS.index))
            )
        )
    if note:
        lines.append(f"\n{note}")
    builder = kb.InlineKeyboard()
    for field in FIELDS:
        part, _sep, code = field.partition(":")
        mark = "• " if field in changed and node is not None else ""
        builder.button(
            text=f"{mark}{_(PARTS[part])} · {code}",
            callback_data=FaqEditCb(action="field", node=draft.key, value=field.replace(":", ".")),
        )
    for code in LANGUAGES:
        builder.button(
            text=_("👁 Preview · {lang}").format(lang=code),
            callback_data=FaqEditCb(action="preview", node=draft.key, value=code),
        )
    builder.adjust(2)
    if changed:
        builder.button(
            text=_("📤 Publish"), callback_data=FaqEditCb(action="publish", node=draft.key)
        )
    elif node is not None and not signed_now(node):
        builder.button(
            text=_("✅ Sign off version {number}").format(number=node.version),
            callback_data=FaqEditCb(action="sign", node=draft.key, value=str(node.version)),
        )
    if node is not None:
        builder.button(
            text=_("🕘 Versions"), callback_data=FaqEditCb(action="history", node=draft.key)
        )
    if changed:
        builder.button(
            text=_("🗑 Discard the draft"), callback_data=FaqEditCb(action="cancel", node=draft.key)
        )
    builder.button(text=_("📝 FAQ editing"), callback_data=FaqEditCb(action="home"))
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


async def edit_or_send(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup, notice: str | None = None
) -> None:
    """The screen replaces the one whose button was pressed (or comes as a new message)."""
    if isinstance(query.message, Message) and query.message.text is not None:
        await query.message.edit_text(text, reply_markup=markup)
    elif isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)
    await query.answer(notice)


def version_number(value: str) -> int | None:
    """A version number from button data; None for anything a forged button could hold
    (more digits than a database integer takes)."""
    return int(value) if value.isdigit() and len(value) < 10 else None


async def show_changed(
    query: CallbackQuery,
    session: AsyncSession,
    library: FaqLibrary,
    entry_id: str,
    lang: str,
    note: str,
) -> None:
    """After a publish, sign-off or restore was committed: the library reloads (members
    and the other instances see it) and the editor gets the answer's card as it is now."""
    await library.changed()
    fresh = library.faq.get(entry_id)
    if fresh is None:  # retired by an import meanwhile
        await query.answer(outdated(), show_alert=True)
        return
    await edit_or_send(query, *await card(session, Draft.of_node(fresh), library.faq, lang, note))


@router.callback_query(FaqEditCb.filter(F.action == "open"))
async def on_open(
    query: CallbackQuery,
    callback_data: FaqEditCb,
    faq: Faq,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    key = callback_data.node
    draft: Draft | None
    if key.startswith("+"):
        drafts = await drafts_of(state)
        draft = drafts.get(key)
        parent = faq.get(key[1:])
        if draft is None and parent is not None and not parent.is_answer:
            draft = Draft.new(parent.id)
    else:
        draft = await draft_for(key, faq, state)
    if draft is None:
        await query.answer(outdated(), show_alert=True)
        return
    await state.set_state(None)
    text, markup = await card(session, draft, faq, i18n.current_locale)
    if callback_data.value == "new" and isinstance(query.message, Message):
        # From the answer as members see it: the card comes below, the answer stays.
        await query.message.answer(text, reply_markup=markup)
        await query.answer()
    else:
        await edit_or_send(query, text, markup)


@router.callback_query(FaqEditCb.filter(F.action == "new"))
async def on_new(
    query: CallbackQuery,
    callback_data: FaqEditCb,
    faq: Faq,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    parent = faq.get(callback_data.node)
    if parent is None or parent.is_answer:
        await query.answer(outdated(), show_alert=True)
        return
    drafts = await drafts_of(state)
    draft = drafts.get(f"+{parent.id}") or Draft.new(parent.id)
    drafts[draft.key] = draft
    await keep(state, drafts)
    await edit_or_send(query, *await card(session, draft, faq, i18n.current_locale))


@router.callback_query(FaqEditCb.filter(F.action == "field"))
async def on_field(
    query: CallbackQuery, callback_data: FaqEditCb, faq: Faq, state: FSMContext
) -> None:
    field = callback_data.value.replace(".", ":")  # ":" separates button data's parts
    if field not in FIELDS:
        await query.answer(outdated(), show_alert=True)
        return
    draft = await _draft(callback_data.node, faq, state)
    if draft is None:
        await query.answer(outdated(), show_alert=True)
        return
    drafts = await drafts_of(state)
    drafts[draft.key] = draft
    await keep(state, drafts)
    await state.set_state(FaqEditing.text)
    await state.update_data(faq_field=[draft.key, field])
    part, _sep, code = field.partition(":")
    current = draft.current(field)
    assert isinstance(query.message, Message)
    if current:
        # The text as it is, to copy (a long press) and change.
        await query.message.answer(f"<pre>{escape(current)}</pre>")
    hint = {
        "title": _("Send the new title in {lang} (at most 60 characters)."),
        "answer": _(
            "Send the new answer in {lang}: plain text, at most 3000 characters. "
            "The references and the lawyer's line are added by the bot."
        ),
        "refs": _(
            "Send the references in {lang}, one per line, in the same order as in the other "
            "language, e.g. «Еңбек кодексінің 160-бабы» or «ст. 160 ТК РК»."
        ),
    }[part]
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("↩️ Keep it as it is"), callback_data=FaqEditCb(action="open", node=draft.key)
    )
    await query.message.answer(
        "✏️ " + hint.format(lang=_lang(code)), reply_markup=builder.as_markup()
    )
    await query.answer()


async def _draft(key: str, faq: Faq, state: FSMContext) -> Draft | None:
    if key.startswith("+"):
        return (await drafts_of(state)).get(key)
    return await draft_for(key, faq, state)


@router.message(StateFilter(FaqEditing.text))
async def on_text(
    message: Message, faq: Faq, state: FSMContext, session: AsyncSession, i18n: I18n
) -> None:
    data = await state.get_data()
    key, field = (data.get("faq_field") or ["", ""])[:2]
    draft = await _draft(str(key), faq, state)
    if draft is None or field not in FIELDS:
        await state.set_state(None)
        await message.answer(outdated())
        return
    if not message.text:
        await message.answer(_("Please send the text as a message (not a file or a sticker)."))
        return
    limit = too_long(field, message.text)
    if limit:
        await message.answer(
            _("Too long: at most {limit} characters. Nothing was changed; send it again.").format(
                limit=limit
            )
        )
        return
    draft.set(field, message.text)
    drafts = await drafts_of(state)
    drafts[draft.key] = draft
    await keep(state, drafts)
    await state.set_state(None)
    note = "💾 " + _("Saved in the draft. Members see it once you publish.")
    text, markup = await card(session, draft, faq, i18n.current_locale, note)
    await message.answer(text, reply_markup=markup)


@router.callback_query(FaqEditCb.filter(F.action == "preview"))
async def on_preview(
    query: CallbackQuery, callback_data: FaqEditCb, faq: Faq, state: FSMContext, i18n: I18n
) -> None:
    draft = await _draft(callback_data.node, faq, state)
    if draft is None or callback_data.value not in LANGUAGES:
        await query.answer(outdated(), show_alert=True)
        return
    like = None if draft.is_new else faq.get(draft.key)
    parent = faq.get(draft.parent) if draft.is_new else None
    node = draft.node(like, parent.topic if parent else "other")
    if not node.title_in(callback_data.value) or not node.answer_in(callback_data.value):
        await query.answer(_("Nothing to preview yet in this language."), show_alert=True)
        return
    with i18n.use_locale(callback_data.value):
        # As members will read it once published: a new version, not signed off yet.
        text = render_answer(node, callback_data.value, signed=False)
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("⬅️ Back to the editor"), callback_data=FaqEditCb(action="open", node=draft.key)
    )
    assert isinstance(query.message, Message)
    await query.message.answer(
        "👁 <i>{}</i>\n\n{}".format(_("Preview: what members will see."), text)
        if len(text) < TELEGRAM_LIMIT - 100
        else text,
        reply_markup=builder.as_markup(),
    )
    await query.answer()


def one_language_only(draft: Draft, node: Node) -> list[tuple[str, str]]:
    """(changed, unchanged) language pairs where the answer changed in one language only."""
    live = Draft.of_node(node)
    changed = {f for f in FIELDS if live.current(f) != draft.current(f)}
    return [
        (lang, other)
        for lang, other in (("kk", "ru"), ("ru", "kk"))
        if f"answer:{lang}" in changed and f"answer:{other}" not in changed
    ]


def publish_problems(draft: Draft, faq: Faq, i18n: I18n) -> list[str]:
    found = draft.problems()
    like = None if draft.is_new else faq.get(draft.key)
    node = draft.node(like, "other")
    for code in LANGUAGES:
        if node.title_in(code) and node.answer_in(code):
            with i18n.use_locale(code):
                if len(render_answer(node, code, signed=True)) > TELEGRAM_LIMIT:
                    found.append(("message-too-long", code))
    return [_(PROBLEMS[rule]).format(lang=_lang(code)) for rule, code in found]


@router.callback_query(FaqEditCb.filter(F.action == "publish"))
async def on_publish(
    query: CallbackQuery,
    callback_data: FaqEditCb,
    faq: Faq,
    faq_library: FaqLibrary,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    i18n: I18n,
) -> None:
    drafts = await drafts_of(state)
    draft = drafts.get(callback_data.node)
    if draft is None:
        await query.answer(_("Nothing to publish: the draft is as published."), show_alert=True)
        return
    problems = publish_problems(draft, faq, i18n)
    if problems:
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.answer(
            "⚠️ "
            + _("Not published, the draft is kept. Please fix:")
            + "\n"
            + "\n".join(f"• {p}" for p in problems)
        )
        return
    node = None if draft.is_new else faq.get(draft.key)
    agreed = {v for v in callback_data.value.split("+") if v}  # what the editor confirmed
    if node is not None and node.version != draft.base and "over" not in agreed:
        builder = kb.InlineKeyboard()
        builder.button(
            text=_("📤 Publish mine over it"),
            callback_data=FaqEditCb(
                action="publish", node=draft.key, value="+".join(sorted(agreed | {"over"}))
            ),
        )
        builder.button(
            text=_("🗑 Discard mine, open theirs"),
            callback_data=FaqEditCb(action="cancel", node=draft.key),
        )
        builder.adjust(1)
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.answer(
            _(
                "Someone published version {number} of this answer after you started this "
                "draft. Publishing yours replaces their text (theirs stays in the versions)."
            ).format(number=node.version),
            reply_markup=builder.as_markup(),
        )
        return
    one_sided = [] if node is None else one_language_only(draft, node)
    if one_sided and "one" not in agreed:
        # The two languages must say the same: a change in one only is asked about.
        changed_lang, other_lang = one_sided[0]
        builder = kb.InlineKeyboard()
        builder.button(
            text=_("✏️ Edit the answer ({lang})").format(lang=other_lang),
            callback_data=FaqEditCb(action="field", node=draft.key, value=f"answer.{other_lang}"),
        )
        builder.button(
            text=_("📤 Publish, it still says the same"),
            callback_data=FaqEditCb(
                action="publish", node=draft.key, value="+".join(sorted(agreed | {"one"}))
            ),
        )
        builder.adjust(1)
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.answer(
            _(
                "You changed the answer only in {changed}. Members reading {other} keep "
                "the earlier text: does it still say the same?"
            ).format(changed=_lang(changed_lang), other=_lang(other_lang)),
            reply_markup=builder.as_markup(),
        )
        return
    author = store.Author(staff.id, author_name(staff, query))
    if draft.is_new:
        candidate = await session.get(FaqCandidate, draft.candidate) if draft.candidate else None
        try:
            entry = await store.create_answer(
                session,
                draft.parent,
                draft.texts(),
                author,
                origin=FaqOrigin.APPEAL if candidate is not None else FaqOrigin.BOT,
                appeal_id=candidate.appeal_id if candidate is not None else None,
            )
        except LookupError:
            await query.answer(outdated(), show_alert=True)
            return
        if candidate is not None:
            candidate.status, candidate.entry_id = FaqCandidateStatus.PUBLISHED, entry.id
        entry_id, number = entry.id, 1
    else:
        try:
            published = await store.publish(session, draft.key, draft.texts(), author)
        except LookupError:
            await query.answer(outdated(), show_alert=True)
            return
        entry_id = draft.key
        number = published.number if published is not None else draft.base
    await audit(session, staff.telegram_id, "faq-publish", entry=entry_id, version=number)
    await session.commit()
    drafts.pop(draft.key, None)
    await keep(state, drafts)
    note = "📤 " + _("Published as version {number}: members see it now.").format(number=number)
    await show_changed(query, session, faq_library, entry_id, i18n.current_locale, note)


@router.callback_query(FaqEditCb.filter(F.action == "cancel"))
async def on_cancel(
    query: CallbackQuery,
    callback_data: FaqEditCb,
    faq: Faq,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    drafts = await drafts_of(state)
    dropped = drafts.pop(callback_data.node, None)
    await keep(state, drafts)
    await state.set_state(None)
    node = faq.get(callback_data.node)
    if node is None or not node.is_answer:
        # A new answer's draft: back to the editors' home.
        from bot.handlers.desk.faq_desk import home_screen

        await edit_or_send(query, *await home_screen(session, faq, i18n.current_locale))
        return
    note = "🗑 " + _("Draft discarded.") if dropped is not None else ""
    await edit_or_send(
        query, *await card(session, Draft.of_node(node), faq, i18n.current_locale, note)
    )
