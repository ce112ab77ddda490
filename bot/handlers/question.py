"""Whatever a registered member types in the main menu is a question: search the FAQ."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.callbacks import AskCb, FaqCb
from bot.faq.search import FaqIndex
from bot.filters import WORDS, Registered
from bot.services.appeals import MAX_TEXT
from bot.services.members import MemberView

router = Router(name=__name__)
router.message.filter(Registered())

# Only the opening of a long story is searched: it is where members name the problem.
SEARCH_CHARS = 600


@router.message(StateFilter(None), WORDS)
async def on_question(
    message: Message, state: FSMContext, member: MemberView, faq_index: FaqIndex
) -> None:
    text = (message.text or "").strip()
    if len(text) > MAX_TEXT:
        await message.answer(
            _(
                "Your message is {length} characters long; the limit is {limit}. Please "
                "shorten it or send it in parts."
            ).format(length=len(text), limit=MAX_TEXT)
        )
        return
    hits = faq_index.search(text[:SEARCH_CHARS], limit=3)
    await state.update_data(last_query=text, last_topic=hits[0].node.topic if hits else None)
    builder = kb.InlineKeyboard()
    for hit in hits:
        builder.button(
            text="📄 " + hit.node.title_in(member.language),
            callback_data=FaqCb(action="hit", node=hit.node.id),
        )
    builder.button(text=_("✍️ Ask a lawyer"), callback_data=AskCb(source="search"))
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
    await message.answer(reply, reply_markup=builder.as_markup())
