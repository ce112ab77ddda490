"""/log: a lawyer logs an appeal that came in writing or in person, in a few taps: how it
came, the member organisation (only those the lawyer covers; asked only when there are
several), the workplace type, the topic, the day it was received, then optionally a short
summary, the person's name and a contact, and a confirmation. The appeal is stored as
taken by this lawyer and its card opens: it is worked and closed like a bot appeal, except
that the bot cannot write to anyone in it (bot/services/logged.py)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import LogCb
from bot.filters import NOT_COMMAND, WORDS, HasRole
from bot.handlers.desk.desk import card_screen, end_writing
from bot.handlers.desk.thread import channel_label
from bot.handlers.shared.common import outdated
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.states import LogAppeal
from bot.i18n import fmt_date
from bot.keyboards import WORKPLACE_LABELS
from bot.report.period import PeriodError, parse_local_day
from bot.services.desk import DeskError, open_card
from bot.services.logged import (
    LOGGED_CHANNELS,
    MAX_CONTACT,
    MAX_NAME,
    MAX_SUMMARY,
    LoggedAppeal,
    date_problem,
    log_appeal,
)
from bot.services.members import MemberView
from bot.services.staff import StaffView
from bot.storage.models import StaffRole, WorkplaceType, utcnow
from bot.topics import TOPICS, MemberOrgs, topic_title

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))
router.callback_query.filter(HasRole(StaffRole.LAWYER, StaffRole.HEAD_LAWYER))

TYPED = (LogAppeal.received, LogAppeal.summary, LogAppeal.name, LogAppeal.contact)
LIMITS = {"summary": MAX_SUMMARY, "name": MAX_NAME, "contact": MAX_CONTACT}


def _cancel(builder: kb.InlineKeyboard) -> None:
    builder.button(text=_("✖️ Cancel"), callback_data=LogCb(action="cancel"))


async def _draft(state: FSMContext) -> dict[str, Any]:
    return dict((await state.get_data()).get("log") or {})


async def _keep(state: FSMContext, draft: dict[str, Any], step: Any) -> None:
    await state.update_data(log=draft)
    await state.set_state(step)


async def _show(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """The next question: in place of the buttons pressed, or after the lawyer's words."""
    if isinstance(event, CallbackQuery):
        if isinstance(event.message, Message):
            await event.message.edit_text(text, reply_markup=markup)
        await event.answer()
    else:
        await event.answer(text, reply_markup=markup)


def _covered(staff: StaffView, orgs: MemberOrgs) -> list[str]:
    return [org.id for org in orgs.orgs if staff.covers(org.id)]


@router.message(Command("log"))
async def cmd_log(message: Message, state: FSMContext, staff: StaffView, orgs: MemberOrgs) -> None:
    await end_writing(state)
    if not _covered(staff, orgs):
        await state.set_state(None)
        await message.answer(
            _("You cover no member organisation yet: an admin sets them in /staff.")
        )
        return
    await _keep(state, {"token": secrets.token_hex(8)}, LogAppeal.channel)
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("📄 Written: a letter or an application"),
        callback_data=LogCb(action="ch", value="written"),
    )
    builder.button(
        text=_("🗣 Oral: in person or by phone"), callback_data=LogCb(action="ch", value="oral")
    )
    _cancel(builder)
    builder.adjust(1)
    await message.answer(
        _(
            "<b>Log an appeal that came in writing or in person</b>\n"
            "It counts in the legal inspection's report, and you work and close it on the "
            "desk like an appeal from the bot. How did it come?"
        ),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(StateFilter(LogAppeal), LogCb.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(None)
    await state.update_data(log=None)
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Cancelled: nothing was saved."))
    await query.answer()


@router.callback_query(StateFilter(LogAppeal.channel), LogCb.filter(F.action == "ch"))
async def on_channel(
    query: CallbackQuery,
    callback_data: LogCb,
    state: FSMContext,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    if callback_data.value not in LOGGED_CHANNELS:
        await query.answer(outdated(), show_alert=True)
        return
    draft = await _draft(state)
    draft["channel"] = callback_data.value
    covered = _covered(staff, orgs)
    if len(covered) == 1:  # nothing to ask
        draft["org"] = covered[0]
        await _ask_workplace(query, state, draft)
        return
    await _keep(state, draft, LogAppeal.org)
    lang = _lang(member, i18n)
    builder = kb.InlineKeyboard()
    for org_id in covered:
        builder.button(
            text=orgs.title(org_id, lang), callback_data=LogCb(action="org", value=org_id)
        )
    builder.adjust(2)
    _cancel(builder)
    await _show(query, _("Which member organisation is it for?"), builder.as_markup())


@router.callback_query(StateFilter(LogAppeal.org), LogCb.filter(F.action == "org"))
async def on_org(
    query: CallbackQuery,
    callback_data: LogCb,
    state: FSMContext,
    staff: StaffView,
    orgs: MemberOrgs,
) -> None:
    if callback_data.value not in orgs.by_id or not staff.covers(callback_data.value):
        await query.answer(
            _("You can log appeals only for the member organisations you cover."),
            show_alert=True,
        )
        return
    draft = await _draft(state)
    draft["org"] = callback_data.value
    await _ask_workplace(query, state, draft)


async def _ask_workplace(query: CallbackQuery, state: FSMContext, draft: dict[str, Any]) -> None:
    await _keep(state, draft, LogAppeal.workplace)
    builder = kb.InlineKeyboard()
    for kind, label in WORKPLACE_LABELS.items():
        builder.button(text=_(label), callback_data=LogCb(action="wp", value=kind.value))
    builder.adjust(2)
    _cancel(builder)
    await _show(query, _("Where does the person work?"), builder.as_markup())


@router.callback_query(StateFilter(LogAppeal.workplace), LogCb.filter(F.action == "wp"))
async def on_workplace(
    query: CallbackQuery,
    callback_data: LogCb,
    state: FSMContext,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    if callback_data.value not in {kind.value for kind in WorkplaceType}:
        await query.answer(outdated(), show_alert=True)
        return
    draft = await _draft(state)
    draft["workplace"] = callback_data.value
    await _keep(state, draft, LogAppeal.topic)
    lang = _lang(member, i18n)
    builder = kb.InlineKeyboard()
    for topic in TOPICS:
        builder.button(
            text=topic_title(topic, lang), callback_data=LogCb(action="topic", value=topic)
        )
    builder.adjust(2)
    _cancel(builder)
    await _show(query, _("What is the appeal about?"), builder.as_markup())


def _day_question() -> tuple[str, InlineKeyboardMarkup]:
    builder = kb.InlineKeyboard()
    builder.button(text=_("Today"), callback_data=LogCb(action="day", value="today"))
    builder.button(text=_("Yesterday"), callback_data=LogCb(action="day", value="yesterday"))
    builder.adjust(2)
    _cancel(builder)
    return (
        _("When was it received? Press a button, or type the date, for example 05.03.2026."),
        builder.as_markup(),
    )


@router.callback_query(StateFilter(LogAppeal.topic), LogCb.filter(F.action == "topic"))
async def on_topic(query: CallbackQuery, callback_data: LogCb, state: FSMContext) -> None:
    if callback_data.value not in TOPICS:
        await query.answer(outdated(), show_alert=True)
        return
    draft = await _draft(state)
    draft["topic"] = callback_data.value
    await _keep(state, draft, LogAppeal.received)
    await _show(query, *_day_question())


@router.callback_query(StateFilter(LogAppeal.received), LogCb.filter(F.action == "day"))
async def on_day(
    query: CallbackQuery, callback_data: LogCb, state: FSMContext, tz: ZoneInfo
) -> None:
    today = utcnow().astimezone(tz).date()
    if callback_data.value not in ("today", "yesterday"):
        await query.answer(outdated(), show_alert=True)
        return
    day = today if callback_data.value == "today" else today - timedelta(days=1)
    await _received(query, state, day)


@router.message(StateFilter(LogAppeal.received), WORDS)
async def on_day_typed(message: Message, state: FSMContext, tz: ZoneInfo) -> None:
    try:
        day = parse_local_day((message.text or "").strip())
    except PeriodError:
        await message.answer(
            _(
                "I could not read the date. Please type it as day.month.year, "
                "for example 05.03.2026."
            )
        )
        return
    problem = date_problem(day, utcnow().astimezone(tz).date())
    if problem == "future":
        await message.answer(_("The date received cannot be in the future."))
        return
    if problem == "too-early":
        await message.answer(_("The date received cannot be before 2000."))
        return
    await _received(message, state, day)


async def _received(event: Message | CallbackQuery, state: FSMContext, day: date) -> None:
    draft = await _draft(state)
    draft["received"] = day.isoformat()
    await _ask(event, state, draft, "summary")


def _question(step: str) -> str:
    if step == "summary":
        return _(
            "Optional: a short summary of the question (up to {limit} characters), without "
            "the person's name. Type it, or press “Skip”."
        ).format(limit=MAX_SUMMARY)
    if step == "name":
        return _(
            "Optional: the person's name, as they gave it. Type it, or press “Skip”.\n"
            "The name and the contact are kept under the same privacy rules as members' "
            "data: only the lawyers who cover this member organisation see them, and they are "
            "erased with the appeal's texts at the end of the storage period."
        )
    return _(
        "Optional: a phone number or an e-mail address to reach the person (up to {limit} "
        "characters). Type it, or press “Skip”. The bot never writes to it."
    ).format(limit=MAX_CONTACT)


STEPS = {"summary": LogAppeal.summary, "name": LogAppeal.name, "contact": LogAppeal.contact}
NEXT = {"summary": "name", "name": "contact"}


async def _ask(
    event: Message | CallbackQuery, state: FSMContext, draft: dict[str, Any], step: str
) -> None:
    await _keep(state, draft, STEPS[step])
    builder = kb.InlineKeyboard()
    builder.button(text=_("Skip"), callback_data=LogCb(action="skip", value=step))
    _cancel(builder)
    builder.adjust(2)
    await _show(event, _question(step), builder.as_markup())


async def _answered(
    event: Message | CallbackQuery,
    state: FSMContext,
    step: str,
    words: str | None,
    orgs: MemberOrgs,
    lang: str,
) -> None:
    draft = await _draft(state)
    draft[step] = words
    if step in NEXT:
        await _ask(event, state, draft, NEXT[step])
        return
    await _keep(state, draft, LogAppeal.confirm)
    await _show(event, *_confirmation(draft, orgs, lang))


@router.callback_query(StateFilter(*STEPS.values()), LogCb.filter(F.action == "skip"))
async def on_skip(
    query: CallbackQuery,
    callback_data: LogCb,
    state: FSMContext,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    step = (await state.get_state() or "").rsplit(":", 1)[-1]
    if callback_data.value != step:  # a button of an earlier question
        await query.answer(outdated(), show_alert=True)
        return
    await _answered(query, state, step, None, orgs, _lang(member, i18n))


@router.message(StateFilter(*STEPS.values()), WORDS)
async def on_words(
    message: Message,
    state: FSMContext,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    step = (await state.get_state() or "").rsplit(":", 1)[-1]
    words = (message.text or "").strip()
    if len(words) > LIMITS[step]:
        await message.answer(
            _("This is too long: {length} characters, the limit is {limit}.").format(
                length=len(words), limit=LIMITS[step]
            )
        )
        return
    await _answered(message, state, step, words or None, orgs, _lang(member, i18n))


def _confirmation(draft: dict[str, Any], orgs: MemberOrgs, lang: str) -> tuple[str, Any]:
    lines = [
        _("<b>Log this appeal?</b>"),
        _("Came: {channel}").format(channel=channel_label(str(draft.get("channel")))),
        _("Member organisation: {org}").format(org=escape(orgs.title(draft.get("org"), lang))),
        _("Workplace: {workplace}").format(
            workplace=_(WORKPLACE_LABELS[WorkplaceType(str(draft.get("workplace")))])
        ),
        _("Topic: {topic}").format(topic=escape(topic_title(str(draft.get("topic")), lang))),
        _("Received: {day}").format(
            day=fmt_date(date.fromisoformat(str(draft.get("received"))), lang)
        ),
        _("Summary: {summary}").format(summary=escape(draft.get("summary") or "—")),
        _("Name: {name} · contact: {contact}").format(
            name=escape(draft.get("name") or "—"), contact=escape(draft.get("contact") or "—")
        ),
        "",
        _("It will be yours on the desk (/mine): close it with its outcome when it is done."),
    ]
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("✅ Save"), callback_data=LogCb(action="save", value=str(draft.get("token")))
    )
    _cancel(builder)
    builder.adjust(2)
    return "\n".join(lines), builder.as_markup()


@router.callback_query(StateFilter(LogAppeal.confirm), LogCb.filter(F.action == "save"))
async def on_save(
    query: CallbackQuery,
    callback_data: LogCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
) -> None:
    draft = await _draft(state)
    if not draft.get("token") or callback_data.value != draft["token"]:
        await query.answer(outdated(), show_alert=True)
        return
    lang = _lang(member, i18n)
    try:
        appeal = await log_appeal(
            session,
            staff,
            LoggedAppeal(
                channel=str(draft.get("channel")),
                member_org=str(draft.get("org")),
                workplace_type=WorkplaceType(str(draft.get("workplace"))),
                topic=str(draft.get("topic")),
                received=date.fromisoformat(str(draft.get("received"))),
                summary=draft.get("summary"),
                name=draft.get("name"),
                contact=draft.get("contact"),
                language=lang,
                token=str(draft["token"]),
            ),
            known_orgs=set(orgs.by_id),
            tz=tz,
        )
        card = await open_card(session, staff, appeal.id)
        await session.commit()
    except (DeskError, ValueError) as exc:
        await session.rollback()
        code = getattr(exc, "code", "")
        await query.answer(
            _("You can log appeals only for the member organisations you cover.")
            if code == "not-found"
            else outdated(),
            show_alert=True,
        )
        return
    await state.set_state(None)
    await state.update_data(log=None)
    if isinstance(query.message, Message):
        text, markup = card_screen(card, staff, orgs, lang, tz)
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer(_("Saved: appeal No. {number} is yours.").format(number=appeal.id))


@router.message(StateFilter(*TYPED), NOT_COMMAND)
async def on_not_words(message: Message) -> None:
    """A sticker, a photo or a voice message where words are asked for."""
    await message.answer(_("Please type it in words, or use the buttons above."))


@router.message(StateFilter(LogAppeal), NOT_COMMAND)
async def on_words_for_buttons(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above, or send /log to start again."))
