"""`python -m bot db backup FILE`: an online copy of the SQLite database; PostgreSQL is
pointed to pg_dump."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot.storage.backup import BackupError, backup_into
from bot.storage.db import create_engine
from bot.storage.migrate import upgrade
from bot.storage.models import Member
from tests.processes import python


def _cli(*args: str, database_url: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, **env_extra}
    env.pop("BOT_TOKEN", None)  # the tools need none
    return python("-m", "bot", *args, env=env)


async def test_backup_copies_the_database_while_it_is_open(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    engine = create_engine(f"sqlite:///{db}")
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(insert(Member).values(telegram_id=42, language="ru"))
    async with engine.connect() as conn:  # the bot holds the database open meanwhile
        await conn.exec_driver_sql("SELECT 1")
        done = _cli(
            "db", "backup", str(tmp_path / "copies" / "b.db"), database_url=f"sqlite:///{db}"
        )
    await engine.dispose()
    assert done.returncode == 0, done.stderr
    assert "backup written" in done.stdout
    with sqlite3.connect(tmp_path / "copies" / "b.db") as copy:
        assert copy.execute("SELECT telegram_id, language FROM member").fetchall() == [(42, "ru")]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [p.name for p in (tmp_path / "copies").iterdir()] == ["b.db"]  # no partial file

    again = _cli("db", "backup", str(tmp_path / "copies" / "b.db"), database_url=f"sqlite:///{db}")
    assert again.returncode == 2 and "exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    forced = _cli(
        "db", "backup", "--force", str(tmp_path / "copies" / "b.db"), database_url=f"sqlite:///{db}"
    )
    assert forced.returncode == 0, forced.stderr


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    done = _cli(
        "db", "backup", str(tmp_path / "b.dump"), database_url="postgresql://u@127.0.0.1:1/x"
    )
    assert done.returncode == 2
    assert "pg_dump" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.dump").exists()


def test_backup_of_a_missing_database_fails_in_one_line(tmp_path: Path) -> None:
    done = _cli(
        "db", "backup", str(tmp_path / "b.db"), database_url=f"sqlite:///{tmp_path / 'none.db'}"
    )
    assert done.returncode == 1 and "no database" in done.stderr
    assert "Traceback" not in done.stderr


async def _database(tmp_path: Path) -> str:
    db = tmp_path / "qorgau.db"
    engine = create_engine(f"sqlite:///{db}")
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(insert(Member).values(telegram_id=43, language="kk"))
    await engine.dispose()
    return f"sqlite:///{db}"


async def test_backup_into_a_directory_keeps_the_newest_backup_keep_copies(
    tmp_path: Path,
) -> None:
    url = await _database(tmp_path)
    copies = tmp_path / "copies"
    copies.mkdir()
    older = [f"qorgau-2026120{day}T033000Z.db" for day in range(1, 5)]
    others = [
        "qorgau-manual.db",  # named by a person
        "other-20261201T033000Z.db",  # another database's copies
        "qorgau-20261201T033000Z.db.gz",
        "notes.txt",
    ]
    for name in older + others:
        (copies / name).write_bytes(b"old")
    (copies / "qorgau-20261130T033000Z.db").mkdir()  # not a file: left alone

    done = _cli("db", "backup", f"{copies}/", database_url=url, BACKUP_KEEP="3")
    assert done.returncode == 0, done.stderr
    assert "older copies removed: 2" in done.stdout
    (copy,) = [p for p in copies.iterdir() if p.is_file() and p.name not in older + others]
    assert re.fullmatch(r"qorgau-\d{8}T\d{6}Z\.db", copy.name)
    assert f"backup written: {copy}" in done.stdout
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT telegram_id FROM member").fetchall() == [(43,)]
    left = {p.name for p in copies.iterdir()}
    assert left == {copy.name, *older[2:], *others, "qorgau-20261130T033000Z.db"}

    again = _cli("db", "backup", str(copies), database_url=url)  # existing, no slash: 7 kept
    assert again.returncode == 0 and "older copies removed: 0" in again.stdout


async def test_backup_into_never_removes_the_new_copy(tmp_path: Path) -> None:
    url = await _database(tmp_path)
    ahead = tmp_path / "qorgau-29990101T000000Z.db"  # a copy from a clock set wrong
    ahead.write_bytes(b"x")
    done = backup_into(url, tmp_path, keep=1, now=datetime(2026, 12, 3, 3, 30, tzinfo=UTC))
    assert done.copy == tmp_path / "qorgau-20261203T033000Z.db" and done.copy.exists()
    assert done.removed == [ahead] and not ahead.exists()
    with pytest.raises(BackupError):
        backup_into(url, tmp_path, keep=0)


def test_backup_help_says_how_copies_are_kept() -> None:
    done = python("-m", "bot", "db", "backup", "--help")
    assert done.returncode == 0
    assert "BACKUP_KEEP" in done.stdout and "directory" in done.stdout
