"""Closing an appeal with its outcome, the member's rating, and reopening.

The outcome fields are the legal inspection's report indicators 4-12 (domain.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.desk import DeskError, held_appeal
from bot.services.staff import StaffView, audit
from bot.storage.models import Appeal, AppealStatus, Staff, utcnow
from bot.topics import TOPICS

if TYPE_CHECKING:  # the command line's register import reads Outcome without aiogram
    from bot.services.members import MemberView

REOPEN_WINDOW = timedelta(days=7)
MAX_AMOUNT = 10**12  # tenge; anything bigger is a typing slip
MAX_COUNT = 10_000


@dataclass
class Outcome:
    consultation: bool = True  # the usual result: a consultation was given
    justified: bool | None = None
    conciliation: bool = False
    court: bool = False
    court_won: bool | None = None
    mediation: bool = False
    reinstated: bool = False
    inspection: bool = False
    outside_competence: bool = False
    violations_found: int = 0
    violations_remedied: int = 0
    money_returned_kzt: int = 0
    economic_effect_kzt: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def problems(self) -> list[str]:
        found: list[str] = []
        if self.court_won is not None and not self.court:
            found.append("court-won-without-court")
        if not 0 <= self.violations_remedied <= self.violations_found <= MAX_COUNT:
            found.append("violations")
        if not 0 <= self.money_returned_kzt <= MAX_AMOUNT:
            found.append("money")
        if not 0 <= self.economic_effect_kzt <= MAX_AMOUNT:
            found.append("economic-effect")
        return found


async def close_appeal(
    session: AsyncSession, staff: StaffView, appeal_id: int, outcome: Outcome, topic: str
) -> Appeal:
    appeal = await held_appeal(session, staff, appeal_id)
    if outcome.problems():
        raise DeskError("bad-outcome")
    if topic in TOPICS and topic != appeal.topic:
        await audit(
            session,
            staff.telegram_id,
            "correct-topic",
            appeal_id=appeal.id,
            old=appeal.topic,
            new=topic,
        )
        appeal.topic = topic
    appeal.outcome_consultation = outcome.consultation
    appeal.outcome_justified = outcome.justified
    appeal.outcome_conciliation = outcome.conciliation
    appeal.outcome_court = outcome.court
    appeal.outcome_court_won = outcome.court_won if outcome.court else None
    appeal.outcome_mediation = outcome.mediation
    appeal.outcome_reinstated = outcome.reinstated
    appeal.outcome_inspection = outcome.inspection
    appeal.outcome_outside_competence = outcome.outside_competence
    appeal.violations_found = outcome.violations_found
    appeal.violations_remedied = outcome.violations_remedied
    appeal.money_returned_kzt = outcome.money_returned_kzt
    appeal.economic_effect_kzt = outcome.economic_effect_kzt
    appeal.status = AppealStatus.CLOSED
    appeal.closed_at = utcnow()
    await audit(session, staff.telegram_id, "close", appeal_id=appeal.id, **outcome.as_dict())
    await session.flush()
    return appeal


async def _members_closed_appeal(
    session: AsyncSession, member: MemberView, appeal_id: int
) -> Appeal:
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.member_id != member.id or appeal.status != AppealStatus.CLOSED:
        raise DeskError("not-found")
    return appeal


async def rate(
    session: AsyncSession,
    member: MemberView,
    appeal_id: int,
    score: int,
    comment: str | None = None,
) -> Appeal:
    if not 1 <= score <= 5:
        raise DeskError("bad-score")
    appeal = await _members_closed_appeal(session, member, appeal_id)
    appeal.rating = score
    if comment is not None:
        appeal.rating_comment = comment[:1000]
    await session.flush()
    return appeal


async def add_rating_comment(
    session: AsyncSession, member: MemberView, appeal_id: int, comment: str
) -> None:
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.member_id != member.id or appeal.rating is None:
        raise DeskError("not-found")
    appeal.rating_comment = comment[:1000]
    await session.flush()


async def reopen(
    session: AsyncSession, member: MemberView, appeal_id: int
) -> tuple[Appeal, Staff | None]:
    """ "Not solved" within 7 days of closing: back to the same lawyer if still on staff,
    otherwise to the region's queue. Returns the appeal and the lawyer it went back to."""
    appeal = await _members_closed_appeal(session, member, appeal_id)
    if appeal.closed_at is None or utcnow() - appeal.closed_at > REOPEN_WINDOW:
        raise DeskError("too-late")
    lawyer = await session.get(Staff, appeal.claimed_by) if appeal.claimed_by else None
    appeal.reopened_at = utcnow()
    appeal.reopen_count += 1
    appeal.closed_at = None
    appeal.rating = None
    if lawyer is not None and lawyer.active and StaffView.of(lawyer).covers(appeal.member_org):
        appeal.status = AppealStatus.CLAIMED
    else:
        # The lawyer left or no longer covers the region: back to the region's queue, and
        # its lawyers are told by the desk's clock.
        lawyer = None
        appeal.status = AppealStatus.REOPENED
        appeal.claimed_by = None
        appeal.claimed_at = None
        appeal.notified_at = None
    await session.flush()
    return appeal, lawyer
