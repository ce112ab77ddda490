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
from bot.handlers.shared.common import outdated, too_long
from bot.handlers.shared.media import clip
from bot.handlers.shared.states import Mailbox
from bot.i18n import N_
from bot.services.limits import MAX_TEXT
from bot.services.mailbox import MailboxError, may_sign, send_to_mailbox
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
SIGNED, ANONYMOUS = "signed", "anonymous"  # FeedbackCb values of the two send buttons


def kinds_markup() -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    for kind, label in KIND_LABELS.items():
        builder.button(text=_(label), callback_data=FeedbackCb(action="kind", value=kind.value))
    builder.button(text=_("✖️ Cancel"), callback_data=FeedbackCb(action="cancel"))
    builder.adjust(3, 1)
    return builder.as_markup()


def anonymous_only() -> str:
    return _(
        "You have not given your consent to the storage of personal data, so you can write "
        "here only anonymously: your message is stored without your name and Telegram "
        "account, with your member organisation only. Please do not put your name or other "
        "personal details in the text."
    )


def write_prompt(member: MemberView) -> str:
    text = _("Write your message in one piece (up to {limit} characters).").format(limit=MAX_TEXT)
    return text if may_sign(member) else text + "\n\n" + anonymous_only()


def confirm_view(data: dict[str, object], member: MemberView) -> tuple[str, InlineKeyboardMarkup]:
    """The letter and one button per way of sending it: each button sends."""
    text = _("<b>Your message to the union's leadership</b>\n{kind}\n\n«{text}»").format(
        kind=_(KIND_LABELS[FeedbackKind(str(data["kind"]))]),
        text=escape(clip(str(data.get("text", "")), PREVIEW)),
    )
    builder = kb.InlineKeyboard()
    if may_sign(member):
        text += "\n\n" + _(
            "Sent with your name, the union's leadership sees who wrote it. Sent anonymously, "
            "it is stored without your name and Telegram account, with your member "
            "organisation only."
        )
        builder.button(
            text=_("📨 Send with my name"), callback_data=FeedbackCb(action="send", value=SIGNED)
        )
    else:
        text += "\n\n" + anonymous_only()
    builder.button(
        text=_("🕶 Send anonymously"), callback_data=FeedbackCb(action="send", value=ANONYMOUS)
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
async def on_kind(
    query: CallbackQuery, callback_data: FeedbackCb, state: FSMContext, member: MemberView
) -> None:
    if callback_data.value not in {k.value for k in FeedbackKind}:
        await query.answer(outdated(), show_alert=True)
        return
    await state.set_state(Mailbox.text)
    await state.update_data(mailbox={"kind": callback_data.value})
    if isinstance(query.message, Message):
        await query.message.edit_text(write_prompt(member))
    await query.answer()


@router.message(StateFilter(Mailbox.text), WORDS)
async def on_text(message: Message, state: FSMContext, member: MemberView) -> None:
    text = (message.text or "").strip()
    if not text:  # only spaces: nothing to send yet
        await message.answer(write_prompt(member))
        return
    if len(text) > MAX_TEXT:
        await message.answer(too_long(len(text)))
        return
    data = dict((await state.get_data()).get("mailbox") or {})
    data["text"] = text
    await state.update_data(mailbox=data)
    await state.set_state(Mailbox.confirm)
    view, markup = confirm_view(data, member)
    await message.answer(view, reply_markup=markup)


@router.callback_query(
    StateFilter(Mailbox.confirm), FeedbackCb.filter(F.action.in_({"send", "anon"}))
)
async def on_send(
    query: CallbackQuery,
    callback_data: FeedbackCb,
    state: FSMContext,
    session: AsyncSession,
    member: MemberView,
) -> None:
    data = dict((await state.get_data()).get("mailbox") or {})
    if not str(data.get("text") or "").strip() or data.get("kind") not in KINDS:
        await query.answer(outdated(), show_alert=True)
        return
    if callback_data.action != "send" or callback_data.value not in (SIGNED, ANONYMOUS):
        # A confirmation drawn before the two send buttons (a switch and "Send"): drawn
        # again, so nothing goes out in a way the member did not choose on this screen.
        await _redraw(query, data, member)
        return
    try:
        await send_to_mailbox(
            session,
            member,
            kind=FeedbackKind(str(data["kind"])),
            text=str(data["text"]),
            anonymous=callback_data.value == ANONYMOUS,
        )
    except MailboxError:  # signed without consent: a stale screen, or the consent changed
        await session.rollback()
        await _redraw(query, data, member)
        return
    await session.commit()
    await state.set_state(None)
    await state.update_data(mailbox=None)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Thank you! Your message has been passed to the union's leadership.")
        )
    await query.answer()


async def _redraw(query: CallbackQuery, data: dict[str, object], member: MemberView) -> None:
    view, markup = confirm_view(data, member)
    if isinstance(query.message, Message):
        await query.message.edit_text(view, reply_markup=markup)
    await query.answer()


@router.callback_query(StateFilter(None, Mailbox), FeedbackCb.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(None)
    await state.update_data(mailbox=None)
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Cancelled; nothing was sent."))
    await query.answer()
