"""/post: a post composed step by step, and the preview it ends with.

Kazakh text → Russian text → photo or document → audience → survey → schedule → urgent →
a preview exactly as members receive it (confirming it: confirm.py). Each step is an FSM
state and a row of `STEPS`; its buttons work only in it and only for the post of this
dialogue (a draft). Changing one part from the preview asks that step and comes back.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.broadcast import composition, lifecycle
from bot.broadcast.composition import Audience
from bot.broadcast.lifecycle import PostError
from bot.broadcast.outcome import LANGUAGE_NAMES
from bot.broadcast.sends import send_part
from bot.callbacks import PostCb
from bot.filters import FILE, NOT_COMMAND, WORDS
from bot.handlers.press import keyboards as press_kb
from bot.handlers.press import texts
from bot.handlers.press.context import PressContext
from bot.handlers.shared.common import outdated
from bot.handlers.shared.states import PostCompose
from bot.i18n import LANGUAGES
from bot.storage.models import Broadcast, PostStatus

router = Router(name=__name__)

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


# --- the steps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    state: State
    prompt: Callable[[PressContext, Broadcast], Awaitable[str]]
    markup: Callable[[PressContext, Broadcast], InlineKeyboardMarkup]
    # The step after this one when the post is composed in order; None: the preview.
    then: str | None = None
    # False: `then` belongs to the same part (the Russian survey after the Kazakh one), so
    # it is asked even when only this part is being changed.
    part_done: bool = True
    # What asking the step sets up besides its state.
    enter: Callable[[PressContext, Broadcast], Awaitable[None]] | None = None


async def _choose_audience(press: PressContext, post: Broadcast) -> None:
    # The regions, workplaces and language tapped are kept in the dialogue until "Next".
    await press.state.update_data(audience=Audience.of(post).as_dict(), page=0)


STEPS: dict[str, Step] = {
    "kk": Step(
        PostCompose.text_kk,
        lambda press, post: texts.text_prompt(post, "kk"),
        lambda press, post: press_kb.text_markup(post, "kk"),
        then="ru",
    ),
    "ru": Step(
        PostCompose.text_ru,
        lambda press, post: texts.text_prompt(post, "ru"),
        lambda press, post: press_kb.text_markup(post, "ru"),
        then="media",
    ),
    "media": Step(
        PostCompose.media,
        lambda press, post: texts.media_prompt(),
        lambda press, post: press_kb.media_markup(post),
        then="audience",
    ),
    "audience": Step(
        PostCompose.audience,
        lambda press, post: texts.audience_prompt(
            press.session, post.id, Audience.of(post), press.orgs, press.lang
        ),
        lambda press, post: press_kb.audience_markup(
            post.id, Audience.of(post), press.orgs, press.lang, 0
        ),
        then="survey",
        enter=_choose_audience,
    ),
    "survey": Step(
        PostCompose.survey,
        lambda press, post: texts.survey_prompt(),
        lambda press, post: press_kb.survey_markup(post.id),
        then="schedule",
    ),
    "survey-kk": Step(
        PostCompose.survey_kk,
        lambda press, post: texts.survey_version_prompt(post, "kk"),
        lambda press, post: press_kb.survey_version_markup(post.id, "kk"),
        then="survey-ru",
        part_done=False,
    ),
    "survey-ru": Step(
        PostCompose.survey_ru,
        lambda press, post: texts.survey_version_prompt(post, "ru"),
        lambda press, post: press_kb.survey_version_markup(post.id, "ru"),
        then="schedule",
    ),
    "schedule": Step(
        PostCompose.schedule,
        lambda press, post: texts.schedule_prompt(),
        lambda press, post: press_kb.schedule_markup(post.id),
        then="urgent",
    ),
    "urgent": Step(
        PostCompose.urgent,
        lambda press, post: texts.urgent_prompt(press.tz, press.lang),
        lambda press, post: press_kb.urgent_markup(post.id),
    ),
}


async def ask(press: PressContext, post: Broadcast, name: str) -> None:
    step = STEPS[name]
    await press.state.set_state(step.state)
    if step.enter is not None:
        await step.enter(press, post)
    await press.send(await step.prompt(press, post), step.markup(press, post))


async def advance(press: PressContext, post: Broadcast, after: str) -> None:
    """The next step, or the preview again when one part was being changed."""
    step = STEPS[after]
    if step.then is not None and (
        not step.part_done or not (await press.state.get_data()).get("editing")
    ):
        await ask(press, post, step.then)
    else:
        await preview(press, post)


async def preview(press: PressContext, post: Broadcast) -> None:
    await press.state.set_state(PostCompose.preview)
    await press.state.update_data(editing=True)
    refused = await send_versions(press, post)
    text = await texts.card_text(press.session, post, press.lang, press.orgs, press.tz)
    if refused is not None:
        text += "\n\n" + _("⚠️ Telegram refused this post: {reason}\nPlease change it.").format(
            reason=escape(refused)
        )
    else:
        text += "\n\n" + _("Everything right? Confirm, or change a part.")
    await press.send(text, press_kb.preview_markup(post.id, can_confirm=refused is None))


async def send_versions(press: PressContext, post: Broadcast) -> str | None:
    """The post in this chat exactly as members get it, each language under a heading (the
    author's preview, an admin asked to approve it). Telegram's reason if it refused."""
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
        await press.send(head)
        try:
            for part in composition.parts(version):
                await send_part(press.bot, press.chat_id, version, part)
        except TelegramBadRequest as exc:
            refused = exc.message
            break
    return refused


# --- /post and the compose steps -----------------------------------------------------------


async def warn_if_left_unconfirmed(press: PressContext, going_to: int = 0) -> None:
    """A scheduled post opened with ✏️ Change is a draft until confirmed again: leaving
    its dialogue for another (a new post, or changing post `going_to`) leaves it off the
    schedule, so say so."""
    reopened = int((await press.state.get_data()).get("reopened") or 0)
    left = reopened and reopened != going_to
    post = await lifecycle.get_post(press.session, reopened) if left else None
    if post is not None and post.status == PostStatus.DRAFT:
        await press.send(
            _(
                "⚠️ Post No. {number}, which you were changing, is still a draft: it does "
                "not go out until you confirm it again (/posts → No. {number} → ✏️ Change "
                "→ 👁 Preview and confirm)."
            ).format(number=post.id)
        )


@router.message(Command("post"))
async def cmd_post(message: Message, press: PressContext) -> None:
    await warn_if_left_unconfirmed(press)
    await press.state.clear()
    post = await composition.create_draft(press.session, press.staff)
    await press.session.commit()
    await press.state.update_data(post=post.id, editing=False)
    await ask(press, post, "kk")


def _typed_html(message: Message) -> str:
    if any(entity.type in FORMATTING for entity in message.entities or []):
        return message.html_text
    return message.text or ""


async def _post_id(press: PressContext) -> int:
    return int((await press.state.get_data()).get("post") or 0)


@router.message(StateFilter(PostCompose.text_kk, PostCompose.text_ru), WORDS)
async def on_text(message: Message, press: PressContext) -> None:
    language = "ru" if await press.state.get_state() == PostCompose.text_ru.state else "kk"
    try:
        post = await composition.set_text(
            press.session, press.staff, await _post_id(press), language, _typed_html(message)
        )
        await press.session.commit()
    except PostError as exc:
        if exc.code in ("not-found", "state"):  # cancelled or started meanwhile
            await press.refuse(message, exc)
            await press.state.clear()
            return
        again = _("The post keeps its earlier text. Please send the corrected text.")
        await press.refuse(message, exc, again)
        return
    if _mixed_formatting(message):
        await message.answer(
            _(
                "⚠️ This text uses both Telegram's formatting menu and typed tags such as "
                "{tag}: the typed tags will show as text. Use one or the other, and look at "
                "the preview before confirming."
            ).format(tag=escape("<b>"))
        )
    await advance(press, post, language)


TYPED_TAG = re.compile(r"<\s*/?\s*(?:b|i|u|s|a|code|pre|blockquote|tg-spoiler)\b", re.IGNORECASE)


def _mixed_formatting(message: Message) -> bool:
    """Formatted with Telegram's menu, and tags typed as well: the menu wins, the typed
    tags are escaped and members would see them."""
    formatted = any(entity.type in FORMATTING for entity in message.entities or [])
    return formatted and bool(TYPED_TAG.search(message.text or ""))


@router.message(StateFilter(PostCompose.text_kk, PostCompose.text_ru), NOT_COMMAND)
async def on_not_text(message: Message) -> None:
    await message.answer(
        _("Please send the text of the post here; a photo or document comes at the next step.")
    )


@router.callback_query(
    StateFilter(PostCompose.text_kk, PostCompose.text_ru), PostCb.filter(F.action == "skip")
)
async def on_skip_text(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    expected = "ru" if await press.state.get_state() == PostCompose.text_ru.state else "kk"
    if post is None:
        return
    if callback_data.value != expected:
        await query.answer(outdated(), show_alert=True)
        return
    try:
        post = await composition.set_text(press.session, press.staff, post.id, expected, None)
        await press.session.commit()
    except PostError as exc:
        await press.refuse(query, exc)
        return
    await query.answer()
    await advance(press, post, expected)


@router.message(StateFilter(PostCompose.media), FILE)
async def on_media(message: Message, press: PressContext) -> None:
    if message.photo:
        kind, file_id = "photo", message.photo[-1].file_id
    else:
        kind, file_id = "document", message.document.file_id if message.document else ""
    try:
        post = await composition.set_media(
            press.session, press.staff, await _post_id(press), kind, file_id
        )
        await press.session.commit()
    except PostError as exc:
        await press.refuse(message, exc)
        return
    await advance(press, post, "media")


@router.message(StateFilter(PostCompose.media), NOT_COMMAND)
async def on_media_not_file(message: Message) -> None:
    await message.answer(
        _("Please send a photo or a document, or use the buttons above to continue without.")
    )


@router.callback_query(StateFilter(PostCompose.media), PostCb.filter(F.action == "media"))
async def on_media_button(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    if callback_data.value not in ("none", "keep"):
        await query.answer(outdated(), show_alert=True)
        return
    if callback_data.value == "none":
        post = await composition.set_media(press.session, press.staff, post.id, None, None)
        await press.session.commit()
    await query.answer()
    await advance(press, post, "media")


@router.callback_query(
    StateFilter(PostCompose.audience),
    PostCb.filter(F.action.in_({"org", "wp", "lang", "every", "page"})),
)
async def on_audience_toggle(
    query: CallbackQuery, callback_data: PostCb, press: PressContext
) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    data = await press.state.get_data()
    audience = Audience.from_dict(data.get("audience") or {})
    page = int(data.get("page") or 0)
    value, action = callback_data.value, callback_data.action
    kinds = {k.value for k in kb.WORKPLACE_LABELS}
    if (
        (action == "org" and value not in press.orgs.by_id)
        or (action == "wp" and value not in kinds)
        or (action == "lang" and value not in ("", *LANGUAGES))
        or (action == "page" and not value.isdigit())
    ):
        await query.answer(outdated(), show_alert=True)
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
    await press.state.update_data(audience=audience.as_dict(), page=page)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            await texts.audience_prompt(press.session, post.id, audience, press.orgs, press.lang),
            reply_markup=press_kb.audience_markup(post.id, audience, press.orgs, press.lang, page),
        )
    await query.answer()


@router.callback_query(StateFilter(PostCompose.audience), PostCb.filter(F.action == "aud"))
async def on_audience_done(
    query: CallbackQuery, callback_data: PostCb, press: PressContext
) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    audience = Audience.from_dict((await press.state.get_data()).get("audience") or {})
    try:
        post = await composition.set_audience(
            press.session, press.staff, post.id, audience, known_orgs=press.orgs.by_id
        )
        await press.session.commit()
    except PostError as exc:
        await press.refuse(query, exc)
        return
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    await advance(press, post, "audience")


@router.callback_query(StateFilter(PostCompose.survey), PostCb.filter(F.action == "survey"))
async def on_survey_choice(
    query: CallbackQuery, callback_data: PostCb, press: PressContext
) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    if callback_data.value not in ("yes", "no"):
        await query.answer(outdated(), show_alert=True)
        return
    await query.answer()
    if callback_data.value == "yes":
        await ask(press, post, "survey-kk")
        return
    post = await composition.remove_survey(press.session, press.staff, post.id)
    await press.session.commit()
    await advance(press, post, "survey")


@router.message(StateFilter(PostCompose.survey_kk, PostCompose.survey_ru), WORDS)
async def on_survey_text(message: Message, press: PressContext) -> None:
    language = "ru" if await press.state.get_state() == PostCompose.survey_ru.state else "kk"
    try:
        version = composition.parse_survey(message.text or "")
        post = await composition.set_survey(
            press.session,
            press.staff,
            await _post_id(press),
            language,
            version,
            other_follows=STEPS[f"survey-{language}"].then
            == f"survey-{composition.other(language)}",
        )
        await press.session.commit()
    except PostError as exc:
        await press.refuse(message, exc, _("Please send the survey again."))
        return
    await advance(press, post, f"survey-{language}")


@router.callback_query(
    StateFilter(PostCompose.survey_kk, PostCompose.survey_ru), PostCb.filter(F.action == "svskip")
)
async def on_survey_skip(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    language = "ru" if await press.state.get_state() == PostCompose.survey_ru.state else "kk"
    if post is None:
        return
    if callback_data.value != language:
        await query.answer(outdated(), show_alert=True)
        return
    post = await composition.set_survey(press.session, press.staff, post.id, language, None)
    await press.session.commit()
    await query.answer()
    await advance(press, post, f"survey-{language}")


# The "when" buttons stay live while the date or weekly time is asked: a press secretary
# who tapped "on a date" and changes their mind taps "right after confirming" above.
WHEN_STATES = (
    PostCompose.schedule,
    PostCompose.date,
    PostCompose.weekday,
    PostCompose.weekly_time,
)


@router.callback_query(StateFilter(*WHEN_STATES), PostCb.filter(F.action == "when"))
async def on_when(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    if callback_data.value == "now":
        post = await lifecycle.schedule_now(press.session, press.staff, post.id)
        await press.session.commit()
        await query.answer()
        await advance(press, post, "schedule")
        return
    if callback_data.value == "date":
        await press.state.set_state(PostCompose.date)
        example = texts.date_example(press.tz)
        await press.send(
            _("📅 Type the date and time ({zone} time), for example: {example} 10:00").format(
                zone=texts.zone_name(press.tz, press.lang), example=example
            ),
            press_kb.cancel_only(post.id),
        )
    elif callback_data.value == "weekly":
        await press.state.set_state(PostCompose.weekday)
        await press.send(
            _("🔁 On which day of the week?"), press_kb.weekday_markup(post.id, press.lang)
        )
    else:
        await query.answer(outdated(), show_alert=True)
        return
    await query.answer()


@router.message(StateFilter(PostCompose.date), WORDS)
async def on_date(message: Message, press: PressContext) -> None:
    try:
        local = lifecycle.parse_local_datetime(message.text or "")
        post = await lifecycle.schedule_at(
            press.session, press.staff, await _post_id(press), local, press.tz
        )
        await press.session.commit()
    except PostError as exc:
        await press.refuse(message, exc)
        return
    await advance(press, post, "schedule")


@router.callback_query(
    StateFilter(PostCompose.weekday, PostCompose.weekly_time), PostCb.filter(F.action == "wd")
)
async def on_weekday(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    if callback_data.value not in {str(d) for d in range(7)}:
        await query.answer(outdated(), show_alert=True)
        return
    await press.state.set_state(PostCompose.weekly_time)
    await press.state.update_data(weekday=int(callback_data.value))
    await query.answer()
    await press.send(
        _("🕒 Type the time ({zone} time), for example: 09:00").format(
            zone=texts.zone_name(press.tz, press.lang)
        ),
        press_kb.cancel_only(post.id),
    )


@router.message(StateFilter(PostCompose.weekly_time), WORDS)
async def on_weekly_time(message: Message, press: PressContext) -> None:
    data = await press.state.get_data()
    try:
        post = await lifecycle.schedule_weekly(
            press.session,
            press.staff,
            int(data.get("post") or 0),
            int(data.get("weekday") or 0),
            message.text or "",
            press.tz,
        )
        await press.session.commit()
    except PostError as exc:
        await press.refuse(message, exc)
        return
    await advance(press, post, "schedule")


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
async def on_urgent(query: CallbackQuery, callback_data: PostCb, press: PressContext) -> None:
    post = await press.draft(query, callback_data)
    if post is None:
        return
    if callback_data.value not in ("0", "1"):
        await query.answer(outdated(), show_alert=True)
        return
    post = await composition.set_urgent(
        press.session, press.staff, post.id, callback_data.value == "1"
    )
    await press.session.commit()
    await query.answer()
    await advance(press, post, "urgent")
