"""Demo appeals, a run of days at a time: who wrote when and about what, how far each got
by now (the desk's clock included), what came of the closed ones, their rows, and their
conversations.

Every draw comes from the batch's generator in a fixed order (arrivals, lifecycle,
outcomes, ratings; the conversations from a stream of their own): a seed gives the same
appeals whatever else is asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.demo.conversations import miss_events, thread_messages
from bot.demo.generator import Generator
from bot.demo.members import people_rows
from bot.demo.outcomes import Outcomes, Ratings, draw_outcomes, draw_ratings
from bot.demo.parameters import (
    ANSWER_MEDIAN,
    ANSWER_SIGMA,
    CHANNEL_SHARES,
    CLAIM_MEDIAN,
    CLAIM_SIGMA,
    CLOSE_MEDIAN,
    CLOSE_SIGMA,
    DAY,
    FAQ_MISS_SHARE,
    FOLLOW_UP_SHARE,
    HEAD_SHARE,
    HIDE_SHARE,
    IDLE_GUARD,
    MAX_CLOSE,
    MAX_FIRST_ANSWER,
    REOPEN_SHARE,
    SCAN_JITTER,
    SLA_DAYS,
    STALL_A,
    STALL_FLOOR,
    STALL_STATUSES,
    STALL_TAU_DAYS,
    WORKPLACES,
)
from bot.demo.texts import demo_texts
from bot.demo.values import NO_TIME, Bools, Floats, Ints, Objects, nullable, pick, rows, zipf

STATUSES = ("queued", "claimed", "answered", "closed", "reopened")
QUEUED, CLAIMED, ANSWERED, CLOSED, REOPENED = range(5)


@dataclass
class AppealBatch:
    people: list[dict[str, Any]]  # person rows of the written and oral appeals
    appeals: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    open: int


@dataclass
class Arrivals:
    """Who wrote when, about what, how, and in which words."""

    t: Floats  # created, epoch seconds, ascending
    day: Ints
    member: Ints  # index into the generator's members
    org: Ints
    lang: Ints
    topic: Ints
    channel: Ints
    miss: Bools  # came after an FAQ answer that did not help
    node: Objects  # that answer's id, or None
    text: Objects
    hide: Bools

    @property
    def logged(self) -> Bools:
        """Came in writing or in person: logged by a lawyer, not sent through the bot."""
        return self.channel != 0  # type: ignore[no-any-return]


@dataclass
class Lifecycle:
    """How far each appeal got by now, and the desk's clock on it."""

    now: float
    status: Ints
    claimed: Floats
    answered: Floats
    closed: Floats
    has_claim: Bools
    has_answer: Bools
    is_closed: Bools
    reopen_closed: Bools  # closed, reopened once and closed again
    is_reopened: Bools  # reopened and open
    reopened_at: Floats
    last: Floats  # the lawyer's last message
    lawyer: Ints
    notified: Floats
    half_at: Floats
    breached_at: Floats


def appeal_batch(
    gen: Generator,
    rng: np.random.Generator,
    talk: np.random.Generator | None,
    counts: Ints,
    d0: int,
    d1: int,
    first_id: int,
    holidays: Any,
) -> AppealBatch:
    """The appeals of days d0..d1-1 (ids from `first_id`); with `talk`, their messages and
    the FAQ events of those that came from an FAQ answer."""
    came = draw_arrivals(gen, rng, counts, d0, d1)
    life = draw_lifecycle(gen, rng, came, holidays)
    outcomes = draw_outcomes(gen, rng, came.topic, life.is_closed)
    # Only members rate, in the bot: not the people of written and oral appeals.
    ratings = draw_ratings(rng, life.is_closed & ~came.logged, came.lang)
    person = np.full(len(came.t), -1, dtype=np.int64)
    person[came.logged] = gen.next_person + np.arange(int(came.logged.sum()), dtype=np.int64)
    gen.next_person += int(came.logged.sum())
    people = people_rows(gen, person[came.logged], came.t[came.logged], came.lang[came.logged])
    appeals = appeal_rows(gen, first_id, came, life, outcomes, ratings, person)
    still_open = int((~life.is_closed).sum())
    if talk is None:
        return AppealBatch(people, appeals, [], [], still_open)
    messages = thread_messages(gen, talk, first_id, came, life)
    events = miss_events(gen, talk, came)
    return AppealBatch(people, appeals, messages, events, still_open)


def draw_arrivals(
    gen: Generator, rng: np.random.Generator, counts: Ints, d0: int, d1: int
) -> Arrivals:
    days = gen.days
    t, day = days.times(rng, counts, d0, d1)
    n = len(t)
    m = gen.members
    k = np.maximum(np.searchsorted(m.created, t, side="right"), 1)
    member = (rng.random(n) * k).astype(np.int64)
    lang = m.lang[member]

    cdf = gen.topic_cdf()[days.month[day] - 1]
    topic = np.minimum((rng.random(n)[:, None] >= cdf).sum(axis=1), len(gen.topics) - 1)
    channel = pick(rng, [s for _, s in CHANNEL_SHARES], n)
    miss = (channel == 0) & (rng.random(n) < FAQ_MISS_SHARE)
    node = np.full(n, None, dtype=object)
    u_node = rng.random(n)
    for ti, topic_id in enumerate(gen.topics):
        answer_ids = gen.faq_answers.get(topic_id) or []
        chosen = miss & (topic == ti)
        if answer_ids and chosen.any():
            cum = np.cumsum(zipf(len(answer_ids)))
            which = np.searchsorted(cum, u_node[chosen], side="right")
            node[chosen] = np.array(answer_ids, dtype=object)[
                np.minimum(which, len(answer_ids) - 1)
            ]
    variant = rng.integers(0, 2, n)
    appeal_texts = demo_texts().appeals
    texts = np.array([[appeal_texts[tp][v] for v in range(2)] for tp in gen.topics], dtype=object)
    hide = (channel == 0) & (rng.random(n) < HIDE_SHARE)  # a member's choice in the bot
    return Arrivals(
        t=t,
        day=day,
        member=member,
        org=m.org[member],
        lang=lang,
        topic=topic,
        channel=channel,
        miss=miss,
        node=node,
        text=texts[topic, variant, lang],
        hide=hide,
    )


def draw_lifecycle(
    gen: Generator, rng: np.random.Generator, came: Arrivals, holidays: Any
) -> Lifecycle:
    t = came.t
    n = len(t)
    now = gen.days.now - 1.0
    # Natural durations; what has not happened by now is still to come.
    claim_d = rng.lognormal(math.log(CLAIM_MEDIAN), CLAIM_SIGMA, n)
    answer_d = rng.lognormal(math.log(ANSWER_MEDIAN), ANSWER_SIGMA, n)
    scale = np.minimum(1.0, MAX_FIRST_ANSWER / (claim_d + answer_d))
    claimed = t + claim_d * scale
    answered = claimed + answer_d * scale
    closed = answered + np.minimum(rng.lognormal(math.log(CLOSE_MEDIAN), CLOSE_SIGMA, n), MAX_CLOSE)
    status = np.full(n, CLOSED, dtype=np.int64)
    status[closed > now] = ANSWERED
    status[answered > now] = CLAIMED
    status[claimed > now] = QUEUED
    # Stalled cases: mostly recent, a few old ones.
    age_days = (now - t) / DAY
    stall_p = STALL_A * np.exp(-age_days / STALL_TAU_DAYS) + STALL_FLOOR * (age_days < 180)
    stalled = (status == CLOSED) & (rng.random(n) < stall_p)
    stall_status = np.array([QUEUED, CLAIMED, ANSWERED, REOPENED])[
        pick(rng, [s for _, s in STALL_STATUSES], n)
    ]
    status = np.where(stalled, stall_status, status)
    # A written or oral appeal is logged by the lawyer who received it: taken from the
    # start, open until closed, never answered in the bot nor reopened by a member.
    logged = came.logged
    status = np.where(logged & (status != CLOSED), CLAIMED, status)
    # An open claim had a lawyer's action lately (an idle one goes back to the queue).
    recent = now - rng.random(n) * IDLE_GUARD
    claimed = np.where(status == CLAIMED, np.maximum(claimed, recent), claimed)
    claimed = np.where(logged, t, claimed)

    has_claim = np.isin(status, (CLAIMED, ANSWERED, CLOSED))
    has_answer = np.isin(status, (ANSWERED, CLOSED, REOPENED)) & ~logged
    is_closed = status == CLOSED

    # Reopening: closed ones reopened once and closed again; open "reopened" ones.
    reopen_closed = is_closed & (rng.random(n) < REOPEN_SHARE) & ~logged
    u_reopen = rng.random(n)
    reopened_at = np.full(n, NO_TIME)
    reopened_at[reopen_closed] = (answered + (closed - answered) * (0.3 + 0.3 * u_reopen))[
        reopen_closed
    ]
    is_reopened = status == REOPENED
    reopened_at[is_reopened] = (answered + (now - answered) * (0.3 + 0.65 * u_reopen))[is_reopened]

    # The lawyer's last message: the first answer, a follow-up, or after a reopening.
    follow_up = is_closed & ~reopen_closed & (rng.random(n) < FOLLOW_UP_SHARE) & ~logged
    u_last = rng.random(n)
    last = np.where(has_answer, answered, NO_TIME)
    last = np.where(follow_up, answered + (closed - answered) * (0.2 + 0.5 * u_last), last)
    last = np.where(
        reopen_closed, reopened_at + (closed - reopened_at) * (0.2 + 0.6 * u_last), last
    )
    last = np.where(status == ANSWERED, np.maximum(answered, recent), last)

    # Who: a lawyer of the member's organisation, now and then the head lawyer.
    lw = gen.lawyers
    assert lw is not None
    org = came.org
    lawyer = lw.by_org[org, (rng.random(n) * lw.per_org[org]).astype(np.int64)]
    lawyer = np.where(rng.random(n) < HEAD_SHARE, lw.head, lawyer)

    # The desk's clock: notices, half-way reminders and breaches of the first-answer SLA.
    notified = t + rng.random(n) * np.minimum(SCAN_JITTER, claimed - t)
    waited_until = np.where(has_answer, answered, now)
    half_due = working_deadline(gen, came.day, t, SLA_DAYS // 2, holidays)  # half-way reminder
    due = working_deadline(gen, came.day, t, SLA_DAYS, holidays)
    jitter = rng.random(n) * SCAN_JITTER
    half_at = np.where(
        half_due < waited_until, np.minimum(half_due + jitter, waited_until), NO_TIME
    )
    breached_at = np.where(due < waited_until, np.minimum(due + jitter, waited_until), NO_TIME)
    # The desk's clock leaves logged appeals alone: never in the queue, no first answer due.
    notified = np.where(logged, NO_TIME, notified)
    half_at = np.where(logged, NO_TIME, half_at)
    breached_at = np.where(logged, NO_TIME, breached_at)
    return Lifecycle(
        now=now,
        status=status,
        claimed=claimed,
        answered=answered,
        closed=closed,
        has_claim=has_claim,
        has_answer=has_answer,
        is_closed=is_closed,
        reopen_closed=reopen_closed,
        is_reopened=is_reopened,
        reopened_at=reopened_at,
        last=last,
        lawyer=lawyer,
        notified=notified,
        half_at=half_at,
        breached_at=breached_at,
    )


def working_deadline(gen: Generator, day: Ints, moment: Floats, days: int, holidays: Any) -> Floats:
    """`days` working days after the moment, in Almaty local time (calendar.py's rule)."""
    local = gen.days.dates[day]
    working = np.is_busday(local, holidays=holidays)
    target = np.busday_offset(local, days, roll="forward", holidays=holidays)
    shift = (target - local).astype(np.int64) * DAY
    since_midnight = moment - gen.days.starts[day]
    return gen.days.starts[day] + shift + np.where(working, since_midnight, 0.0)


def appeal_rows(
    gen: Generator,
    first_id: int,
    came: Arrivals,
    life: Lifecycle,
    out: Outcomes,
    rated: Ratings,
    person: Ints,
) -> list[dict[str, Any]]:
    """`person`: the person row of each written or oral appeal (-1 for the bot's)."""
    n = len(came.t)
    m = gen.members
    has_claim, has_answer, is_closed = life.has_claim, life.has_answer, life.is_closed
    return rows(
        {
            "id": (first_id + np.arange(n, dtype=np.int64)).tolist(),
            "member_id": np.where(came.logged, person, m.first_id + came.member).tolist(),
            "member_org": np.array(gen.org_ids, dtype=object)[came.org].tolist(),
            "workplace_type": np.array(WORKPLACES, dtype=object)[m.workplace[came.member]].tolist(),
            "topic": np.array(gen.topics, dtype=object)[came.topic].tolist(),
            "text": came.text.tolist(),
            "attachments": [gen.no_files] * n,
            "hide_from_employer": came.hide.tolist(),
            "status": np.array(STATUSES, dtype=object)[life.status].tolist(),
            "source": np.where(came.miss, "faq-miss", "direct").tolist(),
            "channel": np.array([c for c, _ in CHANNEL_SHARES], dtype=object)[
                came.channel
            ].tolist(),
            "faq_node": came.node.tolist(),
            "language": np.where(came.lang == 0, "kk", "ru").tolist(),
            "created_at": gen.stamps(came.t),
            "claimed_by": nullable(life.lawyer, has_claim),
            "claimed_at": gen.stamps(np.where(has_claim, life.claimed, NO_TIME)),
            "first_answer_at": gen.stamps(np.where(has_answer, life.answered, NO_TIME)),
            "closed_at": gen.stamps(np.where(is_closed, life.closed, NO_TIME)),
            "rating": nullable(rated.rating, rated.rated),
            "rating_comment": nullable(rated.comments, rated.commented),
            "reopened_at": gen.stamps(life.reopened_at),
            "reopen_count": (life.reopen_closed | life.is_reopened).astype(np.int64).tolist(),
            "notified_at": gen.stamps(life.notified),
            "sla_half_at": gen.stamps(life.half_at),
            "sla_breached_at": gen.stamps(life.breached_at),
            "last_lawyer_at": gen.stamps(life.last),
            "outcome_consultation": out.consultation.tolist(),
            "outcome_justified": out.justified.tolist(),
            "outcome_conciliation": out.conciliation.tolist(),
            "outcome_court": out.court.tolist(),
            "outcome_court_won": nullable(out.court_won, out.court),
            "outcome_mediation": out.mediation.tolist(),
            "outcome_reinstated": out.reinstated.tolist(),
            "outcome_inspection": out.inspection.tolist(),
            "outcome_outside_competence": out.outside.tolist(),
            "violations_found": out.found.tolist(),
            "violations_remedied": out.remedied.tolist(),
            "money_returned_kzt": out.money.tolist(),
            "economic_effect_kzt": out.effect.astype(np.int64).tolist(),
        }
    )
