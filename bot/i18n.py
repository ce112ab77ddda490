"""gettext (aiogram.utils.i18n over Babel catalogs) and Babel formatting of dates and numbers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

# Inside the package: an installed bot has its catalogs wherever it is installed.
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("kk", "ru")
DEFAULT_LANGUAGE = "kk"


def create_i18n() -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=DEFAULT_LANGUAGE, domain=DOMAIN)


def guess_language(user: User | None) -> str:
    """Before a member picks a language: Russian if their Telegram is in Russian, else Kazakh."""
    if user is not None and (user.language_code or "").lower().startswith("ru"):
        return "ru"
    return DEFAULT_LANGUAGE


class MemberI18nMiddleware(I18nMiddleware):
    """The member's chosen language; during onboarding the one they just picked; for staff
    who are not members, theirs (/lang, or their Telegram's when they joined)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        member = data.get("member")
        if member is not None and member.language in LANGUAGES:
            return str(member.language)
        state = data.get("state")
        if state is not None:
            chosen = (await state.get_data()).get("lang")
            if chosen in LANGUAGES:
                return str(chosen)
        staff = data.get("staff")
        if staff is not None and staff.language in LANGUAGES:
            return str(staff.language)
        return guess_language(data.get("event_from_user"))


# One shape for dates everywhere, with or without the time: "7 жел. 2026", "7 дек. 2026,
# 18:11" (CLDR's medium date differs by language: "2026 ж. 07 жел." beside "7 дек. 2026 г.").
DATE_PATTERN = "d MMM y"


def fmt_date(value: date | datetime, lang: str, tz: ZoneInfo | None = None) -> str:
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(tz)
    return format_date(value, format=DATE_PATTERN, locale=lang)


def fmt_datetime(value: datetime, lang: str, tz: ZoneInfo) -> str:
    return format_datetime(value, format=DATE_PATTERN + ", HH:mm", tzinfo=tz, locale=lang)


def fmt_number(value: float, lang: str) -> str:
    return format_decimal(value, locale=lang)


def N_(msgid: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return msgid
