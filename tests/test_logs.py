"""No member's words in the log, whatever fails: a database error on an appeal (its message
carries the statement's values) is logged with the exception's type, the handler and the
update; the member gets the apology and their draft is kept."""

from __future__ import annotations

import io
import logging
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.context import Context
from bot.logs import PrivateFormatter, configure, describe, frames, where
from tests.databases import KINDS, database
from tests.driver import Person, texts
from tests.test_faults import APOLOGY
from tests.test_member_flow import onboard
from tests.test_privacy import bot_on

MARKER = "Q7Z3-айлық"  # short: PostgreSQL cuts long values in an error's DETAIL


async def refuse_appeals(kind: str, conn: AsyncConnection) -> None:
    """A constraint every appeal with a text breaks. PostgreSQL quotes the failing row in
    the error's DETAIL; SQLite names only the constraint, but SQLAlchemy's message would
    add the statement's parameters."""
    if kind == "postgres":
        await conn.execute(text("ALTER TABLE appeal ADD CONSTRAINT refuse CHECK (text IS NULL)"))
    else:
        await conn.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON appeal WHEN NEW.text IS NOT NULL "
                "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: refuse'); END"
            )
        )


@pytest.mark.parametrize("kind", KINDS)
async def test_a_database_error_on_an_appeal_keeps_its_text_out_of_the_log(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger that logs at DEBUG by default
    stream = io.StringIO()
    handler = configure("DEBUG", stream)  # and the log as the running bot writes it
    try:
        async with bot_on(kind, tmp_path) as (ctx, person, _recording):
            async with ctx.engine.begin() as conn:
                await refuse_appeals(kind, conn)
            member = person(7001, first_name="Гүлнар")
            await onboard(member, lang="kk")
            await member.send("/ask")
            await member.press("topic:pay")
            await member.send(f"{MARKER}: директор жалақыны ұстап қалды.")
            await member.press("draft:files_done")
            sent = await member.press("draft:send")

            assert ctx.i18n.gettext(APOLOGY, locale="kk") in texts(sent)
            # Nothing is lost: without the constraint the same draft goes through.
            async with ctx.engine.begin() as conn:
                if kind == "postgres":
                    await conn.execute(text("ALTER TABLE appeal DROP CONSTRAINT refuse"))
                else:
                    await conn.execute(text("DROP TRIGGER refuse"))
            assert "№" in texts(await member.press("draft:send"))
    finally:
        logging.getLogger().removeHandler(handler)

    assert caplog.records
    # caplog formats exceptions in full, as a plain logging setup would.
    assert MARKER not in caplog.text
    for record in caplog.records:
        assert MARKER not in record.getMessage(), record.name
        assert MARKER not in str(record.args), record.name
    written = stream.getvalue()
    assert "handler error in update" in written and MARKER not in written

    # What the line does say: the update, the handler, the exception and its cause by type.
    errors = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert len(errors) == 1 and errors[0].levelno == logging.ERROR
    line = errors[0].getMessage()
    assert "sqlalchemy.exc.IntegrityError in bot.handlers.member.appeal:on_send" in line, line
    assert "(callback_query)" in line and "raised in bot.services.appeals:" in line
    assert "  caused by " in line


@pytest.mark.parametrize("kind", KINDS)
async def test_a_database_error_names_no_values(kind: str, tmp_path: Path) -> None:
    """SQLAlchemy's message would list the statement's parameters; the engine hides them."""
    async with database(kind, tmp_path) as engine, engine.connect() as conn:
        await conn.execute(text("CREATE TABLE marked (word VARCHAR(40) PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO marked VALUES (:word)"), {"word": MARKER})
        with pytest.raises(IntegrityError) as caught:
            await conn.execute(text("INSERT INTO marked VALUES (:word)"), {"word": MARKER})
        await conn.rollback()
    assert "INSERT INTO marked" in str(caught.value) and MARKER not in str(caught.value)


def raise_chained() -> None:
    try:
        raise sqlite3.IntegrityError(f"UNIQUE constraint failed: {MARKER}")
    except sqlite3.Error as exc:
        raise IntegrityError("INSERT INTO appeal ...", (MARKER,), exc) from exc


def test_tracebacks_are_frames_and_types_only() -> None:
    try:
        raise_chained()
    except IntegrityError as exc:
        caught = exc
    assert MARKER in str(caught)  # what a plain traceback would print
    shown = frames(caught)
    assert MARKER not in shown
    assert "tests.test_logs:" in shown and "in raise_chained" in shown
    assert shown.splitlines()[-2:] == [
        "sqlalchemy.exc.IntegrityError",
        "  caused by sqlite3.IntegrityError",
    ]
    assert describe(caught) == "sqlalchemy.exc.IntegrityError"
    assert describe(ConnectionRefusedError(111, "Connect call failed")).endswith(
        "Connect call failed"
    )  # a refused connection keeps its reason
    assert where(caught) == ("-", "-")  # not raised in the bot's own code


def test_the_running_bots_log_describes_exceptions_passed_by_anyone() -> None:
    """aiogram logs an escaped exception as "%s: %s" with the exception itself, and any
    library may log a traceback: the process's formatter keeps the messages out."""
    formatter = PrivateFormatter("%(name)s: %(message)s")
    try:
        raise_chained()
    except IntegrityError as exc:
        record = logging.LogRecord(
            "aiogram.event",
            logging.ERROR,
            __file__,
            1,
            "Cause exception while process update id=%d\n%s: %s",
            (42, type(exc).__name__, exc),
            sys.exc_info(),
        )
    plain = logging.Formatter("%(name)s: %(message)s").format(record)
    assert MARKER in plain  # the record as it comes
    shown = formatter.format(record)
    assert MARKER not in shown
    assert "update id=42" in shown and "IntegrityError: sqlalchemy.exc.IntegrityError" in shown
    assert "in raise_chained" in shown
    # A traceback another handler formatted first (and cached on the record) is not reused.
    assert MARKER in (record.exc_text or "")
    assert MARKER not in formatter.format(record)


async def test_an_error_before_any_handler_names_no_handler(
    person: Callable[..., Person],
    ctx: Context,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(MARKER)

    monkeypatch.setattr(ctx.member_directory, "get", broken)
    caplog.set_level(logging.INFO)
    await person(7002).send("/start")
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.handlers.errors"]
    raised = "raised in bot.middlewares.updates:PeopleMiddleware"
    assert f"(message): RuntimeError in -, {raised}" in line
    assert MARKER not in caplog.text
