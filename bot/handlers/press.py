"""The press secretary: /post composes a post step by step, /posts manages them, and
admins approve posts (/approval on|off) — the rules live in bot/broadcast/
(composition.py, lifecycle.py).

Composing: Kazakh text → Russian text → photo or document → audience → survey → schedule
→ urgent → a preview exactly as members receive it → confirm. Each step is an FSM state,
and its buttons work only in it and only for the post of this dialogue (a draft).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import get_day_names, get_timezone_location
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.broadcast import composition, lifecycle
from bot.broadcast.composition import Audience
from bot.broadcast.lifecycle import PostError
from bot.broadcast.outcome import LANGUAGE_NAMES, survey_lines, survey_results
from bot.broadcast.sends import send_part
from bot.broadcast.telegram_html import CAPTION_LIMIT, HtmlProblem, plain_text, telegram_length
from bot.callbacks import PostCb
from bot.filters import FILE, NOT_COMMAND, WORDS, HasRole
from bot.handlers.common import outdated as _outdated
from bot.handlers.common import reader_language as _lang
from bot.handlers.relay import send_later
from bot.handlers.states import PostCompose
from bot.i18n import LANGUAGES, N_, fmt_datetime
from bot.outbox import Outbox
from bot.outbox.texts import TO_STAFF
from bot.services.calendar import is_quiet
from bot.services.members import MemberDirectory, MemberView
from bot.services.staff import StaffView
from bot.storage.models import Broadcast, OutboxMessage, PostStatus, StaffRole, utcnow
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(StaffRole.PRESS, StaffRole.ADMIN))
router.callback_query.filter(HasRole(StaffRole.PRESS, StaffRole.ADMIN))
log = logging.getLogger(__name__)

ORG_PAGE = 10
STEPS = ("kk", "ru", "media", "audience", "survey", "schedule", "urgent")
# Telegram formatting that the press secretary may apply with the app's own menu: such a
# message is taken as aiogram renders it to HTML; otherwise the typed text is the HTML.
FORMATTING = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "blockquote",
        "expandable_blockquote",
        "custom_emoji",
    }
)
TAGS = '<b>, <i>, <u>, <s>, <tg-spoiler>, <a href="https://…">, <code>, <pre>, <blockquote>'
STATUS_LABELS = {
    PostStatus.DRAFT: N_("draft"),
    PostStatus.AWAITING_APPROVAL: N_("awaiting an admin's approval"),
    PostStatus.SCHEDULED: N_("scheduled"),
    PostStatus.RUNNING: N_("sending"),
    PostStatus.PAUSED: N_("paused"),
    PostStatus.DONE: N_("sent"),
    PostStatus.CANCELLED: N_("cancelled"),
}
PARTS = {
    "kk": N_("Kazakh text"),
    "ru": N_("Russian text"),
    "media": N_("Photo or document"),
    "audience": N_("Audience"),
    "survey": N_("Survey"),
    "schedule": N_("Time"),
    "urgent": N_("Urgency"),
}
TEXT_STATES = {"kk": PostCompose.text_kk, "ru": PostCompose.text_ru}
SURVEY_STATES = {"kk": PostCompose.survey_kk, "ru": PostCompose.survey_ru}


def _chat(event: Message | CallbackQuery) -> int:
    return event.from_user.id if event.from_user else 0


# --- texts ---------------------------------------------------------------------------------


def html_problem_text(problem: HtmlProblem) -> str:
    tag = escape(problem.tag)
    reasons = {
        "unknown-tag": _("Telegram does not know the tag &lt;{tag}&gt;. Allowed tags: {tags}."),
        "bad-attribute": _(
            "The tag &lt;{tag}&gt; has attributes Telegram does not accept. Only links "
            '(&lt;a href="…"&gt;), &lt;span class="tg-spoiler"&gt;, '
            '&lt;code class="language-…"&gt; and &lt;blockquote expandable&gt; take them.'
        ),
        "no-href": _('A link needs its address: &lt;a href="https://…"&gt;text&lt;/a&gt;.'),
        "bad-href": _("A link's address must start with https://, http://, tg:// or mailto:."),
        "unclosed": _("The tag &lt;{tag}&gt; is opened but never closed."),
        "stray-close": _("There is a closing &lt;/{tag}&gt; without its opening tag."),
        "bad-nesting": _("Tags overlap: close &lt;{tag}&gt; before the tag around it."),
        "inside-code": _(
            "Nothing can be formatted inside &lt;code&gt; or &lt;pre&gt; (found &lt;{tag}&gt;)."
        ),
        "bare-lt": _("The text has a “&lt;” that does not start a tag: write it as {lt}."),
        "bare-amp": _("The text has a “&amp;” that is not an HTML entity: write it as {amp}."),
        "empty": _("The text is empty."),
    }
    if problem.code == "too-long":
        if problem.limit == CAPTION_LIMIT:
            return _(
                "The text is too long: {length} characters. With a photo or document "
                "Telegram allows {limit}."
            ).format(length=problem.length, limit=problem.limit)
        return _("The text is too long: {length} characters; Telegram allows {limit}.").format(
            length=problem.length, limit=problem.limit
        )
    return reasons.get(problem.code, reasons["unknown-tag"]).format(
        tag=tag, tags=escape(TAGS), lt="&amp;lt;", amp="&amp;amp;"
    )


def refusal_text(exc: PostError) -> str:
    """A refused action, as the reader can fix it."""
    d = exc.details
    if exc.code == "html":
        return html_problem_text(d["problem"])
    texts = {
        "not-found": _("This post no longer exists."),
        "state": _("This post is {status} now: that is no longer possible.").format(
            status=_(STATUS_LABELS[PostStatus(d["status"])]) if "status" in d else "—"
        ),
        "forbidden": _("Only an admin can do this."),
        "no-text": _("A post needs a text in at least one language."),
        "bad-media": _("Please send one photo or one document."),
        "bad-audience": _outdated(),
        "survey-empty": _(
            "Please send the question on the first line and the options below it, one a line."
        ),
        "survey-options": _(
            "A survey needs from {low} to {high} options, one a line; you sent {count}."
        ).format(count=d.get("count"), low=d.get("low"), high=d.get("high")),
        "bad-datetime": _(
            "I could not read the date and time. Please type them like this: 25.12.2026 10:00"
        ),
        "bad-time": _("I could not read the time. Please type it like this: 09:00"),
        "past": _("This time has already passed. Please choose a time in the future."),
    }
    if exc.code == "caption-too-long":
        return _(
            "With a photo or document the text may be at most {limit} characters, and the "
            "{language} text has {length}. Shorten the text or send the post without media."
        ).format(
            limit=d["limit"],
            language=_(LANGUAGE_NAMES[d["language"]]),
            length=d["length"],
        )
    if exc.code == "survey-question-long":
        return _("The question is too long: {length} characters; Telegram allows {limit}.").format(
            length=d["length"], limit=d["limit"]
        )
    if exc.code == "survey-option-long":
        return _(
            "Option {number} is too long: {length} characters; Telegram allows {limit}."
        ).format(number=d["number"], length=d["length"], limit=d["limit"])
    return texts.get(exc.code, _outdated())


def _weekday_name(weekday: int, lang: str) -> str:
    return str(get_day_names("wide", locale=lang)[weekday])


def schedule_text(post: Broadcast, lang: str, tz: ZoneInfo) -> str:
    if post.repeat_weekday is not None and post.repeat_time:
        text = _("every {weekday} at {time}").format(
            weekday=_weekday_name(post.repeat_weekday, lang), time=post.repeat_time
        )
        if post.run_at is not None and post.status != PostStatus.DRAFT:
            text += _(" (next: {when})").format(when=fmt_datetime(post.run_at, lang, tz))
        return text
    if post.run_at is None:
        return _("right after it is confirmed")
    return fmt_datetime(post.run_at, lang, tz)


def audience_text(audience: Audience, orgs: MemberOrgs, lang: str) -> str:
    regions = (
        ", ".join(orgs.title(o, lang) for o in audience.orgs)
        if audience.orgs
        else _("all member organisations")
    )
    kinds = (
        ", ".join(
            _(kb.WORKPLACE_LABELS[k]) for k in kb.WORKPLACE_LABELS if k in audience.workplace_types
        )
        if audience.workplace_types
        else _("all workplaces")
    )
    language = (
        _("members reading in {language}").format(language=_(LANGUAGE_NAMES[audience.language]))
        if audience.language
        else _("both languages")
    )
    return f"{escape(regions)}; {escape(kinds)}; {language}"


def flag_lines(post: Broadcast) -> list[str]:
    texts = {
        "text-kk": _("No Kazakh text: members reading in Kazakh get the Russian one."),
        "text-ru": _("No Russian text: members reading in Russian get the Kazakh one."),
        "survey-kk": _("No Kazakh survey: members reading in Kazakh get the Russian one."),
        "survey-ru": _("No Russian survey: members reading in Russian get the Kazakh one."),
    }
    return [f"⚠️ {texts[flag]}" for flag in composition.flags(post)]


def counts_text(counts: dict[str, int]) -> str:
    return _(
        "delivered {delivered}, waiting {waiting}, not delivered {failed}, blocked the bot "
        "{blocked}, news turned off {opted}, inactive {skipped}"
    ).format(
        delivered=counts.get("delivered", 0),
        waiting=counts.get("pending", 0) + counts.get("sending", 0),
        failed=counts.get("failed", 0),
        blocked=counts.get("blocked", 0),
        opted=counts.get("opted-out", 0),
        skipped=counts.get("skipped", 0),
    )


async def card_text(
    session: AsyncSession, post: Broadcast, lang: str, orgs: MemberOrgs, tz: ZoneInfo
) -> str:
    audience = Audience.of(post)
    lines = [
        _("<b>Post No. {number}</b>: {status}").format(
            number=post.id, status=_(STATUS_LABELS[post.status])
        )
    ]
    if post.urgent:
        lines.append(_("⚡ Urgent"))
    title = composition.title(post)
    if title:
        lines.append(f"«{escape(title)}»")
    lines.append(_("🕒 When: {when}").format(when=schedule_text(post, lang, tz)))
    lines.append(_("👥 Audience: {audience}").format(audience=audience_text(audience, orgs, lang)))
    if post.status in (PostStatus.DRAFT, *lifecycle.UPCOMING):
        size = await composition.audience_size(session, audience)
        lines.append(_("Members who would get it now: <b>{size}</b>").format(size=size))
    if post.media_kind == "photo":
        lines.append(_("🖼 With a photo"))
    elif post.media_kind == "document":
        lines.append(_("📎 With a document"))
    if post.survey:
        version = post.survey.get(lang) or next(iter(post.survey.values()))
        lines.append(
            _("📊 Survey: {question} ({count} options)").format(
                question=escape(composition.survey_question(version)),
                count=len(version.get("options") or []),
            )
        )
    lines += flag_lines(post)
    if post.status not in (PostStatus.DRAFT, *lifecycle.UPCOMING):
        counts = (await lifecycle.delivery_counts(session, [post.id]))[post.id]
        lines.append(_("📬 Delivery: {counts}").format(counts=counts_text(counts)))
        results = await survey_results(session, post)
        if results is not None:
            lines += ["", *survey_lines(results, lang, _, orgs)]
    return "\n".join(lines)


# --- keyboards -----------------------------------------------------------------------------


def _cancel_button(builder: kb.InlineKeyboard, post_id: int, *, composing: bool = True) -> None:
    # While composing, the question comes as a message of its own, so that "keep it" leaves
    # the step's message and buttons as they were; on a post's card it replaces the buttons.
    builder.button(
        text=_("✖️ Cancel the post"),
        callback_data=PostCb(action="cancel", post=post_id, value="step" if composing else ""),
    )


def zone_name(tz: ZoneInfo, lang: str) -> str:
    """The bot's time zone as people say it: "Алматы", not "Asia/Almaty"."""
    return str(get_timezone_location(tz.key, locale=lang, return_city=True))


def _cancel_only(post_id: int) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    _cancel_button(builder, post_id)
    return builder.as_markup()


def card_markup(post: Broadcast, staff: StaffView) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    if post.status == PostStatus.AWAITING_APPROVAL and staff.role == StaffRole.ADMIN:
        builder.button(text=_("✅ Approve"), callback_data=PostCb(action="approve", post=post.id))
        builder.button(
            text=_("↩️ Return to drafts"), callback_data=PostCb(action="reject", post=post.id)
        )
    if post.status in lifecycle.EDITABLE:
        builder.button(text=_("✏️ Change"), callback_data=PostCb(action="edit", post=post.id))
    if post.status == PostStatus.RUNNING:
        builder.button(text=_("⏸ Pause"), callback_data=PostCb(action="pause", post=post.id))
    if post.status == PostStatus.PAUSED:
        builder.button(text=_("▶️ Resume"), callback_data=PostCb(action="resume", post=post.id))
    if post.status in lifecycle.CANCELLABLE:
        _cancel_button(builder, post.id, composing=False)
    builder.button(text=_("⬅️ All posts"), callback_data=PostCb(action="list"))
    builder.adjust(2)
    return builder.as_markup()


def preview_markup(post_id: int, *, can_confirm: bool = True) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    if can_confirm:
        builder.button(text=_("✅ Confirm"), callback_data=PostCb(action="confirm", post=post_id))
    builder.button(text=_("✏️ Change…"), callback_data=PostCb(action="change", post=post_id))
    _cancel_button(builder, post_id)
    builder.adjust(1)
    return builder.as_markup()


def parts_markup(post_id: int) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    for part, label in PARTS.items():
        builder.button(text=_(label), callback_data=PostCb(action="part", post=post_id, value=part))
    builder.adjust(2)
    builder.button(
        text=_("👁 Preview and confirm"), callback_data=PostCb(action="preview", post=post_id)
    )
    _cancel_button(builder, post_id)
    builder.adjust(1)
    return builder.as_markup()


def audience_markup(
    post_id: int, audience: Audience, orgs: MemberOrgs, lang: str, page: int
) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    pages = max(1, -(-len(orgs.orgs) // ORG_PAGE))
    page = min(max(page, 0), pages - 1)
    for org in orgs.orgs[page * ORG_PAGE : (page + 1) * ORG_PAGE]:
        mark = "✅ " if org.id in audience.orgs else ""
        builder.button(
            text=mark + org.title(lang),
            callback_data=PostCb(action="org", post=post_id, value=org.id),
        )
    builder.adjust(2)
    if pages > 1:
        builder.button(
            text="◀️",
            callback_data=PostCb(action="page", post=post_id, value=str((page - 1) % pages)),
        )
        builder.button(
            text=f"{page + 1}/{pages}",
            callback_data=PostCb(action="page", post=post_id, value=str(page)),
        )
        builder.button(
            text="▶️",
            callback_data=PostCb(action="page", post=post_id, value=str((page + 1) % pages)),
        )
        builder.adjust(3)
    for kind, label in kb.WORKPLACE_LABELS.items():
        mark = "✅ " if kind.value in audience.workplace_types else ""
        builder.button(
            text=mark + _(label), callback_data=PostCb(action="wp", post=post_id, value=kind.value)
        )
    builder.adjust(3)
    following = {None: "kk", "kk": "ru", "ru": ""}[audience.language]
    current = _(LANGUAGE_NAMES[audience.language]) if audience.language else _("both")
    builder.button(
        text=_("🌐 Language: {language}").format(language=current),
        callback_data=PostCb(action="lang", post=post_id, value=following),
    )
    builder.button(text=_("🔄 Everyone"), callback_data=PostCb(action="every", post=post_id))
    builder.adjust(2)
    builder.button(text=_("➡️ Next"), callback_data=PostCb(action="aud", post=post_id))
    builder.adjust(1)
    return builder.as_markup()


# --- the steps -----------------------------------------------------------------------------


async def _ask(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    session: AsyncSession,
    post: Broadcast,
    step: str,
    lang: str,
    orgs: MemberOrgs,
    tz: ZoneInfo,
) -> None:
    builder = kb.InlineKeyboard()
    if step in ("kk", "ru"):
        await state.set_state(TEXT_STATES[step])
        text = _(
            "✍️ <b>Post No. {number}</b>\nSend the text in <b>{language}</b>. Format it with "
            "Telegram's menu or with HTML tags: {tags}. Up to 4,096 characters (1,024 with "
            "a photo or document)."
        ).format(number=post.id, language=_(LANGUAGE_NAMES[step]), tags=escape(TAGS))
        current = composition.post_text(post, step)
        if current and telegram_length(current) < 3500:  # Telegram's units
            text += "\n\n" + _("Now:") + f"\n<pre>{escape(current)}</pre>"
        if composition.post_text(post, composition.other(step)):
            builder.button(
                text=_("⏭ No {language} version").format(language=_(LANGUAGE_NAMES[step])),
                callback_data=PostCb(action="skip", post=post.id, value=step),
            )
    elif step == "media":
        await state.set_state(PostCompose.media)
        text = _(
            "🖼 Send one photo or document to go with the post (the text becomes its "
            "caption), or continue without."
        )
        if post.media_file_id:
            builder.button(
                text=_("✅ Keep the current one"),
                callback_data=PostCb(action="media", post=post.id, value="keep"),
            )
        builder.button(
            text=_("➡️ Without a photo or document"),
            callback_data=PostCb(action="media", post=post.id, value="none"),
        )
    elif step == "audience":
        audience = Audience.of(post)
        await state.set_state(PostCompose.audience)
        await state.update_data(audience=audience.as_dict(), page=0)
        text = await _audience_screen(session, post.id, audience, orgs, lang)
        markup = audience_markup(post.id, audience, orgs, lang, 0)
        await bot.send_message(chat_id, text, reply_markup=markup)
        return
    elif step == "survey":
        await state.set_state(PostCompose.survey)
        text = _("📊 Add a survey (a Telegram poll) after the post?")
        builder.button(
            text=_("Add a survey"), callback_data=PostCb(action="survey", post=post.id, value="yes")
        )
        builder.button(
            text=_("No survey"), callback_data=PostCb(action="survey", post=post.id, value="no")
        )
    elif step in ("survey-kk", "survey-ru"):
        language = step[-2:]
        await state.set_state(SURVEY_STATES[language])
        text = _(
            "📊 Send the survey in <b>{language}</b>: the question on the first line, then "
            "from 2 to 10 options, one a line. Question up to 300 characters, options up "
            "to 100."
        ).format(language=_(LANGUAGE_NAMES[language]))
        builder.button(
            text=_("⏭ No {language} version").format(language=_(LANGUAGE_NAMES[language])),
            callback_data=PostCb(action="svskip", post=post.id, value=language),
        )
    elif step == "schedule":
        await state.set_state(PostCompose.schedule)
        text = _("🕒 When should the post go out?")
        for value, label in (
            ("now", _("🚀 Right after confirming")),
            ("date", _("📅 On a date")),
            ("weekly", _("🔁 Every week")),
        ):
            builder.button(
                text=label, callback_data=PostCb(action="when", post=post.id, value=value)
            )
    else:  # urgent
        await state.set_state(PostCompose.urgent)
        text = _(
            "⚡ Is the post urgent? An urgent post is sent at any hour; any other post does "
            "not go out between 22:00 and 08:00 ({zone} time) and waits for the morning."
        ).format(zone=zone_name(tz, lang))
        builder.button(
            text=_("⚡ Urgent"), callback_data=PostCb(action="urgent", post=post.id, value="1")
        )
        builder.button(
            text=_("Not urgent"), callback_data=PostCb(action="urgent", post=post.id, value="0")
        )
    _cancel_button(builder, post.id)
    builder.adjust(1)
    await bot.send_message(chat_id, text, reply_markup=builder.as_markup())


async def _audience_screen(
    session: AsyncSession, post_id: int, audience: Audience, orgs: MemberOrgs, lang: str
) -> str:
    size = await composition.audience_size(session, audience)
    return _(
        "👥 <b>Post No. {number}: who gets it</b>\n{audience}\n\n"
        "Members who would get it now: <b>{size}</b>\n"
        "Tap regions, workplaces and the language; nothing chosen means everyone."
    ).format(number=post_id, audience=audience_text(audience, orgs, lang), size=size)


async def _advance(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    session: AsyncSession,
    post: Broadcast,
    after: str,
    lang: str,
    orgs: MemberOrgs,
    tz: ZoneInfo,
) -> None:
    """The next step, or the preview again when one part was being changed."""
    if (await state.get_data()).get("editing") or after == STEPS[-1]:
        await _preview(bot, chat_id, state, session, post, lang, orgs, tz)
        return
    await _ask(bot, chat_id, state, session, post, STEPS[STEPS.index(after) + 1], lang, orgs, tz)


async def _preview(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    session: AsyncSession,
    post: Broadcast,
    lang: str,
    orgs: MemberOrgs,
    tz: ZoneInfo,
) -> None:
    await state.set_state(PostCompose.preview)
    await state.update_data(editing=True)
    refused = None
    for language in [post.language] if post.language else LANGUAGES:
        version = composition.rendition(post, language)
        head = _("👁 <b>Preview: what members reading in {language} get</b>").format(
            language=_(LANGUAGE_NAMES[language])
        )
        if version.fallback:
            head += "\n" + _("(there is no {language} text: they get the other one)").format(
                language=_(LANGUAGE_NAMES[language])
            )
        await bot.send_message(chat_id, head)
        try:
            for part in composition.parts(version):
                await send_part(bot, chat_id, version, part)
        except TelegramBadRequest as exc:
            refused = exc.message
            break
    text = await card_text(session, post, lang, orgs, tz)
    if refused is not None:
        text += "\n\n" + _("⚠️ Telegram refused this post: {reason}\nPlease change it.").format(
            reason=escape(refused)
        )
    else:
        text += "\n\n" + _("Everything right? Confirm, or change a part.")
    await bot.send_message(
        chat_id, text, reply_markup=preview_markup(post.id, can_confirm=refused is None)
    )


async def _compose_post(
    query: CallbackQuery, callback_data: PostCb, state: FSMContext, session: AsyncSession
) -> Broadcast | None:
    """The draft of this dialogue, or None (the press was answered: outdated)."""
    data = await state.get_data()
    post = None
    if data.get("post") == callback_data.post:
        post = await lifecycle.get_post(session, callback_data.post)
    if post is None or post.status != PostStatus.DRAFT:
        await query.answer(_outdated(), show_alert=True)
        return None
    return post


async def _refuse(
    event: Message | CallbackQuery, session: AsyncSession, exc: PostError, ask_again: str = ""
) -> None:
    await session.rollback()
    text = refusal_text(exc)
    if isinstance(event, CallbackQuery):
        await event.answer(text[:200], show_alert=True)
        return
    if ask_again:
        text = _("⚠️ Not saved: {reason}").format(reason=text) + "\n" + ask_again
    await event.answer(text)


# --- /post and the compose steps -----------------------------------------------------------


@router.message(Command("post"))
async def cmd_post(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    await state.clear()
    post = await composition.create_draft(session, staff)
    await session.commit()
    await state.update_data(post=post.id, editing=False)
    await _ask(bot, _chat(message), state, session, post, "kk", _lang(member, i18n), orgs, tz)


def _typed_html(message: Message) -> str:
    if any(entity.type in FORMATTING for entity in message.entities or []):
        return message.html_text
    return message.text or ""


@router.message(StateFilter(PostCompose.text_kk, PostCompose.text_ru), WORDS)
async def on_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    language = "ru" if await state.get_state() == PostCompose.text_ru.state else "kk"
    post_id = int((await state.get_data()).get("post") or 0)
    try:
        post = await composition.set_text(session, staff, post_id, language, _typed_html(message))
        await session.commit()
    except PostError as exc:
        if exc.code in ("not-found", "state"):  # cancelled or started meanwhile
            await _refuse(message, session, exc)
            await state.clear()
            return
        again = _("The post keeps its earlier text. Please send the corrected text.")
        await _refuse(message, session, exc, again)
        return
    await _advance(
        bot, _chat(message), state, session, post, language, _lang(member, i18n), orgs, tz
    )


@router.message(StateFilter(PostCompose.text_kk, PostCompose.text_ru), NOT_COMMAND)
async def on_not_text(message: Message) -> None:
    await message.answer(
        _("Please send the text of the post here; a photo or document comes at the next step.")
    )


@router.callback_query(
    StateFilter(PostCompose.text_kk, PostCompose.text_ru), PostCb.filter(F.action == "skip")
)
async def on_skip_text(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    expected = "ru" if await state.get_state() == PostCompose.text_ru.state else "kk"
    if post is None:
        return
    if callback_data.value != expected:
        await query.answer(_outdated(), show_alert=True)
        return
    try:
        post = await composition.set_text(session, staff, post.id, expected, None)
        await session.commit()
    except PostError as exc:
        await _refuse(query, session, exc)
        return
    await query.answer()
    await _advance(bot, _chat(query), state, session, post, expected, _lang(member, i18n), orgs, tz)


@router.message(StateFilter(PostCompose.media), FILE)
async def on_media(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    if message.photo:
        kind, file_id = "photo", message.photo[-1].file_id
    else:
        kind, file_id = "document", message.document.file_id if message.document else ""
    post_id = int((await state.get_data()).get("post") or 0)
    try:
        post = await composition.set_media(session, staff, post_id, kind, file_id)
        await session.commit()
    except PostError as exc:
        await _refuse(message, session, exc)
        return
    await _advance(
        bot, _chat(message), state, session, post, "media", _lang(member, i18n), orgs, tz
    )


@router.message(StateFilter(PostCompose.media), NOT_COMMAND)
async def on_media_not_file(message: Message) -> None:
    await message.answer(
        _("Please send a photo or a document, or use the buttons above to continue without.")
    )


@router.callback_query(StateFilter(PostCompose.media), PostCb.filter(F.action == "media"))
async def on_media_button(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    if callback_data.value not in ("none", "keep"):
        await query.answer(_outdated(), show_alert=True)
        return
    if callback_data.value == "none":
        post = await composition.set_media(session, staff, post.id, None, None)
        await session.commit()
    await query.answer()
    await _advance(bot, _chat(query), state, session, post, "media", _lang(member, i18n), orgs, tz)


@router.callback_query(
    StateFilter(PostCompose.audience),
    PostCb.filter(F.action.in_({"org", "wp", "lang", "every", "page"})),
)
async def on_audience_toggle(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    data = await state.get_data()
    audience = Audience.from_dict(data.get("audience") or {})
    page = int(data.get("page") or 0)
    value, action = callback_data.value, callback_data.action
    kinds = {k.value for k in kb.WORKPLACE_LABELS}
    if (
        (action == "org" and value not in orgs.by_id)
        or (action == "wp" and value not in kinds)
        or (action == "lang" and value not in ("", *LANGUAGES))
        or (action == "page" and not value.isdigit())
    ):
        await query.answer(_outdated(), show_alert=True)
        return
    if action == "org":
        audience = audience.toggled(org=value)
    elif action == "wp":
        audience = audience.toggled(workplace=value)
    elif action == "lang":
        audience = audience.with_language(value or None)
    elif action == "every":
        audience = Audience()
    else:
        page = int(value)
    await state.update_data(audience=audience.as_dict(), page=page)
    lang = _lang(member, i18n)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            await _audience_screen(session, post.id, audience, orgs, lang),
            reply_markup=audience_markup(post.id, audience, orgs, lang, page),
        )
    await query.answer()


@router.callback_query(StateFilter(PostCompose.audience), PostCb.filter(F.action == "aud"))
async def on_audience_done(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    audience = Audience.from_dict((await state.get_data()).get("audience") or {})
    try:
        post = await composition.set_audience(
            session, staff, post.id, audience, known_orgs=orgs.by_id
        )
        await session.commit()
    except PostError as exc:
        await _refuse(query, session, exc)
        return
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    await _advance(
        bot, _chat(query), state, session, post, "audience", _lang(member, i18n), orgs, tz
    )


@router.callback_query(StateFilter(PostCompose.survey), PostCb.filter(F.action == "survey"))
async def on_survey_choice(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    if callback_data.value not in ("yes", "no"):
        await query.answer(_outdated(), show_alert=True)
        return
    await query.answer()
    lang = _lang(member, i18n)
    if callback_data.value == "yes":
        await _ask(bot, _chat(query), state, session, post, "survey-kk", lang, orgs, tz)
        return
    post = await composition.remove_survey(session, staff, post.id)
    await session.commit()
    await _advance(bot, _chat(query), state, session, post, "survey", lang, orgs, tz)


async def _survey_saved(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    session: AsyncSession,
    post: Broadcast,
    language: str,
    lang: str,
    orgs: MemberOrgs,
    tz: ZoneInfo,
) -> None:
    if language == "kk":
        await _ask(bot, chat_id, state, session, post, "survey-ru", lang, orgs, tz)
    else:
        await _advance(bot, chat_id, state, session, post, "survey", lang, orgs, tz)


@router.message(StateFilter(PostCompose.survey_kk, PostCompose.survey_ru), WORDS)
async def on_survey_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    language = "ru" if await state.get_state() == PostCompose.survey_ru.state else "kk"
    post_id = int((await state.get_data()).get("post") or 0)
    try:
        version = composition.parse_survey(message.text or "")
        post = await composition.set_survey(session, staff, post_id, language, version)
        await session.commit()
    except PostError as exc:
        await _refuse(message, session, exc, _("Please send the survey again."))
        return
    lang = _lang(member, i18n)
    await _survey_saved(bot, _chat(message), state, session, post, language, lang, orgs, tz)


@router.callback_query(
    StateFilter(PostCompose.survey_kk, PostCompose.survey_ru), PostCb.filter(F.action == "svskip")
)
async def on_survey_skip(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    language = "ru" if await state.get_state() == PostCompose.survey_ru.state else "kk"
    if post is None:
        return
    if callback_data.value != language:
        await query.answer(_outdated(), show_alert=True)
        return
    post = await composition.set_survey(session, staff, post.id, language, None)
    await session.commit()
    await query.answer()
    lang = _lang(member, i18n)
    await _survey_saved(bot, _chat(query), state, session, post, language, lang, orgs, tz)


# The "when" buttons stay live while the date or weekly time is asked: a press secretary
# who tapped "on a date" and changes their mind taps "right after confirming" above.
WHEN_STATES = (
    PostCompose.schedule,
    PostCompose.date,
    PostCompose.weekday,
    PostCompose.weekly_time,
)


@router.callback_query(StateFilter(*WHEN_STATES), PostCb.filter(F.action == "when"))
async def on_when(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    lang = _lang(member, i18n)
    if callback_data.value == "now":
        post = await lifecycle.schedule_now(session, staff, post.id)
        await session.commit()
        await query.answer()
        await _advance(bot, _chat(query), state, session, post, "schedule", lang, orgs, tz)
        return
    if callback_data.value == "date":
        await state.set_state(PostCompose.date)
        example = (datetime.now(tz) + timedelta(days=7)).strftime("%d.%m.%Y")
        await bot.send_message(
            _chat(query),
            _("📅 Type the date and time ({zone} time), for example: {example} 10:00").format(
                zone=zone_name(tz, lang), example=example
            ),
            reply_markup=_cancel_only(post.id),
        )
    elif callback_data.value == "weekly":
        await state.set_state(PostCompose.weekday)
        builder = kb.InlineKeyboard()
        for weekday in range(7):
            builder.button(
                text=_weekday_name(weekday, lang).capitalize(),  # a label, not mid-sentence
                callback_data=PostCb(action="wd", post=post.id, value=str(weekday)),
            )
        builder.adjust(2)
        _cancel_button(builder, post.id)
        builder.adjust(2, 2, 2, 1, 1)
        await bot.send_message(
            _chat(query), _("🔁 On which day of the week?"), reply_markup=builder.as_markup()
        )
    else:
        await query.answer(_outdated(), show_alert=True)
        return
    await query.answer()


@router.message(StateFilter(PostCompose.date), WORDS)
async def on_date(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post_id = int((await state.get_data()).get("post") or 0)
    try:
        local = lifecycle.parse_local_datetime(message.text or "")
        post = await lifecycle.schedule_at(session, staff, post_id, local, tz)
        await session.commit()
    except PostError as exc:
        await _refuse(message, session, exc)
        return
    await _advance(
        bot, _chat(message), state, session, post, "schedule", _lang(member, i18n), orgs, tz
    )


@router.callback_query(
    StateFilter(PostCompose.weekday, PostCompose.weekly_time), PostCb.filter(F.action == "wd")
)
async def on_weekday(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    if callback_data.value not in {str(d) for d in range(7)}:
        await query.answer(_outdated(), show_alert=True)
        return
    await state.set_state(PostCompose.weekly_time)
    await state.update_data(weekday=int(callback_data.value))
    await query.answer()
    await bot.send_message(
        _chat(query),
        _("🕒 Type the time ({zone} time), for example: 09:00").format(
            zone=zone_name(tz, _lang(member, i18n))
        ),
        reply_markup=_cancel_only(post.id),
    )


@router.message(StateFilter(PostCompose.weekly_time), WORDS)
async def on_weekly_time(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    data = await state.get_data()
    try:
        post = await lifecycle.schedule_weekly(
            session,
            staff,
            int(data.get("post") or 0),
            int(data.get("weekday") or 0),
            message.text or "",
            tz,
        )
        await session.commit()
    except PostError as exc:
        await _refuse(message, session, exc)
        return
    await _advance(
        bot, _chat(message), state, session, post, "schedule", _lang(member, i18n), orgs, tz
    )


@router.message(
    StateFilter(
        PostCompose.date, PostCompose.weekly_time, PostCompose.survey_kk, PostCompose.survey_ru
    ),
    NOT_COMMAND,
)
async def on_words_expected(message: Message) -> None:
    await message.answer(_("Please type it in words, as in the example above."))


@router.message(
    StateFilter(
        PostCompose.audience,
        PostCompose.survey,
        PostCompose.schedule,
        PostCompose.weekday,
        PostCompose.urgent,
        PostCompose.preview,
    ),
    NOT_COMMAND,
)
async def on_buttons_expected(message: Message) -> None:
    await message.answer(_("Please use the buttons above (or /posts for the list of posts)."))


@router.callback_query(StateFilter(PostCompose.urgent), PostCb.filter(F.action == "urgent"))
async def on_urgent(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    if callback_data.value not in ("0", "1"):
        await query.answer(_outdated(), show_alert=True)
        return
    post = await composition.set_urgent(session, staff, post.id, callback_data.value == "1")
    await session.commit()
    await query.answer()
    await _advance(bot, _chat(query), state, session, post, "urgent", _lang(member, i18n), orgs, tz)


# --- preview, changes, confirmation --------------------------------------------------------


@router.callback_query(StateFilter(PostCompose.preview), PostCb.filter(F.action == "change"))
async def on_change_menu(
    query: CallbackQuery, callback_data: PostCb, state: FSMContext, session: AsyncSession
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=parts_markup(post.id))
    await query.answer()


@router.callback_query(StateFilter(PostCompose), PostCb.filter(F.action == "part"))
async def on_part(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    if callback_data.value not in PARTS:
        await query.answer(_outdated(), show_alert=True)
        return
    await state.update_data(editing=True)
    await query.answer()
    await _ask(
        bot, _chat(query), state, session, post, callback_data.value, _lang(member, i18n), orgs, tz
    )


@router.callback_query(StateFilter(PostCompose), PostCb.filter(F.action == "preview"))
async def on_preview(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    await query.answer()
    await _preview(bot, _chat(query), state, session, post, _lang(member, i18n), orgs, tz)


@router.callback_query(StateFilter(PostCompose.preview), PostCb.filter(F.action == "confirm"))
async def on_confirm(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    member_directory: MemberDirectory,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
    outbox: Outbox,
) -> None:
    post = await _compose_post(query, callback_data, state, session)
    if post is None:
        return
    lang = _lang(member, i18n)
    try:
        post = await composition.confirm(session, staff, post.id, tz)
        rows = []
        if post.status == PostStatus.AWAITING_APPROVAL:
            rows = await _ask_admins(session, outbox, post, orgs, tz, member_directory, i18n)
        await session.commit()
    except PostError as exc:
        await _refuse(query, session, exc)
        again = await lifecycle.get_post(session, callback_data.post)
        if exc.code == "past" and again is not None:
            await state.update_data(editing=True)
            await _ask(bot, _chat(query), state, session, again, "schedule", lang, orgs, tz)
        return
    await state.clear()
    now = post.repeat_weekday is None and post.run_at is not None and post.run_at <= utcnow()
    waits = not post.urgent and post.run_at is not None and is_quiet(post.run_at, tz)
    if post.status == PostStatus.AWAITING_APPROVAL:
        done = _("📨 Post No. {number} is waiting for an admin's approval.").format(number=post.id)
        waits = False  # the admin's approval decides when
    elif now and not waits:
        done = _("✅ Post No. {number} goes out now; /posts shows how it is going.").format(
            number=post.id
        )
    elif now:
        done = _("✅ Post No. {number} is confirmed.").format(number=post.id)
    else:
        done = _("✅ Post No. {number} is scheduled: {when}.").format(
            number=post.id, when=schedule_text(post, lang, tz)
        )
    if waits:
        done += "\n" + _(
            "🌙 It is not urgent and starts within the quiet hours (22:00–08:00, {zone} "
            "time): it goes out at 08:00."
        ).format(zone=zone_name(tz, lang))
    if isinstance(query.message, Message):
        await query.message.edit_text(done, reply_markup=None)
    await query.answer()
    await outbox.deliver(bot, rows)


def _tell(
    session: AsyncSession,
    outbox: Outbox,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> list[OutboxMessage]:
    """A notice to another person about a post, stored with the change it tells of."""
    return send_later(
        session,
        outbox,
        [SendMessage(chat_id=chat_id, text=text, reply_markup=markup)],
        purpose=TO_STAFF,
    )


async def _ask_admins(
    session: AsyncSession,
    outbox: Outbox,
    post: Broadcast,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    member_directory: MemberDirectory,
    i18n: I18n,
) -> list[OutboxMessage]:
    rows: list[OutboxMessage] = []
    for admin_id in await lifecycle.approvers(session):
        lang = await member_directory.language_of(session, admin_id)
        with i18n.use_locale(lang):
            builder = kb.InlineKeyboard()
            builder.button(
                text=_("✅ Approve"), callback_data=PostCb(action="approve", post=post.id)
            )
            builder.button(
                text=_("↩️ Return to drafts"), callback_data=PostCb(action="reject", post=post.id)
            )
            builder.button(text=_("👁 Open"), callback_data=PostCb(action="open", post=post.id))
            builder.adjust(2)
            text = _("📨 A post awaits your approval.") + "\n\n"
            text += await card_text(session, post, lang, orgs, tz)
            rows += _tell(session, outbox, admin_id, text, builder.as_markup())
    return rows


# --- /posts: lists and the card of a post --------------------------------------------------


# The list is one message: at most this many of Telegram's units once the HTML is parsed.
POSTS_LIST_UNITS = 4000


async def posts_view(
    session: AsyncSession, lang: str, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    listed = await lifecycle.list_posts(session)

    def line(post: Broadcast) -> str:
        extra = ""
        if post.status in lifecycle.UPCOMING:
            extra = f" — {schedule_text(post, lang, tz)}"
            if post.status == PostStatus.AWAITING_APPROVAL:
                extra += " — " + _(STATUS_LABELS[post.status])
        elif post.status in lifecycle.UNDER_WAY:
            counts = listed.counts.get(post.id, {})
            # Members who turned news off or left are never sent to.
            total = sum(counts.values()) - counts.get("opted-out", 0) - counts.get("skipped", 0)
            extra = " — " + _("{delivered} of {total} delivered").format(
                delivered=counts.get("delivered", 0), total=total
            )
            if post.status == PostStatus.PAUSED:
                extra += " — " + _(STATUS_LABELS[post.status])
        elif post.status in lifecycle.FINISHED:
            extra = " — " + _(STATUS_LABELS[post.status])
        title = escape(composition.title(post)) or "—"
        return _("• No. {number} {title}").format(number=post.id, title=f"«{title}»") + extra

    groups = [
        (_("<b>Drafts</b>"), [(p, line(p)) for p in listed.drafts]),
        (_("<b>Scheduled and awaiting approval</b>"), [(p, line(p)) for p in listed.upcoming]),
        (_("<b>Sending now</b>"), [(p, line(p)) for p in listed.under_way]),
        (_("<b>Finished</b> (the last 10)"), [(p, line(p)) for p in listed.finished]),
    ]
    hidden = [0] * len(groups)

    def render() -> str:
        lines = [_("<b>Posts</b>")]
        for (head, items), more in zip(groups, hidden, strict=True):
            if items or more:
                lines += ["", head, *(text for _post, text in items)]
            if more:
                lines.append(_("… and {count} more").format(count=more))
        if len(lines) == 1:
            lines.append(_("No posts yet. /post writes one."))
        return "\n".join(lines)

    text = render()
    # Many long titles could pass Telegram's limit: the longest group gives up its last
    # (oldest draft, latest scheduled) lines until the list fits, and says how many.
    while telegram_length(plain_text(text)) > POSTS_LIST_UNITS:
        longest = max(range(len(groups)), key=lambda i: len(groups[i][1]))
        groups[longest][1].pop()
        hidden[longest] += 1
        text = render()
    builder = kb.InlineKeyboard()
    for _head, items in groups:
        for post, _text in items:
            builder.button(
                text=_("No. {number}").format(number=post.id),
                callback_data=PostCb(action="open", post=post.id),
            )
    builder.adjust(4)
    return text, builder.as_markup()


@router.message(Command("posts"))
async def cmd_posts(
    message: Message, session: AsyncSession, member: MemberView | None, i18n: I18n, tz: ZoneInfo
) -> None:
    text, markup = await posts_view(session, _lang(member, i18n), tz)
    await message.answer(text, reply_markup=markup)


@router.callback_query(PostCb.filter(F.action == "list"))
async def on_list(
    query: CallbackQuery, session: AsyncSession, member: MemberView | None, i18n: I18n, tz: ZoneInfo
) -> None:
    text, markup = await posts_view(session, _lang(member, i18n), tz)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


async def _show_card(
    query: CallbackQuery,
    session: AsyncSession,
    post: Broadcast,
    staff: StaffView,
    lang: str,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    note: str | None = None,
) -> None:
    text = await card_text(session, post, lang, orgs, tz)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=card_markup(post, staff))
    await query.answer(note)


@router.callback_query(PostCb.filter(F.action == "open"))
async def on_open(
    query: CallbackQuery,
    callback_data: PostCb,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
) -> None:
    post = await lifecycle.get_post(session, callback_data.post)
    if post is None:
        await query.answer(_("This post no longer exists."), show_alert=True)
        return
    await _show_card(query, session, post, staff, _lang(member, i18n), orgs, tz)


@router.callback_query(PostCb.filter(F.action == "edit"))
async def on_edit(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
) -> None:
    try:
        post = await lifecycle.begin_edit(session, staff, callback_data.post)
        await session.commit()
    except PostError as exc:
        await _refuse(query, session, exc)
        return
    await state.clear()
    await state.set_state(PostCompose.preview)
    await state.update_data(post=post.id, editing=True)
    text = await card_text(session, post, _lang(member, i18n), orgs, tz)
    text += "\n\n" + _(
        "While you change it, the post is a draft and does not go out: confirm it again "
        "when you are done. What do you want to change?"
    )
    await query.answer()
    await bot.send_message(_chat(query), text, reply_markup=parts_markup(post.id))


@router.callback_query(PostCb.filter(F.action == "cancel"))
async def on_cancel_ask(
    query: CallbackQuery, callback_data: PostCb, session: AsyncSession, bot: Bot
) -> None:
    post = await lifecycle.get_post(session, callback_data.post)
    if post is None or post.status not in lifecycle.CANCELLABLE:
        await query.answer(_outdated(), show_alert=True)
        return
    composing = callback_data.value == "step"
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("✖️ Yes, cancel it"), callback_data=PostCb(action="cancelyes", post=post.id)
    )
    builder.button(
        text=_("⬅️ No, keep it"),
        callback_data=PostCb(action="cancelno" if composing else "open", post=post.id),
    )
    builder.adjust(1)
    await query.answer()
    if composing:
        await bot.send_message(
            _chat(query),
            _("✖️ Cancel post No. {number}? It will not go out.").format(number=post.id),
            reply_markup=builder.as_markup(),
        )
    elif isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=builder.as_markup())


@router.callback_query(PostCb.filter(F.action == "cancelno"))
async def on_cancel_no(query: CallbackQuery) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(_("The post is kept: go on where you left off."))
    await query.answer()


@router.callback_query(
    PostCb.filter(F.action.in_({"cancelyes", "pause", "resume", "approve", "reject"}))
)
async def on_manage(
    query: CallbackQuery,
    callback_data: PostCb,
    state: FSMContext,
    session: AsyncSession,
    staff: StaffView,
    member: MemberView | None,
    member_directory: MemberDirectory,
    i18n: I18n,
    orgs: MemberOrgs,
    tz: ZoneInfo,
    bot: Bot,
    outbox: Outbox,
) -> None:
    action = {
        "cancelyes": lifecycle.cancel,
        "pause": lifecycle.pause,
        "resume": lifecycle.resume,
        "approve": lifecycle.approve,
        "reject": lifecycle.reject,
    }[callback_data.action]
    try:
        post = await action(session, staff, callback_data.post)
        rows = []
        if callback_data.action in ("approve", "reject") and post.created_by != staff.telegram_id:
            lang = await member_directory.language_of(session, post.created_by)
            with i18n.use_locale(lang):
                text = (
                    _("✅ An admin approved your post No. {number}: {when}.").format(
                        number=post.id, when=schedule_text(post, lang, tz)
                    )
                    if callback_data.action == "approve"
                    else _(
                        "↩️ An admin returned your post No. {number} to drafts. Change it in "
                        "/posts and confirm it again."
                    ).format(number=post.id)
                )
            rows = _tell(session, outbox, post.created_by, text)
        await session.commit()
    except PostError as exc:
        await _refuse(query, session, exc)
        return
    if callback_data.action == "cancelyes" and (await state.get_data()).get("post") == post.id:
        await state.clear()
    notes = {
        "cancelyes": _("The post is cancelled."),
        "pause": _("Paused: nothing more is sent until you resume."),
        "resume": _("Resumed."),
        "approve": _("Approved."),
        "reject": _("Returned to drafts."),
    }
    await _show_card(
        query, session, post, staff, _lang(member, i18n), orgs, tz, notes[callback_data.action]
    )
    await outbox.deliver(bot, rows)


@router.message(Command("approval"), HasRole(StaffRole.ADMIN))
async def cmd_approval(
    message: Message, command: CommandObject, session: AsyncSession, staff: StaffView
) -> None:
    word = (command.args or "").strip().lower()
    if word in ("on", "off"):
        await lifecycle.set_approval_needed(session, staff, word == "on")
        await session.commit()
    on = await lifecycle.approval_needed(session)
    text = (
        _("Posts need an admin's approval before they go out.")
        if on
        else _("Posts go out without approval.")
    )
    await message.answer(text + "\n" + _("Change it: /approval on or /approval off"))
