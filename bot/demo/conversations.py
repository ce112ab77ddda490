"""The demo appeals' threads (the member's text, the lawyer's answers, follow-ups,
reopenings, notes; a written or oral appeal has only its lawyer's notes) and the FAQ
events of appeals that came from an answer that did not help."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bot.demo.generator import Generator
from bot.demo.parameters import NOTE_SHARE
from bot.demo.texts import demo_texts
from bot.demo.values import Bools, Floats, Ints, Objects, nullable, rows

if TYPE_CHECKING:
    from bot.demo.appeals import Arrivals, Lifecycle


def thread_messages(
    gen: Generator,
    talk: np.random.Generator,
    first_id: int,
    came: Arrivals,
    life: Lifecycle,
) -> list[dict[str, Any]]:
    """Every appeal's messages, in thread order."""
    texts = demo_texts()
    n = len(came.t)
    t, lang, lawyer = came.t, came.lang, life.lawyer
    answered, last, now = life.answered, life.last, life.now
    # (row, side, author or -1, text, moment) parts, then in thread order.
    parts: list[tuple[Ints, str, Ints, Objects, Floats]] = []
    every = np.arange(n, dtype=np.int64)
    nobody = np.full(n, -1, dtype=np.int64)

    def add(chosen: Bools, side: str, author: Ints, words: Objects, moment: Floats) -> None:
        parts.append((every[chosen], side, author[chosen], words[chosen], moment[chosen]))

    which = talk.integers(0, len(texts.answers), n)
    answers = np.array(texts.answers, dtype=object)[which, lang]
    follow = np.array(texts.follow_up, dtype=object)
    # A written or oral appeal has no member's words in the bot: its text is the summary.
    add(~came.logged, "member", nobody, came.text, t)
    add(life.has_answer, "lawyer", lawyer, answers, answered)
    extra_pair = life.has_answer & ~life.reopen_closed & (last > answered)
    add(extra_pair, "member", nobody, follow[0][lang], answered + (last - answered) * 0.5)
    add(extra_pair, "lawyer", lawyer, follow[1][lang], last)
    reopened = life.reopen_closed | life.is_reopened
    not_solved = np.array(texts.not_solved, dtype=object)[lang]
    add(reopened, "member", nobody, not_solved, life.reopened_at)
    after_reopen = np.array(texts.after_reopen, dtype=object)[lang]
    add(life.reopen_closed, "lawyer", lawyer, after_reopen, last)
    claimed = life.claimed
    noted = life.has_claim & (talk.random(n) < NOTE_SHARE)
    note_at = np.where(
        life.has_answer,
        claimed + (answered - claimed) * 0.5,
        claimed + np.minimum(600.0, now - claimed) * talk.random(n),
    )
    notes = np.array(texts.notes, dtype=object)[talk.integers(0, len(texts.notes), n), lang]
    add(noted, "note", lawyer, notes, note_at)

    row = np.concatenate([p[0] for p in parts])
    moment = np.concatenate([p[4] for p in parts])
    order = np.lexsort((moment, row))
    row = row[order]
    author = np.concatenate([p[2] for p in parts])[order]
    return rows(
        {
            "appeal_id": (first_id + row).tolist(),
            "side": np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts])[
                order
            ].tolist(),
            "author_staff_id": nullable(author, author >= 0),
            "text": np.concatenate([p[3] for p in parts])[order].tolist(),
            "attachments": [gen.no_files] * len(row),
            "sent_at": gen.stamps(moment[order]),
        }
    )


def miss_events(gen: Generator, talk: np.random.Generator, came: Arrivals) -> list[dict[str, Any]]:
    """FAQ misses: the answer did not help, and the member wrote to a lawyer."""
    n = len(came.t)
    t, node = came.t, came.node
    m = gen.members
    every = np.arange(n, dtype=np.int64)
    member_ids = m.first_id + came.member
    org_names = np.array(gen.org_ids, dtype=object)[came.org]
    missed = came.miss & (node != None)  # noqa: E711
    before = np.maximum(t - 60.0 - talk.random(n) * 840.0, m.created[came.member])
    ev_at = np.concatenate([before[missed], t[missed]])
    ev_rows = np.concatenate([every[missed], every[missed]])
    kinds = ["not-helped"] * int(missed.sum()) + ["led-to-appeal"] * int(missed.sum())
    return rows(
        {
            "node_id": node[ev_rows].tolist(),
            "kind": kinds,
            "member_id": member_ids[ev_rows].tolist(),
            "member_org": org_names[ev_rows].tolist(),
            "at": gen.stamps(ev_at),
        }
    )
