"""`python -m bot db backup FILE`: an online copy of the SQLite database; PostgreSQL is
pointed to pg_dump."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import insert

from bot.storage.db import create_engine
from bot.storage.migrate import upgrade
from bot.storage.models import Member
from tests.processes import python


def _cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
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
