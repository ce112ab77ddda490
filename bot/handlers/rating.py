"""The member rates a closed appeal 1-5 (and may comment), or says it is not solved."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import DeskCb, RateCb, RateCommentCb
from bot.filters import WORDS, Registered
from bot.handlers.reach import reach
from bot.handlers.states import RatingComment
from bot.services.desk import DeskError
from bot.services.members import MemberDirectory, MemberView
from bot.services.outcomes import add_rating_comment, rate, reopen

router = Router(name=__name__)
router.message.filter(Registered())
router.callback_query.filter(Registered())


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
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    try:
        if callback_data.score == 0:
            appeal, lawyer = await reopen(session, member, callback_data.appeal)
        else:
            appeal = await rate(session, member, callback_data.appeal, callback_data.score)
            lawyer = None
        await session.commit()
    except DeskError as exc:
        await session.rollback()
        await query.answer(
            _("More than 7 days have passed since closing; please send a new appeal (/ask).")
            if exc.code == "too-late"
            else _("This button is outdated. Please use the latest message."),
            show_alert=True,
        )
        return
    await query.answer()
    if callback_data.score == 0:
        await query.message.edit_text(
            _("Appeal No. {number} is reopened. The lawyer will get back to you here.").format(
                number=appeal.id
            )
        )
        if lawyer is not None:
            lang = await member_directory.language_of(session, lawyer.telegram_id)
            with i18n.use_locale(lang):
                back = kb.InlineKeyboard()
                back.button(
                    text=_("Open the appeal"), callback_data=DeskCb(action="card", value=appeal.id)
                )
                back_text = _(
                    "🔁 The member says appeal No. {number} is not solved: it is back with you."
                ).format(number=appeal.id)
            chat = lawyer.telegram_id
            # A lawyer who blocked the bot still finds the appeal in /mine.
            await reach(
                chat, lambda: bot.send_message(chat, back_text, reply_markup=back.as_markup())
            )
        return
    await state.set_state(RatingComment.comment)
    await state.update_data(rating_appeal=appeal.id)
    skip = kb.InlineKeyboard()
    skip.button(text=_("Skip"), callback_data=RateCommentCb(appeal=appeal.id))
    await query.message.edit_text(
        _(
            "Thank you for the rating {stars}! You may add a comment in one message, or press Skip."
        ).format(stars="⭐" * callback_data.score),
        reply_markup=skip.as_markup(),
    )


@router.callback_query(StateFilter(RatingComment.comment), RateCommentCb.filter())
async def on_skip(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(None)
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Thank you! Your rating helps the union."))
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
    await message.answer(_("Thank you! Your rating helps the union."))
