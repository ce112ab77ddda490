"""`python -m bot db backup FILE`: a consistent copy of the SQLite database while the bot
runs (SQLite's online backup API: pages are copied in steps, writers are not blocked for
the whole copy, and the copy is of one moment). PostgreSQL has pg_dump for that.

Given a directory, the copy is named after the database and the moment (UTC), e.g.
`qorgau-20261203T033000Z.db`, and only the newest BACKUP_KEEP copies of that name are kept
(a backup is personal data too: law 94-V asks to keep no more than needed). Nothing else
in the directory is touched.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.storage.db import normalise_url

STAMP = "%Y%m%dT%H%M%SZ"  # sorts as it happened: fixed width, UTC


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


@dataclass
class Rotated:
    copy: Path
    size: int
    removed: list[Path] = field(default_factory=list)


def _copy_name(source: Path, moment: datetime) -> str:
    return f"{source.stem}-{moment.astimezone(UTC).strftime(STAMP)}{source.suffix or '.db'}"


def dated_copies(directory: Path, source: Path) -> list[Path]:
    """The copies of `source` this command made in `directory`, oldest first."""
    name = re.compile(re.escape(source.stem) + r"-\d{8}T\d{6}Z" + re.escape(source.suffix or ".db"))
    return sorted(
        (path for path in directory.iterdir() if name.fullmatch(path.name) and path.is_file()),
        key=lambda path: path.name,
    )


def backup_into(
    database_url: str,
    directory: Path,
    *,
    keep: int,
    now: datetime | None = None,
    overwrite: bool = False,
) -> Rotated:
    """A dated copy in `directory`, then this database's dated copies beyond the newest
    `keep` (the new one counted) removed. The new copy is never removed, even if a clock
    set back makes older copies look newer."""
    if keep < 1:
        raise BackupError("BACKUP_KEEP must be at least 1")
    source = sqlite_path(database_url)
    target = directory / _copy_name(source, now or datetime.now(UTC))
    if now is None and target.exists() and not overwrite:
        # Two backups within one second (by hand right after the timer's): the next
        # second's name, rather than refusing the second one.
        time.sleep(1.0 - datetime.now(UTC).microsecond / 1e6)
        target = directory / _copy_name(source, datetime.now(UTC))
    size = backup(database_url, target, overwrite=overwrite)
    others = [path for path in dated_copies(directory, source) if path != target]
    stale = others[: max(0, len(others) - (keep - 1))]
    for path in stale:
        path.unlink(missing_ok=True)
    return Rotated(target, size, stale)
