"""Start links (`https://t.me/<bot>?start=<payload>`) and their QR codes.

Two kinds: a staff invite (`join_<code>`: opening it does what `/join <code>` does) and a
member organisation's poster link (`org_<id>`: a new member's onboarding starts with that
region chosen). Telegram takes a start payload of at most 64 characters from
[A-Za-z0-9_-]; invite codes (`secrets.token_urlsafe(9)`: 12 characters of that alphabet)
and organisation ids (checked when bot/data/member_orgs.yaml is read) fit as they are.
"""

from __future__ import annotations

import io
import re

import segno
from aiogram import Bot
from aiogram.types import LinkPreviewOptions
from aiogram.utils.deep_linking import create_deep_link

JOIN = "join_"
ORG = "org_"
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A link is shown as text: Telegram's preview of the bot's card adds nothing to it.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# The PNG: 10 pixels a module and the standard quiet zone of 4 modules, large enough to
# print on an A4 poster and to scan from a screen.
QR_SCALE = 10
QR_BORDER = 4
QR_ERROR = "m"  # 15 % of the code may be covered or smudged


def fits(payload: str) -> bool:
    """Whether Telegram carries this start payload as it is."""
    return PAYLOAD.fullmatch(payload) is not None


async def username(bot: Bot) -> str:
    """The bot's username (getMe once; aiogram keeps it)."""
    return (await bot.me()).username or ""


def start_link(bot_username: str, payload: str) -> str:
    if not fits(payload):
        raise ValueError(f"a start payload of {len(payload)} characters does not fit")
    return create_deep_link(username=bot_username, link_type="start", payload=payload)


def payload_after(prefix: str, args: str | None) -> str | None:
    """What a start payload carries after its prefix, or None for another payload."""
    args = (args or "").strip()
    return args.removeprefix(prefix) if args.startswith(prefix) else None


def qr_png(link: str) -> bytes:
    """The link's QR code as a PNG."""
    out = io.BytesIO()
    segno.make(link, error=QR_ERROR, micro=False).save(
        out, kind="png", scale=QR_SCALE, border=QR_BORDER
    )
    return out.getvalue()
