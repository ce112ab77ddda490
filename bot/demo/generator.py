"""What the generator knows while it draws: the days, the seed, the member organisations,
the FAQ's answers, the members drawn and the lawyers in the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from bot.demo.days import Days
from bot.demo.parameters import ORG_WEIGHTS, TOPIC_MONTHS, TOPIC_WEIGHTS
from bot.demo.values import EMPTY_JSON, Floats, Ints, stamps
from bot.faq.content import CONTENT_DIR, Faq, check_faq
from bot.topics import TOPICS, MemberOrgs


@dataclass
class Lawyers:
    by_org: Ints  # (orgs, max per org) staff ids, padded
    per_org: Ints
    head: int
    created: int = 0


@dataclass
class Members:
    created: Floats  # epoch seconds, ascending
    org: Ints
    workplace: Ints
    lang: Ints  # 0 kk, 1 ru
    first_id: int = 1


@dataclass
class Generator:
    days: Days
    seed: int
    org_ids: list[str]
    org_weights: Floats
    faq_answers: dict[str, list[str]]  # topic -> answer ids, most popular first
    members: Members
    lawyers: Lawyers | None = None
    sqlite: bool = True
    next_person: int = 1  # the id of the next written or oral appeal's person row
    topics: list[str] = field(default_factory=lambda: list(TOPICS))

    @property
    def no_files(self) -> Any:
        """An empty attachments list as the bulk table takes it (text on SQLite)."""
        return EMPTY_JSON if self.sqlite else []

    def stamps(self, seconds: Floats) -> list[Any]:
        return stamps(seconds, self.sqlite)

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream])

    def topic_cdf(self) -> Floats:
        """The topic mix per month (12 x topics), cumulative."""
        base = np.array([TOPIC_WEIGHTS.get(t, 1.0) for t in self.topics])
        rows = []
        for month in range(1, 13):
            w = base * np.array([TOPIC_MONTHS.get(t, {}).get(month, 1.0) for t in self.topics])
            rows.append(np.cumsum(w) / w.sum())
        cdf = np.array(rows)
        cdf[:, -1] = 1.0
        return cdf

    def topic_shares(self) -> Floats:
        base = np.array([TOPIC_WEIGHTS.get(t, 1.0) for t in self.topics])
        return base / base.sum()  # type: ignore[no-any-return]


def org_weights(orgs: MemberOrgs) -> Floats:
    known = [o.members for o in orgs.orgs if o.members > 0]
    if known:
        fill = float(np.mean(known))
        w = [float(o.members) if o.members > 0 else fill for o in orgs.orgs]
    else:
        fill = float(np.median(list(ORG_WEIGHTS.values())))
        w = [ORG_WEIGHTS.get(o.id, fill) for o in orgs.orgs]
    arr = np.array(w, dtype=np.float64)
    return arr / arr.sum()  # type: ignore[no-any-return]


def faq_answers(faq: Faq, rng: np.random.Generator) -> dict[str, list[str]]:
    """Answer ids per topic in a seeded popularity order (the first is asked most)."""
    out: dict[str, list[str]] = {}
    for topic in TOPICS:
        ids = sorted(n.id for n in faq.answers if n.topic == topic)
        out[topic] = [ids[i] for i in rng.permutation(len(ids))] if ids else []
    return out


@cache
def default_faq() -> Faq:
    faq, _problems = check_faq(CONTENT_DIR)  # problems only mean fewer node ids here
    return faq
