"""The demo's sample texts, read from texts.yaml inside the package (importlib.resources,
so an installed wheel finds them too)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from bot.topics import TOPICS
from bot.yaml_files import SAFE_LOADER

# (kk, ru): a member's language picks one, 0 for kk and 1 for ru.
Pair = tuple[str, str]

VARIANTS = 2  # texts per appeal topic and per mailbox kind (a member's is drawn from them)


@dataclass(frozen=True)
class Texts:
    appeals: dict[str, tuple[Pair, ...]]  # topic -> its texts
    answers: tuple[Pair, ...]
    follow_up: tuple[Pair, Pair]  # the member's question, the lawyer's reply
    not_solved: Pair
    after_reopen: Pair
    notes: tuple[Pair, ...]
    rating_comments: tuple[Pair, Pair]  # with a low rating (1-3), with a high one (4-5)
    mailbox: dict[str, tuple[Pair, ...]]  # kind -> its texts
    lawyer_name: str  # "{org}", "{number}"
    head_lawyer_name: str


@cache
def demo_texts() -> Texts:
    raw = yaml.load(
        resources.files("bot.demo").joinpath("texts.yaml").read_text(encoding="utf-8"),
        Loader=SAFE_LOADER,
    )
    texts = Texts(
        appeals=_groups(raw["appeals"]),
        answers=_pairs(raw["answers"]),
        follow_up=(_pair(raw["follow_up"]["question"]), _pair(raw["follow_up"]["answer"])),
        not_solved=_pair(raw["not_solved"]),
        after_reopen=_pair(raw["after_reopen"]),
        notes=_pairs(raw["notes"]),
        rating_comments=(
            _pair(raw["rating_comments"]["low"]),
            _pair(raw["rating_comments"]["high"]),
        ),
        mailbox=_groups(raw["mailbox"]),
        lawyer_name=str(raw["staff"]["lawyer"]),
        head_lawyer_name=str(raw["staff"]["head_lawyer"]),
    )
    missing = [topic for topic in TOPICS if len(texts.appeals.get(topic, ())) != VARIANTS]
    uneven = [kind for kind, pairs in texts.mailbox.items() if len(pairs) != VARIANTS]
    if missing or uneven:
        raise ValueError(
            f"texts.yaml: every topic and mailbox kind needs {VARIANTS} texts "
            f"(topics: {missing}, mailbox kinds: {uneven})"
        )
    return texts


def _pair(raw: Any) -> Pair:
    return str(raw["kk"]), str(raw["ru"])


def _pairs(raw: Any) -> tuple[Pair, ...]:
    return tuple(_pair(item) for item in raw)


def _groups(raw: Any) -> dict[str, tuple[Pair, ...]]:
    return {str(key): _pairs(items) for key, items in raw.items()}
