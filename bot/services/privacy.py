"""Members' personal data, as Kazakhstan's law "On personal data and their protection" asks.

- `export_member`: everything stored about a member, as one JSON-ready document (/mydata).
- `forget_member`: erase a member's personal data on their request (/forget), keeping only
  the anonymous facts the union's statistics and the legal inspection's report count.
- `purge_expired`: the retention period (APPEAL_TEXT_RETENTION_MONTHS) of appeal texts,
  closed or idle, and of mailbox texts.

What /forget erases, and what it keeps as anonymous facts (the report gives the same
figures before and after):

- member: Telegram id (becomes minus the row's id), name, username, consent, news, active
  are erased; member organisation, workplace type, language and created stay (the report
  counts the bot's members per organisation);
- appeal: text, file ids and rating comment are erased; organisation, workplace type,
  topic, dates, status, outcome, rating and economic effect stay;
- appeal_message (every side: member, lawyer, internal note): texts and file ids erased;
- feedback signed by the member: text and the link to the member erased; kind,
  organisation, date stay (the report counts the mailbox);
- faq_event: the link to the member erased;
- delivery: chat id (minus the member row's id) and poll id erased, pending rows skipped;
- survey_answer: kept; it points to the anonymised member row only (a survey's results
  do not change afterwards);
- fsm_record: every conversation state of the person deleted;
- outbox: messages to or about the member not yet sent are cancelled (their words
  erased); the rows that remain keep the placeholder instead of the Telegram id;
- audit: rows of staff access to the appeals stay (they name the staff, not the member).

Copies Telegram already delivered (to lawyers' chats, an admin's mailbox pages, the
member's own chat) are out of the bot's reach; the confirmation says so. docs/privacy.md
says the same: keep the three in agreement (tests/test_privacy.py checks them).

Anonymous mailbox messages are stored without a member link, so they are neither exported
nor changed. Open appeals stay open (closing them would change the report: appeals
considered, backlog), their texts erased, with an internal note telling the lawyers the
member can no longer be reached; a lawyer closes them.

Appeal rows are changed through the ORM, so the report's tally follows (bot/report/tally.py);
none of the erased columns counts in it.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.staff import audit
from bot.storage import appeal_search, outbox
from bot.storage.models import (
    OPEN_STATUSES,
    Appeal,
    AppealMessage,
    AppealStatus,
    Audit,
    Broadcast,
    Delivery,
    DeliveryStatus,
    FaqEvent,
    Feedback,
    FsmRecord,
    Member,
    MessageSide,
    Staff,
    SurveyAnswer,
)

# The actor of audit rows written on nobody's staff authority: the member's own request,
# the retention clock. (Writing the member's Telegram id there would undo the erasure.)
SYSTEM_ACTOR = 0
FORMAT_VERSION = 2  # 2: internal notes given with their texts, not counted


def placeholder_telegram_id(member_id: int) -> int:
    """What replaces a forgotten member's Telegram id: unique (the row's id, negated) and
    never a real user's (Telegram user ids are positive)."""
    return -member_id


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _value(value: Any) -> Any:
    """Enums as their stored strings."""
    return getattr(value, "value", value)


def _files(items: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {"kind": item.get("kind"), "file_id": item.get("file_id"), "name": item.get("name")}
        for item in items or []
    ]


def _fsm_keys_of(telegram_id: int) -> ColumnElement[bool]:
    """FSM rows of a person: keys are "fsm:<chat>:<user>" (or longer), ids between colons."""
    return or_(
        FsmRecord.key.like(f"%:{telegram_id}"),
        FsmRecord.key.like(f"%:{telegram_id}:%"),
    )


def _has_files(column: Any) -> ColumnElement[bool]:
    """A JSON list column that is not empty (compared as text: PostgreSQL's json type has
    no equality)."""
    return func.coalesce(cast(column, Text), "[]").not_in(("[]", "null"))


async def _staff_roles(session: AsyncSession, *, ids: set[int], telegram_ids: set[int]) -> Any:
    """Staff roles by row id and by Telegram id: the export names lawyers by role only."""
    by_id: dict[int, str] = {}
    by_telegram: dict[int, str] = {}
    if ids or telegram_ids:
        rows = await session.execute(
            select(Staff.id, Staff.telegram_id, Staff.role).where(
                or_(Staff.id.in_(ids or {0}), Staff.telegram_id.in_(telegram_ids or {0}))
            )
        )
        for staff_id, telegram_id, role in rows:
            by_id[staff_id] = _value(role)
            by_telegram[telegram_id] = _value(role)
    return by_id, by_telegram


# --- /mydata -----------------------------------------------------------------------------


async def export_member(
    session: AsyncSession,
    member_id: int,
    *,
    now: datetime,
    conversation: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything stored about the member, JSON-ready. Lawyers appear by role only.
    Internal notes are given with their texts: written about the member's case, they are
    personal data about the member, which law 94-V lets them see.
    `conversation`: the member's unfinished dialogue as the FSM storage holds it."""
    member = await session.get_one(Member, member_id)
    appeals = list(
        await session.scalars(
            select(Appeal).where(Appeal.member_id == member_id).order_by(Appeal.created_at)
        )
    )
    appeal_ids = [a.id for a in appeals]
    messages = (
        list(
            await session.scalars(
                select(AppealMessage)
                .where(AppealMessage.appeal_id.in_(appeal_ids))
                .order_by(AppealMessage.appeal_id, AppealMessage.id)
            )
        )
        if appeal_ids
        else []
    )
    access = (
        list(
            await session.scalars(
                select(Audit).where(Audit.appeal_id.in_(appeal_ids)).order_by(Audit.id)
            )
        )
        if appeal_ids
        else []
    )
    role_by_id, role_by_telegram = await _staff_roles(
        session,
        ids={a.claimed_by for a in appeals if a.claimed_by}
        | {m.author_staff_id for m in messages if m.author_staff_id},
        telegram_ids={row.staff_telegram_id for row in access},
    )

    thread: dict[int, list[dict[str, Any]]] = {i: [] for i in appeal_ids}
    notes: dict[int, list[dict[str, Any]]] = {i: [] for i in appeal_ids}
    for message in messages:
        if message.side == MessageSide.NOTE:
            notes[message.appeal_id].append(
                {
                    "written_at": _iso(message.sent_at),
                    # A note without an author is the bot's own (erasure, retention).
                    "by": role_by_id.get(message.author_staff_id, "lawyer")
                    if message.author_staff_id
                    else "bot",
                    "text": message.text,
                }
            )
            continue
        author = (
            "member"
            if message.side == MessageSide.MEMBER
            else role_by_id.get(message.author_staff_id or 0, "lawyer")
        )
        thread[message.appeal_id].append(
            {
                "sent_at": _iso(message.sent_at),
                "from": author,
                "text": message.text,
                "files": _files(message.attachments),
            }
        )

    feedback = await session.scalars(
        select(Feedback).where(Feedback.member_id == member_id).order_by(Feedback.id)
    )
    answers = await session.execute(
        select(SurveyAnswer, Broadcast.survey)
        .join(Broadcast, Broadcast.id == SurveyAnswer.broadcast_id)
        .where(SurveyAnswer.member_id == member_id)
        .order_by(SurveyAnswer.id)
    )
    deliveries = await session.scalars(
        select(Delivery).where(Delivery.member_id == member_id).order_by(Delivery.id)
    )
    faq_events = await session.scalars(
        select(FaqEvent).where(FaqEvent.member_id == member_id).order_by(FaqEvent.id)
    )
    return {
        "format": FORMAT_VERSION,
        "generated_at": _iso(now),
        "member": {
            "telegram_id": member.telegram_id,
            "telegram_name": member.full_name,
            "telegram_username": member.username,
            "language": member.language,
            "member_organisation": member.member_org,
            "workplace_type": _value(member.workplace_type),
            "consent_version": member.consent_version,
            "consent_at": _iso(member.consent_at),
            "news_opt_out": member.news_opt_out,
            "active": member.active,
            "registered_at": _iso(member.created_at),
        },
        "appeals": [
            _appeal_json(a, thread[a.id], notes[a.id], role_by_id.get(a.claimed_by or 0))
            for a in appeals
        ],
        "mailbox": [
            {
                "sent_at": _iso(item.created_at),
                "kind": _value(item.kind),
                "member_organisation": item.member_org,
                "text": item.text,
            }
            for item in feedback
        ],
        "survey_answers": [
            _answer_json(answer, survey, member.language) for answer, survey in answers
        ],
        "post_deliveries": [
            {
                "post": d.broadcast_id,
                "status": _value(d.status),
                "sent_at": _iso(d.sent_at),
                "language": d.language,
                "member_organisation": d.member_org,
            }
            for d in deliveries
        ],
        "faq_events": [
            {"at": _iso(e.at), "faq_entry": e.node_id, "event": _value(e.kind)} for e in faq_events
        ],
        "staff_access_to_your_appeals": [
            {
                "at": _iso(row.at),
                "appeal": row.appeal_id,
                "action": row.action,
                "by": role_by_telegram.get(row.staff_telegram_id, "staff"),
            }
            for row in access
        ],
        "conversation": dict(conversation) if conversation else None,
    }


def _appeal_json(
    appeal: Appeal,
    thread: list[dict[str, Any]],
    notes: list[dict[str, Any]],
    handled_by: str | None,
) -> dict[str, Any]:
    closed = appeal.status == AppealStatus.CLOSED
    return {
        "number": appeal.id,
        "created_at": _iso(appeal.created_at),
        "member_organisation": appeal.member_org,
        "workplace_type": _value(appeal.workplace_type),
        "topic": appeal.topic,
        "language": appeal.language,
        "source": _value(appeal.source),
        "channel": appeal.channel,
        "faq_entry": appeal.faq_node,
        "text": appeal.text,
        "files": _files(appeal.attachments),
        "hide_name_from_workplace_committee": appeal.hide_from_employer,
        "status": _value(appeal.status),
        "handled_by": handled_by,
        "taken_at": _iso(appeal.claimed_at),
        "first_answer_at": _iso(appeal.first_answer_at),
        "closed_at": _iso(appeal.closed_at),
        "reopened_at": _iso(appeal.reopened_at),
        "reopen_count": appeal.reopen_count,
        "outcome": {
            "consultation": appeal.outcome_consultation,
            "justified": appeal.outcome_justified,
            "conciliation_commission": appeal.outcome_conciliation,
            "court": appeal.outcome_court,
            "court_won": appeal.outcome_court_won,
            "mediation": appeal.outcome_mediation,
            "reinstated": appeal.outcome_reinstated,
            "labour_inspection": appeal.outcome_inspection,
            "outside_competence": appeal.outcome_outside_competence,
            "violations_found": appeal.violations_found,
            "violations_remedied": appeal.violations_remedied,
            "money_returned_kzt": appeal.money_returned_kzt,
            "economic_effect_kzt": appeal.economic_effect_kzt,
        }
        if closed
        else None,
        "rating": appeal.rating,
        "rating_comment": appeal.rating_comment,
        "messages": thread,
        "internal_notes": notes,
    }


def _answer_json(answer: SurveyAnswer, survey: Any, language: str) -> dict[str, Any]:
    version: dict[str, Any] = {}
    if isinstance(survey, dict):
        version = survey.get(language) or next((v for v in survey.values() if v), None) or {}
    options = list(version.get("options") or [])
    return {
        "post": answer.broadcast_id,
        "answered_at": _iso(answer.answered_at),
        "question": version.get("question"),
        "options": list(answer.options),
        "chosen": [options[i] for i in answer.options if isinstance(i, int) and i < len(options)],
    }


# --- /forget -----------------------------------------------------------------------------


async def open_appeal_numbers(session: AsyncSession, member_id: int) -> list[int]:
    rows = await session.scalars(
        select(Appeal.id)
        .where(Appeal.member_id == member_id, Appeal.status.in_(OPEN_STATUSES))
        .order_by(Appeal.id)
    )
    return list(rows)


@dataclass
class Forgotten:
    appeals: int = 0
    open_appeals: list[int] = field(default_factory=list)
    messages: int = 0
    mailbox: int = 0


async def forget_member(session: AsyncSession, member_id: int, *, note: str | None) -> Forgotten:
    """Erase the member's personal data in the caller's transaction (see the module's
    table). `note`: the internal note left in each open appeal for its lawyers. The caller
    commits, then drops the member from the MemberDirectory and clears the FSM storage."""
    member = await session.get_one(Member, member_id)
    telegram_id = member.telegram_id
    appeals = list(await session.scalars(select(Appeal).where(Appeal.member_id == member_id)))
    ids = [a.id for a in appeals]
    done = Forgotten(appeals=len(ids))
    for appeal in appeals:  # through the ORM: the tally's hook sees every Appeal change
        appeal.text = None
        appeal.attachments = []
        appeal.rating_comment = None
        if appeal.status in OPEN_STATUSES:
            done.open_appeals.append(appeal.id)
    if ids:
        erased = await session.execute(
            update(AppealMessage)
            .where(AppealMessage.appeal_id.in_(ids))
            .values(
                text=None,
                attachments=[],
                edits=[],
                source_chat_id=None,
                source_message_id=None,
            )
            .execution_options(synchronize_session=False)
        )
        done.messages = int(getattr(erased, "rowcount", 0) or 0)
    if note:
        for appeal_id in sorted(done.open_appeals):
            session.add(AppealMessage(appeal_id=appeal_id, side=MessageSide.NOTE, text=note))
    signed = await session.execute(
        update(Feedback)
        .where(Feedback.member_id == member_id)
        .values(text="", member_id=None, anonymous=True)
        .execution_options(synchronize_session=False)
    )
    done.mailbox = int(getattr(signed, "rowcount", 0) or 0)
    await session.execute(
        update(FaqEvent)
        .where(FaqEvent.member_id == member_id)
        .values(member_id=None)
        .execution_options(synchronize_session=False)
    )
    placeholder = placeholder_telegram_id(member_id)
    await session.execute(
        update(Delivery)
        .where(Delivery.member_id == member_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.member_id == member_id)
        .values(chat_id=placeholder, poll_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(FsmRecord)
        .where(_fsm_keys_of(telegram_id))
        .execution_options(synchronize_session=False)
    )
    await outbox.forget_person(session, telegram_id, placeholder, ids)
    member.telegram_id = placeholder
    member.full_name = None
    member.username = None
    member.consent_version = None
    member.consent_at = None  # no consent: never in a post's audience again
    member.news_opt_out = True
    member.active = False
    await audit(
        session,
        SYSTEM_ACTOR,
        "forget-member",
        member=member_id,
        appeals=done.appeals,
        open_appeals=len(done.open_appeals),
        messages=done.messages,
        mailbox=done.mailbox,
    )
    await session.flush()
    await appeal_search.reindex(session, ids)  # the erased words are found no more
    return done


# --- retention ---------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when
    that month is shorter: 31 May - 3 months = 28 or 29 February)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last_day))


def _system_note() -> ColumnElement[bool]:
    """A note the bot left (erasure, retention), not a lawyer's: neither activity on the
    appeal nor text of the member's case."""
    return and_(AppealMessage.side == MessageSide.NOTE, AppealMessage.author_staff_id.is_(None))


def _not_purged(*, but_system_notes: bool = False) -> ColumnElement[bool]:
    """Something of the appeal's texts or files is still stored."""
    kept = or_(AppealMessage.text.is_not(None), _has_files(AppealMessage.attachments))
    message_left = exists(
        select(AppealMessage.id).where(
            AppealMessage.appeal_id == Appeal.id,
            and_(kept, ~_system_note()) if but_system_notes else kept,
        )
    )
    return or_(
        Appeal.text.is_not(None),
        Appeal.rating_comment.is_not(None),
        _has_files(Appeal.attachments),
        message_left,
    )


def _idle_since(cutoff: datetime) -> ColumnElement[bool]:
    """No activity on the appeal from `cutoff` on: created, reopened and last written to
    (by the member or a lawyer, notes included) before it."""
    recent = exists(
        select(AppealMessage.id).where(
            AppealMessage.appeal_id == Appeal.id,
            AppealMessage.sent_at >= cutoff,
            ~_system_note(),
        )
    )
    return and_(
        Appeal.created_at < cutoff,
        or_(Appeal.reopened_at.is_(None), Appeal.reopened_at < cutoff),
        ~recent,
    )


@dataclass
class Purged:
    """What a retention pass removed the texts of."""

    closed: int = 0  # appeals closed more than the period ago
    idle: int = 0  # appeals never closed, without activity for the period (still open)
    mailbox: int = 0  # mailbox letters sent more than the period ago
    # Anonymised questions behind "did not help" kept longer than their 35 days (deleted).
    faq_questions: int = 0
    # People of logged or imported appeals past the period: their name and contact erased.
    people: int = 0

    def __add__(self, other: Purged) -> Purged:
        return Purged(
            self.closed + other.closed,
            self.idle + other.idle,
            self.mailbox + other.mailbox,
            self.faq_questions + other.faq_questions,
            self.people + other.people,
        )

    def most(self) -> int:
        """The largest count of a batch of appeals, letters and people."""
        return max(self.closed, self.idle, self.mailbox, self.people)

    def __bool__(self) -> bool:
        return self.most() > 0 or self.faq_questions > 0


async def _erase_texts(
    session: AsyncSession, appeals: Sequence[Appeal], *, keep_system_notes: bool
) -> None:
    for appeal in appeals:  # through the ORM, as every Appeal change (the tally's hook)
        appeal.text = None
        appeal.attachments = []
        appeal.rating_comment = None
    messages = AppealMessage.appeal_id.in_([a.id for a in appeals])
    await session.execute(
        update(AppealMessage)
        .where(and_(messages, ~_system_note()) if keep_system_notes else messages)
        .values(
            text=None,
            attachments=[],
            edits=[],
            source_chat_id=None,
            source_message_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    await appeal_search.reindex(session, [a.id for a in appeals])


async def purge_expired(
    session: AsyncSession,
    now: datetime,
    months: int,
    *,
    limit: int | None = None,
    note: str | None = None,
) -> Purged:
    """Remove what is past the retention period of `months` calendar months before `now`;
    everything the report counts stays:

    - appeals closed before it: texts (appeal, messages of every side, rating comment)
      and file ids;
    - appeals never closed and idle since before it (created, reopened and last written
      to before it): the same, except the bot's own notes; they stay open for a lawyer to
      close, with `note` (an internal note) saying why the texts are gone;
    - mailbox letters sent before it: their texts (the row stays: the report counts it);
    - the name and contact of the person of an appeal a lawyer logged (or a register
      brought in) that is past it as above: they cannot ask the bot to forget them, so
      their details go with the appeal's texts (bot/services/logged.py).

    At most `limit` of each per call (the caller commits and calls again). Pure in
    `now`; the caller commits."""
    cutoff = months_before(now, months)
    done = Purged()
    closed = (
        select(Appeal)
        .where(Appeal.status == AppealStatus.CLOSED, Appeal.closed_at < cutoff, _not_purged())
        .order_by(Appeal.id)
        .limit(limit)
    )
    appeals = list(await session.scalars(closed))
    if appeals:
        await _erase_texts(session, appeals, keep_system_notes=False)
        done.closed = len(appeals)
    idle = (
        select(Appeal)
        .where(
            Appeal.status.in_(OPEN_STATUSES),
            _idle_since(cutoff),
            _not_purged(but_system_notes=True),
        )
        .order_by(Appeal.id)
        .limit(limit)
    )
    appeals = list(await session.scalars(idle))
    if appeals:
        await _erase_texts(session, appeals, keep_system_notes=True)
        if note:
            for appeal in appeals:
                session.add(AppealMessage(appeal_id=appeal.id, side=MessageSide.NOTE, text=note))
        done.idle = len(appeals)
    letters = (
        select(Feedback.id)
        .where(Feedback.created_at < cutoff, Feedback.text != "")
        .order_by(Feedback.id)
        .limit(limit)
    )
    ids = list(await session.scalars(letters))
    if ids:
        await session.execute(
            update(Feedback)
            .where(Feedback.id.in_(ids))
            .values(text="")
            .execution_options(synchronize_session=False)
        )
        done.mailbox = len(ids)
    done.people = await _forget_logged_people(session, cutoff, limit)
    await session.flush()
    return done


async def _forget_logged_people(session: AsyncSession, cutoff: datetime, limit: int | None) -> int:
    from bot.services.logged import logged_person  # logged imports this module

    past = exists(
        select(Appeal.id).where(
            Appeal.member_id == Member.id,
            or_(
                and_(Appeal.status == AppealStatus.CLOSED, Appeal.closed_at < cutoff),
                and_(Appeal.status.in_(OPEN_STATUSES), _idle_since(cutoff)),
            ),
        )
    )
    ids = list(
        await session.scalars(
            select(Member.id)
            .where(
                logged_person(),
                or_(Member.full_name.is_not(None), Member.username.is_not(None)),
                past,
            )
            .order_by(Member.id)
            .limit(limit)
        )
    )
    if ids:
        await session.execute(
            update(Member)
            .where(Member.id.in_(ids))
            .values(full_name=None, username=None)
            .execution_options(synchronize_session=False)
        )
    return len(ids)
