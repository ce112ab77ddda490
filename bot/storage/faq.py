"""The live FAQ in the database: entries, their versions, sign-offs, imports.

The repository's YAML is the initial content (`seed`); from then on the database holds
what members read. Every publish is a new version (who, when, which texts changed); a
sign-off names a lawyer and belongs to exactly one version, so any later edit leaves the
answer unsigned. `revision` counts changes: every instance reloads when it moves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.faq.content import LANGS, Faq, Node, Ref
from bot.storage.models import BotSetting, FaqEntry, FaqOrigin, FaqVersion, utcnow
from bot.topics import TOPICS

REVISION_KEY = "faq_revision"
SEEDED_KEY = "faq_seeded"


@dataclass(frozen=True)
class Texts:
    """What a version holds: compared as a whole to tell an edit from no change."""

    title: dict[str, str]
    answer: dict[str, str] | None = None
    keywords: dict[str, list[str]] = field(default_factory=dict)
    refs: tuple[Ref, ...] = ()

    @classmethod
    def of_node(cls, node: Node) -> Texts:
        return cls(
            title=dict(node.title),
            answer=dict(node.answer) if node.answer is not None else None,
            keywords={lang: list(words) for lang, words in node.keywords.items()},
            refs=tuple(node.refs),
        )

    @classmethod
    def of_version(cls, version: FaqVersion) -> Texts:
        return cls(
            title=dict(version.title),
            answer=dict(version.answer) if version.answer is not None else None,
            keywords={lang: list(words) for lang, words in (version.keywords or {}).items()},
            refs=tuple(Ref(str(kk), str(ru)) for kk, ru in version.refs or ()),
        )

    def changes_from(self, before: Texts | None) -> list[str]:
        """Which texts differ: "title:kk", "answer:ru", "refs", "keywords"."""
        if before is None:
            return ["new"]
        changed = [
            f"{what}:{lang}"
            for what in ("title", "answer")
            for lang in LANGS
            if (getattr(self, what) or {}).get(lang) != (getattr(before, what) or {}).get(lang)
        ]
        if self.refs != before.refs:
            changed.append("refs")
        if self.keywords != before.keywords:
            changed.append("keywords")
        return changed


@dataclass(frozen=True)
class Author:
    staff_id: int | None
    name: str | None


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


async def revision(session: AsyncSession) -> int:
    value = await session.scalar(select(BotSetting.value).where(BotSetting.key == REVISION_KEY))
    return int(value) if value and value.isdigit() else 0


async def bump_revision(session: AsyncSession) -> None:
    row = await session.get(BotSetting, REVISION_KEY, with_for_update=True)
    if row is None:
        session.add(BotSetting(key=REVISION_KEY, value="1"))
    else:
        row.value = str(int(row.value) + 1 if row.value.isdigit() else 1)
    await session.flush()


async def has_content(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(FaqEntry)))


async def claim_seeding(session: AsyncSession) -> None:
    """The first start's right to seed: one row, inserted before anything is read, so of
    two instances started together on an empty database one seeds and the other waits
    for its commit and then meets the duplicate key (IntegrityError): it reads instead."""
    session.add(BotSetting(key=SEEDED_KEY, value=utcnow().isoformat(timespec="seconds")))
    await session.flush()


async def load_tree(session: AsyncSession) -> Faq:
    """The live tree: entries not retired, each with its published version's texts."""
    rows = (
        await session.execute(
            select(FaqEntry, FaqVersion)
            .join(
                FaqVersion,
                (FaqVersion.entry_id == FaqEntry.id) & (FaqVersion.number == FaqEntry.version),
            )
            .where(FaqEntry.retired_at.is_(None))
            .order_by(FaqEntry.position, FaqEntry.id)
        )
    ).all()
    nodes: dict[str, Node] = {}
    parents: dict[str, str | None] = {}
    for entry, version in rows:
        texts = Texts.of_version(version)
        nodes[entry.id] = Node(
            id=entry.id,
            title=texts.title,
            topic=entry.topic,
            answer=texts.answer if entry.is_answer else None,
            keywords=texts.keywords,
            refs=list(texts.refs),
            version=version.number,
            signed_by=version.signed_by_name if version.signed_at else None,
            signed_at=version.signed_at,
        )
        parents[entry.id] = entry.parent_id
    topics: list[Node] = []
    for node_id, node in nodes.items():
        parent = nodes.get(parents[node_id] or "")
        if parent is not None:
            node.parent = parent
            parent.children.append(node)
        elif parents[node_id] is None and node_id in TOPICS:
            topics.append(node)
    # A branch whose children all went (retired) is not shown: nothing to choose in it.
    reachable: dict[str, Node] = {}

    def keep(node: Node) -> bool:
        if not node.is_answer:
            node.children = [c for c in node.children if keep(c)]
            if not node.children and node.parent is not None:
                return False
        reachable[node.id] = node
        return True

    order = list(TOPICS)
    topics = sorted((t for t in topics if keep(t)), key=lambda n: order.index(n.id))
    return Faq(topics, reachable)


def _walk(faq: Faq) -> list[tuple[Node, int]]:
    out: list[tuple[Node, int]] = []

    def visit(node: Node, position: int) -> None:
        out.append((node, position))
        for i, child in enumerate(node.children):
            visit(child, i)

    for i, topic in enumerate(faq.topics):
        visit(topic, i)
    return out


def _version_row(
    entry_id: str,
    number: int,
    texts: Texts,
    author: Author | None,
    now: datetime,
    changes: list[str],
) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "number": number,
        "title": dict(texts.title),
        "answer": dict(texts.answer) if texts.answer is not None else None,
        "keywords": {lang: list(words) for lang, words in texts.keywords.items()},
        "refs": [[ref.kk, ref.ru] for ref in texts.refs],
        "changes": changes,
        "author_staff_id": author.staff_id if author else None,
        "author_name": author.name if author else None,
        "created_at": now,
    }


def _version(
    entry_id: str, number: int, texts: Texts, author: Author | None, changes: list[str]
) -> FaqVersion:
    return FaqVersion(**_version_row(entry_id, number, texts, author, utcnow(), changes))


async def import_faq(
    session: AsyncSession, faq: Faq, author: Author | None = None, *, retire: bool = True
) -> ImportResult:
    """Load a checked tree: new entries created, changed texts published as a new version
    (the earlier ones kept, a sign-off of the earlier text no longer shown), unchanged
    entries untouched with their sign-off; entries the tree no longer has are retired."""
    result = ImportResult()
    entries = {e.id: e for e in (await session.scalars(select(FaqEntry))).all()}
    current = {
        v.entry_id: v
        for v in (
            await session.scalars(
                select(FaqVersion).join(
                    FaqEntry,
                    (FaqVersion.entry_id == FaqEntry.id) & (FaqVersion.number == FaqEntry.version),
                )
            )
        ).all()
    }
    now = utcnow()
    seen: set[str] = set()
    new_entries: list[dict[str, Any]] = []
    new_versions: list[dict[str, Any]] = []
    for node, position in _walk(faq):
        seen.add(node.id)
        texts = Texts.of_node(node)
        parent_id = node.parent.id if node.parent else None
        entry = entries.get(node.id)
        if entry is None:
            # Many at once at the first start: plain inserts, no unit of work per row.
            new_entries.append(
                {
                    "id": node.id,
                    "topic": node.topic,
                    "parent_id": parent_id,
                    "position": position,
                    "is_answer": node.is_answer,
                    "version": 1,
                    "origin": FaqOrigin.REPOSITORY,
                    "created_at": now,
                }
            )
            new_versions.append(_version_row(node.id, 1, texts, author, now, ["new"]))
            result.created.append(node.id)
            continue
        entry.topic, entry.parent_id, entry.position = node.topic, parent_id, position
        entry.is_answer, entry.retired_at = node.is_answer, None
        before = current.get(node.id)
        old = Texts.of_version(before) if before is not None else None
        if old == texts:
            result.unchanged.append(node.id)
            continue
        number = await _next_number(session, node.id)
        session.add(_version(node.id, number, texts, author, texts.changes_from(old)))
        entry.version = number
        result.changed.append(node.id)
    if new_entries:
        await session.execute(insert(FaqEntry), new_entries)
        await session.execute(insert(FaqVersion), new_versions)
    if retire:
        for entry_id, entry in entries.items():
            if entry_id not in seen and entry.retired_at is None:
                entry.retired_at = now
                result.retired.append(entry_id)
    await session.flush()
    await bump_revision(session)
    return result


async def _next_number(session: AsyncSession, entry_id: str) -> int:
    top = await session.scalar(
        select(func.max(FaqVersion.number)).where(FaqVersion.entry_id == entry_id)
    )
    return int(top or 0) + 1


async def publish(
    session: AsyncSession,
    entry_id: str,
    texts: Texts,
    author: Author,
    *,
    restored_from: int | None = None,
) -> FaqVersion | None:
    """A new version of an existing entry, made the published one. None when the texts
    are those already published (nothing to publish, the sign-off stays)."""
    entry = await session.get(FaqEntry, entry_id, with_for_update=True)
    if entry is None or entry.retired_at is not None:
        raise LookupError(entry_id)
    before = await current_version(session, entry_id)
    old = Texts.of_version(before) if before is not None else None
    if old == texts:
        return None
    number = await _next_number(session, entry_id)
    version = _version(entry_id, number, texts, author, texts.changes_from(old))
    version.restored_from = restored_from
    session.add(version)
    entry.version = number
    await session.flush()
    await bump_revision(session)
    return version


async def create_answer(
    session: AsyncSession,
    parent_id: str,
    texts: Texts,
    author: Author,
    *,
    origin: FaqOrigin = FaqOrigin.BOT,
    appeal_id: int | None = None,
) -> FaqEntry:
    """A new answer at the end of a topic or subtopic."""
    parent = await session.get(FaqEntry, parent_id)
    if parent is None or parent.is_answer or parent.retired_at is not None:
        raise LookupError(parent_id)
    last = await session.scalar(
        select(func.max(FaqEntry.position)).where(FaqEntry.parent_id == parent_id)
    )
    entry_id = await _new_id(session, parent.topic)
    entry = FaqEntry(
        id=entry_id,
        topic=parent.topic,
        parent_id=parent_id,
        position=int(last if last is not None else -1) + 1,
        is_answer=True,
        version=1,
        origin=origin,
        origin_appeal_id=appeal_id,
        created_at=utcnow(),
    )
    session.add(entry)
    session.add(_version(entry_id, 1, texts, author, ["new"]))
    await session.flush()
    await bump_revision(session)
    return entry


async def _new_id(session: AsyncSession, topic: str) -> str:
    while True:
        candidate = f"{topic}-{secrets.token_hex(3)}"
        if await session.get(FaqEntry, candidate) is None:
            return candidate


async def current_version(session: AsyncSession, entry_id: str) -> FaqVersion | None:
    return await session.scalar(
        select(FaqVersion)
        .join(FaqEntry, FaqEntry.id == FaqVersion.entry_id)
        .where(FaqVersion.entry_id == entry_id, FaqVersion.number == FaqEntry.version)
    )


async def version(session: AsyncSession, entry_id: str, number: int) -> FaqVersion | None:
    return await session.scalar(
        select(FaqVersion).where(FaqVersion.entry_id == entry_id, FaqVersion.number == number)
    )


async def versions(session: AsyncSession, entry_id: str, limit: int = 10) -> list[FaqVersion]:
    """Newest first."""
    return list(
        (
            await session.scalars(
                select(FaqVersion)
                .where(FaqVersion.entry_id == entry_id)
                .order_by(FaqVersion.number.desc())
                .limit(limit)
            )
        ).all()
    )


async def sign_off(
    session: AsyncSession, entry_id: str, number: int, author: Author, now: datetime
) -> bool:
    """The lawyer signs exactly the version they saw: False when it is no longer the
    published one (someone published meanwhile)."""
    done = await session.execute(
        update(FaqVersion)
        .where(
            FaqVersion.entry_id == entry_id,
            FaqVersion.number == number,
            FaqVersion.number
            == select(FaqEntry.version).where(FaqEntry.id == entry_id).scalar_subquery(),
        )
        .values(signed_by_staff_id=author.staff_id, signed_by_name=author.name, signed_at=now)
    )
    if not getattr(done, "rowcount", 0):
        return False
    await bump_revision(session)
    return True
