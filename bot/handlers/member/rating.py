"""The member rates a closed appeal 1-5 (and may comment), or says it is not solved."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import CommentAsQuestionCb, DeskCb, RateCb, RateCommentCb
from bot.faq.search import FaqIndex
from bot.filters import WORDS, Registered
from bot.handlers.member.conversation import error_text, pass_to_lawyer
from bot.handlers.member.question import answer_question
from bot.handlers.shared.common import outdated
from bot.handlers.shared.forum import deliver_quietly, reopen_topics
from bot.handlers.shared.relay import send_later
from bot.handlers.shared.states import RatingComment
from bot.outbox import Outbox
from bot.outbox.texts import TO_STAFF
from bot.services.appeals import AppealError
from bot.services.desk import DeskError
from bot.services.members import MemberDirectory, MemberView
from bot.services.outcomes import add_rating_comment, rate, reopen
from bot.storage.models import Appeal, OutboxMessage, Staff

router = Router(name=__name__)
router.message.filter(Registered())
router.callback_query.filter(Registered())


def not_solved_markup(appeal_id: int) -> InlineKeyboardMarkup:
    """Kept under the thanks: a member who rated may still find the problem not solved."""
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("❌ Not solved after all"), callback_data=RateCb(appeal=appeal_id, score=0)
    )
    return builder.as_markup()


@router.callback_query(RateCb.filter())
async def on_rate(
    query: CallbackQuery,
    callback_data: RateCb,
    session: AsyncSession,
    member: MemberView,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    member_directory: MemberDirectory,
    outbox: Outbox,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    rows = []
    topics: list[OutboxMessage] = []
    try:
        if callback_data.score == 0:
            appeal, lawyer = await reopen(session, member, callback_data.appeal)
            if lawyer is not None:
                rows = await _tell_lawyer(session, outbox, i18n, member_directory, lawyer, appeal)
            topics = await reopen_topics(
                appeal.id, appeal.status, session=session, outbox=outbox, i18n=i18n
            )
        else:
            appeal = await rate(session, member, callback_data.appeal, callback_data.score)
        await session.commit()
    except DeskError as exc:
        await session.rollback()
        await query.answer(
            _("More than 7 days have passed since closing; please send a new appeal (/ask).")
            if exc.code == "too-late"
            else outdated(),
            show_alert=True,
        )
        return
    await query.answer()
    if callback_data.score == 0:
        # Words the member wrote to the closed appeal (a reply to the lawyer) go into it.
        kept = dict((await state.get_data()).get("talk") or {})
        await state.set_state(None)  # a comment half-written on the rating is not wanted now
        await state.update_data(talk=None)
        done = _("Appeal No. {number} is reopened. The lawyer will get back to you here.")
        # The lawyer who closed it (or, if they left, the region's lawyers by the desk's
        # clock) hears of it; one who blocked the bot still finds it in /mine.
        await outbox.deliver(bot, rows)
        await deliver_quietly(bot, outbox, topics)
        if kept.get("closed") == appeal.id and (kept.get("text") or kept.get("files")):
            try:
                await pass_to_lawyer(
                    appeal.id,
                    kept.get("text"),
                    list(kept.get("files") or []),
                    session=session,
                    member=member,
                    outbox=outbox,
                    bot=bot,
                    i18n=i18n,
                    member_directory=member_directory,
                )
                done += "\n" + _("Your message is added to it.")
            except AppealError as exc:  # e.g. the appeal has its files already
                await session.rollback()
                done += "\n" + error_text(exc.code)
        await query.message.edit_text(done.format(number=appeal.id))
        return
    await state.set_state(RatingComment.comment)
    await state.update_data(rating_appeal=appeal.id)
    markup = not_solved_markup(appeal.id)
    markup.inline_keyboard.insert(
        0,
        [
            InlineKeyboardButton(
                text=_("Skip"), callback_data=RateCommentCb(appeal=appeal.id).pack()
            )
        ],
    )
    await query.message.edit_text(
        _(
            "Thank you for the rating {stars}! You may add a comment in one message, or press Skip."
        ).format(stars="⭐" * callback_data.score),
        reply_markup=markup,
    )


async def _tell_lawyer(
    session: AsyncSession,
    outbox: Outbox,
    i18n: I18n,
    member_directory: MemberDirectory,
    lawyer: Staff,
    appeal: Appeal,
) -> list[OutboxMessage]:
    lang = await member_directory.language_of(session, lawyer.telegram_id)
    with i18n.use_locale(lang):
        back = kb.InlineKeyboard()
        back.button(text=_("Open the appeal"), callback_data=DeskCb(action="card", value=appeal.id))
        back_text = _(
            "🔁 The member says appeal No. {number} is not solved: it is back with you."
        ).format(number=appeal.id)
    return send_later(
        session,
        outbox,
        [SendMessage(chat_id=lawyer.telegram_id, text=back_text, reply_markup=back.as_markup())],
        purpose=TO_STAFF,
        appeal_id=appeal.id,
    )


@router.callback_query(StateFilter(RatingComment.comment), RateCommentCb.filter())
async def on_skip(query: CallbackQuery, callback_data: RateCommentCb, state: FSMContext) -> None:
    await state.set_state(None)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Thank you! Your rating helps the union."),
            reply_markup=not_solved_markup(callback_data.appeal),
        )
    await query.answer()


@router.message(StateFilter(RatingComment.comment), WORDS)
async def on_comment(
    message: Message, state: FSMContext, session: AsyncSession, member: MemberView
) -> None:
    appeal_id = int((await state.get_data()).get("rating_appeal") or 0)
    try:
        await add_rating_comment(session, member, appeal_id, (message.text or "").strip())
        await session.commit()
    except DeskError:
        await session.rollback()
    await state.set_state(None)
    markup = not_solved_markup(appeal_id)
    markup.inline_keyboard.append(
        [
            InlineKeyboardButton(
                text=_("🆕 That was a new question"),
                callback_data=CommentAsQuestionCb(appeal=appeal_id).pack(),
            )
        ]
    )
    await message.answer(
        _("Thank you! Your rating and comment help the union; your lawyer sees them."),
        reply_markup=markup,
    )


@router.callback_query(CommentAsQuestionCb.filter())
async def on_comment_was_a_question(
    query: CallbackQuery,
    callback_data: CommentAsQuestionCb,
    state: FSMContext,
    session: AsyncSession,
    member: MemberView,
    faq_index: FaqIndex,
) -> None:
    """The words typed after rating were a new question, not a comment: taken off the
    appeal and answered as any question (the FAQ, then a lawyer if it does not help)."""
    appeal = await session.get(Appeal, callback_data.appeal)
    if appeal is None or appeal.member_id != member.id or not appeal.rating_comment:
        await query.answer(outdated(), show_alert=True)
        return
    question, appeal.rating_comment = appeal.rating_comment, None
    await session.commit()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=not_solved_markup(appeal.id))
        await answer_question(query.message, state, member, faq_index, question)
