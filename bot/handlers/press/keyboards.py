"""The press screens' buttons: each composing step's, the preview's, a post's card."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.broadcast import composition, lifecycle
from bot.broadcast.composition import Audience
from bot.broadcast.outcome import LANGUAGE_NAMES
from bot.callbacks import PostCb
from bot.handlers.press.texts import PARTS, weekday_name
from bot.services.staff import StaffView
from bot.storage.models import Broadcast, PostStatus, StaffRole
from bot.topics import MemberOrgs

ORG_PAGE = 10


def cancel_button(builder: kb.InlineKeyboard, post_id: int, *, composing: bool = True) -> None:
    # While composing, the question comes as a message of its own, so that "keep it" leaves
    # the step's message and buttons as they were; on a post's card it replaces the buttons.
    builder.button(
        text=_("✖️ Cancel the post"),
        callback_data=PostCb(action="cancel", post=post_id, value="step" if composing else ""),
    )


def cancel_only(post_id: int) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    cancel_button(builder, post_id)
    return builder.as_markup()


def card_markup(post: Broadcast, staff: StaffView) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    if post.status == PostStatus.AWAITING_APPROVAL and staff.role == StaffRole.ADMIN:
        builder.button(text=_("✅ Approve"), callback_data=PostCb(action="approve", post=post.id))
        builder.button(
            text=_("↩️ Return to drafts"), callback_data=PostCb(action="reject", post=post.id)
        )
    if post.status in lifecycle.EDITABLE and not lifecycle.has_started(post):
        builder.button(text=_("✏️ Change"), callback_data=PostCb(action="edit", post=post.id))
    if post.status == PostStatus.RUNNING:
        builder.button(text=_("⏸ Pause"), callback_data=PostCb(action="pause", post=post.id))
    if post.status == PostStatus.PAUSED:
        builder.button(text=_("▶️ Resume"), callback_data=PostCb(action="resume", post=post.id))
    if post.status in lifecycle.CANCELLABLE:
        cancel_button(builder, post.id, composing=False)
    builder.button(text=_("⬅️ All posts"), callback_data=PostCb(action="list"))
    builder.adjust(2)
    return builder.as_markup()


def preview_markup(post_id: int, *, can_confirm: bool = True) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    if can_confirm:
        builder.button(text=_("✅ Confirm"), callback_data=PostCb(action="confirm", post=post_id))
    builder.button(text=_("✏️ Change…"), callback_data=PostCb(action="change", post=post_id))
    cancel_button(builder, post_id)
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
    cancel_button(builder, post_id)
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


def _step(builder: kb.InlineKeyboard, post_id: int) -> InlineKeyboardMarkup:
    """A composing step's buttons, one a row, and "cancel the post" last."""
    cancel_button(builder, post_id)
    builder.adjust(1)
    return builder.as_markup()


def text_markup(post: Broadcast, language: str) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    if composition.post_text(post, composition.other(language)):
        builder.button(
            text=_("⏭ No {language} version").format(language=_(LANGUAGE_NAMES[language])),
            callback_data=PostCb(action="skip", post=post.id, value=language),
        )
    return _step(builder, post.id)


def media_markup(post: Broadcast) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    if post.media_file_id:
        builder.button(
            text=_("✅ Keep the current one"),
            callback_data=PostCb(action="media", post=post.id, value="keep"),
        )
    builder.button(
        text=_("➡️ Without a photo or document"),
        callback_data=PostCb(action="media", post=post.id, value="none"),
    )
    return _step(builder, post.id)


def survey_markup(post_id: int) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("Add a survey"), callback_data=PostCb(action="survey", post=post_id, value="yes")
    )
    builder.button(
        text=_("No survey"), callback_data=PostCb(action="survey", post=post_id, value="no")
    )
    return _step(builder, post_id)


def survey_version_markup(post_id: int, language: str) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("⏭ No {language} version").format(language=_(LANGUAGE_NAMES[language])),
        callback_data=PostCb(action="svskip", post=post_id, value=language),
    )
    return _step(builder, post_id)


def schedule_markup(post_id: int) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    for value, label in (
        ("now", _("🚀 Right after confirming")),
        ("date", _("📅 On a date")),
        ("weekly", _("🔁 Every week")),
    ):
        builder.button(text=label, callback_data=PostCb(action="when", post=post_id, value=value))
    return _step(builder, post_id)


def urgent_markup(post_id: int) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("⚡ Urgent"), callback_data=PostCb(action="urgent", post=post_id, value="1")
    )
    builder.button(
        text=_("Not urgent"), callback_data=PostCb(action="urgent", post=post_id, value="0")
    )
    return _step(builder, post_id)


def weekday_markup(post_id: int, lang: str) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    for weekday in range(7):
        builder.button(
            text=weekday_name(weekday, lang).capitalize(),  # a label, not mid-sentence
            callback_data=PostCb(action="wd", post=post_id, value=str(weekday)),
        )
    builder.adjust(2)
    cancel_button(builder, post_id)
    builder.adjust(2, 2, 2, 1, 1)
    return builder.as_markup()


def cancel_question_markup(post_id: int, *, composing: bool) -> InlineKeyboardMarkup:
    builder = kb.InlineKeyboard()
    builder.button(
        text=_("✖️ Yes, cancel it"), callback_data=PostCb(action="cancelyes", post=post_id)
    )
    builder.button(
        text=_("⬅️ No, keep it"),
        callback_data=PostCb(action="cancelno" if composing else "open", post=post_id),
    )
    builder.adjust(1)
    return builder.as_markup()


def approval_markup(post_id: int) -> InlineKeyboardMarkup:
    """For the admins a post awaits."""
    builder = kb.InlineKeyboard()
    builder.button(text=_("✅ Approve"), callback_data=PostCb(action="approve", post=post_id))
    builder.button(
        text=_("↩️ Return to drafts"), callback_data=PostCb(action="reject", post=post_id)
    )
    builder.button(
        text=_("👁 Read it as members will"), callback_data=PostCb(action="show", post=post_id)
    )
    builder.button(text=_("🗂 Its card"), callback_data=PostCb(action="open", post=post_id))
    builder.adjust(2)
    return builder.as_markup()
