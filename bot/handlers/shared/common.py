"""Small helpers every staff screen uses."""

from __future__ import annotations

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGES
from bot.services.limits import MAX_TEXT
from bot.services.members import MemberView


def reader_language(member: MemberView | None, i18n: I18n) -> str:
    """The reader's language: a member's choice, else the language of this update."""
    if member is not None:
        return member.language
    return i18n.current_locale if i18n.current_locale in LANGUAGES else "kk"


def outdated() -> str:
    return _("This button is outdated. Please use the latest message.")


def too_long(length: int | None = None) -> str:
    """A text over MAX_TEXT: with its length when known."""
    if length is None:
        return _("Too long: the limit is {limit} characters.").format(limit=MAX_TEXT)
    return _("This is too long: {length} characters, the limit is {limit}.").format(
        length=length, limit=MAX_TEXT
    )
