"""Finding appeals, open and closed, among those a lawyer covers: by number, by the member's
@username, by the phone number given as the contact of an appeal a lawyer logged, or by
words of the member's name, the appeal's text and its thread (bot/storage/appeal_search.py
keeps the words); and a member's other appeals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.desk import DeskError, scope
from bot.services.logged import logged_person
from bot.services.staff import StaffView
from bot.storage.appeal_search import matching, query_stems
from bot.storage.models import Appeal, AppealStatus, Member

MAX_WORDS = 8  # of a query: more narrows nothing a lawyer needs
NUMBER = re.compile(r"\s*(?:№|#|no\.?)?\s*(\d{1,9})\s*", re.IGNORECASE)
USERNAME = re.compile(r"\s*@(\w{1,64})\s*")
PHONE = re.compile(r"\s*\+?[\d\s\-()]{7,}")
PHONE_TAIL = 7  # the subscriber's digits: +7 701 123 45 67, 8 701 123 45 67, 123-45-67 alike


def phone_digits(text: str) -> str | None:
    """The last digits of a phone number typed as one (with "+", separators, or 10 digits
    and more); a bare shorter number is an appeal's number, not a phone."""
    if not PHONE.fullmatch(text):
        return None
    digits = "".join(c for c in text if c.isdigit())
    typed_as_phone = text.strip().startswith("+") or not text.strip().isdigit()
    if len(digits) >= 10 or (typed_as_phone and len(digits) >= PHONE_TAIL):
        return digits[-PHONE_TAIL:]
    return None


def _contact_digits() -> ColumnElement[str]:
    """A logged person's contact as typed, without the separators of phone numbers."""
    stripped: ColumnElement[str] = func.coalesce(Member.username, "")
    for mark in (" ", "-", "(", ")", "+", "\u00a0"):
        stripped = func.replace(stripped, mark, "")
    return stripped


@dataclass(frozen=True)
class Found:
    id: int
    created_at: datetime
    topic: str
    status: AppealStatus
    member_org: str
    member_name: str | None


@dataclass(frozen=True)
class Findings:
    appeals: list[Found]
    total: int


def appeal_number(text: str) -> int | None:
    """ "123", "№123", "#123", "No. 123": the number; anything else: None."""
    found = NUMBER.fullmatch(text)
    return int(found[1]) if found else None


async def find(
    session: AsyncSession, staff: StaffView, query: str, *, offset: int, limit: int
) -> Findings:
    """Appeals of the person's regions matching `query`, newest first. DeskError
    "no-words" when the query has nothing to search by."""
    phone = phone_digits(query)
    number = appeal_number(query) if phone is None else None
    username = USERNAME.fullmatch(query)
    if phone is not None:  # the contact a lawyer typed for a written or oral appeal
        condition: ColumnElement[bool] = and_(
            logged_person(), _contact_digits().contains(phone, autoescape=True)
        )
    elif number is not None:
        condition = Appeal.id == number
    elif username:
        condition = func.lower(Member.username) == username[1].lower()
    else:
        stems = query_stems(query)[:MAX_WORDS]
        if not stems:
            raise DeskError("no-words")
        condition = matching(session.get_bind().dialect.name, stems)
    return await _page(session, [scope(staff), condition], offset, limit)


async def member_appeals(
    session: AsyncSession, staff: StaffView, appeal_id: int, *, offset: int, limit: int
) -> Findings:
    """The other appeals of the member who wrote `appeal_id`, of the person's regions,
    newest first. DeskError "not-found" when that appeal is not the person's to read."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or not staff.covers(appeal.member_org):
        raise DeskError("not-found")
    where = [scope(staff), Appeal.member_id == appeal.member_id, Appeal.id != appeal.id]
    return await _page(session, where, offset, limit)


async def _page(
    session: AsyncSession, where: list[ColumnElement[bool]], offset: int, limit: int
) -> Findings:
    joined = select(Appeal).join(Member, Member.id == Appeal.member_id).where(*where)
    total = await session.scalar(select(func.count()).select_from(joined.subquery()))
    rows = await session.execute(
        select(
            Appeal.id,
            Appeal.created_at,
            Appeal.topic,
            Appeal.status,
            Appeal.member_org,
            Member.full_name,
        )
        .join(Member, Member.id == Appeal.member_id)
        .where(*where)
        .order_by(Appeal.created_at.desc(), Appeal.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return Findings([Found(*row) for row in rows], int(total or 0))
