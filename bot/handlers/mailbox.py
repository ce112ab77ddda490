"""/feedback: the union mailbox, suggestions and complaints to the union's leadership."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import FeedbackCb
from bot.filters import WORDS, MenuButton, Registered
from bot.handlers.media import clip
from bot.handlers.states import Mailbox
from bot.i18n import N_
from bot.services.mailbox import MAX_TEXT, send_to_mailbox
from bot.services.members import MemberView
from bot.storage.models import FeedbackKind

router = Router(name=__name__)
PREVIEW = 3600  # of the member's text on the confirmation, in Telegram's units
router.message.filter(Registered())
router.callback_query.filter(Registered())

KIND_LABELS = {
    FeedbackKind.SUGGESTION: N_("💡 Suggestion"),
    FeedbackKind.COMPLAINT: N_("⚠️ Complaint"),
    FeedbackKind.THANKS: N_("🙏 Thanks"),
}
KINDS = {kind.value for kind in FeedbackKind}


def kinds_markup() -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    for kind, label in KIND_LABELS.items():
        builder.button(text=_(label), callback_data=FeedbackCb(action="kind", value=kind.value))
    builder.button(text=_("✖️ Cancel"), callback_data=FeedbackCb(action="cancel"))
    builder.adjust(3, 1)
    return builder.as_markup()


def confirm_view(data: dict[str, object]) -> tuple[str, InlineKeyboardMarkup]:
    anonymous = bool(data.get("anonymous"))
    text = _(
        "<b>Your message to the union's leadership</b>\n{kind}\n\n«{text}»\n\n"
        "Anonymous: <b>{anonymous}</b>"
    ).format(
        kind=_(KIND_LABELS[FeedbackKind(str(data["kind"]))]),
        text=escape(clip(str(data.get("text", "")), PREVIEW)),
        anonymous=_("yes") if anonymous else _("no"),
    )
    builder = kb.InlineKeyboard()
    builder.button(text=_("📨 Send"), callback_data=FeedbackCb(action="send"))
    builder.button(
        text=_("👤 Sign with my name") if anonymous else _("🕶 Send anonymously"),
        callback_data=FeedbackCb(action="anon"),
    )
    builder.button(text=_("✖️ Cancel"), callback_data=FeedbackCb(action="cancel"))
    builder.adjust(1)
    return text, builder.as_markup()


@router.message(Command("feedback"))
@router.message(MenuButton(kb.BTN_MAILBOX))
async def cmd_feedback(message: Message, state: FSMContext) -> None:
    await state.set_state(None)
    await message.answer(
        _(
            "<b>Union mailbox</b>\nA suggestion, a complaint about the union's work, or thanks: "
            "your message goes to the union's leadership. For a legal question about your own "
            "situation, ask a lawyer instead (/ask).\n\nWhat would you like to send?"
        ),
        reply_markup=kinds_markup(),
    )


@router.callback_query(FeedbackCb.filter(F.action == "kind"))
async def on_kind(query: CallbackQuery, callback_data: FeedbackCb, state: FSMContext) -> None:
    if callback_data.value not in {k.value for k in FeedbackKind}:
        await query.answer(
            _("This button is outdated. Please use the latest message."), show_alert=True
        )
        return
    await state.set_state(Mailbox.text)
    await state.update_data(mailbox={"kind": callback_data.value, "anonymous": False})
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Write your message in one piece (up to {limit} characters).").format(limit=MAX_TEXT)
        )
    await query.answer()


@router.message(StateFilter(Mailbox.text), WORDS)
async def on_text(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if not text:  # only spaces: nothing to send yet
        await message.answer(
            _("Write your message in one piece (up to {limit} characters).").format(limit=MAX_TEXT)
        )
        return
    if len(text) > MAX_TEXT:
        await message.answer(
            _("This is too long: {length} characters, the limit is {limit}.").format(
                length=len(text), limit=MAX_TEXT
            )
        )
        return
    data = dict((await state.get_data()).get("mailbox") or {})
    data["text"] = text
    await state.update_data(mailbox=data)
    await state.set_state(Mailbox.confirm)
    view, markup = confirm_view(data)
    await message.answer(view, reply_markup=markup)


@router.callback_query(StateFilter(Mailbox.confirm), FeedbackCb.filter(F.action == "anon"))
async def on_anon(query: CallbackQuery, state: FSMContext) -> None:
    data = dict((await state.get_data()).get("mailbox") or {})
    data["anonymous"] = not data.get("anonymous")
    await state.update_data(mailbox=data)
    view, markup = confirm_view(data)
    if isinstance(query.message, Message):
        await query.message.edit_text(view, reply_markup=markup)
    await query.answer()


@router.callback_query(StateFilter(Mailbox.confirm), FeedbackCb.filter(F.action == "send"))
async def on_send(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, member: MemberView
) -> None:
    data = dict((await state.get_data()).get("mailbox") or {})
    if not str(data.get("text") or "").strip() or data.get("kind") not in KINDS:
        await query.answer(
            _("This button is outdated. Please use the latest message."), show_alert=True
        )
        return
    await send_to_mailbox(
        session,
        member,
        kind=FeedbackKind(str(data["kind"])),
        text=str(data["text"]),
        anonymous=bool(data.get("anonymous")),
    )
    await session.commit()
    await state.set_state(None)
    await state.update_data(mailbox=None)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Thank you! Your message has been passed to the union's leadership.")
        )
    await query.answer()


@router.callback_query(StateFilter(None, Mailbox), FeedbackCb.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(None)
    await state.update_data(mailbox=None)
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Cancelled; nothing was sent."))
    await query.answer()
