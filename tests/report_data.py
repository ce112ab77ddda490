"""A small hand-built appeal log whose report figures are known (worked out by hand).

Times are Almaty local (UTC+5). The report period is March 2025, the previous one February.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import Appeal, FaqEntry, FaqEvent, Feedback, Member
from bot.topics import MemberOrg, MemberOrgs, default_member_orgs

TZ = ZoneInfo("Asia/Almaty")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def orgs_with_members() -> MemberOrgs:
    sizes = {"almaty": 1000, "astana": 2000, "shymkent": 500}
    return MemberOrgs(
        [MemberOrg(o.id, o.kk, o.ru, sizes.get(o.id, 0)) for o in default_member_orgs().orgs]
    )


def _appeal(number: int, topic: str, org: str, created: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": number,
        "member_id": {"almaty": 1, "astana": 2, "shymkent": 3}[org],
        "member_org": org,
        "topic": topic,
        "text": f"appeal {number}",
        "status": "closed" if extra.get("closed_at") else "queued",
        "source": "direct",
        "channel": "electronic",
        "created_at": local(created),
    }
    row.update(extra)
    if isinstance(row.get("answer_after_min"), int):
        row["first_answer_at"] = row["created_at"] + timedelta(minutes=row.pop("answer_after_min"))
    for key in ("closed_at", "sla_breached_at"):
        if isinstance(row.get(key), str):
            row[key] = local(row[key])
    return row


APPEALS = [
    _appeal(1, "pay", "almaty", "2025-03-03 10:00", answer_after_min=90,
            closed_at="2025-03-05 12:00", outcome_consultation=True, outcome_justified=True,
            money_returned_kzt=50_000, economic_effect_kzt=60_000, rating=5),
    _appeal(2, "pay", "almaty", "2025-03-04 09:00", answer_after_min=180,
            closed_at="2025-03-10 12:00", outcome_consultation=True, outcome_conciliation=True,
            outcome_justified=False, rating=3),
    _appeal(3, "dismissal", "astana", "2025-03-05 11:00", channel="written",
            answer_after_min=1800, closed_at="2025-03-20 15:00", outcome_court=True,
            outcome_court_won=True, outcome_reinstated=True, outcome_inspection=True,
            violations_found=3, violations_remedied=2, rating=4,
            sla_breached_at="2025-03-07 11:00"),
    # Created one hour into March (still February in UTC): counts in March.
    _appeal(4, "leave", "astana", "2025-03-01 01:00", channel="oral", answer_after_min=600,
            status="answered"),
    _appeal(5, "pay", "shymkent", "2025-03-30 10:00"),
    # Received in February, closed in March: considered in March.
    _appeal(6, "pay", "almaty", "2025-02-10 10:00", answer_after_min=120,
            closed_at="2025-03-02 10:00", outcome_consultation=True, rating=1),
    _appeal(7, "leave", "almaty", "2025-02-20 10:00", closed_at="2025-02-25 10:00",
            outcome_consultation=True, money_returned_kzt=10_000),
    # One hour before March (local): February; closed only in April, so open at March's end.
    _appeal(8, "pay", "astana", "2025-02-28 23:00", closed_at="2025-04-02 10:00"),
    _appeal(9, "contract", "almaty", "2025-01-15 10:00", closed_at="2025-01-20 10:00"),
]  # fmt: skip

FAQ_EVENTS = (
    [("pay-late-wages", "helped", "2025-03-05 10:00", "almaty")] * 3
    + [("leave-pay-timing", "not-helped", "2025-03-06 10:00", "astana")] * 2
    + [("leave-pay-timing", "led-to-appeal", "2025-03-06 10:05", "astana")]
    + [("pay-late-wages", "viewed", "2025-03-05 09:59", "almaty")] * 4
    + [("pay-late-wages", "helped", "2025-02-05 10:00", "almaty")]
)
FEEDBACK = [
    ("suggestion", "2025-03-10 10:00", "almaty"),
    ("complaint", "2025-03-11 10:00", "astana"),
    ("complaint", "2025-03-31 23:30", "astana"),
    ("thanks", "2025-02-11 10:00", "almaty"),
]


async def load(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(Member),
            [
                {"id": i, "telegram_id": 100 + i, "member_org": org,
                 "created_at": local("2024-12-01 10:00")}
                for i, org in ((1, "almaty"), (2, "astana"), (3, "shymkent"))
            ]
            + [{"id": 4, "telegram_id": 104, "member_org": "almaty",
                "created_at": local("2025-04-05 10:00")}],
        )  # fmt: skip
        for row in APPEALS:
            await conn.execute(insert(Appeal), [row])
        await conn.execute(
            insert(FaqEvent),
            [
                {"node_id": node, "kind": kind, "at": local(at), "member_org": org}
                for node, kind, at, org in FAQ_EVENTS
            ],
        )
        await conn.execute(
            insert(Feedback),
            [
                {"kind": kind, "created_at": local(at), "member_org": org, "text": "x"}
                for kind, at, org in FEEDBACK
            ],
        )


async def load_grown_answers(engine: AsyncEngine) -> None:
    """FAQ answers made from lawyers' answers: from appeal 1 (Almaty) in March, from
    appeal 3 (Astana) in April; and one an editor wrote, which does not count. (Apart from
    `load`: their rows would make the database's FAQ look live to `stats` without texts.)"""
    async with engine.begin() as conn:
        await conn.execute(
            insert(FaqEntry),
            [
                {"id": entry, "topic": "pay", "parent_id": "pay", "position": 9,
                 "is_answer": True, "version": 1, "origin": origin,
                 "origin_appeal_id": appeal, "created_at": local(at)}
                for entry, origin, appeal, at in (
                    ("pay-grown-1", "appeal", 1, "2025-03-06 10:00"),
                    ("pay-grown-3", "appeal", 3, "2025-04-02 10:00"),
                    ("pay-written", "bot", None, "2025-03-07 10:00"),
                )
            ],
        )  # fmt: skip
