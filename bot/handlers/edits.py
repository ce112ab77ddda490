"""An edited message in an appeal's conversation reaches the other side as an edit.

A member or a lawyer corrects a message they sent in an appeal (Telegram's "Edit"): the
stored text follows, the earlier one is kept in the message's history, and the copy the
other side got is corrected — edited in place when Telegram allows it, otherwise sent
again marked "edited" — through the outbox, like every message to another person. So are
the copies posted into the appeal's topics in the staff groups. An edit of the words of an
appeal being written corrects the draft; of one just sent, the member is told it cannot
follow. Edits of any other message (a search, a command) change nothing.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.methods import EditMessageCaption, EditMessageText, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.desk.answers import in_topic_label, to_member_label
from bot.handlers.member.appeal import confirm_view
from bot.handlers.member.conversation import to_lawyer_label
from bot.handlers.shared.common import too_long
from bot.handlers.shared.forum import topics_with_language
from bot.handlers.shared.media import CAPTION_LIMIT, TEXT_LIMIT, relay, utf16_len
from bot.handlers.shared.relay import send_later
from bot.handlers.shared.states import AppealDraft
from bot.outbox import Outbox
from bot.outbox.sender import SUPERGROUPS
from bot.outbox.texts import TO_MEMBER, TO_STAFF
from bot.services import edits
from bot.services.limits import MAX_TEXT
from bot.services.members import MemberDirectory, MemberView
from bot.storage.models import (
    Appeal,
    AppealMessage,
    Member,
    MessageSide,
    OutboxMessage,
    OutboxStatus,
    Staff,
    utcnow,
)
from bot.storage.outbox import Writer
from bot.topics import MemberOrgs

router = Router(name=__name__)

DRAFTING = (AppealDraft.text.state, AppealDraft.files.state, AppealDraft.confirm.state)
CARRIES_WORDS = ("sendMessage", "sendPhoto", "sendDocument")  # not a later edit of it


async def _draft_edit(
    message: Message, state: FSMContext, member: MemberView | None, orgs: MemberOrgs
) -> None:
    """An edit of the words of an appeal being written corrects the draft; of an appeal
    just sent, the member is told it cannot follow (the lawyer has the words as sent)."""
    data = await state.get_data()
    key, new = str(message.message_id), (message.text or "").strip()
    draft = dict(data.get("draft") or {})
    pieces = dict(draft.get("pieces") or {})
    if await state.get_state() in DRAFTING and key in pieces and new:
        text, old = str(draft.get("text") or ""), str(pieces[key])
        if old and text.count(old) == 1:
            corrected = text.replace(old, new, 1)
            if len(corrected) > MAX_TEXT:
                await message.reply(too_long(len(corrected)))
                return
            pieces[key] = new
            draft.update(text=corrected, pieces=pieces)
            await state.update_data(draft=draft)
            await message.reply(_("✏️ Corrected in your appeal before it is sent."))
            if await state.get_state() == AppealDraft.confirm.state and member is not None:
                # The check screen shown before has the old words: here it is again.
                text, markup = confirm_view(member, draft, orgs)
                await message.answer(text, reply_markup=markup)
            return
    sent = (data.get("sent_pieces") or {}).get(key)
    if sent is not None:
        await message.reply(
            _(
                "✏️ Appeal No. {number} was already sent with the earlier words, so this edit "
                "does not reach the lawyer. Please write the correction as a new message."
            ).format(number=sent)
        )


@router.edited_message()
async def on_edited(
    message: Message,
    session: AsyncSession,
    outbox: Outbox,
    i18n: I18n,
    member_directory: MemberDirectory,
    bot: Bot,
    state: FSMContext | None = None,  # None: an edit in a staff group (topics.py)
    orgs: MemberOrgs | None = None,
    member: MemberView | None = None,
) -> None:
    stored = await edits.written_as(session, message.chat.id, message.message_id)
    if stored is None:
        if state is not None and orgs is not None:
            await _draft_edit(message, state, member, orgs)
        return
    text = message.text or message.caption
    if text is not None and len(text) > MAX_TEXT:
        await message.reply(too_long(len(text)))
        return
    if not edits.apply(stored, text, utcnow()):
        return
    appeal = await session.get_one(Appeal, stored.appeal_id)
    before = str((stored.edits[-1] or {}).get("text") or "")
    copies = [c for c in await edits.copies_of(session, stored.id) if c.method in CARRIES_WORDS]
    private = [c for c in copies if c.chat_id > SUPERGROUPS]
    rows = []
    if private:
        first = private[0]
        to_member = stored.side == MessageSide.LAWYER
        if to_member:
            language = (await session.get_one(Member, appeal.member_id)).language
        else:
            language = await member_directory.language_of(session, first.chat_id)
        with i18n.use_locale(language):
            label, markup = (to_member_label if to_member else to_lawyer_label)(appeal.id)
            corrected = _("✏️ Corrected: {label}").format(label=label)
            methods = _correction(first, label, corrected, before, text or "", markup)
        if methods:
            rows = send_later(
                session,
                outbox,
                methods,
                purpose=TO_MEMBER if to_member else TO_STAFF,
                appeal_id=appeal.id,
                appeal_message_id=stored.id,
                writer=Writer(message.chat.id, language),
            )
    rows += await _in_topics(
        [c for c in copies if c.chat_id < SUPERGROUPS],
        stored,
        text or "",
        session=session,
        outbox=outbox,
        i18n=i18n,
    )
    await session.commit()
    if rows:
        await outbox.deliver(bot, rows)
    await message.reply(
        _("✏️ The correction is kept in appeal No. {number} and passed on.").format(number=appeal.id)
    )


async def _in_topics(
    copies: list[OutboxMessage],
    stored: AppealMessage,
    text: str,
    *,
    session: AsyncSession,
    outbox: Outbox,
    i18n: I18n,
) -> list[OutboxMessage]:
    """The copies posted into the appeal's topics in the staff groups (the member's words,
    or a lawyer's answer written in the private chat) are corrected the same way, in each
    group's language, under the label they were posted with; a group no longer linked gets
    nothing more."""
    if not copies:
        return []
    before = str((stored.edits[-1] or {}).get("text") or "")
    topics = {
        topic.chat_id: (topic.thread_id, language)
        for topic, language in await topics_with_language(session, stored.appeal_id, covering=None)
    }
    who = ""
    if stored.side == MessageSide.LAWYER and stored.author_staff_id is not None:
        author = await session.get(Staff, stored.author_staff_id)
        who = escape((author.full_name or str(author.telegram_id)) if author else "")
    rows: list[OutboxMessage] = []
    seen: set[int] = set()
    for first in copies:
        if first.chat_id in seen or first.chat_id not in topics:
            continue  # a topic's first copy carries the words
        seen.add(first.chat_id)
        thread, language = topics[first.chat_id]
        with i18n.use_locale(language):
            if stored.side == MessageSide.LAWYER:
                label = in_topic_label(who)
            else:
                label = to_lawyer_label(stored.appeal_id)[0]
            corrected = _("✏️ Corrected: {label}").format(label=label)
        methods = [
            m.model_copy(update={"message_thread_id": thread})
            if m.__api_method__.startswith("send")
            else m
            for m in _correction(first, label, corrected, before, text, None)
        ]
        rows += send_later(
            session,
            outbox,
            methods,
            purpose=TO_STAFF,
            appeal_id=stored.appeal_id,
            appeal_message_id=stored.id,
        )
    return rows


def _correction(
    first: OutboxMessage,
    label: str,
    corrected: str,
    before: str,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> list[TelegramMethod[Any]]:
    """How the other side gets the new words: the copy they have, edited, when it was sent
    with the words beside the label and the new words fit there too; otherwise (still on
    its way, or the words went in pieces of their own) the new words follow, marked as
    corrected (the outbox keeps a chat's messages in order)."""
    if first.status in (OutboxStatus.BLOCKED, OutboxStatus.CANCELLED, OutboxStatus.FAILED):
        return []  # they were never reached: nothing to correct
    is_file = first.method != "sendMessage"
    limit = CAPTION_LIMIT if is_file else TEXT_LIMIT

    def fits(words: str) -> bool:
        return utf16_len(label) + 2 + utf16_len(words) <= limit

    if first.status == OutboxStatus.SENT and first.message_id and fits(before) and fits(text):
        body = label + ("\n\n" + escape(text) if text else "")
        if is_file:
            return [
                EditMessageCaption(
                    chat_id=first.chat_id,
                    message_id=first.message_id,
                    caption=body,
                    reply_markup=markup,
                )
            ]
        if text:
            return [
                EditMessageText(
                    chat_id=first.chat_id,
                    message_id=first.message_id,
                    text=body,
                    reply_markup=markup,
                )
            ]
    return relay(first.chat_id, corrected, text, [], markup)
