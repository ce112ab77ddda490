"""`python -m bot db backup FILE`: a consistent copy of the SQLite database while the bot
runs (SQLite's online backup API: pages are copied in steps, writers are not blocked for
the whole copy, and the copy is of one moment). PostgreSQL has pg_dump for that."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.storage.db import normalise_url


class BackupError(Exception):
    """One line for the operator."""


def sqlite_path(database_url: str) -> Path:
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            "DATABASE_URL is PostgreSQL: back it up with pg_dump, e.g. "
            "pg_dump --format=custom --file=qorgau.dump 'postgresql://user@host/db'"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL names no database file")
    return Path(url.database)


def backup(database_url: str, target: Path, *, overwrite: bool = False) -> int:
    """Copy the database to `target` (written beside it, then renamed: a half-written file
    never has the target's name). Returns its size in bytes."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists; choose another name or pass --force")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot replace the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=1024)  # steps of 1,024 pages: writers get turns between
            # One self-contained file (the source's WAL mode would come with its pages).
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA integrity_check").fetchone()
        finally:
            dst.close()
            src.close()
        if not check or check[0] != "ok":
            raise BackupError(f"the copy failed its integrity check: {check}")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from None
    finally:
        for leftover in (partial, f"{partial}-wal", f"{partial}-shm", f"{partial}-journal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return target.stat().st_size
