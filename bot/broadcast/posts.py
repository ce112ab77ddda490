"""The press secretary's posts: compose, check, schedule, approve and manage.

Services only, no aiogram types: the handler (bot/handlers/press.py) commits, and every
change is audited in its transaction. A status change that can race with the scheduler or
the engine (scheduled → running, running → done) is one conditional UPDATE, so a post that
has just started cannot be edited any more and a cancelled one is never started.

Texts are Telegram HTML, checked here before they are saved (`check_html`): the engine
sends them as they are, and a post Telegram refuses would fail for every member.
A survey's question is stored HTML-escaped and its options as typed (`parse_survey`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Message
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from bot.compat.sends import Sent, send_methods
from bot.services.staff import StaffView, audit
from bot.storage.models import (
    BotSetting,
    Broadcast,
    Delivery,
    DeliveryStatus,
    Member,
    PostStatus,
    Staff,
    StaffRole,
    WorkplaceType,
    utcnow,
)

LANGUAGES = ("kk", "ru")
TEXT_LIMIT = 4096  # characters of a message after its HTML is parsed
CAPTION_LIMIT = 1024  # of a photo's or document's caption
SURVEY_QUESTION_LIMIT = 300
SURVEY_OPTION_LIMIT = 100
SURVEY_MIN_OPTIONS, SURVEY_MAX_OPTIONS = 2, 10
MEDIA_KINDS = ("photo", "document")
APPROVAL_SETTING = "posts_need_approval"
RECENT_FINISHED = 10

# Who may change what, by status (a post is edited only before it starts).
EDITABLE = (PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.AWAITING_APPROVAL)
CANCELLABLE = (
    PostStatus.DRAFT,
    PostStatus.AWAITING_APPROVAL,
    PostStatus.SCHEDULED,
    PostStatus.RUNNING,
    PostStatus.PAUSED,
)
UPCOMING = (PostStatus.AWAITING_APPROVAL, PostStatus.SCHEDULED)
UNDER_WAY = (PostStatus.RUNNING, PostStatus.PAUSED)
FINISHED = (PostStatus.DONE, PostStatus.CANCELLED)


class PostError(Exception):
    """A refused action. `code` says why; `details` carry what the reader needs to fix it.

    Codes: not-found, state (the post's status does not allow it), forbidden, html
    (details["problem"]: HtmlProblem), no-text, caption-too-long (language, length, limit),
    bad-media, bad-audience, survey-empty, survey-question-long (length, limit),
    survey-options (count), survey-option-long (number, length, limit), bad-datetime,
    bad-time, past.
    """

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


# --- Telegram HTML -------------------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
    }
)
HREF_SCHEMES = ("http://", "https://", "tg://", "mailto:")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
_ATTR = re.compile(
    r"""\s*([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?\s*"""
)
# Telegram knows numeric entities and only these named ones.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_SPECIAL = re.compile(r"[<&]")
_BULLET = re.compile(r"^\s*(?:[-•*–]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class HtmlProblem:
    """Why a text is not Telegram HTML.

    code: unknown-tag (tag), bad-attribute (tag), no-href, bad-href, unclosed (tag),
    stray-close (tag), bad-nesting (tag: the one closed out of order), inside-code (tag),
    bare-lt, bare-amp, empty, too-long (length, limit).
    """

    code: str
    tag: str = ""
    length: int = 0
    limit: int = 0


def telegram_length(text: str) -> int:
    """Telegram counts UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _attributes(raw: str) -> dict[str, str] | None:
    attrs: dict[str, str] = {}
    position = 0
    raw = raw.rstrip()
    while position < len(raw):
        match = _ATTR.match(raw, position)
        if match is None or match.end() == position:
            return None
        name = match.group(1).lower()
        value = next((g for g in match.group(2, 3, 4) if g is not None), None)
        if name in attrs:
            return None
        attrs[name] = "" if value is None else html.unescape(value)
        position = match.end()
    return attrs


def _tag_problem(name: str, attrs: dict[str, str]) -> HtmlProblem | None:
    if name == "a":
        if set(attrs) != {"href"}:
            return HtmlProblem("no-href" if "href" not in attrs else "bad-attribute", tag=name)
        if not attrs["href"].strip().lower().startswith(HREF_SCHEMES):
            return HtmlProblem("bad-href", tag=name)
        return None
    if name == "span":
        ok = attrs == {"class": "tg-spoiler"}
    elif name == "code":
        ok = not attrs or (set(attrs) == {"class"} and attrs["class"].startswith("language-"))
    elif name == "blockquote":
        ok = not attrs or attrs == {"expandable": ""}
    else:
        ok = not attrs
    return None if ok else HtmlProblem("bad-attribute", tag=name)


def parse_html(text: str) -> tuple[str, HtmlProblem | None]:
    """The plain text a member reads, and the first problem Telegram would refuse."""
    stack: list[str] = []
    plain: list[str] = []
    position = 0
    while position < len(text):
        special = _SPECIAL.search(text, position)
        if special is None:
            plain.append(text[position:])
            break
        plain.append(text[position : special.start()])
        position = special.start()
        if text[position] == "&":
            entity = _ENTITY.match(text, position)
            if entity is None:
                return "".join(plain), HtmlProblem("bare-amp")
            plain.append(html.unescape(entity.group(0)))
            position = entity.end()
            continue
        tag = _TAG.match(text, position)
        if tag is None:
            return "".join(plain), HtmlProblem("bare-lt")
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name not in ALLOWED_TAGS:
            return "".join(plain), HtmlProblem("unknown-tag", tag=name)
        if closing:
            if tag.group(3).strip():
                return "".join(plain), HtmlProblem("bad-attribute", tag=name)
            if name not in stack:
                return "".join(plain), HtmlProblem("stray-close", tag=name)
            if stack[-1] != name:
                return "".join(plain), HtmlProblem("bad-nesting", tag=stack[-1])
            stack.pop()
        else:
            attrs = _attributes(tag.group(3))
            if attrs is None:
                return "".join(plain), HtmlProblem("bad-attribute", tag=name)
            problem = _tag_problem(name, attrs)
            if problem is not None:
                return "".join(plain), problem
            # Nothing is formatted inside code; pre may hold one code (its language).
            if (
                stack
                and stack[-1] in {"code", "pre"}
                and not (stack[-1] == "pre" and name == "code")
            ):
                return "".join(plain), HtmlProblem("inside-code", tag=name)
            stack.append(name)
        position = tag.end()
    if stack:
        return "".join(plain), HtmlProblem("unclosed", tag=stack[-1])
    return "".join(plain), None


def check_html(text: str, *, limit: int = TEXT_LIMIT) -> HtmlProblem | None:
    plain, problem = parse_html(text)
    if problem is not None:
        return problem
    if not plain.strip():
        return HtmlProblem("empty")
    length = telegram_length(plain)
    if length > limit:
        return HtmlProblem("too-long", length=length, limit=limit)
    return None


def plain_text(text: str) -> str:
    return parse_html(text)[0]


# --- reading posts -------------------------------------------------------------------------


async def get_post(session: AsyncSession, post_id: int) -> Broadcast | None:
    # populate_existing: the conditional UPDATEs below bypass the identity map.
    return await session.get(Broadcast, post_id, populate_existing=True)


async def _post(
    session: AsyncSession, post_id: int, allowed: Sequence[PostStatus] = (PostStatus.DRAFT,)
) -> Broadcast:
    post = await get_post(session, post_id)
    if post is None:
        raise PostError("not-found")
    if post.status not in allowed:
        raise PostError("state", status=post.status.value)
    return post


async def _move(
    session: AsyncSession, post_id: int, allowed: Sequence[PostStatus], **values: Any
) -> Broadcast:
    """Change a post only if its status is still one of `allowed` (one statement)."""
    changed = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == post_id, Broadcast.status.in_(allowed))
        .values(**values)
        .returning(Broadcast.id)
        .execution_options(synchronize_session=False)
    )
    if changed.first() is None:
        post = await get_post(session, post_id)
        if post is None:
            raise PostError("not-found")
        raise PostError("state", status=post.status.value)
    return await _post(session, post_id, tuple(PostStatus))


def text_limit(post: Broadcast) -> int:
    return CAPTION_LIMIT if post.media_file_id else TEXT_LIMIT


def post_text(post: Broadcast, language: str) -> str | None:
    return post.text_ru if language == "ru" else post.text_kk


def other(language: str) -> str:
    return "kk" if language == "ru" else "ru"


def flags(post: Broadcast) -> list[str]:
    """What is missing: "text-kk", "text-ru", "survey-kk", "survey-ru". Members whose
    language is missing get the other version."""
    missing = [f"text-{lang}" for lang in LANGUAGES if not post_text(post, lang)]
    if post.survey:
        missing += [f"survey-{lang}" for lang in LANGUAGES if not post.survey.get(lang)]
    return missing


def title(post: Broadcast, size: int = 40) -> str:
    """The first line of the post, plain, for lists."""
    source = post.text_kk or post.text_ru or ""
    first = plain_text(source).strip().split("\n", 1)[0].strip()
    return first if len(first) <= size else first[: size - 1].rstrip() + "…"


@dataclass(frozen=True)
class Rendition:
    """One language version as a member receives it (the preview sends exactly this)."""

    language: str  # the version the member's language asks for
    text: str  # Telegram HTML
    text_language: str  # the language of `text`: the other one when this one is missing
    media_kind: str | None
    media_file_id: str | None
    poll_question: str | None
    poll_options: tuple[str, ...]
    poll_language: str | None

    @property
    def fallback(self) -> bool:
        return self.text_language != self.language


def rendition(post: Broadcast, language: str) -> Rendition:
    text_language = language if post_text(post, language) else other(language)
    survey = post.survey or {}
    poll_language = language if survey.get(language) else (other(language) if survey else None)
    poll = survey.get(poll_language or "") or {}
    return Rendition(
        language=language,
        text=post_text(post, text_language) or "",
        text_language=text_language,
        media_kind=post.media_kind if post.media_file_id else None,
        media_file_id=post.media_file_id,
        poll_question=poll.get("question"),
        poll_options=tuple(poll.get("options") or ()),
        poll_language=poll_language if poll else None,
    )


def parts(version: Rendition) -> tuple[str, ...]:
    """The messages a member gets: "text" (the text, or a photo or document with it as the
    caption), then "poll" when the post carries a survey."""
    return ("text", "poll") if version.poll_question else ("text",)


async def send_part(
    bot: Bot, chat_id: int, version: Rendition, part: str, *, paid: bool = False
) -> str | None:
    """Send one part of a version, as members get it (the preview and the delivery engine
    both send through here); returns the poll's id for the "poll" part."""
    extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
    methods = send_methods()  # lean, or aiogram's own if the start-up check said so
    method: TelegramMethod[Any]
    if part == "poll":
        method = methods.poll(
            chat_id=chat_id,
            question=version.poll_question or "",
            options=list(version.poll_options),
            is_anonymous=False,
            **extra,
        )
    elif version.media_kind == "photo" and version.media_file_id:
        method = methods.photo(
            chat_id=chat_id,
            photo=version.media_file_id,
            caption=version.text,
            parse_mode="HTML",
            **extra,
        )
    elif version.media_kind == "document" and version.media_file_id:
        method = methods.document(
            chat_id=chat_id,
            document=version.media_file_id,
            caption=version.text,
            parse_mode="HTML",
            **extra,
        )
    else:
        method = methods.message(chat_id=chat_id, text=version.text, parse_mode="HTML", **extra)
    # The lean answer type (bot/compat/sends.py), or a whole Message: both carry the poll.
    sent = cast(Sent | Message, await bot(method))
    return sent.poll.id if part == "poll" and sent.poll else None


# --- composing -----------------------------------------------------------------------------


async def create_draft(session: AsyncSession, actor: StaffView) -> Broadcast:
    post = Broadcast(created_by=actor.telegram_id, status=PostStatus.DRAFT, orgs=[])
    post.workplace_types = []
    session.add(post)
    await session.flush()
    await audit(session, actor.telegram_id, "post-create", post=post.id)
    return post


async def set_text(
    session: AsyncSession, actor: StaffView, post_id: int, language: str, text: str | None
) -> Broadcast:
    """One language version (Telegram HTML), or None: no version in that language."""
    if language not in LANGUAGES:
        raise PostError("bad-language")
    post = await _post(session, post_id)
    if text is None:
        if not post_text(post, other(language)):
            raise PostError("no-text")
    else:
        problem = check_html(text, limit=text_limit(post))
        if problem is not None:
            raise PostError("html", problem=problem)
    column = "text_ru" if language == "ru" else "text_kk"
    post = await _move(session, post_id, (PostStatus.DRAFT,), **{column: text})
    await audit(
        session,
        actor.telegram_id,
        "post-text",
        post=post_id,
        language=language,
        length=telegram_length(plain_text(text)) if text else None,
    )
    return post


def _captions_fit(post: Broadcast) -> None:
    for language in LANGUAGES:
        text = post_text(post, language)
        if text:
            length = telegram_length(plain_text(text))
            if length > CAPTION_LIMIT:
                raise PostError(
                    "caption-too-long", language=language, length=length, limit=CAPTION_LIMIT
                )


async def set_media(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    kind: str | None,
    file_id: str | None,
) -> Broadcast:
    """One photo or document sent with the text as its caption; None removes it."""
    post = await _post(session, post_id)
    if kind is not None:
        if kind not in MEDIA_KINDS or not file_id or len(file_id) > 256:
            raise PostError("bad-media")
        _captions_fit(post)
    else:
        file_id = None
    post = await _move(
        session, post_id, (PostStatus.DRAFT,), media_kind=kind, media_file_id=file_id
    )
    await audit(session, actor.telegram_id, "post-media", post=post_id, kind=kind)
    return post


@dataclass(frozen=True)
class Audience:
    """Empty tuples mean everyone; language None means both."""

    orgs: tuple[str, ...] = ()
    workplace_types: tuple[str, ...] = ()
    language: str | None = None

    @classmethod
    def of(cls, post: Broadcast) -> Audience:
        return cls(tuple(post.orgs or ()), tuple(post.workplace_types or ()), post.language or None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "orgs": list(self.orgs),
            "workplace_types": list(self.workplace_types),
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        return cls(
            tuple(data.get("orgs") or ()),
            tuple(data.get("workplace_types") or ()),
            data.get("language") or None,
        )

    def toggled(self, *, org: str | None = None, workplace: str | None = None) -> Audience:
        def flip(items: tuple[str, ...], item: str) -> tuple[str, ...]:
            return tuple(i for i in items if i != item) if item in items else (*items, item)

        orgs = flip(self.orgs, org) if org else self.orgs
        kinds = flip(self.workplace_types, workplace) if workplace else self.workplace_types
        return Audience(orgs, kinds, self.language)

    def with_language(self, language: str | None) -> Audience:
        return Audience(self.orgs, self.workplace_types, language)


def _audience_filter(audience: Audience) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Member.consent_at.is_not(None),
        Member.member_org.is_not(None),
        Member.active.is_(True),
        Member.news_opt_out.is_(False),
    ]
    if audience.orgs:
        where.append(Member.member_org.in_(audience.orgs))
    if audience.workplace_types:
        where.append(Member.workplace_type.in_(audience.workplace_types))
    if audience.language:
        where.append(Member.language == audience.language)
    return where


async def audience_size(session: AsyncSession, audience: Audience) -> int:
    """Members who would get the post now: consent given, organisation set, active, not
    opted out of news."""
    count = await session.scalar(
        select(func.count()).select_from(Member).where(*_audience_filter(audience))
    )
    return int(count or 0)


async def set_audience(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    audience: Audience,
    *,
    known_orgs: Iterable[str],
) -> Broadcast:
    known = set(known_orgs)
    kinds = {k.value for k in WorkplaceType}
    if (
        any(o not in known for o in audience.orgs)
        or any(k not in kinds for k in audience.workplace_types)
        or audience.language not in (None, *LANGUAGES)
    ):
        raise PostError("bad-audience")
    post = await _move(
        session,
        post_id,
        (PostStatus.DRAFT,),
        orgs=sorted(set(audience.orgs)),
        workplace_types=sorted(set(audience.workplace_types)),
        language=audience.language,
    )
    await audit(session, actor.telegram_id, "post-audience", post=post_id, **audience.as_dict())
    return post


def _check_survey(question: str, options: Sequence[str]) -> None:
    if not question or not all(options):
        raise PostError("survey-empty")
    length = telegram_length(question)
    if length > SURVEY_QUESTION_LIMIT:
        raise PostError("survey-question-long", length=length, limit=SURVEY_QUESTION_LIMIT)
    if not SURVEY_MIN_OPTIONS <= len(options) <= SURVEY_MAX_OPTIONS:
        raise PostError(
            "survey-options", count=len(options), low=SURVEY_MIN_OPTIONS, high=SURVEY_MAX_OPTIONS
        )
    for number, option in enumerate(options, start=1):
        length = telegram_length(option)
        if length > SURVEY_OPTION_LIMIT:
            raise PostError(
                "survey-option-long", number=number, length=length, limit=SURVEY_OPTION_LIMIT
            )


def parse_survey(text: str) -> dict[str, Any]:
    """The question on the first line, then one option a line (bullets are dropped).

    The question is stored HTML-escaped: the bot's default parse mode (HTML) applies to a
    poll's question, so a typed "&" or "<" must reach Telegram as an entity. Options are
    sent as plain strings, which Telegram does not parse: they are stored as typed.
    """
    lines = [_BULLET.sub("", line).strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise PostError("survey-empty")
    _check_survey(lines[0], lines[1:])
    return {"question": html.escape(lines[0], quote=False), "options": lines[1:]}


def survey_question(version: dict[str, Any]) -> str:
    """The question as members read it (plain)."""
    return html.unescape(str(version.get("question") or ""))


async def set_survey(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    language: str,
    version: dict[str, Any] | None,
) -> Broadcast:
    """One language's survey (from `parse_survey`), or None: none in that language.
    Without a version in either language the post has no survey."""
    if language not in LANGUAGES:
        raise PostError("bad-language")
    post = await _post(session, post_id)
    survey = dict(post.survey or {})
    if version is None:
        survey.pop(language, None)
    else:
        options = [str(o) for o in version.get("options") or []]
        _check_survey(survey_question(version), options)
        survey[language] = {"question": str(version["question"]), "options": options}
    post = await _move(session, post_id, (PostStatus.DRAFT,), survey=survey or None)
    await audit(
        session,
        actor.telegram_id,
        "post-survey",
        post=post_id,
        language=language,
        options=len(version["options"]) if version else 0,
    )
    return post


async def remove_survey(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    post = await _move(session, post_id, (PostStatus.DRAFT,), survey=None)
    await audit(session, actor.telegram_id, "post-survey", post=post_id, language=None, options=0)
    return post


async def set_urgent(
    session: AsyncSession, actor: StaffView, post_id: int, urgent: bool
) -> Broadcast:
    post = await _move(session, post_id, (PostStatus.DRAFT,), urgent=urgent)
    await audit(session, actor.telegram_id, "post-urgent", post=post_id, urgent=urgent)
    return post


# --- the schedule --------------------------------------------------------------------------

_DATETIME = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})[\s,]+(\d{1,2})[:.](\d{2})\s*$")
_TIME = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


def parse_local_datetime(text: str) -> datetime:
    """'25.12.2026 10:00' → a naive local datetime."""
    match = _DATETIME.match(text)
    if match is None:
        raise PostError("bad-datetime")
    day, month, year, hour, minute = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        raise PostError("bad-datetime") from None


def parse_hhmm(text: str) -> str:
    """'9:30' → '09:30'."""
    match = _TIME.match(text)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise PostError("bad-time")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def next_weekly(weekday: int, hhmm: str, tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """The next `weekday` (0 = Monday) at local HH:MM strictly after `now`, in UTC."""
    local_now = (now or utcnow()).astimezone(tz)
    hour, minute = (int(p) for p in hhmm.split(":"))
    day: date = local_now.date() + timedelta(days=(weekday - local_now.weekday()) % 7)
    candidate = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if candidate <= local_now:
        candidate = datetime.combine(day + timedelta(days=7), time(hour, minute), tzinfo=tz)
    return candidate.astimezone(UTC)


def next_weekly_run(post: Broadcast, tz: ZoneInfo, now: datetime | None = None) -> datetime | None:
    """For the scheduler: when a weekly post's next copy is due (None: not weekly)."""
    if post.repeat_weekday is None or not post.repeat_time:
        return None
    return next_weekly(post.repeat_weekday, post.repeat_time, tz, now)


async def _set_schedule(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    run_at: datetime | None,
    weekday: int | None = None,
    hhmm: str | None = None,
) -> Broadcast:
    post = await _move(
        session,
        post_id,
        (PostStatus.DRAFT,),
        run_at=run_at,
        repeat_weekday=weekday,
        repeat_time=hhmm,
    )
    await audit(
        session,
        actor.telegram_id,
        "post-schedule",
        post=post_id,
        run_at=run_at.isoformat() if run_at else None,
        weekday=weekday,
        time=hhmm,
    )
    return post


async def schedule_now(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """As soon as it is confirmed (and approved, where approval is on)."""
    return await _set_schedule(session, actor, post_id, None)


async def schedule_at(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    local: datetime,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Broadcast:
    """Once, at a local date and time (naive, in `tz`), which must be in the future."""
    run_at = local.replace(tzinfo=tz).astimezone(UTC)
    if run_at <= (now or utcnow()):
        raise PostError("past")
    return await _set_schedule(session, actor, post_id, run_at)


async def schedule_weekly(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    weekday: int,
    hhmm: str,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Broadcast:
    """Every week on `weekday` (0 = Monday) at local HH:MM; run_at is the next one."""
    if not 0 <= weekday <= 6:
        raise PostError("bad-time")
    hhmm = parse_hhmm(hhmm)
    run_at = next_weekly(weekday, hhmm, tz, now)
    return await _set_schedule(session, actor, post_id, run_at, weekday, hhmm)


# --- approval and the life of a post -------------------------------------------------------


async def approval_needed(session: AsyncSession) -> bool:
    value = await session.scalar(select(BotSetting.value).where(BotSetting.key == APPROVAL_SETTING))
    return value == "1"


async def approvers(session: AsyncSession) -> list[int]:
    """Telegram ids of the admins who approve posts."""
    rows = await session.scalars(
        select(Staff.telegram_id).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True))
    )
    return list(rows)


def _require(actor: StaffView, *roles: StaffRole) -> None:
    if actor.role not in roles:
        raise PostError("forbidden")


async def set_approval_needed(session: AsyncSession, actor: StaffView, on: bool) -> None:
    _require(actor, StaffRole.ADMIN)
    setting = await session.get(BotSetting, APPROVAL_SETTING)
    value = "1" if on else "0"
    if setting is None:
        session.add(BotSetting(key=APPROVAL_SETTING, value=value, changed_by=actor.telegram_id))
    else:
        setting.value, setting.changed_by = value, actor.telegram_id
    await audit(session, actor.telegram_id, "post-approval-setting", on=on)
    await session.flush()


async def confirm(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Broadcast:
    """Draft → scheduled, or awaiting-approval when approval is on (an admin's own post
    is approved by confirming it)."""
    now = now or utcnow()
    post = await _post(session, post_id)
    if not post.text_kk and not post.text_ru:
        raise PostError("no-text")
    for language in LANGUAGES:
        text = post_text(post, language)
        problem = check_html(text, limit=text_limit(post)) if text else None
        if problem is not None:
            raise PostError("html", problem=problem, language=language)
    weekly = next_weekly_run(post, tz, now)
    if weekly is not None:
        run_at = weekly
    elif post.run_at is None:
        run_at = now  # "now": the scheduler starts it at its next beat
    elif post.run_at <= now:
        raise PostError("past")  # the chosen time passed while the draft waited
    else:
        run_at = post.run_at
    approval = await approval_needed(session)
    admin = actor.role == StaffRole.ADMIN
    status = PostStatus.AWAITING_APPROVAL if approval and not admin else PostStatus.SCHEDULED
    post = await _move(
        session,
        post_id,
        (PostStatus.DRAFT,),
        status=status,
        run_at=run_at,
        approved_by=actor.telegram_id if approval and admin else None,
    )
    await audit(
        session,
        actor.telegram_id,
        "post-confirm",
        post=post_id,
        status=status.value,
        run_at=run_at.isoformat(),
    )
    return post


async def approve(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """An admin lets an awaiting post go out (at once if its time has passed)."""
    _require(actor, StaffRole.ADMIN)
    post = await _move(
        session,
        post_id,
        (PostStatus.AWAITING_APPROVAL,),
        status=PostStatus.SCHEDULED,
        approved_by=actor.telegram_id,
    )
    await audit(session, actor.telegram_id, "post-approve", post=post_id)
    return post


async def reject(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """Back to a draft, for its author to change and confirm again."""
    _require(actor, StaffRole.ADMIN)
    post = await _move(session, post_id, (PostStatus.AWAITING_APPROVAL,), status=PostStatus.DRAFT)
    await audit(session, actor.telegram_id, "post-reject", post=post_id)
    return post


async def begin_edit(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """A post that has not started goes back to a draft while it is changed: the scheduler
    leaves drafts alone, and it is confirmed (and approved) again."""
    _require(actor, StaffRole.PRESS, StaffRole.ADMIN)
    post = await _move(session, post_id, EDITABLE, status=PostStatus.DRAFT, approved_by=None)
    await audit(session, actor.telegram_id, "post-edit", post=post_id)
    return post


async def cancel(
    session: AsyncSession, actor: StaffView, post_id: int, now: datetime | None = None
) -> Broadcast:
    """Any post not finished; a running one stops after the messages in flight."""
    _require(actor, StaffRole.PRESS, StaffRole.ADMIN)
    post = await _move(
        session,
        post_id,
        CANCELLABLE,
        status=PostStatus.CANCELLED,
        finished_at=now or utcnow(),
    )
    await audit(session, actor.telegram_id, "post-cancel", post=post_id)
    return post


async def pause(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    _require(actor, StaffRole.PRESS, StaffRole.ADMIN)
    post = await _move(session, post_id, (PostStatus.RUNNING,), status=PostStatus.PAUSED)
    await audit(session, actor.telegram_id, "post-pause", post=post_id)
    return post


async def resume(session: AsyncSession, actor: StaffView, post_id: int) -> Broadcast:
    """Paused → running: the runner sends what is still pending."""
    _require(actor, StaffRole.PRESS, StaffRole.ADMIN)
    post = await _move(session, post_id, (PostStatus.PAUSED,), status=PostStatus.RUNNING)
    await audit(session, actor.telegram_id, "post-resume", post=post_id)
    return post


# --- lists ---------------------------------------------------------------------------------


async def delivery_counts(
    session: AsyncSession, post_ids: Iterable[int]
) -> dict[int, dict[str, int]]:
    """Per post, deliveries by status (every status present, zeros included)."""
    ids = list(post_ids)
    counts = {pid: {s.value: 0 for s in DeliveryStatus} for pid in ids}
    if not ids:
        return counts
    rows = await session.execute(
        select(Delivery.broadcast_id, Delivery.status, func.count())
        .where(Delivery.broadcast_id.in_(ids))
        .group_by(Delivery.broadcast_id, Delivery.status)
    )
    for post_id, status, n in rows:
        counts[int(post_id)][DeliveryStatus(status).value] = int(n)
    return counts


@dataclass
class PostList:
    drafts: list[Broadcast] = field(default_factory=list)
    upcoming: list[Broadcast] = field(default_factory=list)  # scheduled, awaiting approval
    under_way: list[Broadcast] = field(default_factory=list)  # running, paused
    finished: list[Broadcast] = field(default_factory=list)  # the most recent
    counts: dict[int, dict[str, int]] = field(default_factory=dict)  # of those under way


async def list_posts(
    session: AsyncSession, *, recent: int = RECENT_FINISHED, limit: int = 20
) -> PostList:
    async def of(statuses: Sequence[PostStatus], *order: Any, n: int = limit) -> list[Broadcast]:
        rows = await session.scalars(
            select(Broadcast).where(Broadcast.status.in_(statuses)).order_by(*order).limit(n)
        )
        return list(rows)

    listed = PostList(
        drafts=await of((PostStatus.DRAFT,), Broadcast.id.desc()),
        upcoming=await of(UPCOMING, Broadcast.run_at, Broadcast.id),
        under_way=await of(UNDER_WAY, Broadcast.started_at, Broadcast.id),
        finished=await of(
            FINISHED,
            func.coalesce(Broadcast.finished_at, Broadcast.created_at).desc(),
            Broadcast.id.desc(),
            n=recent,
        ),
    )
    listed.counts = await delivery_counts(session, [p.id for p in listed.under_way])
    return listed
