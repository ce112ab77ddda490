"""Database models. Portable types only: everything here runs on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}  # noqa: RUF012


class WorkplaceType(enum.StrEnum):
    SCHOOL = "school"
    KINDERGARTEN = "kindergarten"
    COLLEGE = "college"
    UNIVERSITY = "university"
    RESEARCH = "research"
    OTHER = "other"


class AppealStatus(enum.StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    CLOSED = "closed"
    REOPENED = "reopened"


OPEN_STATUSES = (
    AppealStatus.QUEUED,
    AppealStatus.CLAIMED,
    AppealStatus.ANSWERED,
    AppealStatus.REOPENED,
)


class AppealSource(enum.StrEnum):
    FAQ_MISS = "faq-miss"
    DIRECT = "direct"


# Appeal.channel: how an appeal came. Through the bot it is "electronic"; "written" and
# "oral" ones are logged by a lawyer or imported from a paper register
# (bot/services/logged.py).
ELECTRONIC = "electronic"


class MessageSide(enum.StrEnum):
    MEMBER = "member"
    LAWYER = "lawyer"
    NOTE = "note"  # internal, never shown to the member


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    HEAD_LAWYER = "head-lawyer"
    LAWYER = "lawyer"
    PRESS = "press"


class FeedbackKind(enum.StrEnum):
    SUGGESTION = "suggestion"
    COMPLAINT = "complaint"
    THANKS = "thanks"


class FaqEventKind(enum.StrEnum):
    VIEWED = "viewed"
    HELPED = "helped"
    NOT_HELPED = "not-helped"
    SEARCH_SHOWN = "search-shown"
    LED_TO_APPEAL = "led-to-appeal"


def _enum(cls: type[enum.StrEnum]) -> Enum:
    # Stored as plain strings (no native enum types) so both databases and migrations agree.
    return Enum(
        cls,
        native_enum=False,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class Member(Base):
    __tablename__ = "member"
    __table_args__ = (Index("ix_member_org_created", "member_org", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    language: Mapped[str] = mapped_column(String(8), default="kk")
    member_org: Mapped[str | None] = mapped_column(String(40))
    workplace_type: Mapped[WorkplaceType | None] = mapped_column(_enum(WorkplaceType))
    # Shown to the lawyer handling the member's appeal; refreshed when an appeal is filed.
    full_name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    consent_version: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None]
    news_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    appeals: Mapped[list[Appeal]] = relationship(back_populates="member")


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    member_orgs: Mapped[list[Any]] = mapped_column(default=list)
    full_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The language of the bot's screens at /join (Telegram's app language), for what the bot
    # sends them unasked; a member's own choice comes first (MemberDirectory.language_of).
    language: Mapped[str | None] = mapped_column(String(2))
    # The admin role came from ADMIN_IDS at a start (not from an invite or another admin):
    # it goes again at the first start without the id in ADMIN_IDS.
    from_admin_ids: Mapped[bool] = mapped_column(Boolean, default=False)
    # May edit, publish and sign off FAQ answers (head lawyers may by their role).
    faq_editor: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffInvite(Base):
    """A one-time code an admin gives to a new staff member, who sends /join CODE.

    Only the code's SHA-256 is stored: the code is shown once, to the admin who made it,
    and someone who reads the database cannot join with it."""

    __tablename__ = "staff_invite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    member_orgs: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(BigInteger)  # an admin's telegram id
    revoked_at: Mapped[datetime | None]


class Appeal(Base):
    __tablename__ = "appeal"
    __table_args__ = (
        Index("ix_appeal_queue", "member_org", "status", "created_at"),
        Index("ix_appeal_member", "member_id", "created_at"),
        Index("ix_appeal_status_created", "status", "created_at"),
        Index("ix_appeal_created", "created_at"),
        Index("ix_appeal_closed", "closed_at"),
        Index("ix_appeal_sla_breached", "sla_breached_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    member_org: Mapped[str] = mapped_column(String(40))
    workplace_type: Mapped[WorkplaceType | None] = mapped_column(_enum(WorkplaceType))
    topic: Mapped[str] = mapped_column(String(40))
    # The draft's one-time token: a second "Send" of the same draft (a double tap, a retry
    # after an error, a redelivered update) finds this appeal instead of making another.
    draft_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    hide_from_employer: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus), default=AppealStatus.QUEUED)
    source: Mapped[AppealSource] = mapped_column(_enum(AppealSource))
    channel: Mapped[str] = mapped_column(String(16), default=ELECTRONIC)
    faq_node: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8), default="kk")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None]
    first_answer_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    reopened_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # Desk bookkeeping: region's lawyers told of it; SLA half-way reminder and breach sent;
    # the holding lawyer's last message (an idle claim goes back to the queue).
    notified_at: Mapped[datetime | None]
    sla_half_at: Mapped[datetime | None]
    sla_breached_at: Mapped[datetime | None]
    last_lawyer_at: Mapped[datetime | None]
    # Outcome, recorded by the lawyer when closing: the legal inspection's indicators 4-12.
    outcome_consultation: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome_justified: Mapped[bool | None] = mapped_column(Boolean)  # None: not assessed
    outcome_conciliation: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome_court: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome_court_won: Mapped[bool | None] = mapped_column(Boolean)
    outcome_mediation: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome_reinstated: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome_inspection: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome_outside_competence: Mapped[bool] = mapped_column(Boolean, default=False)
    violations_found: Mapped[int] = mapped_column(Integer, default=0)
    violations_remedied: Mapped[int] = mapped_column(Integer, default=0)
    money_returned_kzt: Mapped[int] = mapped_column(BigInteger, default=0)
    # Indicator 13: the economic effect of the case as the lawyer assesses it (money
    # returned plus sums the member no longer loses, e.g. an unlawful deduction cancelled).
    economic_effect_kzt: Mapped[int] = mapped_column(BigInteger, default=0)

    member: Mapped[Member] = relationship(back_populates="appeals")
    messages: Mapped[list[AppealMessage]] = relationship(
        back_populates="appeal", order_by="AppealMessage.id"
    )


class AppealMessage(Base):
    __tablename__ = "appeal_message"
    __table_args__ = (Index("ix_appeal_message_source", "source_chat_id", "source_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    side: Mapped[MessageSide] = mapped_column(_enum(MessageSide))
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The Telegram message it was written as (the writer's private chat), so that an edit of
    # that message reaches the stored text and the copy the other side got.
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    edited_at: Mapped[datetime | None]
    # Earlier texts, oldest first: [{"text": ..., "at": ISO time it was replaced}].
    edits: Mapped[list[Any]] = mapped_column(default=list, server_default=sql_text("'[]'"))

    appeal: Mapped[Appeal] = relationship(back_populates="messages")


class AppealSearch(Base):
    """What `/find` searches in an appeal: the folded, distinct words of its text, its
    thread and its member's name and username (bot/storage/appeal_search.py keeps it).
    SQLite indexes it with FTS5 (the `appeal_fts` tables), PostgreSQL with a GIN index
    on its `simple` tsvector; both are made by the migration and are not models."""

    __tablename__ = "appeal_search"

    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class FaqEvent(Base):
    __tablename__ = "faq_event"
    __table_args__ = (Index("ix_faq_event_node_kind", "node_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[FaqEventKind] = mapped_column(_enum(FaqEventKind))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    member_org: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Feedback(Base):
    """The union mailbox: suggestions and complaints to the union's leadership."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    member_org: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[FeedbackKind] = mapped_column(_enum(FeedbackKind))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FsmRecord(Base):
    """aiogram FSM state and data, so a restart loses no half-finished conversation."""

    __tablename__ = "fsm_record"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Audit(Base):
    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_appeal", "appeal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_telegram_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(60))
    appeal_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ReportTally(Base):
    """Running totals of the appeal log per local month and per local day, kept in step
    with every change to an appeal (bot/report/tally.py), so a year's report reads a few
    thousand rows instead of a million appeals.

    basis "received": appeals by span of creation, organisation, topic, channel;
    "closed": closed appeals by span of closing with their outcomes and ratings;
    "wait": answered appeals by span of creation, organisation and time-to-first-answer
    bucket (`bucket`, minutes).
    """

    __tablename__ = "report_tally"

    basis: Mapped[str] = mapped_column(String(8), primary_key=True)
    # YYYY-MM (a whole month) or YYYY-MM-DD (one day), in local time
    span: Mapped[str] = mapped_column(String(10), primary_key=True)
    member_org: Mapped[str] = mapped_column(String(40), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    consultations: Mapped[int] = mapped_column(Integer, default=0)
    found_justified: Mapped[int] = mapped_column(Integer, default=0)
    conciliation_commission: Mapped[int] = mapped_column(Integer, default=0)
    court_cases: Mapped[int] = mapped_column(Integer, default=0)
    court_claims_won: Mapped[int] = mapped_column(Integer, default=0)
    mediation_agreements: Mapped[int] = mapped_column(Integer, default=0)
    reinstated: Mapped[int] = mapped_column(Integer, default=0)
    inspections: Mapped[int] = mapped_column(Integer, default=0)
    outside_competence: Mapped[int] = mapped_column(Integer, default=0)
    violations_found: Mapped[int] = mapped_column(BigInteger, default=0)
    violations_remedied: Mapped[int] = mapped_column(BigInteger, default=0)
    money_returned_kzt: Mapped[int] = mapped_column(BigInteger, default=0)
    economic_effect_kzt: Mapped[int] = mapped_column(BigInteger, default=0)
    r1: Mapped[int] = mapped_column(Integer, default=0)
    r2: Mapped[int] = mapped_column(Integer, default=0)
    r3: Mapped[int] = mapped_column(Integer, default=0)
    r4: Mapped[int] = mapped_column(Integer, default=0)
    r5: Mapped[int] = mapped_column(Integer, default=0)


class ReportTallyState(Base):
    """Which time zone the tally's months are in and when it was last rebuilt whole."""

    __tablename__ = "report_tally_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting-approval"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # taken by a sender; back to pending if that sender died
    DELIVERED = "delivered"
    BLOCKED = "blocked"  # 403: the member blocked the bot (now inactive)
    FAILED = "failed"  # 400 chat not found, or retries used up
    OPTED_OUT = "opted-out"  # /news off when the post started
    SKIPPED = "skipped"  # inactive member when the post started


class Broadcast(Base):
    """A post of the press secretary: one text per language, an audience, a schedule."""

    __tablename__ = "broadcast"
    __table_args__ = (Index("ix_broadcast_status_run", "status", "run_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int] = mapped_column(BigInteger)  # staff telegram id
    status: Mapped[PostStatus] = mapped_column(_enum(PostStatus), default=PostStatus.DRAFT)
    text_kk: Mapped[str | None] = mapped_column(Text)  # Telegram HTML, validated
    text_ru: Mapped[str | None] = mapped_column(Text)
    media_kind: Mapped[str | None] = mapped_column(String(16))  # photo | document
    media_file_id: Mapped[str | None] = mapped_column(String(256))
    # Audience: empty lists mean everyone; language None means both.
    orgs: Mapped[list[Any]] = mapped_column(default=list)
    workplace_types: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(8))
    # A survey: {"kk": {"question": ..., "options": [...]}, "ru": {...}} or None.
    survey: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    run_at: Mapped[datetime | None]
    repeat_weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    repeat_time: Mapped[str | None] = mapped_column(String(5))  # HH:MM, local
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The one process sending it: taken with a conditional UPDATE, renewed while it runs.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    # A weekly post is a template: each week the scheduler starts a copy of it (parent_id).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("broadcast.id"))


class Delivery(Base):
    """One recipient of one post: materialised when the post starts."""

    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_post_status", "broadcast_id", "status", "id"),
        Index("ix_delivery_post_member", "broadcast_id", "member_id", unique=True),
        Index("ix_delivery_poll", "poll_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    member_org: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
    poll_id: Mapped[str | None] = mapped_column(String(64))


class SurveyAnswer(Base):
    __tablename__ = "survey_answer"
    __table_args__ = (Index("ix_survey_answer_post", "broadcast_id", "member_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    options: Mapped[list[Any]] = mapped_column(default=list)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class BotSetting(Base):
    """Settings admins change from the bot (e.g. posts need an admin's approval)."""

    __tablename__ = "bot_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    changed_by: Mapped[int | None] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Lease(Base):
    """Work that one process may do at a time (the scheduler): who holds it, until when."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(128))
    until: Mapped[datetime | None]


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # taken by a sender until lease_until; back to pending if it died
    SENT = "sent"
    BLOCKED = "blocked"  # the recipient cannot be reached: blocked the bot, gone, erased
    FAILED = "failed"  # Telegram refused it (400) or it could not be sent in time
    CANCELLED = "cancelled"  # withdrawn before it was sent (or its appeal's texts erased)


class OutboxMessage(Base):
    """A message the bot sends to someone on another person's behalf or unasked (member ↔
    lawyer relays, notices to staff, reports), stored in the transaction that caused it and
    sent by the outbox's sender (bot/outbox/), so nothing is lost between the two."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_chat", "chat_id", "status", "id"),
        Index("ix_outbox_sent_message", "chat_id", "message_id"),
        Index("ix_outbox_appeal", "appeal_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))  # the Bot API method, e.g. sendMessage
    # Its parameters; erased once it is done (the words are kept in the appeal).
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    purpose: Mapped[str] = mapped_column(String(24))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"))
    appeal_message_id: Mapped[int | None] = mapped_column(ForeignKey("appeal_message.id"))
    # Who is told when it cannot be delivered (the lawyer whose answer did not reach the
    # member, the member whose words did not reach the lawyer), in their language.
    writer_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    writer_language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # Telegram's id of the message as delivered: a reply to it belongs to `appeal_id`.
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))


class FaqOrigin(enum.StrEnum):
    REPOSITORY = "repository"  # the YAML shipped with the bot, or loaded by `faq import`
    BOT = "bot"  # created by an editor in the bot
    APPEAL = "appeal"  # grown from a lawyer's answer in an appeal (a candidate, published)


class FaqEntry(Base):
    """A node of the live FAQ tree: a topic, a subtopic or an answer. Its texts are in its
    versions; `version` is the published one members see."""

    __tablename__ = "faq_entry"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_answer: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    origin: Mapped[FaqOrigin] = mapped_column(_enum(FaqOrigin), default=FaqOrigin.REPOSITORY)
    origin_appeal_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Left out of the tree by an import that no longer has it; its versions are kept.
    retired_at: Mapped[datetime | None]


class FaqVersion(Base):
    """One published state of an entry's texts: who, when, what changed; a sign-off is a
    named lawyer's statement about exactly this version."""

    __tablename__ = "faq_version"
    __table_args__ = (Index("ix_faq_version_entry_number", "entry_id", "number", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("faq_entry.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    keywords: Mapped[dict[str, Any]] = mapped_column(default=dict)
    refs: Mapped[list[Any]] = mapped_column(default=list)  # [[kk, ru], ...]
    changes: Mapped[list[Any]] = mapped_column(default=list)  # ["answer:ru", "refs", ...]
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    author_name: Mapped[str | None] = mapped_column(String(200))
    restored_from: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    signed_by_name: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None]


class FaqCandidateStatus(enum.StrEnum):
    OPEN = "open"
    PUBLISHED = "published"
    DISMISSED = "dismissed"


class FaqCandidate(Base):
    """A lawyer's answer in a closed appeal offered as a new FAQ answer: their own messages,
    the member's words and names left out."""

    __tablename__ = "faq_candidate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), unique=True)
    topic: Mapped[str] = mapped_column(String(40))
    lang: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    proposed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[FaqCandidateStatus] = mapped_column(
        _enum(FaqCandidateStatus), default=FaqCandidateStatus.OPEN
    )
    entry_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FaqMissQuestion(Base):
    """A question a member typed before opening an answer they marked "did not help",
    anonymised, tied to no member: what the editors read in the weekly digest."""

    __tablename__ = "faq_miss_question"
    __table_args__ = (Index("ix_faq_miss_question_node_at", "node_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(40))
    lang: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SavedReply(Base):
    """A ready answer a lawyer sends to members again and again ("canned response"):
    their own (`owner_staff_id`), or shared (no owner) with the lawyers of one member
    organisation (`member_org`), or with the whole union (neither). Who sees and who
    edits which: bot/services/saved_replies.py."""

    __tablename__ = "saved_reply"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    member_org: Mapped[str | None] = mapped_column(String(40))
    lang: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StaffGroup(Base):
    """A staff supergroup with topics, linked by an admin (`/linkgroup`): a forum topic per
    appeal of its region (`scope` is the member organisation's id), or of every region for
    the head lawyers' group (`scope` is `HEAD_SCOPE`). One group per scope."""

    __tablename__ = "staff_group"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    language: Mapped[str] = mapped_column(String(2))  # what the bot writes there in
    linked_by: Mapped[int] = mapped_column(BigInteger)  # the admin's Telegram id
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


HEAD_SCOPE = "*"


class AppealTopic(Base):
    """The forum topic an appeal has in a linked staff group."""

    __tablename__ = "appeal_topic"
    __table_args__ = (Index("ix_appeal_topic_place", "chat_id", "thread_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int] = mapped_column(BigInteger)
    # The outbox row that posted the topic's card: its message id, once sent, is the one
    # whose buttons follow the appeal's status (`refresh_cards`).
    card_outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
