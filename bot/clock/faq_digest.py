"""The FAQ editors' weekly digest: the answers members marked "did not help" most.

Every Monday morning the scheduler lease's holder (bot/runner.py) sends each active FAQ
editor (head lawyers, and lawyers with the editor right) the week's top answers by "did
not help", with how often they helped, up to 3 of the anonymised questions typed before
them (bot/services/faq_misses.py) and a button to edit each. The messages go through the
outbox, stored in the transaction that marks the ISO week done (a `bot_setting` row), so
a crash loses none and two instances, a retry or a restart never send a week's twice.
A week in which no answer failed marks the week and sends nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import FaqEditCb
from bot.context import Context
from bot.faq.content import Faq
from bot.i18n import N_, fmt_date
from bot.outbox import letter
from bot.outbox.texts import NOTICE
from bot.services.faq_misses import recent_questions
from bot.storage import outbox as store
from bot.storage.models import BotSetting, FaqEvent, FaqEventKind, Staff, StaffRole, utcnow

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
TOP = 5  # answers in a digest
QUESTIONS = 3  # questions shown under each
QUESTION_CHARS = 160  # of each question as shown: five answers fit one message
BUTTON_TITLE_CHARS = 32
TELEGRAM_LIMIT = 4096  # UTF-16 code units of a message's text
KEY = "faq-digest:{year}-W{week:02d}"
COUNTS = N_("👎 Did not help: {not_helped} · 👍 Helped: {helped}")


@dataclass(frozen=True)
class Failing:
    node_id: str
    not_helped: int
    helped: int
    questions: tuple[str, ...] = ()


def week_key(now: datetime, tz: ZoneInfo) -> str:
    """The `bot_setting` key of the ISO week `now` falls in, in the bot's time zone."""
    year, week, _day = now.astimezone(tz).isocalendar()
    return KEY.format(year=year, week=week)


async def failing_answers(
    session: AsyncSession, faq: Faq, since: datetime, until: datetime
) -> list[Failing]:
    """The TOP answers marked "did not help" most between `since` and `until`, with their
    "helped" counts and newest questions; answers no longer in `faq` are left out."""
    rows = await session.execute(
        select(FaqEvent.node_id, FaqEvent.kind, func.count())
        .where(
            FaqEvent.at >= since,
            FaqEvent.at < until,
            FaqEvent.kind.in_([FaqEventKind.NOT_HELPED, FaqEventKind.HELPED]),
        )
        .group_by(FaqEvent.node_id, FaqEvent.kind)
    )
    not_helped: Counter[str] = Counter()
    helped: Counter[str] = Counter()
    for node_id, kind, count in rows:
        bucket = not_helped if FaqEventKind(kind) is FaqEventKind.NOT_HELPED else helped
        bucket[node_id] += count
    live = [
        node_id
        for node_id in not_helped
        if (node := faq.get(node_id)) is not None and node.is_answer
    ]
    top = sorted(live, key=lambda n: (-not_helped[n], helped[n], n))[:TOP]
    questions = await recent_questions(session, top, since, QUESTIONS)
    return [Failing(n, not_helped[n], helped[n], tuple(questions.get(n, ()))) for n in top]


async def editors(session: AsyncSession) -> list[int]:
    """Telegram ids of the active FAQ editors: head lawyers, lawyers with the right."""
    ids = await session.scalars(
        select(Staff.telegram_id)
        .where(
            Staff.active.is_(True),
            Staff.telegram_id > 0,
            or_(
                Staff.role == StaffRole.HEAD_LAWYER,
                and_(Staff.role == StaffRole.LAWYER, Staff.faq_editor.is_(True)),
            ),
        )
        .order_by(Staff.id)
    )
    return list(ids)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def digest_message(
    failing: list[Failing],
    faq: Faq,
    lang: str,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup]:
    """The digest in the current locale (`lang`: the titles' and dates' language)."""
    head = _(
        "<b>📉 FAQ answers that did not help this week</b>\n"
        "{first} – {last}. The answers members marked “No, ask a lawyer” most often, with "
        "what they had typed before opening them (names, numbers and addresses masked)."
    ).format(first=fmt_date(since, lang, tz), last=fmt_date(until, lang, tz))
    buttons: list[list[InlineKeyboardButton]] = []
    blocks: list[list[str]] = []
    for number, item in enumerate(failing, start=1):
        node = faq.get(item.node_id)
        title = node.title_in(lang) if node is not None else item.node_id
        counts = _(COUNTS).format(not_helped=item.not_helped, helped=item.helped)
        block = [f"<b>{number}. {escape(title)}</b>", counts]
        block += [f"— «{escape(_shorten(q, QUESTION_CHARS))}»" for q in item.questions]
        blocks.append(block)
        buttons.append(
            [
                InlineKeyboardButton(
                    text=_("✏️ Edit: {title}").format(title=_shorten(title, BUTTON_TITLE_CHARS)),
                    callback_data=FaqEditCb(action="open", node=item.node_id).pack(),
                )
            ]
        )

    def text() -> str:
        return "\n\n".join([head, *("\n".join(block) for block in blocks)])

    # Five answers with three questions each fit; should titles grow, the oldest
    # questions go first rather than the message.
    while _utf16(text()) > TELEGRAM_LIMIT and any(len(b) > 2 for b in blocks):
        longest = max(blocks, key=len)
        longest.pop()
    return text(), InlineKeyboardMarkup(inline_keyboard=buttons)


async def faq_digest_job(ctx: Context, bot: Bot, now: datetime | None = None) -> int:
    """Store this week's digest for every FAQ editor, each in their language, in the
    transaction that marks the week done; then send it. Returns how many were stored:
    0 when the week was already done (here or by another instance) or nothing failed."""
    moment = now or utcnow()
    tz = ZoneInfo(ctx.settings.timezone)
    key = week_key(moment, tz)
    since = moment - WEEK
    faq = ctx.faq
    async with ctx.session_factory() as session:
        if await session.get(BotSetting, key) is not None:
            return 0
        failing = await failing_answers(session, faq, since, moment)
        letters = []
        if failing:
            made: dict[str, tuple[str, InlineKeyboardMarkup]] = {}
            for telegram_id in await editors(session):
                lang = await ctx.member_directory.language_of(session, telegram_id)
                if lang not in made:
                    with ctx.i18n.context(), ctx.i18n.use_locale(lang):
                        made[lang] = digest_message(failing, faq, lang, since, moment, tz)
                text, markup = made[lang]
                letters.append(
                    letter(SendMessage(chat_id=telegram_id, text=text, reply_markup=markup))
                )
        store.add(session, letters, purpose=NOTICE, now=utcnow())
        session.add(BotSetting(key=key, value=str(len(letters))))
        try:
            await session.commit()
        except IntegrityError:  # another instance stored this week's digest first
            await session.rollback()
            return 0
    log.info(
        "FAQ digest %s: %d answers that did not help, %d editors told",
        key,
        len(failing),
        len(letters),
    )
    if letters:
        await ctx.outbox.send_due(bot)
    return len(letters)
