"""A member talking with their lawyer, the way people write in a chat.

- A Telegram reply to a lawyer's relayed message goes to that message's appeal, whatever
  else the member was doing (`quotes`, early in the router list).
- Plain words, photos or documents in the main menu, while a lawyer is answering one of
  the member's appeals, go to that lawyer, confirmed in one line with a small "this was a
  new question" button that takes them back (`router`, before the FAQ search).
- With several appeals in conversation the bot asks which one, never guesses.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.methods import DeleteMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import ConvCb, DeskCb, RateCb
from bot.faq.search import FaqIndex
from bot.filters import FILE, WORDS, Magic, Registered, RepliesToAppeal
from bot.handlers.member.question import answer_question
from bot.handlers.shared.common import outdated
from bot.handlers.shared.forum import deliver_quietly, post_in_topics
from bot.handlers.shared.media import attachment_of, relay, too_big
from bot.handlers.shared.relay import Writer, send_later, told_member
from bot.handlers.shared.states import Conversation
from bot.outbox import Outbox
from bot.outbox.sender import Delivery
from bot.outbox.texts import TO_STAFF
from bot.services.appeals import (
    MAX_ATTACHMENTS,
    AppealError,
    add_member_message,
    holding_lawyer,
    in_conversation,
    withdraw,
)
from bot.services.limits import MAX_TEXT
from bot.services.members import MemberDirectory, MemberView
from bot.services.outcomes import REOPEN_WINDOW
from bot.storage.models import Appeal, AppealSource, AppealStatus, utcnow
from bot.topics import topic_title

quotes = Router(name=__name__ + ".quotes")
quotes.message.filter(Registered())
router = Router(name=__name__)
router.message.filter(Registered())
router.callback_query.filter(Registered())


class InConversation(Filter):
    """The member has open appeals whose lawyer wrote to them: `talking`."""

    async def __call__(
        self, event: Any, session: AsyncSession, member: MemberView | None = None
    ) -> bool | dict[str, Any]:
        if member is None:
            return False
        talking = await in_conversation(session, member)
        return {"talking": talking} if talking else False


def error_text(code: str) -> str:
    texts = {
        "too-long": _("The text is too long; the limit is {limit} characters.").format(
            limit=MAX_TEXT
        ),
        "too-many-files": _("An appeal can have at most {limit} files.").format(
            limit=MAX_ATTACHMENTS
        ),
        "closed": _("This appeal is closed; please send a new appeal."),
        "too-late": _(
            "It has been with the lawyer for a while and cannot be taken back. Write to them "
            "that it was a separate question, or send it as a new appeal with /ask."
        ),
    }
    return texts.get(code, outdated())


def to_lawyer_label(appeal_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """What heads a member's message as the lawyer gets it, and its button (in the locale
    in use: the lawyer's)."""
    label = _("📨 Appeal No. {number}: the member writes:").format(number=appeal_id)
    answer = kb.InlineKeyboard()
    answer.button(
        text=_("✍️ Write to the member"), callback_data=DeskCb(action="reply", value=appeal_id)
    )
    return label, answer.as_markup()


async def pass_to_lawyer(
    appeal_id: int,
    text: str | None,
    attachments: list[dict[str, Any]],
    *,
    source: tuple[int, int] | None = None,
    session: AsyncSession,
    member: MemberView,
    outbox: Outbox,
    bot: Bot,
    i18n: I18n,
    member_directory: MemberDirectory,
) -> tuple[int, Delivery | None]:
    """Store the member's words in the appeal and pass them to the lawyer holding it (in
    one transaction with the outbox's copy). Returns the stored message's id and what
    happened to the copy (None: no lawyer has the appeal; whoever takes it sees it)."""
    stored = await add_member_message(
        session, member, appeal_id, text=text, attachments=attachments, source=source
    )
    lawyer = await holding_lawyer(session, appeal_id)
    rows = []
    if lawyer is not None:
        lang = await member_directory.language_of(session, lawyer.telegram_id)
        with i18n.use_locale(lang):
            label, markup = to_lawyer_label(appeal_id)
            methods = relay(lawyer.telegram_id, label, text, attachments, markup)
        rows = send_later(
            session,
            outbox,
            methods,
            purpose=TO_STAFF,
            appeal_id=appeal_id,
            appeal_message_id=stored.id,
            writer=Writer(member.telegram_id, member.language),
        )
    # The appeal's topics in the staff groups, if any, get the words too.
    posted = await post_in_topics(
        appeal_id,
        text,
        attachments,
        label=lambda: to_lawyer_label(appeal_id)[0],
        session=session,
        outbox=outbox,
        i18n=i18n,
        appeal_message_id=stored.id,
    )
    await session.commit()
    delivery = await outbox.deliver(bot, rows) if rows else None
    await deliver_quietly(bot, outbox, posted)
    return stored.id, delivery


def confirmation(delivery: Delivery | None, appeal_id: int) -> str:
    if delivery is None:
        return _("Added to appeal No. {number}. The lawyer who takes it will see it.").format(
            number=appeal_id
        )
    return told_member(delivery, appeal_id)


def undo_markup(message_id: int) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("🆕 This was a new question"), callback_data=ConvCb(action="undo", value=message_id)
    )
    return builder.as_markup()


async def add_from_message(message: Message, appeal_id: int, *, undo: bool, **deps: Any) -> bool:
    """The member's message (text, photo or document) to appeal `appeal_id`, with the
    reply to the member. False when nothing could be added."""
    attachment = attachment_of(message)
    attachments = [attachment] if attachment else []
    text = message.text or message.caption
    source = (message.chat.id, message.message_id)
    notes: list[str] = []
    refused = too_big(message)
    if refused is not None:
        if not text:  # nothing else in it: the member may send a smaller file now
            await message.answer(refused)
            return False
        notes.append(refused)
        attachments = []  # the words under the file still go to the appeal
    session: AsyncSession = deps["session"]
    try:
        try:
            stored_id, delivery = await pass_to_lawyer(
                appeal_id, text, attachments, source=source, **deps
            )
        except AppealError as exc:
            if exc.code != "too-many-files" or not text:
                raise
            # The appeal has its files already: the words still go to it, without this one.
            await session.rollback()
            notes.append(error_text(exc.code))
            stored_id, delivery = await pass_to_lawyer(appeal_id, text, [], source=source, **deps)
    except AppealError as exc:
        await session.rollback()
        await message.answer(error_text(exc.code))
        return False
    notes.append(confirmation(delivery, appeal_id))
    await message.answer("\n\n".join(notes), reply_markup=undo_markup(stored_id) if undo else None)
    return True


def deps_of(data: dict[str, Any]) -> dict[str, Any]:
    names = ("session", "member", "outbox", "bot", "i18n", "member_directory")
    return {name: data[name] for name in names}


@quotes.message(RepliesToAppeal(), Magic(WORDS.magic | FILE.magic))
async def on_member_quote(
    message: Message, quoted_appeal: int, state: FSMContext, **data: Any
) -> None:
    """A Telegram reply to the lawyer's message: that appeal, whatever the member was doing
    (an unfinished draft stays as it was). A closed one keeps the words and offers to
    reopen it with them (within the week after closing) or to ask them as a new question."""
    appeal = await data["session"].get(Appeal, quoted_appeal)
    if (
        appeal is not None
        and appeal.member_id == data["member"].id
        and appeal.status == AppealStatus.CLOSED
    ):
        await keep_for_closed(message, state, appeal)
        return
    await add_from_message(message, quoted_appeal, undo=False, **deps_of(data))


async def keep_for_closed(message: Message, state: FSMContext, appeal: Appeal) -> None:
    words = (message.text or message.caption or "").strip()
    attachment = attachment_of(message)
    files = [attachment] if attachment is not None and too_big(message) is None else []
    if len(words) > MAX_TEXT:
        await message.answer(error_text("too-long"))
        return
    await state.set_state(Conversation.choose)
    await state.update_data(talk={"text": words or None, "files": files, "closed": appeal.id})
    builder = kb.InlineKeyboard()
    can_reopen = appeal.closed_at is not None and utcnow() - appeal.closed_at <= REOPEN_WINDOW
    if can_reopen:
        builder.button(
            text=_("❌ Not solved: reopen it with this message"),
            callback_data=RateCb(appeal=appeal.id, score=0),
        )
    builder.button(text=_("🆕 A new question"), callback_data=ConvCb(action="new"))
    builder.adjust(1)
    await message.answer(
        (
            _(
                "Appeal No. {number} is closed. Your message is kept: if the problem is not "
                "solved, reopen the appeal with it; otherwise ask it as a new question."
            )
            if can_reopen
            else _("Appeal No. {number} is closed. Your message is kept: ask it as a new question.")
        ).format(number=appeal.id),
        reply_markup=builder.as_markup(),
    )


@router.message(StateFilter(None), Magic(WORDS.magic | FILE.magic), InConversation())
async def on_words_in_conversation(
    message: Message, talking: list[Appeal], state: FSMContext, **data: Any
) -> None:
    if len(talking) == 1:
        await add_from_message(message, talking[0].id, undo=True, **deps_of(data))
        return
    await keep_and_ask(message, state, talking, data["member"])


async def keep_and_ask(
    message: Message, state: FSMContext, talking: list[Appeal], member: MemberView
) -> None:
    """Several lawyers' conversations: the message is kept (until the member's choice) and
    the member picks the appeal, or says it is a new question."""
    pending = dict((await state.get_data()).get("talk") or {})
    words = (message.text or message.caption or "").strip()
    text = "\n\n".join(part for part in (pending.get("text"), words) if part)
    if len(text) > MAX_TEXT:
        await message.answer(error_text("too-long"))
        return
    files = list(pending.get("files") or [])
    attachment = attachment_of(message)
    if attachment is not None:
        refused = too_big(message)
        if refused is not None:
            await message.answer(refused)
        else:
            files.append(attachment)
    if not (text or files):
        return
    await state.set_state(Conversation.choose)
    await state.update_data(talk={"text": text or None, "files": files})
    builder = kb.InlineKeyboard()
    for appeal in talking:
        builder.button(
            text=f"№ {appeal.id} · {topic_title(appeal.topic, member.language)}",
            callback_data=ConvCb(action="to", value=appeal.id),
        )
    builder.button(text=_("🆕 A new question"), callback_data=ConvCb(action="new"))
    builder.adjust(1)
    await message.answer(
        _("Lawyers are answering several of your appeals. Which one is this message for?"),
        reply_markup=builder.as_markup(),
    )


@router.message(StateFilter(Conversation.choose), Magic(WORDS.magic | FILE.magic))
async def on_more_while_choosing(
    message: Message, state: FSMContext, session: AsyncSession, member: MemberView
) -> None:
    talking = await in_conversation(session, member)
    await keep_and_ask(message, state, talking, member)


@router.callback_query(StateFilter(Conversation.choose), ConvCb.filter(F.action == "to"))
async def on_choose_appeal(
    query: CallbackQuery, callback_data: ConvCb, state: FSMContext, **data: Any
) -> None:
    pending = dict((await state.get_data()).get("talk") or {})
    deps = deps_of(data)
    if not isinstance(query.message, Message) or not (pending.get("text") or pending.get("files")):
        await query.answer(outdated(), show_alert=True)
        return
    session: AsyncSession = deps["session"]
    try:
        _stored, delivery = await pass_to_lawyer(
            callback_data.value, pending.get("text"), list(pending.get("files") or []), **deps
        )
    except AppealError as exc:
        await session.rollback()
        await query.answer(error_text(exc.code), show_alert=True)
        return
    await state.set_state(None)
    await state.update_data(talk=None)
    await query.message.edit_text(confirmation(delivery, callback_data.value))
    await query.answer()


@router.callback_query(StateFilter(Conversation.choose), ConvCb.filter(F.action == "new"))
async def on_new_question(
    query: CallbackQuery,
    state: FSMContext,
    member: MemberView,
    faq_index: FaqIndex,
) -> None:
    pending = dict((await state.get_data()).get("talk") or {})
    await state.set_state(None)
    await state.update_data(talk=None)
    if not isinstance(query.message, Message):
        await query.answer()
        return
    await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    await as_new_question(query.message, state, member, faq_index, pending)


async def as_new_question(
    anchor: Message,
    state: FSMContext,
    member: MemberView,
    faq_index: FaqIndex,
    pending: dict[str, Any],
) -> None:
    """Words are searched in the FAQ, as any question; files start a new appeal."""
    from bot.handlers.member.appeal import start_draft

    files = list(pending.get("files") or [])
    text = str(pending.get("text") or "")
    if files:
        await start_draft(anchor, state, member, source=AppealSource.DIRECT, text=text, files=files)
    elif text:
        await answer_question(anchor, state, member, faq_index, text)


@router.callback_query(ConvCb.filter(F.action == "undo"))
async def on_undo(
    query: CallbackQuery,
    callback_data: ConvCb,
    state: FSMContext,
    session: AsyncSession,
    member: MemberView,
    outbox: Outbox,
    bot: Bot,
    faq_index: FaqIndex,
) -> None:
    try:
        taken = await withdraw(session, member, callback_data.value, now=utcnow())
    except AppealError as exc:
        await session.rollback()
        await query.answer(error_text(exc.code), show_alert=True)
        return
    # The copies the lawyer already has are deleted from their chat (through the outbox:
    # the withdrawal and the deletions commit together).
    rows = send_later(
        session,
        outbox,
        [DeleteMessage(chat_id=chat, message_id=sent) for chat, sent in taken.copies],
        purpose=TO_STAFF,
        appeal_id=taken.appeal_id,
    )
    await session.commit()
    await outbox.deliver(bot, rows)
    if not isinstance(query.message, Message):
        await query.answer()
        return
    await query.message.edit_text(
        _("Taken back from appeal No. {number}: the lawyer will not see it.").format(
            number=taken.appeal_id
        )
    )
    await query.answer()
    await as_new_question(
        query.message,
        state,
        member,
        faq_index,
        {"text": taken.text, "files": taken.attachments},
    )
