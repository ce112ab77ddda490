"""Instances tell each other what changed, so their in-process directories stay true.

Members and staff are read through in-process directories (bot/services/members.py,
staff.py). With several instances, a member who changes their language on one must not
keep the old one on another: every change a process makes is published on a Redis channel,
and every other instance drops its copy (the next read goes to the database).

Two races are closed. A change is published before the update that made it lets go of
the member's lock (`SettledChanges`, inside aiogram's event isolation), so the member's
next update, wherever it lands, comes after the message. And a read that was already
under way on another instance when the message arrived does not keep its (maybe older)
result (the directories count drops).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.faq.library import FaqLibrary
from bot.services.members import MemberDirectory
from bot.services.staff import StaffDirectory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaqReload:
    library: FaqLibrary
    session_factory: async_sessionmaker[AsyncSession]


class DirectorySync:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        members: MemberDirectory,
        staff: StaffDirectory,
        faq: FaqReload | None = None,
    ) -> None:
        self.redis, self.channel = redis, f"{prefix}:directory"
        self.members, self.staff, self.faq = members, staff, faq
        self.me = uuid.uuid4().hex[:12]
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._reloads: set[asyncio.Task[bool]] = set()
        members.listeners.append(lambda telegram_id: self._publish(f"member:{telegram_id}"))
        staff.listeners.append(lambda: self._publish("staff"))
        if faq is not None:
            faq.library.listeners.append(lambda: self._publish("faq"))

    async def start(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        self._task = asyncio.create_task(self._listen(pubsub))

    async def settle(self) -> None:
        """Wait until every change published so far has reached Redis."""
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)

    def _publish(self, what: str) -> None:
        task = asyncio.create_task(self._send(f"{self.me} {what}"))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, message: str) -> None:
        try:
            await self.redis.publish(self.channel, message)
        except Exception:  # the other instances' copies expire by their TTL anyway
            log.warning("could not tell the other instances: %s", message, exc_info=True)

    def apply(self, message: str) -> None:
        sender, _, what = message.partition(" ")
        if sender == self.me:
            return
        kind, _, ident = what.partition(":")
        if kind == "member" and ident.lstrip("-").isdigit():
            self.members.drop(int(ident))
        elif kind == "staff":
            self.staff.drop()
        elif kind == "faq" and self.faq is not None:
            # An editor published on another instance: the stored content is reloaded.
            task = asyncio.create_task(self.faq.library.refresh(self.faq.session_factory))
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)

    async def _listen(self, pubsub: object) -> None:
        from redis.asyncio.client import PubSub

        assert isinstance(pubsub, PubSub)
        while True:
            try:
                async for message in pubsub.listen():
                    data = message.get("data")
                    if isinstance(data, bytes):
                        self.apply(data.decode())
                    elif isinstance(data, str):
                        self.apply(data)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("directory sync: Redis connection lost; resubscribing", exc_info=True)
                # Anything may have changed meanwhile: start from the database again.
                self.staff.drop()
                self.members.drop_all()
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await pubsub.subscribe(self.channel)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*self._sends, *self._reloads, return_exceptions=True)


class SettledChanges(BaseMiddleware):
    """After each update: the changes it made are told to the other instances before the
    member's lock is released (this runs inside aiogram's event isolation)."""

    def __init__(self, sync: DirectorySync) -> None:
        self.sync = sync

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        finally:
            await self.sync.settle()
