"""An editor's unpublished changes to one FAQ answer, kept in their FSM data.

Pure Python: the editor screens (bot/handlers/desk/faq_editor.py) turn drafts into texts to
publish (bot/storage/faq.py) and into nodes to preview exactly as members will see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.faq.content import LANGS, MAX_ANSWER, MAX_REF, MAX_TITLE, Node, Ref, answer_problems
from bot.storage.faq import Texts

FIELDS = tuple(f"{part}:{lang}" for part in ("title", "answer", "refs") for lang in LANGS)
LIMITS = {"title": MAX_TITLE, "answer": MAX_ANSWER, "refs": MAX_REF}
MAX_REFS = 12
KEEP = 8  # drafts kept per editor (the oldest goes first)


@dataclass
class Draft:
    key: str  # the answer's id, or "+<parent id>" for a new answer there
    base: int  # the published version it started from (0: a new answer)
    title: dict[str, str]
    answer: dict[str, str]
    refs: list[list[str]]
    keywords: dict[str, list[str]] = field(default_factory=dict)
    candidate: int = 0  # the FAQ candidate it grows from

    @property
    def is_new(self) -> bool:
        return self.key.startswith("+")

    @property
    def parent(self) -> str:
        return self.key[1:] if self.is_new else ""

    @classmethod
    def of_node(cls, node: Node) -> Draft:
        return cls(
            key=node.id,
            base=node.version,
            title=dict(node.title),
            answer=dict(node.answer or {}),
            refs=[[r.kk, r.ru] for r in node.refs],
            keywords={lang: list(w) for lang, w in node.keywords.items()},
        )

    @classmethod
    def new(cls, parent_id: str, candidate: int = 0, text: str = "", lang: str = "") -> Draft:
        answer = {code: "" for code in LANGS}
        if lang in answer:
            answer[lang] = text
        return cls(
            key=f"+{parent_id}",
            base=0,
            title={code: "" for code in LANGS},
            answer=answer,
            refs=[],
            candidate=candidate,
        )

    @classmethod
    def load(cls, raw: dict[str, Any]) -> Draft:
        return cls(
            key=str(raw["key"]),
            base=int(raw["base"]),
            title={k: str(v) for k, v in raw["title"].items()},
            answer={k: str(v) for k, v in raw["answer"].items()},
            refs=[[str(a), str(b)] for a, b in raw["refs"]],
            keywords={k: [str(w) for w in v] for k, v in raw.get("keywords", {}).items()},
            candidate=int(raw.get("candidate", 0)),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "base": self.base,
            "title": self.title,
            "answer": self.answer,
            "refs": self.refs,
            "keywords": self.keywords,
            "candidate": self.candidate,
        }

    def texts(self) -> Texts:
        return Texts(
            title={k: v.strip() for k, v in self.title.items()},
            answer={k: v.strip() for k, v in self.answer.items()},
            keywords=self.keywords,
            refs=tuple(Ref(kk.strip(), ru.strip()) for kk, ru in self.refs),
        )

    def node(self, like: Node | None, topic: str) -> Node:
        """A stand-in node for the preview: the draft's texts, the live node's place."""
        texts = self.texts()
        return Node(
            id=like.id if like is not None else self.key,
            title=texts.title,
            topic=like.topic if like is not None else topic,
            parent=like.parent if like is not None else None,
            answer=texts.answer,
            keywords=texts.keywords,
            refs=list(texts.refs),
        )

    def current(self, part_lang: str) -> str:
        part, _, lang = part_lang.partition(":")
        if part == "refs":
            index = 0 if lang == "kk" else 1
            return "\n".join(pair[index] for pair in self.refs)
        texts: dict[str, str] = self.title if part == "title" else self.answer
        return texts[lang]

    def set(self, part_lang: str, text: str) -> None:
        part, _, lang = part_lang.partition(":")
        if part != "refs":
            (self.title if part == "title" else self.answer)[lang] = text.strip()
            return
        lines = [line.strip() for line in text.splitlines() if line.strip()][:MAX_REFS]
        index = 0 if lang == "kk" else 1
        other = [pair[1 - index] for pair in self.refs]
        size = max(len(lines), len(other) if any(other) else 0)
        lines += [""] * (size - len(lines))
        other += [""] * (size - len(other))
        self.refs = [
            [mine, theirs] if index == 0 else [theirs, mine]
            for mine, theirs in zip(lines, other, strict=True)
        ]

    def problems(self) -> list[tuple[str, str]]:
        texts = self.texts()
        return answer_problems(texts.title, texts.answer or {}, list(texts.refs))


def too_long(part_lang: str, text: str) -> int:
    """The limit a typed text breaks (0: none); references count line by line."""
    part = part_lang.partition(":")[0]
    limit = LIMITS[part]
    if part == "refs":
        return limit if any(len(line.strip()) > limit for line in text.splitlines()) else 0
    return limit if len(text.strip()) > limit else 0


def load_all(data: dict[str, Any]) -> dict[str, Draft]:
    return {key: Draft.load(raw) for key, raw in (data.get("faq_drafts") or {}).items()}


def store_all(drafts: dict[str, Draft]) -> dict[str, Any]:
    kept = list(drafts.items())[-KEEP:]
    return {"faq_drafts": {key: draft.dump() for key, draft in kept}}
