"""Appeals that came to the union in writing or in person, not through the bot: a lawyer
logs one in a few taps (/log), or a region's paper register is imported
(`python -m bot appeals import`). They count in the report like any appeal (its line 2:
written / oral / electronic), and a logged one is worked and closed on the desk like a
bot appeal.

Every such appeal has a person row of its own (`appeal.member_id` is never empty) that the
bot can never write to and never counts as a member of the bot:

- `telegram_id` is the row's placeholder (minus its id, as for an erased member): the
  outbox treats it as unreachable and no Telegram user can ever have it;
- no consent, inactive, news off, no member organisation: never in a post's audience
  (which needs consent and an organisation) and never among the bot's members per
  organisation in the report; the appeal carries the organisation and workplace type;
- `full_name` is the name the lawyer typed, `username` the contact (both optional); they
  are shown only to the lawyers who cover the appeal's region, and the retention clock
  erases them with the appeal's texts (bot/services/privacy.py).

A logged appeal is not part of the bot's promise of a first answer in the bot: the desk's
clock sends no first-answer reminders for it and does not hand it back to the queue when
its lawyer writes nothing in the bot (bot/services/sla.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.desk import DeskError
from bot.services.privacy import placeholder_telegram_id
from bot.services.staff import StaffView, audit
from bot.storage.models import (
    ELECTRONIC,
    Appeal,
    AppealSource,
    AppealStatus,
    Member,
    StaffRole,
    WorkplaceType,
    utcnow,
)
from bot.topics import TOPICS

LOGGED_CHANNELS = ("written", "oral")  # what a lawyer logs
IMPORTED_CHANNELS = (*LOGGED_CHANNELS, ELECTRONIC)  # a paper register may list e-mails too
EARLIEST = date(2000, 1, 1)
RECEIVED_AT = time(9, 0)  # a day's appeal received at 09:00 local time
MAX_SUMMARY = 1000  # a short summary of the question, not the whole letter
MAX_NAME = 200  # Member.full_name
MAX_CONTACT = 64  # Member.username
# Placeholder ids while a row has no id yet: far below any row's final placeholder (-id).
_TEMPORARY_BELOW = -(2**62)


def is_logged(appeal: Appeal) -> bool:
    """Came in writing or in person: the bot cannot write to anyone in it."""
    return appeal.channel != ELECTRONIC


def logged_person() -> ColumnElement[bool]:
    """Person rows of logged and imported appeals (a bot member, even an erased one, keeps
    a member organisation; a person who never finished registering has a real id)."""
    return and_(Member.telegram_id < 0, Member.member_org.is_(None))


def is_logged_person(member: Member) -> bool:
    """`logged_person()` for a row in hand."""
    return member.telegram_id < 0 and member.member_org is None


def received_at(day: date, tz: ZoneInfo, now: datetime) -> datetime:
    """When an appeal received on `day` counts as received: now for today, else 09:00
    local time that day (never later than now)."""
    if day == now.astimezone(tz).date():
        return now
    return min(datetime.combine(day, RECEIVED_AT, tzinfo=tz), now)


def date_problem(day: date, today: date) -> str | None:
    """Why a date received (or closed) cannot be: "future", "too-early"; None if it can."""
    if day > today:
        return "future"
    if day < EARLIEST:
        return "too-early"
    return None


def clean(text: str | None, limit: int) -> str | None:
    """Optional words typed by a lawyer: stripped, None when empty; DeskError("too-long")."""
    words = (text or "").strip()
    if len(words) > limit:
        raise DeskError("too-long")
    return words or None


async def add_people(
    session: AsyncSession, names: Sequence[str | None], *, contacts: Sequence[str | None] = ()
) -> list[Member]:
    """One person row per appeal (see the module's docstring), flushed, with their final
    placeholder ids."""
    people = []
    for index, name in enumerate(names):
        contact = contacts[index] if index < len(contacts) else None
        people.append(
            Member(
                # Unique until the row has its id (two imports at once never meet).
                telegram_id=_TEMPORARY_BELOW - secrets.randbelow(2**61),
                full_name=name,
                username=contact,
                member_org=None,
                workplace_type=None,
                consent_version=None,
                consent_at=None,
                news_opt_out=True,
                active=False,
            )
        )
    session.add_all(people)
    await session.flush()
    for person in people:
        person.telegram_id = placeholder_telegram_id(person.id)
    await session.flush()
    return people


@dataclass(frozen=True)
class LoggedAppeal:
    """What a lawyer logs: everything but the summary, name and contact is chosen with
    buttons."""

    channel: str
    member_org: str
    workplace_type: WorkplaceType
    topic: str
    received: date
    summary: str | None = None
    name: str | None = None
    contact: str | None = None
    language: str = "kk"
    token: str | None = None  # the draft's one-time token (Appeal.draft_token)


async def log_appeal(
    session: AsyncSession,
    staff: StaffView,
    draft: LoggedAppeal,
    *,
    known_orgs: set[str] | frozenset[str],
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Appeal:
    """Store a written or oral appeal, already taken by the lawyer who logs it. The same
    draft confirmed twice (a double tap, an update delivered twice) returns the appeal it
    made. DeskError: "not-found" (not a lawyer, or a region they do not cover), "bad-choice",
    "future", "too-early", "too-long"."""
    if draft.token:
        made = await session.scalar(select(Appeal).where(Appeal.draft_token == draft.token))
        if made is not None:
            if made.claimed_by != staff.id and not staff.covers(made.member_org):
                raise DeskError("not-found")
            return made
    if staff.role not in (StaffRole.LAWYER, StaffRole.HEAD_LAWYER) or not staff.covers(
        draft.member_org
    ):
        raise DeskError("not-found")
    if (
        draft.member_org not in known_orgs
        or draft.channel not in LOGGED_CHANNELS
        or draft.topic not in TOPICS
        or not isinstance(draft.workplace_type, WorkplaceType)
    ):
        raise DeskError("bad-choice")
    now = now or utcnow()
    problem = date_problem(draft.received, now.astimezone(tz).date())
    if problem:
        raise DeskError(problem)
    summary = clean(draft.summary, MAX_SUMMARY)
    name = clean(draft.name, MAX_NAME)
    contact = clean(draft.contact, MAX_CONTACT)
    (person,) = await add_people(session, [name], contacts=[contact])
    person.language = draft.language
    appeal = Appeal(
        member_id=person.id,
        member_org=draft.member_org,
        workplace_type=draft.workplace_type,
        topic=draft.topic,
        text=summary,
        attachments=[],
        source=AppealSource.DIRECT,
        channel=draft.channel,
        language=draft.language,
        created_at=received_at(draft.received, tz, now),
        status=AppealStatus.CLAIMED,
        claimed_by=staff.id,
        claimed_at=now,
        draft_token=draft.token,
    )
    session.add(appeal)
    await session.flush()
    await audit(
        session, staff.telegram_id, "log-appeal", appeal_id=appeal.id, channel=draft.channel
    )
    await session.flush()
    return appeal
