"""Demo lawyers (negative Telegram ids): some per member organisation by its size, and one
head lawyer; those of an earlier run are reused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.demo.generator import Generator, Lawyers
from bot.demo.parameters import LAWYERS
from bot.demo.texts import demo_texts
from bot.demo.values import Floats
from bot.storage.models import Staff, StaffRole

STAFF_TABLE: Table = Staff.__table__  # type: ignore[assignment]


def lawyer_plan(weights: Floats) -> list[int]:
    """Lawyers per organisation: one each, the rest by size (largest remainder)."""
    n = len(weights)
    extra = max(LAWYERS, n) - n
    quota = weights * extra
    counts = np.floor(quota).astype(np.int64)
    rest = extra - int(counts.sum())
    order = np.argsort(-(quota - counts), kind="stable")
    counts[order[:rest]] += 1
    return [int(c) + 1 for c in counts]


async def ensure_lawyers(conn: AsyncConnection, gen: Generator, created: datetime) -> Lawyers:
    """The demo lawyers of every organisation and the head lawyer, added where missing."""
    texts = demo_texts()
    plan = lawyer_plan(gen.org_weights)
    existing = (
        await conn.execute(
            select(Staff.id, Staff.role, Staff.member_orgs)
            .where(Staff.telegram_id < 0, Staff.active.is_(True))
            .order_by(Staff.id)
        )
    ).all()
    have: dict[str, int] = {}
    head_exists = False
    for _id, role, orgs in existing:
        if role == StaffRole.HEAD_LAWYER:
            head_exists = True
        elif role == StaffRole.LAWYER and orgs:
            have[str(orgs[0])] = have.get(str(orgs[0]), 0) + 1
    lowest = await conn.scalar(select(func.min(Staff.telegram_id)))
    next_tg = min(int(lowest or 0), 0) - 1
    rows: list[dict[str, Any]] = []
    for org_id, wanted in zip(gen.org_ids, plan, strict=True):
        for k in range(have.get(org_id, 0), wanted):
            rows.append(
                {
                    "telegram_id": next_tg,
                    "role": StaffRole.LAWYER.value,
                    "member_orgs": [org_id],
                    "full_name": texts.lawyer_name.format(org=org_id, number=k + 1),
                    "active": True,
                    "created_at": created,
                }
            )
            next_tg -= 1
    if not head_exists:
        rows.append(
            {
                "telegram_id": next_tg,
                "role": StaffRole.HEAD_LAWYER.value,
                "member_orgs": [],
                "full_name": texts.head_lawyer_name,
                "active": True,
                "created_at": created,
            }
        )
    if rows:
        await conn.execute(insert(STAFF_TABLE), rows)
    staff = (
        await conn.execute(
            select(Staff.id, Staff.role, Staff.member_orgs)
            .where(Staff.telegram_id < 0, Staff.active.is_(True))
            .order_by(Staff.id)
        )
    ).all()
    per_org: dict[str, list[int]] = {org_id: [] for org_id in gen.org_ids}
    head = None
    for staff_id, role, orgs in staff:
        if role == StaffRole.HEAD_LAWYER and head is None:
            head = int(staff_id)
        elif role == StaffRole.LAWYER and orgs and str(orgs[0]) in per_org:
            per_org[str(orgs[0])].append(int(staff_id))
    assert head is not None
    width = max(1, *(len(v) for v in per_org.values()))
    by_org = np.full((len(gen.org_ids), width), head, dtype=np.int64)
    counts = np.zeros(len(gen.org_ids), dtype=np.int64)
    for i, org_id in enumerate(gen.org_ids):
        ids = per_org[org_id] or [head]  # an inactive region's lawyers: the head takes it
        by_org[i, : len(ids)] = ids
        counts[i] = len(ids)
    return Lawyers(by_org, counts, head, created=len(rows))
