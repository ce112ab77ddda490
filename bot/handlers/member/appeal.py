"""An appeal to a lawyer: topic → question → files → hide-my-name option → send.

The draft lives in FSM data (stored in the database), and the appeal is committed before
the member is shown its number.
"""

from __future__ import annotations

import secrets
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import AskCb, ConsentCb, DraftCb, SearchAskCb, TopicCb
from bot.filters import FILE, WORDS, MenuButton, Registered
from bot.handlers.member.question import typed_question
from bot.handlers.shared.common import outdated
from bot.handlers.shared.forum import open_topics
from bot.handlers.shared.media import attachment_of, too_big
from bot.handlers.shared.states import AppealDraft
from bot.outbox import Outbox
from bot.services.appeals import MAX_ATTACHMENTS, AppealError, Draft, create_appeal
from bot.services.limits import MAX_TEXT
from bot.services.members import MemberDirectory, MemberView, has_consent, record_consent
from bot.storage.models import AppealSource
from bot.topics import TOPICS, MemberOrgs, topic_title

router = Router(name=__name__)
router.message.filter(Registered())
router.callback_query.filter(Registered())

PREVIEW = 700
ASK_SOURCES = ("search", "menu")  # AskCb.source


def _draft(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data.get("draft") or {})


def has_draft(data: dict[str, Any]) -> bool:
    """Whether the member has an appeal draft with something in it."""
    draft = data.get("draft") or {}
    return bool(draft.get("topic") or draft.get("text") or draft.get("files"))


async def start_draft(
    anchor: Message,
    state: FSMContext,
    member: MemberView,
    *,
    source: AppealSource,
    topic: str | None = None,
    faq_node: str | None = None,
    text: str = "",
    files: list[dict[str, Any]] | None = None,
    replace: bool = False,
) -> None:
    """Begin a new appeal draft; `anchor` is any message in the member's chat. An unfinished
    draft is never dropped silently: the member is asked to continue it or start again
    (`replace`: they chose to start again)."""
    request = {
        "source": source.value,
        "topic": topic,
        "faq_node": faq_node,
        "text": text,
        "files": list(files or []),
    }
    current = await state.get_state()
    if (
        not replace
        and current
        and current.startswith("AppealDraft")
        and has_draft(await state.get_data())
    ):
        await state.update_data(restart=request)
        await ask_keep_or_restart(anchor)
        return
    draft: dict[str, Any] = {
        "topic": topic if topic in TOPICS else None,
        "source": source.value,
        "faq_node": faq_node,
        "text": text[:MAX_TEXT],
        "hide": False,
        "files": list(files or [])[:MAX_ATTACHMENTS],
        # One token per draft: a second Send of this draft finds the appeal it made.
        "token": secrets.token_hex(16),
    }
    if text:
        # Text taken from the member's search question: offer to add details first.
        draft["text_unconfirmed"] = True
    await state.set_state(None)
    await state.update_data(draft=draft, search=None, restart=None)
    if not has_consent(member):
        from bot.handlers.member.start import consent_text

        await state.set_state(AppealDraft.consent)
        await anchor.answer(
            _("Before an appeal can be sent, I need your consent.") + "\n\n" + consent_text(),
            reply_markup=kb.consent(),
        )
        return
    await next_step(anchor, state, member)


async def ask_keep_or_restart(anchor: Message) -> None:
    builder = kb.InlineKeyboard()
    builder.button(text=_("➡️ Continue the draft"), callback_data=DraftCb(action="keep"))
    builder.button(text=_("🔄 Start again"), callback_data=DraftCb(action="restart"))
    builder.adjust(1)
    await anchor.answer(
        _("You have an appeal that is not sent yet. Continue it, or drop it and start again?"),
        reply_markup=builder.as_markup(),
    )


async def next_step(anchor: Message, state: FSMContext, member: MemberView) -> None:
    draft = _draft(await state.get_data())
    if not draft.get("topic"):
        await state.set_state(AppealDraft.topic)
        await anchor.answer(
            _("<b>Appeal to a lawyer</b>\nWhat is your question about? Choose a topic."),
            reply_markup=kb.topics(member.language, with_cancel=True),
        )
    elif not draft.get("text") or draft.get("text_unconfirmed"):
        await ask_text(anchor, state, member, draft)
    elif not draft.get("files_done"):
        await ask_files(anchor, state, draft)
    else:
        await show_confirm(anchor, state, member, draft)


async def ask_text(
    anchor: Message, state: FSMContext, member: MemberView, draft: dict[str, Any]
) -> None:
    await state.set_state(AppealDraft.text)
    builder = kb.InlineKeyboard()
    topic = escape(topic_title(str(draft["topic"]), member.language))
    if draft.get("text"):
        text = _(
            "<b>Appeal to a lawyer</b>\nTopic: {topic}\n\nYour question:\n«{question}»\n\n"
            "If you can, add details in one message: what happened, when, what you have "
            "already done. Or continue as it is."
        ).format(topic=topic, question=escape(str(draft["text"])[:PREVIEW]))
        builder.button(text=_("➡️ Continue"), callback_data=DraftCb(action="as_is"))
    else:
        text = _(
            "<b>Appeal to a lawyer</b>\nTopic: {topic}\n\n"
            "Describe your situation in one message: what happened, when, what you have "
            "already done. Photos and documents can be attached at the next step."
        ).format(topic=topic)
    builder.button(text=_("🔄 Change topic"), callback_data=DraftCb(action="topic"))
    builder.button(text=_("✖️ Cancel"), callback_data=DraftCb(action="cancel"))
    builder.adjust(1)
    await anchor.answer(text, reply_markup=builder.as_markup())


async def ask_files(anchor: Message, state: FSMContext, draft: dict[str, Any]) -> None:
    await state.set_state(AppealDraft.files)
    await anchor.answer(
        _(
            "If you have documents (contract, order, pay slip, a letter), send up to {limit} "
            "photos or files now, one by one. When you are done, or if there are none, press "
            "“Done”."
        ).format(limit=MAX_ATTACHMENTS),
        reply_markup=files_markup(),
    )


def files_markup() -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(text=_("✅ Done"), callback_data=DraftCb(action="files_done"))
    builder.button(text=_("✖️ Cancel"), callback_data=DraftCb(action="cancel"))
    return builder.as_markup()


def confirm_view(
    member: MemberView, draft: dict[str, Any], orgs: MemberOrgs
) -> tuple[str, InlineKeyboardMarkup]:
    question = str(draft["text"])
    if len(question) > PREVIEW:
        question = question[:PREVIEW] + "…"
    text = _(
        "<b>Check your appeal</b>\n"
        "Topic: {topic}\n"
        "Member organisation: {org}\n"
        "Files: {files}\n\n"
        "«{question}»\n\n"
        "🔒 Hide my name from my workplace's union committee: <b>{hide}</b>\n"
        "(The union's lawyer always sees who you are; this option asks them not to name you "
        "to the committee of your school or organisation.)"
    ).format(
        topic=escape(topic_title(str(draft["topic"]), member.language)),
        org=escape(orgs.title(member.member_org, member.language)),
        files=len(draft.get("files") or []),
        question=escape(question),
        hide=_("yes") if draft.get("hide") else _("no"),
    )
    builder = kb.InlineKeyboard()
    builder.button(text=_("📨 Send to a lawyer"), callback_data=DraftCb(action="send"))
    builder.button(
        text=_("🔓 Show my name") if draft.get("hide") else _("🔒 Hide my name"),
        callback_data=DraftCb(action="anon"),
    )
    builder.button(text=_("🔄 Change topic"), callback_data=DraftCb(action="topic"))
    builder.button(text=_("✖️ Cancel"), callback_data=DraftCb(action="cancel"))
    builder.adjust(1, 1, 2)
    return text, builder.as_markup()


async def show_confirm(
    anchor: Message,
    state: FSMContext,
    member: MemberView,
    draft: dict[str, Any],
    *,
    edit: bool = False,
) -> None:
    from bot.topics import default_member_orgs

    await state.set_state(AppealDraft.confirm)
    text, markup = confirm_view(member, draft, default_member_orgs())
    if edit:
        await anchor.edit_text(text, reply_markup=markup)
    else:
        await anchor.answer(text, reply_markup=markup)


# --- entry points ---------------------------------------------------------------------------


@router.message(Command("ask"))
@router.message(MenuButton(kb.BTN_ASK))
async def cmd_ask(message: Message, state: FSMContext, member: MemberView) -> None:
    await start_draft(message, state, member, source=AppealSource.DIRECT)


@router.callback_query(AskCb.filter())
@router.callback_query(SearchAskCb.filter())
async def on_ask(
    query: CallbackQuery,
    callback_data: AskCb | SearchAskCb,
    state: FSMContext,
    member: MemberView,
) -> None:
    if not isinstance(query.message, Message) or (
        isinstance(callback_data, AskCb) and callback_data.source not in ASK_SOURCES
    ):
        await query.answer(outdated(), show_alert=True)
        return
    # Under search results: the question typed there, if it is still the member's latest
    # (an older search's button quotes nothing rather than the wrong question).
    typed = None
    if isinstance(callback_data, SearchAskCb):
        typed = typed_question(await state.get_data(), callback_data.q)
    if typed is not None:
        await start_draft(
            query.message,
            state,
            member,
            source=AppealSource.FAQ_MISS,
            topic=typed[1],
            text=typed[0],
        )
    else:
        await start_draft(query.message, state, member, source=AppealSource.DIRECT)
    await query.answer()


# --- steps ----------------------------------------------------------------------------------


@router.callback_query(StateFilter(AppealDraft.consent), ConsentCb.filter())
async def on_draft_consent(
    query: CallbackQuery,
    callback_data: ConsentCb,
    state: FSMContext,
    member: MemberView,
    session: AsyncSession,
    member_directory: MemberDirectory,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if not callback_data.agree:
        await state.set_state(None)
        await state.update_data(draft=None)
        await query.message.edit_text(
            _("Without consent I cannot pass an appeal to a lawyer. The FAQ is always open: /faq")
        )
        await query.answer()
        return
    saved = await record_consent(session, member.id)
    await session.commit()
    member = MemberView.of(saved)
    member_directory.remember(member.telegram_id, member)
    await query.message.edit_text(_("Thank you, consent recorded."))
    await query.answer()
    await next_step(query.message, state, member)


@router.message(StateFilter(AppealDraft.consent), FILE)
async def on_file_before_consent(message: Message) -> None:
    await message.answer(
        _(
            "To pass documents to a lawyer, I need your consent first: please answer with the "
            "buttons above. Nothing from this file was kept."
        )
    )


@router.callback_query(StateFilter(AppealDraft.topic), TopicCb.filter())
async def on_topic(
    query: CallbackQuery, callback_data: TopicCb, state: FSMContext, member: MemberView
) -> None:
    if callback_data.id not in TOPICS or not isinstance(query.message, Message):
        await query.answer(outdated())
        return
    draft = _draft(await state.get_data())
    draft["topic"] = callback_data.id
    await state.update_data(draft=draft)
    await query.message.edit_text(
        _("Topic: {topic}").format(topic=escape(topic_title(callback_data.id, member.language)))
    )
    await query.answer()
    await next_step(query.message, state, member)


@router.callback_query(
    StateFilter(AppealDraft.text, AppealDraft.confirm), DraftCb.filter(F.action == "topic")
)
async def on_change_topic(query: CallbackQuery, state: FSMContext, member: MemberView) -> None:
    await state.set_state(AppealDraft.topic)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Choose the topic of your appeal:"),
            reply_markup=kb.topics(member.language, with_cancel=True),
        )
    await query.answer()


@router.callback_query(StateFilter(AppealDraft), DraftCb.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(None)
    await state.update_data(draft=None)
    if isinstance(query.message, Message):
        await query.message.edit_text(_("The appeal was cancelled; nothing was sent."))
    await query.answer()


@router.callback_query(StateFilter(AppealDraft), DraftCb.filter(F.action == "keep"))
async def on_keep_draft(query: CallbackQuery, state: FSMContext, member: MemberView) -> None:
    await state.update_data(restart=None)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await next_step(query.message, state, member)
    await query.answer()


@router.callback_query(StateFilter(AppealDraft), DraftCb.filter(F.action == "restart"))
async def on_restart_draft(query: CallbackQuery, state: FSMContext, member: MemberView) -> None:
    request = (await state.get_data()).get("restart")
    if not isinstance(query.message, Message) or not isinstance(request, dict):
        await query.answer(outdated(), show_alert=True)
        return
    await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    if request.get("menu"):  # /start: the draft goes, the main menu comes
        await state.set_state(None)
        await state.update_data(draft=None, restart=None)
        from bot.handlers.member.start import show_main_menu

        await show_main_menu(query.message, _("The draft is dropped; nothing was sent."))
        return
    await start_draft(
        query.message,
        state,
        member,
        source=AppealSource(str(request.get("source") or AppealSource.DIRECT.value)),
        topic=request.get("topic"),
        faq_node=request.get("faq_node"),
        text=str(request.get("text") or ""),
        files=list(request.get("files") or []),
        replace=True,
    )


@router.callback_query(StateFilter(AppealDraft.text), DraftCb.filter(F.action == "as_is"))
async def on_text_as_is(query: CallbackQuery, state: FSMContext, member: MemberView) -> None:
    draft = _draft(await state.get_data())
    draft.pop("text_unconfirmed", None)
    await state.update_data(draft=draft)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.answer()
        await next_step(query.message, state, member)


def appeal_error_text(code: str) -> str:
    texts = {
        "consent": _("Your consent to data processing is needed first: send /ask again."),
        "empty": _("The appeal has no text yet: please describe your situation."),
        "too-long": _("The text is too long; the limit is {limit} characters.").format(
            limit=MAX_TEXT
        ),
        "too-many-files": _("An appeal can have at most {limit} files.").format(
            limit=MAX_ATTACHMENTS
        ),
        "closed": _("This appeal is closed; please send a new appeal."),
    }
    return texts.get(code, outdated())


def _too_long(length: int) -> str:
    return _(
        "This is too long: {length} characters, the limit is {limit}. Please shorten it; "
        "details can be added later in the conversation with the lawyer."
    ).format(length=length, limit=MAX_TEXT)


@router.message(StateFilter(AppealDraft.text), WORDS)
async def on_text(message: Message, state: FSMContext, member: MemberView) -> None:
    draft = _draft(await state.get_data())
    addition = (message.text or "").strip()
    if draft.get("text_unconfirmed") and draft.get("text"):
        combined = "{}\n\n{}".format(draft["text"], addition)
    else:
        combined = addition
    if len(combined) > MAX_TEXT:
        await message.answer(_too_long(len(combined)))
        return
    draft["text"] = combined
    draft.pop("text_unconfirmed", None)
    # Which message gave which words: a Telegram edit of it corrects the draft (edits.py).
    draft.setdefault("pieces", {})[str(message.message_id)] = addition
    await state.update_data(draft=draft)
    await next_step(message, state, member)


@router.message(StateFilter(AppealDraft.text, AppealDraft.files, AppealDraft.confirm), FILE)
async def on_file(message: Message, state: FSMContext, member: MemberView) -> None:
    draft = _draft(await state.get_data())
    files = list(draft.get("files") or [])
    current = await state.get_state()
    # A file that cannot be added is refused with the reason; its caption (the member's
    # words) is kept all the same, and so is everything the draft had.
    refused: str | None
    if len(files) >= MAX_ATTACHMENTS:
        refused = _("An appeal can have at most {limit} files; this one was not added.").format(
            limit=MAX_ATTACHMENTS
        )
    else:
        refused = too_big(message)
    if refused is None:
        attachment = attachment_of(message)
        assert attachment is not None
        files.append(attachment)
        draft["files"] = files
    caption = (message.caption or "").strip()
    notes = [refused] if refused else []
    if caption:
        combined = "{}\n\n{}".format(draft.get("text") or "", caption).strip()
        if len(combined) > MAX_TEXT:
            notes.append(_too_long(len(combined)))
            caption = ""
        else:
            draft["text"] = combined
            if refused:
                notes.append(_("The text under the file was added to your question."))
    await state.update_data(draft=draft)
    if notes:
        await message.answer("\n\n".join(notes))
    if refused and not caption:
        return
    if caption and not refused:  # said with the file's own confirmation below
        await message.answer(_("The text under the file was added to your question."))
    if current == AppealDraft.confirm.state:
        await show_confirm(message, state, member, draft)
        return
    if current == AppealDraft.text.state and not draft.get("text"):
        await message.answer(
            _("File added ({count} of {limit}). Now describe your situation in words.").format(
                count=len(files), limit=MAX_ATTACHMENTS
            )
        )
        return
    await state.set_state(AppealDraft.files)
    if refused:
        await message.answer(
            _("Added to your question. Send files or press “Done”."), reply_markup=files_markup()
        )
        return
    await message.answer(
        _("File added ({count} of {limit}). Send more or press “Done”.").format(
            count=len(files), limit=MAX_ATTACHMENTS
        ),
        reply_markup=files_markup(),
    )


@router.message(StateFilter(AppealDraft.files), WORDS)
@router.message(StateFilter(AppealDraft.confirm), WORDS)
async def on_more_text(message: Message, state: FSMContext, member: MemberView) -> None:
    draft = _draft(await state.get_data())
    addition = (message.text or "").strip()
    combined = "{}\n\n{}".format(draft.get("text", ""), addition).strip()
    if len(combined) > MAX_TEXT:
        await message.answer(_too_long(len(combined)))
        return
    draft["text"] = combined
    draft.setdefault("pieces", {})[str(message.message_id)] = addition  # for its edits
    await state.update_data(draft=draft)
    if await state.get_state() == AppealDraft.confirm.state:
        await show_confirm(message, state, member, draft)
    else:
        await message.answer(
            _("Added to your question. Send files or press “Done”."), reply_markup=files_markup()
        )


@router.callback_query(StateFilter(AppealDraft.files), DraftCb.filter(F.action == "files_done"))
async def on_files_done(query: CallbackQuery, state: FSMContext, member: MemberView) -> None:
    draft = _draft(await state.get_data())
    draft["files_done"] = True
    await state.update_data(draft=draft)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await show_confirm(query.message, state, member, draft)
    await query.answer()


@router.callback_query(StateFilter(AppealDraft.confirm), DraftCb.filter(F.action == "anon"))
async def on_toggle_hide(query: CallbackQuery, state: FSMContext, member: MemberView) -> None:
    draft = _draft(await state.get_data())
    draft["hide"] = not draft.get("hide")
    await state.update_data(draft=draft)
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, member, draft, edit=True)
    await query.answer()


@router.callback_query(StateFilter(AppealDraft.confirm), DraftCb.filter(F.action == "send"))
async def on_send(
    query: CallbackQuery,
    state: FSMContext,
    member: MemberView,
    session: AsyncSession,
    orgs: MemberOrgs,
    bot: Bot,
    outbox: Outbox,
    i18n: I18n,
) -> None:
    draft = _draft(await state.get_data())
    request = Draft(
        topic=str(draft.get("topic") or "other"),
        text=str(draft.get("text") or ""),
        source=AppealSource(str(draft.get("source", AppealSource.DIRECT.value))),
        faq_node=draft.get("faq_node"),
        hide_from_employer=bool(draft.get("hide")),
        attachments=list(draft.get("files") or []),
        token=draft.get("token") or secrets.token_hex(16),
    )
    who = {"full_name": query.from_user.full_name, "username": query.from_user.username}
    try:
        try:
            appeal = await create_appeal(session, member, request, **who)
            await session.commit()
        except IntegrityError:
            # The same draft's Send in another process got there first: that appeal.
            await session.rollback()
            appeal = await create_appeal(session, member, request, **who)
    except AppealError as exc:
        await session.rollback()
        await query.answer(appeal_error_text(exc.code), show_alert=True)
        return
    # Stored and committed: only now does the member get the number.
    await state.set_state(None)
    # Its messages are remembered a while: an edit of one is told it came too late.
    await state.update_data(
        draft=None, sent_pieces={mid: appeal.id for mid in draft.get("pieces") or {}}
    )
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _(
                "✅ <b>Appeal No. {number} is received.</b>\n\n"
                "It is in the queue of the lawyers of {org}. The answer will come here, in this "
                "chat. You can see the status and add a message with /my."
            ).format(number=appeal.id, org=escape(orgs.title(appeal.member_org, member.language)))
        )
    await query.answer()
    # The staff group of the region (and the head lawyers'), if linked: a topic of its own.
    await open_topics(appeal.id, session=session, bot=bot, outbox=outbox, orgs=orgs, i18n=i18n)
