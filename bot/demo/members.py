"""Demo members: when they joined, their organisation, workplace and language, and their
rows; and the person rows of written and oral appeals (bot/services/logged.py). No
personal data: names and usernames stay empty; Telegram ids are negative."""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.demo.days import Days
from bot.demo.generator import Generator, Members
from bot.demo.parameters import BATCH, KK_SHARE, LAUNCH_SHARE, WORKPLACE_SHARES, WORKPLACES
from bot.demo.values import Floats, Ints, pick, rows


def draw_members(gen_rng: np.random.Generator, days: Days, count: int, weights: Floats) -> Members:
    launch = days.weights.copy()
    launch[:14] += days.weights.sum() * LAUNCH_SHARE / (1 - LAUNCH_SHARE) / 14
    counts = days.counts(gen_rng, count, launch)
    created, _day = days.times(gen_rng, counts, 0, len(counts))
    if count:
        created[0] = days.start  # someone is there when the first appeal comes
    org = pick(gen_rng, weights.tolist(), count)
    workplace = pick(gen_rng, WORKPLACE_SHARES, count)
    lang = (gen_rng.random(count) >= KK_SHARE).astype(np.int64)
    return Members(created, org, workplace, lang)


def member_rows(gen: Generator, i0: int, i1: int, tg_base: int) -> list[dict[str, Any]]:
    m = gen.members
    n = i1 - i0
    rng = gen.rng(100 + i0 // BATCH)
    created = gen.stamps(m.created[i0:i1])
    idx = np.arange(i0, i1, dtype=np.int64)
    org_ids = np.array(gen.org_ids, dtype=object)
    return rows(
        {
            "id": (m.first_id + idx).tolist(),
            "telegram_id": (tg_base - 1 - idx).tolist(),
            "language": np.where(m.lang[i0:i1] == 0, "kk", "ru").tolist(),
            "member_org": org_ids[m.org[i0:i1]].tolist(),
            "workplace_type": np.array(WORKPLACES, dtype=object)[m.workplace[i0:i1]].tolist(),
            "full_name": [None] * n,
            "username": [None] * n,
            "consent_version": ["1"] * n,
            "consent_at": created,
            "news_opt_out": (rng.random(n) < 0.04).tolist(),
            "active": (rng.random(n) >= 0.02).tolist(),
            "created_at": created,
        }
    )


def people_rows(gen: Generator, ids: Ints, came: Floats, lang: Ints) -> list[dict[str, Any]]:
    """The person rows of written and oral appeals, as a lawyer's /log makes them: the
    placeholder id, no organisation, no consent, inactive (never a member of the bot)."""
    n = len(ids)
    return rows(
        {
            "id": ids.tolist(),
            "telegram_id": (-ids).tolist(),
            "language": np.where(lang == 0, "kk", "ru").tolist(),
            "member_org": [None] * n,
            "workplace_type": [None] * n,
            "full_name": [None] * n,
            "username": [None] * n,
            "consent_version": [None] * n,
            "consent_at": [None] * n,
            "news_opt_out": [True] * n,
            "active": [False] * n,
            "created_at": gen.stamps(came),
        }
    )
