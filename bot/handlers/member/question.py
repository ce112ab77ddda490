"""Whatever a registered member types in the main menu is a question: search the FAQ.

Greetings, thanks and a lone "?" get a short friendly answer instead. The typed question
is kept (FSM data `search`, with an id its result buttons carry) only while the member
looks at its results, so that "ask a lawyer" can quote it; any other step forgets it
(`ForgetSearch`), and nothing is kept for a member who has not consented.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject, Update
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.callbacks import SearchAskCb, SearchCb
from bot.faq.search import FaqIndex, Hit
from bot.faq.smalltalk import Talk, classify
from bot.filters import WORDS, Registered
from bot.handlers.shared.common import outdated
from bot.handlers.shared.states import AppealDraft
from bot.services.limits import MAX_TEXT
from bot.services.members import MemberView, has_consent

router = Router(name=__name__)
router.message.filter(Registered())

# Only the opening of a long story is searched: it is where members name the problem.
SEARCH_CHARS = 600


def smalltalk_reply(talk: Talk) -> str:
    if talk is Talk.GREETING:
        return _(
            "Hello! Type your question in your own words, for example “when is holiday pay "
            "paid”, and I will look for the answer. Or choose from the menu below."
        )
    if talk in (Talk.THANKS, Talk.OK):
        return _("You are welcome! If you have another question, just type it.")
    if talk is Talk.BYE:
        return _("Goodbye! I am here whenever you need legal help.")
    return _("Please type your question in words, and I will look for the answer.")


def typed_question(data: dict[str, Any], search_id: str) -> tuple[str, str | None] | None:
    """The question and its best topic, when `search_id` is the member's latest search."""
    search = data.get("search")
    if not isinstance(search, dict) or not search_id or search.get("id") != search_id:
        return None
    return str(search.get("q") or ""), search.get("topic")


async def answer_question(
    anchor: Message, state: FSMContext, member: MemberView, faq_index: FaqIndex, text: str
) -> None:
    """The FAQ's answers to `text`, sent in the member's chat (`anchor`: any message there)."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        await anchor.answer(
            _(
                "Your message is {length} characters long; the limit is {limit}. Please "
                "shorten it or send it in parts."
            ).format(length=len(text), limit=MAX_TEXT)
        )
        return
    talk = classify(text)
    if talk is not None:
        await anchor.answer(smalltalk_reply(talk))
        return
    hits = faq_index.search(text[:SEARCH_CHARS], limit=3)
    search_id = secrets.token_hex(3)
    if has_consent(member):
        topic = hits[0].node.topic if hits else None
        await state.update_data(search={"id": search_id, "q": text, "topic": topic})
    reply, markup = results_screen(hits, search_id, member)
    await anchor.answer(reply, reply_markup=markup)


def results_screen(
    hits: list[Hit], search_id: str, member: MemberView
) -> tuple[str, InlineKeyboardMarkup]:
    builder = kb.InlineKeyboard()
    for hit in hits:
        builder.button(
            text="📄 " + hit.node.title_in(member.language),
            callback_data=SearchCb(action="open", node=hit.node.id, q=search_id),
        )
    builder.button(text=_("✍️ Ask a lawyer"), callback_data=SearchAskCb(q=search_id))
    builder.adjust(1)
    if hits:
        reply = _(
            "Here is what the legal FAQ says on questions like yours. If none of these fits, "
            "ask a lawyer: your question will be passed on as you wrote it."
        )
    else:
        reply = _(
            "I found nothing in the FAQ for this question. A union lawyer can answer it: "
            "press “Ask a lawyer”."
        )
    return reply, builder.as_markup()


@router.callback_query(SearchCb.filter(F.action == "back"))
async def on_back_to_results(
    query: CallbackQuery,
    callback_data: SearchCb,
    state: FSMContext,
    member: MemberView,
    faq_index: FaqIndex,
) -> None:
    """From an answer opened among the results, back to those results (the question is
    kept while the member moves among them: ForgetSearch)."""
    search = (await state.get_data()).get("search") or {}
    if search.get("id") != callback_data.q or not search.get("q") or not query.message:
        await query.answer(outdated(), show_alert=True)
        return
    hits = faq_index.search(str(search["q"])[:SEARCH_CHARS], limit=3)
    reply, markup = results_screen(hits, callback_data.q, member)
    if isinstance(query.message, Message):
        await query.message.edit_text(reply, reply_markup=markup)
    await query.answer()


# Also while the consent question of an appeal is open: a member who has not (yet) agreed
# can still read and search the FAQ; the consent buttons above stay live.
@router.message(StateFilter(None, AppealDraft.consent), WORDS)
async def on_question(
    message: Message, state: FSMContext, member: MemberView, faq_index: FaqIndex
) -> None:
    await answer_question(message, state, member, faq_index, message.text or "")


class ForgetSearch(BaseMiddleware):
    """The typed question lives until the member's next step: every update but a button of
    that search's results (which carries its id) forgets it. An inner middleware of
    `dp.update`, so the member's FSM context is there."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        if state is not None and isinstance(event, Update):
            found = (await state.get_data()).get("search")
            if isinstance(found, dict):
                query = event.callback_query
                pressed = query.data if query is not None else None
                if not (pressed and found.get("id") and pressed.endswith(":" + found["id"])):
                    await state.update_data(search=None)
        return await handler(event, data)
