"""Closing an appeal with its outcome: a few taps, typing only for counts and amounts."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import DeskCb, OutcomeCb, RateCb
from bot.filters import WORDS, HasRole
from bot.handlers.desk.desk import end_writing
from bot.handlers.desk.outcome_labels import FIELD, FLAGS, NUMBERS, TRISTATE
from bot.handlers.shared.common import outdated, reader_language
from bot.handlers.shared.forum import close_topics, deliver_quietly, refresh_cards
from bot.handlers.shared.relay import Writer, not_reached, send_later, unreachable
from bot.handlers.shared.states import Closing
from bot.i18n import fmt_number
from bot.outbox import Outbox
from bot.outbox.sender import Delivery
from bot.outbox.texts import TO_MEMBER
from bot.services.desk import DeskError, held_appeal
from bot.services.faq_candidates import propose
from bot.services.logged import is_logged
from bot.services.members import MemberView
from bot.services.outcomes import MAX_AMOUNT, MAX_COUNT, Outcome, close_appeal
from bot.services.staff import StaffView, audit
from bot.storage.models import Appeal, AppealStatus, Member, StaffRole
from bot.topics import TOPICS, topic_title

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))


def closing_header(appeal_id: int, topic: str, lang: str) -> str:
    return _(
        "<b>Close appeal No. {number}</b>\nTopic: {topic}\n"
        "Mark everything that was done, then press “Close the appeal”."
    ).format(number=appeal_id, topic=escape(topic_title(topic, lang)))


def tristate(value: bool | None) -> str:
    return {None: "—", True: _("yes"), False: _("no")}[value]


def closing_screen(
    appeal_id: int, outcome: Outcome, topic: str, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    text = closing_header(appeal_id, topic, lang)
    builder = kb.InlineKeyboard()
    for code, (name, label) in FLAGS.items():
        mark = "✅" if getattr(outcome, name) else "▫️"
        builder.button(
            text=f"{mark} {_(label)}",
            callback_data=OutcomeCb(action="t", appeal=appeal_id, field=code),
        )
    for code, (name, label) in TRISTATE.items():
        if code == "won" and not outcome.court:
            continue
        builder.button(
            text=f"{_(label)}: {tristate(getattr(outcome, name))}",
            callback_data=OutcomeCb(action="t", appeal=appeal_id, field=code),
        )
    for code, (name, label) in NUMBERS.items():
        builder.button(
            text=f"✏️ {_(label)}: {fmt_number(getattr(outcome, name), lang)}",
            callback_data=OutcomeCb(action="n", appeal=appeal_id, field=code),
        )
    builder.button(
        text=_("🔄 Correct the topic"), callback_data=OutcomeCb(action="topic", appeal=appeal_id)
    )
    builder.button(
        text=_("✅ Close the appeal"), callback_data=OutcomeCb(action="save", appeal=appeal_id)
    )
    builder.adjust(2)
    return text, builder.as_markup()


async def _draft(state: FSMContext, appeal_id: int) -> tuple[Outcome, str] | None:
    data = (await state.get_data()).get("closing") or {}
    if data.get("appeal") != appeal_id:
        return None
    return Outcome.from_dict(data.get("outcome") or {}), str(data.get("topic"))


async def save_draft(state: FSMContext, appeal_id: int, outcome: Outcome, topic: str) -> None:
    await state.update_data(
        closing={"appeal": appeal_id, "outcome": outcome.as_dict(), "topic": topic}
    )


def _lang(member: MemberView | None) -> str:
    """The lawyer's language: their choice as a member, else the language of this update
    (a lawyer who is not a member read topics in Kazakh on a Russian closing screen)."""
    return reader_language(member, get_i18n())


@router.callback_query(OutcomeCb.filter(F.action.in_({"open", "sure"})))
async def on_open(
    query: CallbackQuery,
    callback_data: OutcomeCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
) -> None:
    await end_writing(state, callback_data.appeal)
    try:
        appeal = await held_appeal(session, staff, callback_data.appeal)
    except DeskError:
        await query.answer(_("This appeal is not yours or is closed."), show_alert=True)
        return
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if appeal.first_answer_at is None and callback_data.action == "open" and not is_logged(appeal):
        # Closing without a word to the member is rare and easy to tap by mistake.
        builder = kb.InlineKeyboard()
        builder.button(
            text=_("✍️ Write to the member first"),
            callback_data=DeskCb(action="reply", value=appeal.id),
        )
        builder.button(
            text=_("✅ Close it all the same"),
            callback_data=OutcomeCb(action="sure", appeal=appeal.id),
        )
        builder.adjust(1)
        await query.message.answer(
            _(
                "You have not written to the member in appeal No. {number}. Close it all the "
                "same? (The member gets the outcome and is asked to rate the help.)"
            ).format(number=appeal.id),
            reply_markup=builder.as_markup(),
        )
        await query.answer()
        return
    outcome = Outcome()
    await state.set_state(Closing.outcome)
    await save_draft(state, appeal.id, outcome, appeal.topic)
    text, markup = closing_screen(appeal.id, outcome, appeal.topic, _lang(member))
    await query.message.answer(text, reply_markup=markup)
    await query.answer()


@router.callback_query(StateFilter(Closing.outcome), OutcomeCb.filter(F.action == "t"))
async def on_toggle(
    query: CallbackQuery, callback_data: OutcomeCb, state: FSMContext, member: MemberView | None
) -> None:
    draft = await _draft(state, callback_data.appeal)
    if draft is None or callback_data.field not in {**FLAGS, **TRISTATE}:
        await query.answer(outdated(), show_alert=True)
        return
    outcome, topic = draft
    if callback_data.field in FLAGS:
        name = FLAGS[callback_data.field][0]
        setattr(outcome, name, not getattr(outcome, name))
        if name == "court" and not outcome.court:
            outcome.court_won = None
    else:
        name = TRISTATE[callback_data.field][0]
        order: list[bool | None] = [None, True, False]
        setattr(outcome, name, order[(order.index(getattr(outcome, name)) + 1) % 3])
    await save_draft(state, callback_data.appeal, outcome, topic)
    if isinstance(query.message, Message):
        text, markup = closing_screen(callback_data.appeal, outcome, topic, _lang(member))
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(StateFilter(Closing.outcome), OutcomeCb.filter(F.action == "topic"))
async def on_topic_menu(
    query: CallbackQuery, callback_data: OutcomeCb, member: MemberView | None
) -> None:
    builder = kb.InlineKeyboard()
    for topic in TOPICS:
        builder.button(
            text=topic_title(topic, _lang(member)),
            callback_data=OutcomeCb(action="settopic", appeal=callback_data.appeal, field=topic),
        )
    builder.adjust(2)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("The right topic of this appeal:"), reply_markup=builder.as_markup()
        )
    await query.answer()


@router.callback_query(StateFilter(Closing.outcome), OutcomeCb.filter(F.action == "settopic"))
async def on_topic(
    query: CallbackQuery, callback_data: OutcomeCb, state: FSMContext, member: MemberView | None
) -> None:
    draft = await _draft(state, callback_data.appeal)
    if draft is None or callback_data.field not in TOPICS:
        await query.answer(outdated(), show_alert=True)
        return
    outcome, _topic = draft
    await save_draft(state, callback_data.appeal, outcome, callback_data.field)
    if isinstance(query.message, Message):
        text, markup = closing_screen(
            callback_data.appeal, outcome, callback_data.field, _lang(member)
        )
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(StateFilter(Closing.outcome), OutcomeCb.filter(F.action == "n"))
async def on_number_prompt(
    query: CallbackQuery, callback_data: OutcomeCb, state: FSMContext
) -> None:
    if callback_data.field not in NUMBERS or await _draft(state, callback_data.appeal) is None:
        await query.answer(outdated(), show_alert=True)
        return
    await state.set_state(Closing.number)
    await state.update_data(number_field=callback_data.field)
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Type the number for “{what}” (digits only).").format(
                what=_(NUMBERS[callback_data.field][1])
            )
        )
    await query.answer()


@router.message(StateFilter(Closing.number), WORDS)
async def on_number(message: Message, state: FSMContext, member: MemberView | None) -> None:
    data = await state.get_data()
    closing: dict[str, Any] = data.get("closing") or {}
    code = str(data.get("number_field"))
    raw = (message.text or "").replace(" ", "").replace("\u00a0", "").replace(",", "")
    limit = MAX_AMOUNT if code in {"money", "eco"} else MAX_COUNT
    if code not in NUMBERS or not raw.isdigit() or int(raw) > limit:
        await message.answer(
            _("Please type a whole number from 0 to {limit}.").format(
                limit=fmt_number(limit, _lang(member))
            )
        )
        return
    outcome = Outcome.from_dict(closing.get("outcome") or {})
    setattr(outcome, NUMBERS[code][0], int(raw))
    appeal_id, topic = int(closing["appeal"]), str(closing["topic"])
    await save_draft(state, appeal_id, outcome, topic)
    await state.set_state(Closing.outcome)
    text, markup = closing_screen(appeal_id, outcome, topic, _lang(member))
    await message.answer(text, reply_markup=markup)


def outcome_lines(appeal: Appeal, lang: str) -> list[str]:
    """What was done, as the member reads it on the closing message."""
    lines = [
        f"• {_(label)}" for _code, (name, label) in FLAGS.items() if getattr(appeal, FIELD[name])
    ]
    if appeal.outcome_justified is not None:
        lines.append(
            "• "
            + (
                _("Your complaint was found justified")
                if appeal.outcome_justified
                else _("Your complaint was not found justified")
            )
        )
    if appeal.outcome_court and appeal.outcome_court_won is not None:
        lines.append(
            "• "
            + (
                _("The court claim was won")
                if appeal.outcome_court_won
                else _("The court claim was not won")
            )
        )
    if appeal.money_returned_kzt:
        lines.append(
            "• "
            + _("Money returned: {amount} ₸").format(
                amount=fmt_number(appeal.money_returned_kzt, lang)
            )
        )
    return lines


@router.callback_query(StateFilter(Closing.outcome), OutcomeCb.filter(F.action == "save"))
async def on_close(
    query: CallbackQuery,
    callback_data: OutcomeCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    bot: Bot,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    draft = await _draft(state, callback_data.appeal)
    if draft is None:
        await query.answer(outdated(), show_alert=True)
        return
    outcome, topic = draft
    try:
        appeal = await close_appeal(session, staff, callback_data.appeal, outcome, topic)
    except DeskError as exc:
        await session.rollback()
        await query.answer(
            _("Remedied violations cannot exceed those found.")
            if exc.code == "bad-outcome"
            else _("This appeal is not yours or is closed."),
            show_alert=True,
        )
        return
    delivery = await tell_closed(
        appeal, session=session, staff=staff, lang=_lang(member), i18n=i18n, outbox=outbox, bot=bot
    )
    await state.set_state(None)
    await state.update_data(closing=None, number_field=None, appeal_id=None)
    if isinstance(query.message, Message):
        done_text = _("Appeal No. {number} is closed. Thank you!").format(number=appeal.id)
        if delivery is None:  # it came in writing or in person: nobody to tell in the bot
            await query.message.edit_text(done_text)
            await query.answer()
            return
        if not_reached(delivery):
            done_text += "\n" + unreachable()
        offer = kb.InlineKeyboard()
        offer.button(
            text=_("💡 This answer would help others"),
            callback_data=OutcomeCb(action="propose", appeal=appeal.id),
        )
        await query.message.edit_text(done_text, reply_markup=offer.as_markup())
    await query.answer()


async def tell_closed(
    appeal: Appeal,
    *,
    session: AsyncSession,
    staff: StaffView,
    lang: str,
    i18n: I18n,
    outbox: Outbox,
    bot: Bot,
) -> Delivery | None:
    """After `close_appeal` in the caller's session: the member's closing message with the
    outcome and the rating buttons, the appeal's topics closed, the cards refreshed; commits,
    then makes the first try. `lang`: the closing lawyer's. None for a logged appeal (it came
    in writing or in person: nobody to tell in the bot)."""
    # The cards lose their buttons, then the topics are closed (the outbox keeps a chat's
    # order).
    topic_rows = await refresh_cards(
        appeal.id, AppealStatus.CLOSED, session=session, outbox=outbox, i18n=i18n
    )
    topic_rows += await close_topics(appeal.id, session=session, outbox=outbox)
    if is_logged(appeal):
        await session.commit()
        await deliver_quietly(bot, outbox, topic_rows)
        return None
    person = await session.get_one(Member, appeal.member_id)
    with i18n.use_locale(person.language):
        builder = kb.InlineKeyboard()
        for score in range(1, 6):
            builder.button(text="⭐" * score, callback_data=RateCb(appeal=appeal.id, score=score))
        builder.button(text=_("❌ Not solved"), callback_data=RateCb(appeal=appeal.id, score=0))
        builder.adjust(1)
        closed = _("✅ Your appeal No. {number} is closed by the lawyer.").format(number=appeal.id)
        done = outcome_lines(appeal, person.language)
        if done:
            closed += "\n\n" + _("What was done:") + "\n" + "\n".join(done)
        closed += "\n\n" + _(
            "How much did the union's help matter to you? If your problem is not solved, "
            "press “Not solved” within 7 days and the appeal is reopened."
        )
    rows = send_later(
        session,
        outbox,
        [SendMessage(chat_id=person.telegram_id, text=closed, reply_markup=builder.as_markup())],
        purpose=TO_MEMBER,
        appeal_id=appeal.id,
        writer=Writer(staff.telegram_id, lang),
    )
    await session.commit()
    delivery = await outbox.deliver(bot, rows)
    await deliver_quietly(bot, outbox, topic_rows)
    return delivery


@router.callback_query(OutcomeCb.filter(F.action == "propose"))
async def on_propose(
    query: CallbackQuery, callback_data: OutcomeCb, session: AsyncSession, staff: StaffView
) -> None:
    """The lawyer's answer in a closed appeal becomes an FAQ candidate for the editors."""
    done, text = await offer_answer(session, staff, callback_data.appeal)
    if done and isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    await query.answer(text, show_alert=True)


async def offer_answer(session: AsyncSession, staff: StaffView, appeal_id: int) -> tuple[bool, str]:
    """The answer of the lawyer who closed the appeal, offered as an FAQ candidate (from
    the private chat's closing or the topic's); whether it was, and what to tell them."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.claimed_by != staff.id or appeal.status != AppealStatus.CLOSED:
        await session.rollback()
        return False, outdated()
    person = await session.get_one(Member, appeal.member_id)
    if not await propose(session, appeal.id, staff.id, person.language):
        await session.rollback()
        return False, _("Already offered, or there is no answer of yours in this appeal to offer.")
    await audit(session, staff.telegram_id, "faq-candidate", appeal_id=appeal.id)
    await session.commit()
    return True, _(
        "Thanks! Head lawyers will see your answer, with the member's name and contacts "
        "masked (not a school or other names), and may make an FAQ answer of it."
    )
