"""FAQ tree: loading the lawyers' YAML files and validating them.

Pure Python, no aiogram: the bot, the CLI and the tests share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.topics import TOPICS
from bot.yaml_files import read_yaml

LANGS = ("kk", "ru")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_ID_BYTES = 40
MAX_TITLE = 60
MAX_ANSWER = 3000
MAX_REF = 200
# Answers are plain text: the bot escapes them, so a tag would reach members as typed.
TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?>")
# Longest callback data the bot builds around a node id ("faq:<action>:<id>", and
# "hit:<action>:<id>:<search id of six hex digits>" in search results); Telegram allows 64.
CALLBACK_OVERHEAD = max(
    *(len(f"faq:{a}:") for a in ("open", "hit", "yes", "no", "nos")),
    *(len(f"hit:{a}::123456") for a in ("open", "nos")),
)
CONTENT_DIR = Path(__file__).parent / "content"
NODE_KEYS = frozenset({"id", "title", "children", "answer", "keywords", "refs", "reviewed"})


@dataclass(frozen=True)
class Ref:
    kk: str
    ru: str

    def text(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.kk


@dataclass(eq=False)  # identity: a loaded node is one thing (and can key caches)
class Node:
    id: str
    title: dict[str, str]
    topic: str
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    answer: dict[str, str] | None = None
    keywords: dict[str, list[str]] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)
    # The live content's bookkeeping (bot/storage/faq.py): the published version, and the
    # lawyer who signed exactly that version off, if anyone did.
    version: int = 0
    signed_by: str | None = None
    signed_at: datetime | None = None

    @property
    def is_answer(self) -> bool:
        return self.answer is not None

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["kk"]

    def answer_in(self, lang: str) -> str:
        assert self.answer is not None
        return self.answer.get(lang) or self.answer["kk"]

    def path(self) -> list[Node]:
        nodes: list[Node] = []
        node: Node | None = self
        while node is not None:
            nodes.append(node)
            node = node.parent
        return list(reversed(nodes))


def sign_off_valid_until(signed_at: datetime) -> datetime:
    """A sign-off lasts 12 months (29 February signs until 28 February)."""
    try:
        return signed_at.replace(year=signed_at.year + 1)
    except ValueError:
        return signed_at.replace(year=signed_at.year + 1, day=28)


def signed_now(node: Node, now: datetime | None = None) -> bool:
    """A lawyer signed the published version off less than 12 months ago."""
    if node.signed_at is None or not node.signed_by:
        return False
    return (now or datetime.now(UTC)) < sign_off_valid_until(node.signed_at)


def to_review(faq: Faq, now: datetime) -> tuple[list[Node], list[Node]]:
    """Answers never signed off, and answers whose sign-off is older than 12 months."""
    never = [n for n in faq.answers if n.signed_at is None]
    expired = [n for n in faq.answers if n.signed_at is not None and not signed_now(n, now)]
    return never, expired


def answer_problems(
    title: dict[str, str], answer: dict[str, str], refs: list[Ref]
) -> list[tuple[str, str]]:
    """`faq check`'s rules for one answer, as (rule, language) pairs ("" for both): what an
    edit in the bot is held to before it is published."""
    found: list[tuple[str, str]] = []
    for lang in LANGS:
        if not title.get(lang, "").strip():
            found.append(("title-missing", lang))
        elif len(title[lang].strip()) > MAX_TITLE:
            found.append(("title-too-long", lang))
        if not answer.get(lang, "").strip():
            found.append(("answer-missing", lang))
        elif len(answer[lang].strip()) > MAX_ANSWER:
            found.append(("answer-too-long", lang))
        if any(TAG_RE.search(text) for text in (title.get(lang, ""), answer.get(lang, ""))):
            found.append(("markup", lang))
    if not refs:
        found.append(("refs-missing", ""))
    for ref in refs:
        for lang in LANGS:
            text = ref.text(lang).strip()
            if not text:
                found.append(("ref-missing", lang))
            elif len(text) > MAX_REF:
                found.append(("ref-too-long", lang))
    return found


class FaqError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(eq=False)
class Faq:
    topics: list[Node]
    nodes: dict[str, Node]

    @property
    def answers(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.is_answer]

    def get(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)


def load_faq(directory: Path = CONTENT_DIR) -> Faq:
    """Load and validate; raises FaqError naming every problem found."""
    faq, problems = check_faq(directory)
    if problems:
        raise FaqError(problems)
    return faq


def check_faq(directory: Path = CONTENT_DIR) -> tuple[Faq, list[str]]:
    problems: list[str] = []
    nodes: dict[str, Node] = {}
    topics: list[Node] = []
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    seen_topics: set[str] = set()
    for path in files:
        where = path.name
        try:
            raw = read_yaml(path)
        except yaml.YAMLError as exc:
            problems.append(f"{where}: not valid YAML: {exc}".replace("\n", " "))
            continue
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping with id, title and children")
            continue
        topic_id = str(raw.get("id", ""))
        if topic_id not in TOPICS:
            problems.append(f"{where}: top-level id {topic_id!r} is not one of the fixed topics")
            continue
        if path.stem != topic_id:
            problems.append(f"{where}: file name must be {topic_id}.yaml")
        if topic_id in seen_topics:
            problems.append(f"{where}: topic {topic_id!r} defined twice")
            continue
        seen_topics.add(topic_id)
        node = _build(raw, topic_id, None, where, nodes, problems)
        if node is not None:
            if node.is_answer:
                problems.append(f"{where}: topic {topic_id!r} must have children, not an answer")
            topics.append(node)
    for missing in [t for t in TOPICS if t not in seen_topics]:
        problems.append(f"{missing}.yaml: topic {missing!r} has no file")
    order = list(TOPICS)
    topics.sort(key=lambda n: order.index(n.id))
    return Faq(topics, nodes), problems


def _texts(raw: Any, what: str, where: str, problems: list[str], limit: int) -> dict[str, str]:
    out: dict[str, str] = {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: {what} must have kk and ru")
        return {"kk": str(raw or ""), "ru": str(raw or "")}
    extra = sorted(str(k) for k in raw if k not in LANGS)
    if extra:
        # e.g. an unquoted comma in {kk: A, B, ru: C} makes "B" a key of its own
        problems.append(f"{where}: {what} has unknown keys {extra} (quote texts with commas)")
    for lang in LANGS:
        value = raw.get(lang)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: {what} has no {lang} text")
            value = ""
        value = value.strip()
        if len(value) > limit:
            problems.append(f"{where}: {what} in {lang} is {len(value)} characters (limit {limit})")
        out[lang] = value
    return out


def _build(
    raw: dict[str, Any],
    topic: str,
    parent: Node | None,
    file: str,
    nodes: dict[str, Node],
    problems: list[str],
) -> Node | None:
    node_id = str(raw.get("id", ""))
    where = f"{file}: {node_id or '(no id)'}"
    unknown = sorted(str(k) for k in raw if k not in NODE_KEYS)
    if unknown:
        problems.append(f"{where}: unknown keys {unknown}")
    if not ID_RE.match(node_id):
        problems.append(f"{where}: id must be lowercase letters, digits and '-'")
    if len(node_id.encode()) > MAX_ID_BYTES or len(node_id.encode()) + CALLBACK_OVERHEAD > 64:
        problems.append(f"{where}: id longer than {MAX_ID_BYTES} bytes (button data limit 64)")
    if node_id in nodes:
        problems.append(f"{where}: duplicate id (also in topic {nodes[node_id].topic!r})")
    node = Node(
        id=node_id,
        title=_texts(raw.get("title"), "title", where, problems, MAX_TITLE),
        topic=topic,
        parent=parent,
    )
    if node_id and node_id not in nodes:
        nodes[node_id] = node
    has_children = "children" in raw
    has_answer = "answer" in raw
    if has_children == has_answer:
        problems.append(f"{where}: a node needs either children or an answer (not both)")
        return node
    if has_children:
        children = raw.get("children")
        if not isinstance(children, list) or not children:
            problems.append(f"{where}: children must be a non-empty list")
            return node
        for child in children:
            if not isinstance(child, dict):
                problems.append(f"{where}: each child must be a mapping")
                continue
            built = _build(child, topic, node, file, nodes, problems)
            if built is not None:
                node.children.append(built)
        return node
    node.answer = _texts(raw.get("answer"), "answer", where, problems, MAX_ANSWER)
    for lang in LANGS:
        if TAG_RE.search(node.answer[lang]) or TAG_RE.search(node.title[lang]):
            problems.append(f"{where}: {lang} text has markup tags (answers are plain text)")
    keywords = raw.get("keywords") or {}
    if keywords:
        if not isinstance(keywords, dict):
            problems.append(f"{where}: keywords must have kk and ru lists")
        else:
            for lang in LANGS:
                words = keywords.get(lang)
                if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                    problems.append(f"{where}: keywords have no {lang} list")
                    words = []
                node.keywords[lang] = [str(w) for w in words]
    refs = raw.get("refs")
    if not isinstance(refs, list) or not refs:
        problems.append(f"{where}: an answer needs at least one article reference (refs)")
    else:
        for i, ref in enumerate(refs, 1):
            texts = _texts(ref, f"reference {i}", where, problems, MAX_REF)
            node.refs.append(Ref(texts["kk"], texts["ru"]))
    if "reviewed" in raw:
        # A review is a lawyer's sign-off, never a date written into the content.
        problems.append(f"{where}: content carries no review date (remove 'reviewed')")
    return node
