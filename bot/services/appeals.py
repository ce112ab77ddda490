"""Appeals to the union's lawyers, as the member sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.limits import MAX_TEXT
from bot.services.members import MemberView, has_consent
from bot.services.staff import StaffView
from bot.storage import outbox as store
from bot.storage.models import (
    OPEN_STATUSES,
    Appeal,
    AppealMessage,
    AppealSource,
    FaqEvent,
    FaqEventKind,
    Member,
    MessageSide,
    OutboxMessage,
    Staff,
)
from bot.topics import TOPICS

MAX_ATTACHMENTS = 5


class AppealError(Exception):
    """A rule stopped the action; `code` tells the handler which message to show."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Attachment:
    kind: str  # photo | document
    file_id: str
    name: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "file_id": self.file_id, "name": self.name}


@dataclass
class Draft:
    topic: str
    text: str
    source: AppealSource
    faq_node: str | None = None
    hide_from_employer: bool = False
    attachments: list[dict[str, Any]] = field(default_factory=list)
    token: str | None = None  # the draft's one-time token (Appeal.draft_token)


async def create_appeal(
    session: AsyncSession,
    member: MemberView,
    draft: Draft,
    *,
    full_name: str | None,
    username: str | None,
) -> Appeal:
    if draft.token:
        # The same draft sent again (a double tap, a retry after an error, an update
        # delivered twice): the appeal it made, not a second one.
        made = await session.scalar(select(Appeal).where(Appeal.draft_token == draft.token))
        if made is not None:
            if made.member_id != member.id:
                raise AppealError("not-found")
            return made
    if not has_consent(member):
        raise AppealError("consent")
    if member.member_org is None:
        raise AppealError("not-registered")
    text = draft.text.strip()
    if not text:
        raise AppealError("empty")
    if len(text) > MAX_TEXT:
        raise AppealError("too-long")
    if len(draft.attachments) > MAX_ATTACHMENTS:
        raise AppealError("too-many-files")
    topic = draft.topic if draft.topic in TOPICS else "other"
    row = await session.get_one(Member, member.id)
    row.full_name = full_name
    row.username = username
    appeal = Appeal(
        member_id=member.id,
        member_org=member.member_org,
        workplace_type=member.workplace_type,
        topic=topic,
        text=text,
        attachments=list(draft.attachments),
        hide_from_employer=draft.hide_from_employer,
        source=draft.source,
        faq_node=draft.faq_node,
        language=member.language,
        draft_token=draft.token,
    )
    session.add(appeal)
    if draft.faq_node:
        session.add(
            FaqEvent(
                node_id=draft.faq_node,
                kind=FaqEventKind.LED_TO_APPEAL,
                member_id=member.id,
                member_org=member.member_org,
            )
        )
    await session.flush()
    return appeal


async def list_member_appeals(
    session: AsyncSession, member: MemberView, *, offset: int, limit: int
) -> tuple[list[Appeal], int]:
    total = await session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.member_id == member.id)
    )
    rows = await session.scalars(
        select(Appeal)
        .where(Appeal.member_id == member.id)
        .order_by(Appeal.created_at.desc(), Appeal.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


async def get_member_appeal(session: AsyncSession, member: MemberView, appeal_id: int) -> Appeal:
    """The member's own appeal; anyone else's is as good as missing."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.member_id != member.id:
        raise AppealError("not-found")
    return appeal


async def visible_thread(
    session: AsyncSession, appeal: Appeal, limit: int = 5
) -> list[AppealMessage]:
    rows = await session.scalars(
        select(AppealMessage)
        .where(AppealMessage.appeal_id == appeal.id, AppealMessage.side != MessageSide.NOTE)
        .order_by(AppealMessage.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


async def add_member_message(
    session: AsyncSession,
    member: MemberView,
    appeal_id: int,
    *,
    text: str | None,
    attachments: list[dict[str, Any]],
    source: tuple[int, int] | None = None,
) -> AppealMessage:
    """`source`: the Telegram chat and message it was written as (its edits follow it)."""
    appeal = await get_member_appeal(session, member, appeal_id)
    if appeal.status not in OPEN_STATUSES:
        raise AppealError("closed")
    if text is not None and len(text) > MAX_TEXT:
        raise AppealError("too-long")
    if not (text or attachments):
        raise AppealError("empty")
    if attachments and await attachment_count(session, appeal.id) + len(attachments) > (
        MAX_ATTACHMENTS
    ):
        raise AppealError("too-many-files")
    message = AppealMessage(
        appeal_id=appeal.id,
        side=MessageSide.MEMBER,
        text=text,
        attachments=attachments,
        source_chat_id=source[0] if source else None,
        source_message_id=source[1] if source else None,
    )
    session.add(message)
    await session.flush()
    return message


async def attachment_count(session: AsyncSession, appeal_id: int) -> int:
    """The member's files in an appeal: those sent with it and those added later."""
    first = await session.scalar(select(Appeal.attachments).where(Appeal.id == appeal_id))
    later = await session.scalars(
        select(AppealMessage.attachments).where(
            AppealMessage.appeal_id == appeal_id, AppealMessage.side == MessageSide.MEMBER
        )
    )
    return len(first or []) + sum(len(files or []) for files in later)


async def holding_lawyer(session: AsyncSession, appeal_id: int) -> Staff | None:
    """The lawyer who has taken the appeal and may still handle it (active, and their role
    still covers its region): member replies go to them."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.claimed_by is None:
        return None
    staff = await session.get(Staff, appeal.claimed_by)
    if staff is None or not staff.active or not StaffView.of(staff).covers(appeal.member_org):
        return None
    return staff


async def in_conversation(session: AsyncSession, member: MemberView) -> list[Appeal]:
    """The member's open appeals a lawyer has written to them in: what the member types
    next is most likely meant for it — also when it went back to the queue or to another
    lawyer since (kept in the appeal for whoever takes it)."""
    rows = await session.scalars(
        select(Appeal)
        .where(
            Appeal.member_id == member.id,
            Appeal.status.in_(OPEN_STATUSES),
            Appeal.first_answer_at.is_not(None),
        )
        .order_by(Appeal.id)
    )
    return list(rows)


UNDO_WINDOW = timedelta(minutes=30)


@dataclass
class Withdrawn:
    appeal_id: int
    text: str | None
    attachments: list[dict[str, Any]]
    copies: list[tuple[int, int]]  # (chat, Telegram message id) already delivered


async def withdraw(
    session: AsyncSession, member: MemberView, message_id: int, *, now: datetime
) -> Withdrawn:
    """The member's message was meant as a new question, not for their lawyer: it leaves
    the appeal; copies not yet delivered are cancelled, delivered ones are returned so the
    caller can delete them from the lawyer's chat."""
    message = await session.get(AppealMessage, message_id)
    if message is None or message.side != MessageSide.MEMBER:
        raise AppealError("not-found")
    await get_member_appeal(session, member, message.appeal_id)
    if now - message.sent_at > UNDO_WINDOW:
        raise AppealError("too-late")
    copies = await store.delivered_copies(session, message.id)
    await store.cancel(session, OutboxMessage.appeal_message_id == message.id)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.appeal_message_id == message.id)
        .values(appeal_message_id=None)
        .execution_options(synchronize_session=False)
    )
    withdrawn = Withdrawn(message.appeal_id, message.text, list(message.attachments), copies)
    await session.delete(message)
    await session.flush()
    return withdrawn
