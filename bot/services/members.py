"""Members: onboarding answers and consent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Member, WorkplaceType, utcnow

# Bump when the consent text changes: members are asked again before their next appeal.
CONSENT_VERSION = "2026-11"


async def get_member(session: AsyncSession, telegram_id: int) -> Member | None:
    return await session.scalar(select(Member).where(Member.telegram_id == telegram_id))


async def save_onboarding(
    session: AsyncSession,
    telegram_id: int,
    *,
    language: str,
    member_org: str,
    workplace_type: WorkplaceType,
    consent: bool,
) -> Member:
    member = await get_member(session, telegram_id)
    if member is None:
        member = Member(telegram_id=telegram_id)
        session.add(member)
    member.language = language
    member.member_org = member_org
    member.workplace_type = workplace_type
    member.active = True
    if consent:
        record_consent(member)
    await session.flush()
    return member


def record_consent(member: Member) -> None:
    member.consent_version = CONSENT_VERSION
    member.consent_at = utcnow()


def has_consent(member: Member) -> bool:
    return member.consent_version == CONSENT_VERSION


def is_registered(member: Member | None) -> bool:
    return (
        member is not None and member.member_org is not None and member.workplace_type is not None
    )
