"""Saved replies: ready answers lawyers send to members again and again.

Three kinds, by who they belong to:
- a lawyer's own (`owner_staff_id`): seen and edited by that lawyer only;
- shared with a member organisation (no owner, `member_org`): seen by everyone who covers
  the organisation (its lawyers, head lawyers: `StaffView.covers`), edited by head
  lawyers, admins and the lawyer who made it while they still cover it;
- union-wide (neither): seen by every lawyer, made and edited by head lawyers.

Every function authorises again, whatever the handler showed: a forged button must not
open, change or send someone else's reply.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.limits import MAX_TEXT
from bot.services.staff import StaffView, audit
from bot.storage.models import SavedReply, StaffRole, utcnow

MAX_TITLE = 64
MAX_REPLY = MAX_TEXT  # a saved reply is sent as a lawyer's message: the same limit
LANGS = ("kk", "ru")


class SavedReplyError(Exception):
    """`code`: not-found (no such reply, or not one this person sees), not-allowed (seen but
    not theirs to change), bad-scope, bad-lang, title-empty, title-too-long, text-empty,
    text-too-long."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Scope(StrEnum):
    OWN = "own"  # the lawyer's own
    ORG = "org"  # shared with one member organisation
    UNION = "union"  # shared with the whole union


def scope_of(reply: SavedReply) -> Scope:
    if reply.owner_staff_id is not None:
        return Scope.OWN
    return Scope.ORG if reply.member_org is not None else Scope.UNION


def _visible(staff: StaffView) -> ColumnElement[bool]:
    """The replies this person sees: their own, the shared ones of the organisations they
    cover (admins: every one, they may edit them) and the union-wide ones."""
    if staff.role in (StaffRole.HEAD_LAWYER, StaffRole.ADMIN):
        regional: ColumnElement[bool] = SavedReply.member_org.is_not(None)
    elif staff.role == StaffRole.LAWYER and staff.member_orgs:
        regional = SavedReply.member_org.in_(staff.member_orgs)
    else:
        regional = false()
    return or_(
        SavedReply.owner_staff_id == staff.id,
        and_(SavedReply.owner_staff_id.is_(None), or_(SavedReply.member_org.is_(None), regional)),
    )


def sees(staff: StaffView, reply: SavedReply) -> bool:
    """The same rule as `_visible`, for one reply already read."""
    scope = scope_of(reply)
    if scope is Scope.OWN:
        return reply.owner_staff_id == staff.id
    if scope is Scope.UNION:
        return True
    assert reply.member_org is not None
    return staff.role == StaffRole.ADMIN or staff.covers(reply.member_org)


def may_edit(staff: StaffView, reply: SavedReply) -> bool:
    """Own replies by their owner; shared ones by head lawyers, admins and the lawyer who
    made them (while they cover the organisation); union-wide ones by head lawyers."""
    if not sees(staff, reply):
        return False
    scope = scope_of(reply)
    if scope is Scope.OWN:
        return True
    if scope is Scope.UNION:
        return staff.role == StaffRole.HEAD_LAWYER
    return staff.role in (StaffRole.HEAD_LAWYER, StaffRole.ADMIN) or reply.created_by == staff.id


def scopes_for(staff: StaffView, known_orgs: list[str]) -> list[tuple[Scope, str | None]]:
    """Where this person may put a new reply, in the order to offer: their own, each member
    organisation they may share with, the whole union."""
    found: list[tuple[Scope, str | None]] = [(Scope.OWN, None)]
    if staff.role in (StaffRole.HEAD_LAWYER, StaffRole.ADMIN):
        found.extend((Scope.ORG, org) for org in known_orgs)
    elif staff.role == StaffRole.LAWYER:
        found.extend((Scope.ORG, org) for org in known_orgs if org in staff.member_orgs)
    if staff.role == StaffRole.HEAD_LAWYER:
        found.append((Scope.UNION, None))
    return found


def clean_title(title: str) -> str:
    """One line, its spaces collapsed: it is a button's label."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise SavedReplyError("title-empty")
    if len(cleaned) > MAX_TITLE:
        raise SavedReplyError("title-too-long")
    return cleaned


def clean_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise SavedReplyError("text-empty")
    if len(cleaned) > MAX_REPLY:
        raise SavedReplyError("text-too-long")
    return cleaned


def _order(first_lang: str | None = None) -> list[ColumnElement[Any]]:
    """Own first, then the organisations', then the union's; by title."""
    order: list[ColumnElement[Any]] = []
    if first_lang is not None:
        order.append(case((SavedReply.lang == first_lang, 0), else_=1))
    order += [
        case(
            (SavedReply.owner_staff_id.is_not(None), 0),
            (SavedReply.member_org.is_not(None), 1),
            else_=2,
        ),
        func.lower(SavedReply.title),
        SavedReply.id.asc(),
    ]
    return order


async def replies_page(
    session: AsyncSession,
    staff: StaffView,
    *,
    lang: str | None = None,
    first_lang: str | None = None,
    offset: int,
    limit: int,
) -> tuple[list[SavedReply], int]:
    """The replies this person sees: in one language (`lang`), or in both with
    `first_lang`'s first (picking one for a member)."""
    where = [_visible(staff)]
    if lang is not None:
        where.append(SavedReply.lang == lang)
    total = await session.scalar(select(func.count()).select_from(SavedReply).where(*where))
    rows = await session.scalars(
        select(SavedReply).where(*where).order_by(*_order(first_lang)).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)


async def get_reply(session: AsyncSession, staff: StaffView, reply_id: int) -> SavedReply:
    """A reply this person sees; not-found for any other id (a forged or stale button)."""
    reply = await session.get(SavedReply, reply_id)
    if reply is None or not sees(staff, reply):
        raise SavedReplyError("not-found")
    return reply


async def _editable(session: AsyncSession, staff: StaffView, reply_id: int) -> SavedReply:
    reply = await get_reply(session, staff, reply_id)
    if not may_edit(staff, reply):
        raise SavedReplyError("not-allowed")
    return reply


async def add_reply(
    session: AsyncSession,
    staff: StaffView,
    *,
    lang: str,
    title: str,
    text: str,
    scope: Scope,
    member_org: str | None = None,
    known_orgs: list[str],
) -> SavedReply:
    if lang not in LANGS:
        raise SavedReplyError("bad-lang")
    if (scope, member_org if scope is Scope.ORG else None) not in scopes_for(staff, known_orgs):
        raise SavedReplyError("bad-scope")
    reply = SavedReply(
        owner_staff_id=staff.id if scope is Scope.OWN else None,
        member_org=member_org if scope is Scope.ORG else None,
        lang=lang,
        title=clean_title(title),
        text=clean_text(text),
        created_by=staff.id,
    )
    session.add(reply)
    await session.flush()
    if scope is not Scope.OWN:
        await _audit(session, staff, "saved-reply-add", reply)
    return reply


async def change_reply(
    session: AsyncSession,
    staff: StaffView,
    reply_id: int,
    *,
    title: str | None = None,
    text: str | None = None,
) -> SavedReply:
    reply = await _editable(session, staff, reply_id)
    if title is not None:
        reply.title = clean_title(title)
    if text is not None:
        reply.text = clean_text(text)
    reply.updated_at = utcnow()
    await session.flush()
    if scope_of(reply) is not Scope.OWN:
        await _audit(session, staff, "saved-reply-change", reply)
    return reply


async def delete_reply(session: AsyncSession, staff: StaffView, reply_id: int) -> SavedReply:
    reply = await _editable(session, staff, reply_id)
    if scope_of(reply) is not Scope.OWN:
        await _audit(session, staff, "saved-reply-delete", reply)
    await session.delete(reply)
    await session.flush()
    return reply


async def _audit(session: AsyncSession, staff: StaffView, action: str, reply: SavedReply) -> None:
    """Changes to shared replies are written to the audit log: colleagues send them."""
    await audit(session, staff.telegram_id, action, reply_id=reply.id, member_org=reply.member_org)
