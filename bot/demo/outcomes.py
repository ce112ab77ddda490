"""What came of the closed demo appeals, in the union's 2024 proportions, and how members
rated them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bot.demo.generator import Generator
from bot.demo.parameters import (
    CONCILIATION,
    CONSULTATION,
    COURT,
    COURT_WON,
    DEDUCTION_MEDIAN,
    DEDUCTION_SHARE,
    EXTRA_MEDIAN,
    EXTRA_SHARE,
    FORCED_ABSENCE_MEDIAN,
    INSPECTION,
    JUSTIFIED_TARGET,
    LITIGATION_REST,
    LITIGATION_TOPICS,
    MEDIATION,
    MONEY_MEDIAN,
    MONEY_RANGE,
    MONEY_SHARE,
    MONEY_SIGMA,
    MONEY_TOPICS,
    OUTSIDE_OTHER,
    OUTSIDE_REST,
    RATED,
    RATING_COMMENT,
    RATING_SHARES,
    REINSTATED,
    REMEDIED,
    VIOLATIONS,
)
from bot.demo.texts import demo_texts
from bot.demo.values import Bools, Floats, Ints, Objects, pick


@dataclass
class Outcomes:
    consultation: Bools
    justified: Objects  # True, False or None
    conciliation: Bools
    court: Bools
    court_won: Bools  # meaningful where court
    mediation: Bools
    reinstated: Bools
    inspection: Bools
    outside: Bools
    found: Ints  # violations found by an inspection
    remedied: Ints
    money: Ints  # KZT returned
    effect: Floats  # economic effect, KZT


@dataclass
class Ratings:
    rated: Bools
    rating: Ints  # 1..5, meaningful where rated
    commented: Bools
    comments: Objects


def draw_outcomes(
    gen: Generator, rng: np.random.Generator, topic: Ints, is_closed: Bools
) -> Outcomes:
    n = len(topic)
    u = rng.random((11, n))
    shares = gen.topic_shares()
    ti_other = gen.topics.index("other")
    outside = is_closed & (u[0] < np.where(topic == ti_other, OUTSIDE_OTHER, OUTSIDE_REST))
    eligible = is_closed & ~outside
    base_share = 1.0 - float(
        shares[ti_other] * OUTSIDE_OTHER + (1 - shares[ti_other]) * OUTSIDE_REST
    )
    litigation = np.array([LITIGATION_TOPICS.get(tp, LITIGATION_REST) for tp in gen.topics])
    litigation = litigation / float((shares * litigation).sum()) / base_share
    consultation = is_closed & (u[1] < CONSULTATION)
    inspection = eligible & (u[2] < INSPECTION / base_share)
    found = np.where(
        inspection, 1 + np.searchsorted(np.cumsum(VIOLATIONS)[:-1], u[3], side="right"), 0
    )
    remedied = rng.binomial(found, REMEDIED)
    conciliation = eligible & (u[4] < CONCILIATION * litigation[topic])
    court = eligible & (u[5] < COURT * litigation[topic])
    court_won = court & (u[6] < COURT_WON)
    mediation = eligible & (u[7] < MEDIATION / base_share)
    ti_dismissal = gen.topics.index("dismissal")
    reinstated = (
        eligible
        & (topic == ti_dismissal)
        & (u[8] < REINSTATED / float(shares[ti_dismissal]) / base_share)
    )
    conciliation |= reinstated & ~court  # reinstated by a commission or a court
    money_topics = np.isin(topic, [gen.topics.index(tp) for tp in MONEY_TOPICS])
    has_money = eligible & money_topics & (u[9] < MONEY_SHARE / base_share)
    amount = np.clip(
        rng.lognormal(math.log(MONEY_MEDIAN), MONEY_SIGMA, n), MONEY_RANGE[0], MONEY_RANGE[1]
    )
    money = np.where(has_money, np.round(amount / 100.0) * 100, 0.0).astype(np.int64)
    forced = inspection | has_money | reinstated | court_won
    forced_share = float(forced.sum()) / max(int(eligible.sum()), 1)
    p_true = max(JUSTIFIED_TARGET[0] / base_share - forced_share, 0.0) / (1 - forced_share)
    p_false = JUSTIFIED_TARGET[1] / base_share / (1 - forced_share)
    justified = np.full(n, None, dtype=object)
    justified[eligible & (u[10] < p_true + p_false)] = False
    justified[eligible & (u[10] < p_true)] = True
    justified[forced] = True
    u_effect = rng.random((2, n))
    extra = np.round(rng.lognormal(math.log(EXTRA_MEDIAN), 0.8, n) / 100.0) * 100
    absence = np.round(rng.lognormal(math.log(FORCED_ABSENCE_MEDIAN), 0.5, n) / 100.0) * 100
    deduction = np.round(rng.lognormal(math.log(DEDUCTION_MEDIAN), 0.7, n) / 100.0) * 100
    effect = money.astype(np.float64)
    effect += np.where(has_money & (u_effect[0] < EXTRA_SHARE), extra, 0.0)
    effect += np.where(reinstated, absence, 0.0)
    effect += np.where(
        eligible & ~has_money & (justified == True) & (u_effect[1] < DEDUCTION_SHARE),  # noqa: E712
        deduction,
        0.0,
    )
    return Outcomes(
        consultation=consultation,
        justified=justified,
        conciliation=conciliation,
        court=court,
        court_won=court_won,
        mediation=mediation,
        reinstated=reinstated,
        inspection=inspection,
        outside=outside,
        found=found,
        remedied=remedied,
        money=money,
        effect=effect,
    )


def draw_ratings(rng: np.random.Generator, is_closed: Bools, lang: Ints) -> Ratings:
    n = len(is_closed)
    rated = is_closed & (rng.random(n) < RATED)
    rating = 1 + pick(rng, RATING_SHARES, n)
    commented = rated & (rng.random(n) < RATING_COMMENT)
    comments = np.array(demo_texts().rating_comments, dtype=object)[
        (rating >= 4).astype(np.int64), lang
    ]
    return Ratings(rated, rating, commented, comments)
