"""A lease in the database: work only one process may do at a time (the scheduler).

Every process tries to take the lease every third of its length; the holder renews it,
the others find it held. When the holder dies its lease runs out and the next process to
try takes it. The holder trusts its lease by its own monotonic clock for 80 % of its
length only, so a holder that stalls stops acting before anyone else can take over.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import Lease, utcnow

log = logging.getLogger(__name__)

TRUSTED = 0.8


class ProcessLease:
    def __init__(self, engine: AsyncEngine, name: str, owner: str, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("a lease lasts a positive number of seconds")
        self.engine, self.name, self.owner, self.seconds = engine, name, owner, seconds
        self._ends = 0.0
        self._failing = False

    @property
    def held(self) -> bool:
        """Whether this process may act now (by its own clock)."""
        return time.monotonic() < self._ends

    async def hold(self) -> bool:
        """Take the lease or renew it; False when another live process holds it."""
        asked = time.monotonic()
        was_held = self.held
        now = utcnow()
        until = now + timedelta(seconds=self.seconds)
        try:
            got = await self._take(now, until)
        except Exception as exc:
            # The whole story once; then one line per try until the database answers.
            first = not self._failing
            self._failing = True
            log.warning(
                "lease %s: the database did not answer: %s",
                self.name,
                type(exc).__name__,
                exc_info=first,
            )
            return self.held
        if self._failing:
            self._failing = False
            log.info("lease %s: the database answers again", self.name)
        self._ends = asked + self.seconds * TRUSTED if got else 0.0
        if got and not was_held:
            log.info("lease %s: taken by this process (%s)", self.name, self.owner)
        elif was_held and not got:
            log.warning("lease %s: lost to another process", self.name)
        return got

    async def _take(self, now: object, until: object) -> bool:
        async with self.engine.begin() as conn:
            taken = await conn.execute(
                update(Lease)
                .where(
                    Lease.name == self.name,
                    or_(Lease.owner.is_(None), Lease.owner == self.owner, Lease.until < now),
                )
                .values(owner=self.owner, until=until)
                .returning(Lease.name)
            )
            if taken.first() is not None:
                return True
            if await conn.scalar(select(Lease.name).where(Lease.name == self.name)):
                return False
        try:  # the first process ever: the row does not exist yet
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(Lease).values(name=self.name, owner=self.owner, until=until)
                )
        except IntegrityError:
            return False  # another process created it at the same moment
        return True

    async def release(self) -> None:
        """At a clean stop: let another process take over at once."""
        self._ends = 0.0
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(Lease)
                    .where(Lease.name == self.name, Lease.owner == self.owner)
                    .values(owner=None, until=None)
                )
        except Exception:
            log.warning("lease %s: could not release it", self.name, exc_info=True)

    async def holder(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.scalar(select(Lease.owner).where(Lease.name == self.name))
