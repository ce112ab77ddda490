"""What members do without a lawyer: FAQ answers viewed, shown by search and rated, and
mailbox items (suggestions, complaints, thanks)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.demo.generator import Generator
from bot.demo.parameters import ANONYMOUS, FEEDBACKS, MAILBOX_KINDS, SEARCH_SHOWN, VIEWED
from bot.demo.texts import demo_texts
from bot.demo.values import Floats, Ints, Objects, nullable, pick, rows


def self_service_batch(
    gen: Generator,
    rng: np.random.Generator,
    counts: Ints,
    d0: int,
    d1: int,
    nodes: Objects,
    popularity: Floats,
    helpfulness: Floats,
) -> list[dict[str, Any]]:
    t, _day = gen.days.times(rng, counts, d0, d1)
    n = len(t)
    m = gen.members
    k = np.maximum(np.searchsorted(m.created, t, side="right"), 1)
    member = (rng.random(n) * k).astype(np.int64)
    node = np.minimum(
        np.searchsorted(np.cumsum(popularity), rng.random(n), side="right"), len(nodes) - 1
    )
    total = VIEWED + SEARCH_SHOWN + FEEDBACKS
    u = rng.random(n)
    helped = rng.random(n) < helpfulness[node]
    kind = np.where(
        u < VIEWED / total,
        "viewed",
        np.where(
            u < (VIEWED + SEARCH_SHOWN) / total,
            "search-shown",
            np.where(helped, "helped", "not-helped"),
        ),
    )
    return rows(
        {
            "node_id": nodes[node].tolist(),
            "kind": kind.tolist(),
            "member_id": (m.first_id + member).tolist(),
            "member_org": np.array(gen.org_ids, dtype=object)[m.org[member]].tolist(),
            "at": gen.stamps(t),
        }
    )


def mailbox_rows(
    gen: Generator, rng: np.random.Generator, counts: Ints, d0: int, d1: int
) -> list[dict[str, Any]]:
    t, _day = gen.days.times(rng, counts, d0, d1)
    n = len(t)
    m = gen.members
    k = np.maximum(np.searchsorted(m.created, t, side="right"), 1)
    member = (rng.random(n) * k).astype(np.int64)
    kind = pick(rng, [s for _, s in MAILBOX_KINDS], n)
    names = [name for name, _ in MAILBOX_KINDS]
    mailbox = demo_texts().mailbox
    texts = np.array([mailbox[name] for name in names], dtype=object)
    anonymous = rng.random(n) < ANONYMOUS
    return rows(
        {
            "member_id": nullable(m.first_id + member, ~anonymous),
            "member_org": np.array(gen.org_ids, dtype=object)[m.org[member]].tolist(),
            "kind": np.array(names, dtype=object)[kind].tolist(),
            "anonymous": anonymous.tolist(),
            "text": texts[kind, rng.integers(0, 2, n), m.lang[member]].tolist(),
            "created_at": gen.stamps(t),
        }
    )
