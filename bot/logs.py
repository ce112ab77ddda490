"""The bot's log never carries a member's words or a database's values.

An exception's message is where they hide: a database error names the values of its
statement (PostgreSQL's DETAIL "Key (telegram_id)=(…) already exists" or "Failing row
contains (…)", a trigger's own message), a pydantic error quotes the update it could not
read. So the log keeps of an exception what says where it happened: its type, its frames
(module:line function) and the types of the exceptions chained to it. Only exceptions
whose messages are known to hold no one's data keep them (a refused connection, Telegram's
error descriptions), because operators need those reasons.

`configure` sets up the process's log (`python -m bot run`); `describe`, `frames` and
`where` are for code that logs an exception itself (bot/handlers/errors.py).
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import TextIO

from aiogram.exceptions import TelegramAPIError

from bot.compat import handlers as handler_calls

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Messages that say what failed, never whose data: connections and files (OSError,
# TimeoutError), Telegram's descriptions of a refused request.
SAFE_MESSAGES: tuple[type[BaseException], ...] = (OSError, TelegramAPIError)
HEADER = "Traceback (most recent call last; exception messages are not logged):"


def type_name(exc: BaseException) -> str:
    kind = type(exc)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def describe(exc: BaseException) -> str:
    """The exception's type; with its message only when that cannot hold anyone's data."""
    # A database driver's errors may subclass OSError too; their messages are not safe.
    if isinstance(exc, SAFE_MESSAGES) and not _from_a_database(exc):
        return f"{type_name(exc)}: {exc}"
    return type_name(exc)


def _from_a_database(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("sqlalchemy", "asyncpg", "sqlite3", "aiosqlite"))


def _frames_of(tb: TracebackType | None) -> list[tuple[str, int, str]]:
    out = []
    while tb is not None:
        frame = tb.tb_frame
        module = str(frame.f_globals.get("__name__") or frame.f_code.co_filename)
        out.append((module, tb.tb_lineno, frame.f_code.co_qualname))
        tb = tb.tb_next
    return out


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, then what caused it (explicitly or while handling), by type only."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return seen


def frames(exc: BaseException) -> str:
    """A traceback of frames and exception types, no messages and no source lines."""
    lines = [HEADER]
    lines += [
        f"  {module}:{line} in {name}" for module, line, name in _frames_of(exc.__traceback__)
    ]
    chain = _chain(exc)
    lines.append(describe(chain[0]))
    lines += [f"  caused by {describe(cause)}" for cause in chain[1:]]
    return "\n".join(lines)


# The engine's hooks (bot/storage/db.py) run inside every statement: where a database
# error was raised is the bot's code that ran the statement.
PLUMBING = ("bot.storage.db",)
# aiogram calls every handler, and the update's own dispatch, through this module (an
# internal of aiogram: bot/compat/handlers.py checks it at start).
AIOGRAM_HANDLER_CALL = handler_calls.HANDLER_CALL_MODULE


def where(exc: BaseException) -> tuple[str, str]:
    """The handler the exception came from (the bot's first frame inside aiogram's last
    handler call; "-" when it came from a middleware) and the bot's own frame nearest to
    where it was raised, each as module:function."""
    frames = _frames_of(exc.__traceback__)
    calls = [i for i, (module, _, _) in enumerate(frames) if module == AIOGRAM_HANDLER_CALL]
    if not handler_calls.PATCH.on:  # aiogram calls handlers elsewhere: name none, not a wrong one
        calls = []
    handlers = [f for f in frames[calls[-1] + 1 :] if _ours(f[0])] if calls else []
    ours = [f for f in frames if _ours(f[0])]
    handler = f"{handlers[0][0]}:{handlers[0][2]}" if handlers else "-"
    raised = f"{ours[-1][0]}:{ours[-1][2]}" if ours else "-"
    return handler, raised


def _ours(module: str) -> bool:
    return module.startswith("bot.") and module not in PLUMBING


class PrivateFormatter(logging.Formatter):
    """Formats every record of the process's log, whoever logged it (aiogram prints an
    escaped exception with its message; aiohttp logs a request's error with its traceback):
    exceptions passed as arguments are described, tracebacks are frames only."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)  # other handlers see the original
        record.exc_text = None  # a traceback another formatter cached may hold messages
        if isinstance(record.msg, BaseException):
            record.msg = describe(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                describe(arg) if isinstance(arg, BaseException) else arg for arg in record.args
            )
        return super().format(record)

    def formatException(
        self,
        ei: tuple[type[BaseException], BaseException, TracebackType | None]
        | tuple[None, None, None],
    ) -> str:
        return frames(ei[1]) if ei[1] is not None else ""


def configure(level: str, stream: TextIO | None = None) -> logging.Handler:
    """The process's log: one stream (standard error), every record through
    PrivateFormatter. Returns the handler (tests remove it again)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(PrivateFormatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    if root.level > logging.DEBUG:
        # Two lines per job run (the lease every few seconds) would drown the bot's own log.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    return handler
