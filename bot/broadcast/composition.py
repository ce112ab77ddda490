"""What a post says and who gets it: its texts, photo or document, survey and audience,
the version each member receives, and the confirmation that a draft is complete.

Services only, no aiogram types: the handler (bot/handlers/press/) commits, and every
change is audited in its transaction. A draft is changed only while it is a draft (one
conditional UPDATE: bot/broadcast/lifecycle.py's `move_post`).

Texts are Telegram HTML, checked before they are saved (bot/broadcast/telegram_html.py):
the engine sends them as they are, and a post Telegram refuses would fail for every member.
A survey's question is stored HTML-escaped and its options as typed (`parse_survey`).
Sending a version is bot/broadcast/sends.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from bot.broadcast.lifecycle import (
    PostError,
    approval_needed,
    load_post,
    move_post,
    next_weekly_run,
)
from bot.broadcast.telegram_html import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    check_html,
    escape_bare_amps,
    plain_text,
    telegram_length,
)
from bot.services.staff import StaffView, audit
from bot.storage.models import (
    Broadcast,
    Member,
    PostStatus,
    StaffRole,
    WorkplaceType,
    utcnow,
)

LANGUAGES = ("kk", "ru")
SURVEY_QUESTION_LIMIT = 300
SURVEY_OPTION_LIMIT = 100
SURVEY_MIN_OPTIONS, SURVEY_MAX_OPTIONS = 2, 10
MEDIA_KINDS = ("photo", "document")
_BULLET = re.compile(r"^\s*(?:[-•*–]|\d{1,2}[.)])\s+")


# --- a post's versions ---------------------------------------------------------------------


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


def title(post: Broadcast, size: int = 40, language: str = "kk") -> str:
    """The first line of the post, plain, for lists: in the reader's `language` when the
    post has that version."""
    source = post_text(post, language) or post_text(post, other(language)) or ""
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
    """One language version (Telegram HTML), or None: no version in that language. A bare
    "&" (a pasted link's) is taken as the character and stored as "&amp;"."""
    if language not in LANGUAGES:
        raise PostError("bad-language")
    post = await load_post(session, post_id)
    if text is None:
        if not post_text(post, other(language)):
            raise PostError("no-text")
    else:
        text = escape_bare_amps(text)
        problem = check_html(text, limit=text_limit(post))
        if problem is not None:
            raise PostError("html", problem=problem)
    values: dict[str, Any] = {"text_ru" if language == "ru" else "text_kk": text}
    post = await move_post(session, post_id, (PostStatus.DRAFT,), **values)
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
    post = await load_post(session, post_id)
    if kind is not None:
        if kind not in MEDIA_KINDS or not file_id or len(file_id) > 256:
            raise PostError("bad-media")
        _captions_fit(post)
    else:
        file_id = None
    post = await move_post(
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
    post = await move_post(
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


def option_counts(survey: dict[str, Any] | None) -> dict[str, int]:
    """How many options each language's version has."""
    return {lang: len(v.get("options") or []) for lang, v in (survey or {}).items() if v}


def aligned(survey: dict[str, Any] | None) -> bool:
    """Whether the versions' options match by position (the same number in each language):
    answers are counted by option number across languages only then."""
    return len(set(option_counts(survey).values())) <= 1


def survey_question(version: dict[str, Any]) -> str:
    """The question as members read it (plain)."""
    return html.unescape(str(version.get("question") or ""))


async def set_survey(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    language: str,
    version: dict[str, Any] | None,
    *,
    other_follows: bool = False,
) -> Broadcast:
    """One language's survey (from `parse_survey`), or None: none in that language.
    Without a version in either language the post has no survey.

    Both versions are one poll in two languages: answers are counted by option number, so
    a version with another number of options than the other language's is refused
    ("survey-mismatch"), unless `other_follows` (the other version is asked right after
    this one): then that other version is dropped, to be sent again."""
    if language not in LANGUAGES:
        raise PostError("bad-language")
    post = await load_post(session, post_id)
    survey = dict(post.survey or {})
    if version is None:
        survey.pop(language, None)
    else:
        options = [str(o) for o in version.get("options") or []]
        _check_survey(survey_question(version), options)
        theirs = option_counts(survey).get(other(language))
        if theirs is not None and theirs != len(options):
            if not other_follows:
                raise PostError(
                    "survey-mismatch", **{language: len(options), other(language): theirs}
                )
            survey.pop(other(language))
        survey[language] = {"question": str(version["question"]), "options": options}
    post = await move_post(session, post_id, (PostStatus.DRAFT,), survey=survey or None)
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
    post = await move_post(session, post_id, (PostStatus.DRAFT,), survey=None)
    await audit(session, actor.telegram_id, "post-survey", post=post_id, language=None, options=0)
    return post


async def set_urgent(
    session: AsyncSession, actor: StaffView, post_id: int, urgent: bool
) -> Broadcast:
    post = await move_post(session, post_id, (PostStatus.DRAFT,), urgent=urgent)
    await audit(session, actor.telegram_id, "post-urgent", post=post_id, urgent=urgent)
    return post


# --- confirmation --------------------------------------------------------------------------


async def confirm(
    session: AsyncSession,
    actor: StaffView,
    post_id: int,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Broadcast:
    """Draft → scheduled, or awaiting-approval when approval is on (an admin's own post
    is approved by confirming it). Here, not in lifecycle.py: it checks that what the
    draft says is complete and sendable, which lifecycle.py does not know of."""
    now = now or utcnow()
    post = await load_post(session, post_id)
    if not post.text_kk and not post.text_ru:
        raise PostError("no-text")
    for language in LANGUAGES:
        text = post_text(post, language)
        problem = check_html(text, limit=text_limit(post)) if text else None
        if problem is not None:
            raise PostError("html", problem=problem, language=language)
    if not aligned(post.survey):
        raise PostError("survey-mismatch", **option_counts(post.survey))
    weekly = next_weekly_run(post, tz, now)
    run_at: datetime | None
    if weekly is not None:
        run_at = weekly
    elif post.run_at is None:
        # "now" stays "now" (no time): the scheduler starts it at its next beat, and the
        # post confirmed again after a change or a return to drafts is not "in the past".
        run_at = None
    elif post.run_at <= now:
        raise PostError("past")  # the chosen time passed while the draft waited
    else:
        run_at = post.run_at
    approval = await approval_needed(session)
    admin = actor.role == StaffRole.ADMIN
    status = PostStatus.AWAITING_APPROVAL if approval and not admin else PostStatus.SCHEDULED
    post = await move_post(
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
        run_at=run_at.isoformat() if run_at else None,
    )
    return post
