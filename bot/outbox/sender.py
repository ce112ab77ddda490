"""Sending the outbox: the handler's own first try (`Outbox.deliver`) and the background
sender of every bot process (`Outbox.run`).

Each try: the message is marked "sending" (with a lease), sent, and its result recorded.
- sent: the Telegram message id is kept (a reply to it belongs to the message's appeal);
- 429: every try of this process waits `retry_after`, the message is tried again then;
- 5xx, network errors, timeouts: tried again with growing pauses, for `give_up_after`;
- 403, "chat not found", an erased member: blocked, never tried again;
- any other 400: failed with Telegram's reason.
When a message with a writer ends blocked or failed in the background, the writer is told
(in their language, through the outbox too). The parameters of a finished message are
erased: the words are kept in the appeal, not twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import (
    CloseForumTopic,
    CopyMessage,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    ReopenForumTopic,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.outbox.texts import undelivered_notice
from bot.storage import outbox as store
from bot.storage.models import OutboxMessage, OutboxStatus, utcnow
from bot.storage.outbox import Letter, Taken, Writer

log = logging.getLogger(__name__)

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    method.__api_method__: method
    for method in (
        SendMessage,
        SendPhoto,
        SendDocument,
        CopyMessage,
        DeleteMessage,
        EditMessageText,
        EditMessageCaption,
        EditMessageReplyMarkup,
        CloseForumTopic,
        ReopenForumTopic,
    )
}
# Supergroups' ids (the staff groups') are below this; an erased member's placeholder,
# minus a row's id, is between it and 0.
SUPERGROUPS = -1_000_000_000_000
# Telegram's 400 descriptions that mean "no such person to write to".
GONE = ("chat not found", "user not found", "user is deactivated", "peer_id_invalid")
# A message that is no longer there to delete or edit: nothing left to do.
ALREADY_GONE = ("message to delete not found", "message can't be deleted", "message to edit")


def letter(method: TelegramMethod[Any]) -> Letter:
    """A Bot API call as the outbox stores it (the bot's defaults, e.g. HTML, apply when
    it is sent)."""
    name = method.__api_method__
    if name not in METHODS:
        raise ValueError(f"the outbox does not send {name}")
    payload = method.model_dump(mode="json", exclude_defaults=True)
    chat_id = payload.pop("chat_id")
    return Letter(name, int(chat_id), payload)


@dataclass(frozen=True)
class OutboxSettings:
    concurrency: int = 8  # chats sent to at once by the background sender
    lease_seconds: float = 90.0  # longer than a try can take (request timeout + records)
    request_timeout: int = 20
    poll_seconds: float = 1.0  # how often the background sender looks without being woken
    head_start_seconds: float = 10.0  # a handler's own first try goes before the sender's
    reclaim_seconds: float = 15.0  # how often dead senders' messages are looked for
    backoff_seconds: tuple[float, ...] = (2, 5, 15, 30, 60, 120, 300, 600)
    give_up_after: timedelta = timedelta(hours=24)


class Result(enum.Enum):
    SENT = "sent"
    QUEUED = "queued"  # saved; the background sender delivers it when Telegram allows
    UNREACHABLE = "unreachable"  # blocked the bot, deleted the account, erased their data
    FAILED = "failed"  # Telegram refused it


@dataclass(frozen=True)
class Delivery:
    result: Result
    reason: str | None = None

    @property
    def sent(self) -> bool:
        return self.result is Result.SENT


@dataclass(frozen=True)
class _Outcome:
    status: OutboxStatus  # SENT, BLOCKED, FAILED, or PENDING (try again)
    telegram_message_id: int | None = None
    error: str | None = None
    retry_after: float | None = None  # PENDING: when; a 429 pauses every try


class Outbox:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        i18n: I18n,
        owner: str,
        settings: OutboxSettings | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.i18n = i18n
        self.owner = owner
        self.settings = settings or OutboxSettings()
        self._wake = asyncio.Event()
        self._paused_until = 0.0  # monotonic; after a 429
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._warned_at = -1e9

    # --- what handlers and jobs use -------------------------------------------------------

    def head_start(self) -> Any:
        """`not_before` for messages whose first try the caller makes itself."""
        return utcnow() + timedelta(seconds=self.settings.head_start_seconds)

    def kick(self) -> None:
        """Something new is waiting: the background sender looks now."""
        self._wake.set()

    async def deliver(self, bot: Bot, rows: Sequence[OutboxMessage]) -> Delivery:
        """The first try of messages the caller has just committed, in order; what cannot
        go now is left to the background sender. Returns what the writer should be told."""
        ids = [row.id for row in rows]
        chats = {row.id: row.chat_id for row in rows}
        if not ids:
            return Delivery(Result.SENT)
        if self._paused():
            await self._release(ids)
            return Delivery(Result.QUEUED)
        failed: str | None = None
        for index, message_id in enumerate(ids):
            taken = await self._take(message_id)
            if taken is None:  # an earlier message to this chat is still waiting
                await self._release(ids[index:])
                return Delivery(Result.QUEUED)
            outcome = await self._try(bot, taken)
            await self._record(taken, outcome, tell_writer=False)
            if outcome.status == OutboxStatus.PENDING:
                await self._release(ids[index + 1 :])
                return Delivery(Result.QUEUED)
            if outcome.status == OutboxStatus.BLOCKED:
                rest = ids[index + 1 :]
                same = [i for i in rest if chats[i] == taken.chat_id]
                await self._give_up(same, OutboxStatus.BLOCKED, outcome.error)
                await self._release([i for i in rest if chats[i] != taken.chat_id])
                return Delivery(Result.UNREACHABLE, outcome.error)
            if outcome.status == OutboxStatus.FAILED:
                failed = outcome.error
        return Delivery(Result.FAILED, failed) if failed else Delivery(Result.SENT)

    async def send_due(self, bot: Bot) -> int:
        """Try what is due now, in this task (a job that has just stored notices); returns
        how many messages were tried. What fails is left to the background sender."""
        tried = 0
        for _round in range(100):  # the background sender does the rest of a flood
            if self._paused():
                break
            async with self.session_factory() as session:
                ids = await store.due(session, utcnow(), self.settings.concurrency)
            if not ids:
                break
            await asyncio.gather(*(self._background_try(bot, i) for i in ids))
            tried += len(ids)
        return tried

    # --- the background sender ------------------------------------------------------------

    def start(self, bot: Bot) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self.run(bot), name="outbox")

    async def stop(self, grace: float = 5.0) -> None:
        """Tries under way finish (up to `grace` seconds), then the sender ends. What is
        left waits in the database for the next start."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self.kick()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self, bot: Bot) -> None:
        next_reclaim = 0.0
        while not self._stopping:
            try:
                if time.monotonic() >= next_reclaim:
                    next_reclaim = time.monotonic() + self.settings.reclaim_seconds
                    await self._reclaim()
                pause = self._paused_until - time.monotonic()
                if pause > 0:
                    await self._sleep(pause)
                    continue
                async with self.session_factory() as session:
                    ids = await store.due(session, utcnow(), self.settings.concurrency)
                if not ids:
                    await self._sleep(self.settings.poll_seconds)
                    continue
                await asyncio.gather(*(self._background_try(bot, i) for i in ids))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: try again, say so once a minute
                if time.monotonic() - self._warned_at > 60:
                    self._warned_at = time.monotonic()
                    log.warning("outbox: sending paused by %s; retrying", type(exc).__name__)
                await self._sleep(self.settings.poll_seconds)

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _background_try(self, bot: Bot, message_id: int) -> None:
        taken = await self._take(message_id)
        if taken is None:
            return
        outcome = await self._try(bot, taken)
        await self._record(taken, outcome, tell_writer=True)

    # --- one try --------------------------------------------------------------------------

    def _paused(self) -> bool:
        return time.monotonic() < self._paused_until

    async def _take(self, message_id: int) -> Taken | None:
        async with self.session_factory() as session:
            taken = await store.take(
                session,
                message_id,
                owner=self.owner,
                now=utcnow(),
                lease=timedelta(seconds=self.settings.lease_seconds),
            )
            await session.commit()
        return taken

    async def _try(self, bot: Bot, taken: Taken) -> _Outcome:
        if SUPERGROUPS < taken.chat_id <= 0:  # an erased member's placeholder
            return _Outcome(OutboxStatus.BLOCKED, error="erased")
        started = time.monotonic()
        try:
            method = METHODS[taken.method].model_validate(
                {**taken.payload, "chat_id": taken.chat_id}
            )
            answer = await bot(method, request_timeout=self.settings.request_timeout)
        except TelegramRetryAfter as exc:
            self._paused_until = max(self._paused_until, time.monotonic() + exc.retry_after)
            return _Outcome(OutboxStatus.PENDING, error="429", retry_after=exc.retry_after)
        except TelegramForbiddenError as exc:
            return _Outcome(OutboxStatus.BLOCKED, error=exc.message)
        except (TelegramBadRequest, TelegramNotFound) as exc:
            text = exc.message.lower()
            if any(words in text for words in GONE):
                return _Outcome(OutboxStatus.BLOCKED, error=exc.message)
            if taken.method != "sendMessage" and any(w in text for w in ALREADY_GONE):
                return _Outcome(OutboxStatus.SENT, error=exc.message)
            return _Outcome(OutboxStatus.FAILED, error=exc.message)
        except Exception as exc:  # 5xx, network, timeout, anything else: later
            log.info(
                "outbox: message %s not sent (%s) after %.1f s; will retry",
                taken.id,
                type(exc).__name__,
                time.monotonic() - started,
            )
            return self._later(taken, type(exc).__name__)
        message_id = answer.message_id if isinstance(answer, Message) else None
        if message_id is None:
            message_id = getattr(answer, "message_id", None)
        return _Outcome(OutboxStatus.SENT, telegram_message_id=message_id)

    def _later(self, taken: Taken, error: str) -> _Outcome:
        if utcnow() - taken.created_at > self.settings.give_up_after:
            return _Outcome(OutboxStatus.FAILED, error="not delivered in time: " + error)
        pauses = self.settings.backoff_seconds
        pause = pauses[min(taken.attempts - 1, len(pauses) - 1)]
        return _Outcome(
            OutboxStatus.PENDING, error=error, retry_after=pause * random.uniform(0.8, 1.2)
        )

    async def _record(self, taken: Taken, outcome: _Outcome, *, tell_writer: bool) -> None:
        now = utcnow()
        notify = False
        async with self.session_factory() as session:
            if outcome.status == OutboxStatus.PENDING:
                await store.retry_later(
                    session,
                    taken.id,
                    not_before=now + timedelta(seconds=outcome.retry_after or 0),
                    error=outcome.error or "",
                )
            else:
                await store.finish(
                    session,
                    taken.id,
                    outcome.status,
                    now=now,
                    telegram_message_id=outcome.telegram_message_id,
                    error=outcome.error,
                )
                notify = (
                    tell_writer
                    and outcome.status in (OutboxStatus.BLOCKED, OutboxStatus.FAILED)
                    and taken.writer_chat_id is not None
                )
                if notify:
                    self._tell_writer(session, taken, outcome.status, now)
            await session.commit()
        metrics.OUTBOX.labels(outcome.status.value).inc()
        if notify:
            self.kick()

    def _tell_writer(
        self, session: AsyncSession, taken: Taken, status: OutboxStatus, now: Any
    ) -> None:
        assert taken.writer_chat_id is not None
        language = taken.writer_language or "kk"
        with self.i18n.context(), self.i18n.use_locale(language):
            text = undelivered_notice(taken.purpose, taken.appeal_id, status.value)
        store.add(
            session,
            [letter(SendMessage(chat_id=taken.writer_chat_id, text=text))],
            purpose="undelivered",
            now=now,
            appeal_id=taken.appeal_id,
        )

    async def _release(self, ids: Sequence[int]) -> None:
        """Messages the caller did not try: the background sender may take them now."""
        if not ids:
            return
        async with self.session_factory() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
                .values(not_before=utcnow())
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        self.kick()

    async def _give_up(self, ids: Sequence[int], status: OutboxStatus, error: str | None) -> None:
        """The rest of a batch to a chat that cannot be reached: it cannot be either."""
        if not ids:
            return
        async with self.session_factory() as session:
            for message_id in ids:
                await store.finish(session, message_id, status, now=utcnow(), error=error)
            await session.commit()

    async def _reclaim(self) -> None:
        async with self.session_factory() as session:
            back = await store.reclaim(session, utcnow())
            await session.commit()
        if back:
            log.warning("outbox: %d messages of a stopped sender are tried again", back)


__all__ = ["Delivery", "Outbox", "OutboxSettings", "Result", "Writer", "letter"]
