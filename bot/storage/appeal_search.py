"""The words `/find` searches in each appeal, kept in step with the appeal's texts.

`appeal_search.body` holds the distinct folded words (lower case, Kazakh letters folded to
their Russian look-alikes as members often type them: bot/faq/search.py `fold`) of the
appeal's first text, every message and note of its thread, and its member's name and
username. A query matches an appeal when every one of its words starts one of those words
(its stem: `stem`), so "отпускные" finds "отпуска" and "жұмыс" finds "жумыстан".

Kept in step:
- by `follow_texts`, an `after_flush` listener of the app's sessions (bot/storage/db.py
  attaches it beside the report's tally): a new appeal, a changed first text, a new or
  changed message, a member's changed name or username rewrite the appeals' rows in the
  same transaction;
- by `reindex`, called where texts are erased with bulk statements the listener cannot see
  (bot/services/privacy.py: /forget and the retention clock), so erased words cannot be
  found any more;
- by `ensure` at start, for appeals written without the listener (before the table existed,
  or by `demo-data`'s bulk inserts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, inspect, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from bot.faq.search import TOKEN_RE, fold
from bot.storage.models import Appeal, AppealMessage, AppealSearch, Member

BATCH = 500  # appeals rewritten per statement


def words(*texts: str | None) -> list[str]:
    """The distinct folded words of `texts`, in the order first seen."""
    seen: dict[str, None] = {}
    for value in texts:
        for word in TOKEN_RE.findall(fold(value or "")):
            seen.setdefault(word, None)
    return list(seen)


def stem(word: str) -> str:
    """The start of a folded word that its other forms share, roughly: short words whole,
    longer ones without their last two letters, at most six letters (Russian endings are
    short, Kazakh suffixes longer; both come after the stem)."""
    if len(word) <= 4 or word.isdigit():
        return word
    return word[: min(6, max(4, len(word) - 2))]


def query_stems(query: str) -> list[str]:
    return [stem(word) for word in words(query)]


def matching(dialect: str, stems: list[str]) -> ColumnElement[bool]:
    """Appeals whose words start with every stem (numbers match whole words)."""
    if dialect == "postgresql":
        terms = " & ".join(s if s.isdigit() else f"{s}:*" for s in stems)
        # The expression of the GIN index the migration made, so that the index is used.
        found = select(AppealSearch.appeal_id).where(
            text(
                "to_tsvector('simple'::regconfig, appeal_search.body)"
                " @@ to_tsquery('simple'::regconfig, :terms)"
            ).bindparams(terms=terms)
        )
        return Appeal.id.in_(found)
    terms = " AND ".join(f'"{s}"' if s.isdigit() else f'"{s}"*' for s in stems)
    found_rows = text("SELECT rowid FROM appeal_fts WHERE appeal_fts MATCH :terms").bindparams(
        terms=terms
    )
    return Appeal.id.in_(found_rows.columns(literal_column("rowid")))


def reindex_sync(connection: Connection, appeal_ids: Iterable[int]) -> int:
    """Rewrite the rows of these appeals from their texts as stored now; how many."""
    ids = sorted(set(appeal_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        texts: dict[int, list[str | None]] = defaultdict(list)
        for appeal_id, first, name, username in connection.execute(
            select(Appeal.id, Appeal.text, Member.full_name, Member.username)
            .join(Member, Member.id == Appeal.member_id)
            .where(Appeal.id.in_(batch))
        ):
            texts[appeal_id] += [first, name, username]
        for appeal_id, said in connection.execute(
            select(AppealMessage.appeal_id, AppealMessage.text)
            .where(AppealMessage.appeal_id.in_(batch), AppealMessage.text.is_not(None))
            .order_by(AppealMessage.id)
        ):
            texts[appeal_id].append(said)
        rows = [{"appeal_id": i, "body": " ".join(words(*texts[i]))} for i in texts]
        if rows:
            connection.execute(_upsert(connection.dialect.name), rows)
            written += len(rows)
    return written


async def reindex(session: AsyncSession, appeal_ids: Iterable[int]) -> int:
    ids = list(appeal_ids)
    if not ids:
        return 0
    return await session.run_sync(lambda sync: reindex_sync(sync.connection(), ids))


async def ensure(session: AsyncSession) -> int:
    """Write the rows of appeals that have none (in the caller's transaction); how many."""
    missing = await session.scalars(
        select(Appeal.id).where(
            ~exists().where(AppealSearch.appeal_id == Appeal.id).correlate(Appeal)
        )
    )
    return await reindex(session, missing.all())


def follow_texts() -> Callable[[Session, UOWTransaction], None]:
    """An `after_flush` listener rewriting the rows of the appeals whose words changed."""

    def follow(session: Session, _flush: UOWTransaction) -> None:
        appeal_ids: set[int] = set()
        member_ids: set[int] = set()
        for obj in session.new:
            if isinstance(obj, Appeal):
                appeal_ids.add(obj.id)
            elif isinstance(obj, AppealMessage):
                appeal_ids.add(obj.appeal_id)
        for obj in session.dirty:
            if isinstance(obj, Appeal) and _changed(obj, "text"):
                appeal_ids.add(obj.id)
            elif isinstance(obj, AppealMessage) and _changed(obj, "text", "appeal_id"):
                appeal_ids.add(obj.appeal_id)
                appeal_ids.update(_previous(obj, "appeal_id"))
            elif isinstance(obj, Member) and _changed(obj, "full_name", "username"):
                member_ids.add(obj.id)
        for obj in session.deleted:
            if isinstance(obj, AppealMessage):
                appeal_ids.add(obj.appeal_id)
        if not appeal_ids and not member_ids:
            return
        connection = session.connection()
        if member_ids:
            appeal_ids.update(
                connection.scalars(select(Appeal.id).where(Appeal.member_id.in_(member_ids)))
            )
        reindex_sync(connection, {i for i in appeal_ids if i is not None})

    return follow


def _changed(obj: Any, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _previous(obj: Any, name: str) -> list[int]:
    return [value for value in inspect(obj).attrs[name].history.deleted if value is not None]


def _upsert(dialect: str) -> Any:
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(AppealSearch)
    return statement.on_conflict_do_update(
        index_elements=["appeal_id"], set_={"body": statement.excluded.body}
    )
