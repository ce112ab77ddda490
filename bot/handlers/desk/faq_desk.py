"""/faqedit: the FAQ editors' home — what waits for a sign-off, candidates from appeals,
the tree to browse (and to add an answer where it belongs)."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import FaqEditCb
from bot.faq.content import Faq, signed_now, to_review
from bot.faq.drafts import Draft
from bot.handlers.desk.faq_editor import Editor, card, drafts_of, edit_or_send, keep
from bot.handlers.shared.common import outdated
from bot.services.faq_candidates import open_candidates, open_count
from bot.storage.models import FaqCandidate, FaqCandidateStatus, utcnow
from bot.topics import topic_title

router = Router(name=__name__)
router.message.filter(Editor())
router.callback_query.filter(Editor())
PAGE = 8


async def home_screen(
    session: AsyncSession, faq: Faq, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    never, expired = to_review(faq, utcnow())
    candidates = await open_count(session)
    signed = len(faq.answers) - len(never) - len(expired)
    text = "\n".join(
        [
            "📝 <b>{}</b>".format(_("FAQ answers: editing and sign-off")),
            _(
                "Answers: {total}. Signed off: {signed}. Never signed off: {never}. "
                "Sign-off expired: {expired}."
            ).format(total=len(faq.answers), signed=signed, never=len(never), expired=len(expired)),
            _("Candidates from appeals: {count}.").format(count=candidates),
            "",
            _(
                "Open an answer to edit it in Kazakh and Russian, preview it, publish it and "
                "sign it off. Members see a sign-off for 12 months or until the next edit."
            ),
        ]
    )
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("⚠️ To sign off ({count})").format(count=len(never) + len(expired)),
        callback_data=FaqEditCb(action="list", value="unsigned-0"),
    )
    builder.button(
        text=_("💡 Candidates ({count})").format(count=candidates),
        callback_data=FaqEditCb(action="list", value="candidates-0"),
    )
    builder.button(text=_("📂 Browse, or add an answer"), callback_data=FaqEditCb(action="browse"))
    builder.adjust(1)
    return text, builder.as_markup()


@router.message(Command("faqedit"))
async def cmd_faqedit(message: Message, session: AsyncSession, faq: Faq, i18n: I18n) -> None:
    text, markup = await home_screen(session, faq, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


@router.callback_query(FaqEditCb.filter(F.action == "home"))
async def on_home(query: CallbackQuery, session: AsyncSession, faq: Faq, i18n: I18n) -> None:
    await edit_or_send(query, *await home_screen(session, faq, i18n.current_locale))


@router.callback_query(FaqEditCb.filter(F.action == "browse"))
async def on_browse(query: CallbackQuery, callback_data: FaqEditCb, faq: Faq, i18n: I18n) -> None:
    lang = i18n.current_locale
    builder = kb.InlineKeyboard()
    if not callback_data.node:
        for topic in faq.topics:
            builder.button(
                text=topic.title_in(lang), callback_data=FaqEditCb(action="browse", node=topic.id)
            )
        builder.adjust(2)
        builder.button(text=_("📝 FAQ editing"), callback_data=FaqEditCb(action="home"))
        builder.adjust(1)
        await edit_or_send(query, _("Choose a topic:"), builder.as_markup())
        return
    node = faq.get(callback_data.node)
    if node is None or node.is_answer:
        await query.answer(outdated(), show_alert=True)
        return
    for child in node.children:
        if child.is_answer:
            mark = "✅ " if signed_now(child) else "⚠️ "
            action = "open"
        else:
            mark, action = "📁 ", "browse"
        builder.button(
            text=mark + child.title_in(lang), callback_data=FaqEditCb(action=action, node=child.id)
        )
    builder.adjust(1)
    builder.button(
        text=_("➕ New answer here"), callback_data=FaqEditCb(action="new", node=node.id)
    )
    back = node.parent.id if node.parent else ""
    builder.button(text=_("⬅️ Back"), callback_data=FaqEditCb(action="browse", node=back))
    builder.button(text=_("📝 FAQ editing"), callback_data=FaqEditCb(action="home"))
    builder.adjust(1)
    crumbs = " › ".join(escape(p.title_in(lang)) for p in node.path())
    await edit_or_send(query, f"📂 <b>{crumbs}</b>", builder.as_markup())


@router.callback_query(FaqEditCb.filter(F.action == "list"))
async def on_list(
    query: CallbackQuery, callback_data: FaqEditCb, session: AsyncSession, faq: Faq, i18n: I18n
) -> None:
    kind, _sep, page_text = callback_data.value.partition("-")
    page = int(page_text) if page_text.isdigit() and len(page_text) < 5 else 0
    lang = i18n.current_locale
    builder = kb.InlineKeyboard()
    if kind == "unsigned":
        never, expired = to_review(faq, utcnow())
        items = [("⌛ ", n) for n in expired] + [("⚠️ ", n) for n in never]
        shown = items[page * PAGE : (page + 1) * PAGE]
        for mark, node in shown:
            builder.button(
                text=mark + node.title_in(lang),
                callback_data=FaqEditCb(action="open", node=node.id),
            )
        text = _("Answers to check and sign off: {count}. ⌛ expired, ⚠️ never signed off.").format(
            count=len(items)
        )
        total = len(items)
    elif kind == "candidates":
        candidates = await open_candidates(session, limit=200)
        shown_c = candidates[page * PAGE : (page + 1) * PAGE]
        for candidate in shown_c:
            words = " ".join(candidate.text.split()[:6])
            builder.button(
                text=f"№ {candidate.appeal_id} · {topic_title(candidate.topic, lang)} · {words}"[
                    :60
                ],
                callback_data=FaqEditCb(action="cand", value=str(candidate.id)),
            )
        text = (
            _("Lawyers' answers offered for the FAQ: {count}.").format(count=len(candidates))
            if candidates
            else _("No candidates now. Lawyers offer them when they close an appeal.")
        )
        total = len(candidates)
    else:
        await query.answer(outdated(), show_alert=True)
        return
    builder.adjust(1)
    nav = []
    if page > 0:
        nav.append(("⬅️", f"{kind}-{page - 1}"))
    if (page + 1) * PAGE < total:
        nav.append(("➡️", f"{kind}-{page + 1}"))
    for label, value in nav:
        builder.button(text=label, callback_data=FaqEditCb(action="list", value=value))
    builder.adjust(2)
    builder.button(text=_("📝 FAQ editing"), callback_data=FaqEditCb(action="home"))
    builder.adjust(1)
    await edit_or_send(query, text, builder.as_markup())


async def _candidate(session: AsyncSession, value: str) -> FaqCandidate | None:
    if not value.isdigit() or len(value) > 9:
        return None
    candidate = await session.get(FaqCandidate, int(value))
    if candidate is None or candidate.status != FaqCandidateStatus.OPEN:
        return None
    return candidate


@router.callback_query(FaqEditCb.filter(F.action == "cand"))
async def on_candidate(
    query: CallbackQuery, callback_data: FaqEditCb, session: AsyncSession, faq: Faq, i18n: I18n
) -> None:
    candidate = await _candidate(session, callback_data.value)
    topic = faq.get(candidate.topic) if candidate is not None else None
    if candidate is None or topic is None:
        await query.answer(outdated(), show_alert=True)
        return
    lang = i18n.current_locale
    text = "💡 <b>{}</b>\n\n<pre>{}</pre>\n\n{}".format(
        _("Candidate from appeal No. {number} ({language})").format(
            number=candidate.appeal_id, language=candidate.lang
        ),
        escape(candidate.text[:3000]),
        _(
            "Where should the answer go? It starts as a draft: add the title, the other "
            "language and the references, then publish."
        ),
    )
    builder = kb.InlineKeyboard()
    for place in [topic, *(c for c in topic.children if not c.is_answer)]:
        builder.button(
            text="📁 " + " › ".join(p.title_in(lang) for p in place.path()),
            callback_data=FaqEditCb(action="candnew", node=place.id, value=str(candidate.id)),
        )
    builder.button(
        text=_("🗑 Not for the FAQ"),
        callback_data=FaqEditCb(action="canddrop", value=str(candidate.id)),
    )
    builder.button(text=_("⬅️ Back"), callback_data=FaqEditCb(action="list", value="candidates-0"))
    builder.adjust(1)
    if len(text) > 4000:
        text = text[:4000]
    await edit_or_send(query, text, builder.as_markup())


@router.callback_query(FaqEditCb.filter(F.action == "candnew"))
async def on_candidate_draft(
    query: CallbackQuery,
    callback_data: FaqEditCb,
    session: AsyncSession,
    faq: Faq,
    state: FSMContext,
    i18n: I18n,
) -> None:
    candidate = await _candidate(session, callback_data.value)
    place = faq.get(callback_data.node)
    if candidate is None or place is None or place.is_answer:
        await query.answer(outdated(), show_alert=True)
        return
    draft = Draft.new(place.id, candidate.id, candidate.text, candidate.lang)
    drafts = await drafts_of(state)
    drafts[draft.key] = draft
    await keep(state, drafts)
    await edit_or_send(query, *await card(session, draft, faq, i18n.current_locale))


@router.callback_query(FaqEditCb.filter(F.action == "canddrop"))
async def on_candidate_dropped(
    query: CallbackQuery, callback_data: FaqEditCb, session: AsyncSession, faq: Faq, i18n: I18n
) -> None:
    candidate = await _candidate(session, callback_data.value)
    if candidate is None:
        await query.answer(outdated(), show_alert=True)
        return
    candidate.status = FaqCandidateStatus.DISMISSED
    await session.commit()
    text, markup = await home_screen(session, faq, i18n.current_locale)
    await edit_or_send(query, text, markup, _("Removed from the candidates."))
