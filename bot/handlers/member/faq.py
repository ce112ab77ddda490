"""FAQ navigation in one edited message: topic → subtopic → answer, Back and Home everywhere."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.callbacks import FaqCb, FaqEditCb, SearchCb
from bot.faq.content import Faq, Node, signed_now
from bot.filters import MenuButton, Registered
from bot.handlers.member.appeal import start_draft
from bot.handlers.member.question import typed_question
from bot.handlers.shared.common import outdated
from bot.i18n import N_
from bot.services.faq_events import FaqEvents
from bot.services.members import MemberView, has_consent
from bot.services.staff import StaffView
from bot.storage.models import AppealSource, FaqEventKind

router = Router(name=__name__)
router.message.filter(Registered())
router.callback_query.filter(Registered())


# Screens depend only on the content and the language: built once, then reused (a screen
# is a few dozen pydantic button models, a measurable share of an update's time).
@lru_cache(maxsize=4096)
def topics_screen(faq: Faq, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    builder = kb.InlineKeyboard()
    for topic in faq.topics:
        builder.button(text=topic.title_in(lang), callback_data=FaqCb(action="open", node=topic.id))
    builder.adjust(2)
    text = _("<b>Legal FAQ</b>\nChoose a topic. Or simply type your question in your own words.")
    return text, builder.as_markup()


@lru_cache(maxsize=4096)
def branch_screen(node: Node, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    builder = kb.InlineKeyboard()
    for child in node.children:
        prefix = "" if child.is_answer else "📁 "
        builder.button(
            text=prefix + child.title_in(lang), callback_data=FaqCb(action="open", node=child.id)
        )
    builder.adjust(1)
    kb.faq_nav(builder, node.parent.id if node.parent else "")
    crumbs = " › ".join(escape(p.title_in(lang)) for p in node.path())
    return "<b>{}</b>\n{}".format(crumbs, _("Choose a question:")), builder.as_markup()


NOT_REVIEWED = N_("Prepared from the Labour Code; not yet reviewed by a union lawyer.")
SIGNED_OFF = N_("Checked by union lawyer {name}, {date}.")


def answer_text(node: Node, lang: str) -> str:
    return _answer_text(node, lang, signed_now(node))


@lru_cache(maxsize=4096)
def _answer_text(node: Node, lang: str, signed: bool) -> str:
    return render_answer(node, lang, signed=signed)


def render_answer(node: Node, lang: str, *, signed: bool) -> str:
    """The answer as members read it (an editor's preview is this too)."""
    refs = "; ".join(escape(r.text(lang)) for r in node.refs)
    if signed and node.signed_at is not None:
        review = "✅ " + _(SIGNED_OFF).format(
            name=escape(node.signed_by or ""), date=node.signed_at.strftime("%d.%m.%Y")
        )
    else:
        # No answer claims a review nobody gave: until a lawyer signs the version off.
        review = "🗓 " + _(NOT_REVIEWED)
    return "\n\n".join(
        [
            f"<b>{escape(node.title_in(lang))}</b>",
            escape(node.answer_in(lang)),
            f"📖 {refs}\n{review}",
            "<i>{}</i>".format(
                _(
                    "This is general information. A union lawyer will look at your own "
                    "case: press “No, ask a lawyer”."
                )
            ),
            "<b>{}</b>".format(_("Did this help?")),
        ]
    )


@lru_cache(maxsize=4096)
def answer_markup(node: Node, lang: str, *, asked: bool) -> InlineKeyboardMarkup:
    # `lang` is part of the cache key: the labels below are translated into it.
    return _answer_markup(node, asked=asked, search="")


def search_answer_markup(node: Node, search: str, *, kept: bool) -> InlineKeyboardMarkup:
    """An answer opened from search results: its "No" button ("nos") carries the search,
    so the question the member typed there, and only that one, goes with their appeal;
    `kept` (the member consented, so the question is kept a while): a button back to the
    results."""
    markup = _answer_markup(node, asked=False, search=search)
    if not kept:
        return markup
    back = InlineKeyboardButton(
        text=_("⬅️ Back to the results"),
        callback_data=SearchCb(action="back", node="", q=search).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[[back], *markup.inline_keyboard])


def _answer_markup(node: Node, *, asked: bool, search: str) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    if not asked:
        builder.row(
            InlineKeyboardButton(
                text=_("👍 Yes"), callback_data=FaqCb(action="yes", node=node.id).pack()
            ),
            InlineKeyboardButton(
                text=_("✍️ No, ask a lawyer"),
                callback_data=(
                    SearchCb(action="nos", node=node.id, q=search)
                    if search
                    else FaqCb(action="no", node=node.id)
                ).pack(),
            ),
        )
    kb.faq_nav(builder, node.parent.id if node.parent else "")
    return builder.as_markup()


def with_edit_button(markup: InlineKeyboardMarkup, node: Node) -> InlineKeyboardMarkup:
    """An editor reading an answer as members do gets one more button: edit it."""
    edit = InlineKeyboardButton(
        text=_("✏️ Edit this answer"),
        callback_data=FaqEditCb(action="open", node=node.id, value="new").pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[*markup.inline_keyboard, [edit]])


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    if not isinstance(query.message, Message):
        await query.answer(outdated())
        return
    try:
        await query.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        # A double tap on the same button: the screen is already what was asked for.
        if "message is not modified" not in str(exc):
            raise
    await query.answer()


@router.message(Command("faq"))
@router.message(MenuButton(kb.BTN_FAQ))
async def cmd_faq(message: Message, faq: Faq, member: MemberView) -> None:
    text, markup = topics_screen(faq, member.language)
    await message.answer(text, reply_markup=markup)


@router.callback_query(FaqCb.filter(F.action.in_({"open", "hit"})))
@router.callback_query(SearchCb.filter(F.action == "open"))
async def on_open(
    query: CallbackQuery,
    callback_data: FaqCb | SearchCb,
    faq: Faq,
    member: MemberView,
    faq_events: FaqEvents,
    staff: StaffView | None = None,
) -> None:
    if not callback_data.node:
        await show(query, *topics_screen(faq, member.language))
        return
    node = faq.get(callback_data.node)
    if node is None:
        await query.answer(outdated(), show_alert=True)
        return
    if node.is_answer:
        faq_events.add(node.id, FaqEventKind.VIEWED, member)
        markup = (
            search_answer_markup(node, callback_data.q, kept=has_consent(member))
            if isinstance(callback_data, SearchCb)
            else answer_markup(node, member.language, asked=False)
        )
        if staff is not None and staff.edits_faq:
            markup = with_edit_button(markup, node)
        await show(query, answer_text(node, member.language), markup)
    else:
        await show(query, *branch_screen(node, member.language))


@router.callback_query(FaqCb.filter(F.action == "yes"))
async def on_helped(
    query: CallbackQuery,
    callback_data: FaqCb,
    faq: Faq,
    member: MemberView,
    faq_events: FaqEvents,
) -> None:
    node = faq.get(callback_data.node)
    if node is None or not node.is_answer:
        await query.answer(outdated(), show_alert=True)
        return
    faq_events.add(node.id, FaqEventKind.HELPED, member)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=answer_markup(node, member.language, asked=True)
        )
    await query.answer(_("Thank you! Glad it helped."))


@router.callback_query(FaqCb.filter(F.action.in_({"no", "nos"})))
@router.callback_query(SearchCb.filter(F.action == "nos"))
async def on_not_helped(
    query: CallbackQuery,
    callback_data: FaqCb | SearchCb,
    faq: Faq,
    member: MemberView,
    faq_events: FaqEvents,
    state: FSMContext,
    i18n: I18n,
) -> None:
    node = faq.get(callback_data.node)
    if node is None or not node.is_answer:
        await query.answer(outdated(), show_alert=True)
        return
    faq_events.add(node.id, FaqEventKind.NOT_HELPED, member)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=answer_markup(node, member.language, asked=True)
        )
        # Reached from search results: the question the member typed there goes with the
        # appeal (shown to them to confirm or add to), so they need not type it again. An
        # answer from an older search, or from the menu, quotes nothing.
        typed: tuple[str, str | None] = ("", None)
        if isinstance(callback_data, SearchCb):
            typed = typed_question(await state.get_data(), callback_data.q) or typed
            # Kept for the FAQ's editors too: anonymised, tied to no one, with consent only.
            user = query.from_user
            faq_events.missed(node.id, member, typed[0], (user.first_name, user.last_name))
        await start_draft(
            query.message,
            state,
            member,
            source=AppealSource.FAQ_MISS,
            topic=node.topic,
            faq_node=node.id,
            text=typed[0],
        )
    await query.answer()
