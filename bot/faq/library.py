"""The FAQ members read right now, and its search index: swapped whole when it changes.

Built from the repository's YAML when the process starts; `open` seeds an empty database
from it and loads the live content from the database. After a publish or sign-off here
`refresh` reloads at once; other instances hear of it (bot/scale/sync.py) and reload too,
and every instance also compares the stored revision now and then, so a `faq import` from
the command line, or a message lost on the way, is caught up with.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.faq.content import Faq, load_faq
from bot.faq.search import FaqIndex
from bot.storage import faq as store

log = logging.getLogger(__name__)


def _stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(
        (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(directory.glob("*.y*ml"))
    )


@functools.lru_cache(maxsize=4)
def _shipped(directory: Path, stamp: tuple[tuple[str, int, int], ...]) -> tuple[Faq, FaqIndex]:
    """The YAML's tree and index, built once per process for the same files (tests and
    benchmarks build many contexts; an index takes a noticeable fraction of a second).
    Handlers never change a loaded tree, so sharing it is safe."""
    faq = load_faq(directory)
    for node in faq.nodes.values():
        node.version = 1  # what seeding an empty database makes of it
    return faq, FaqIndex(faq)


class FaqLibrary:
    def __init__(self, faq: Faq) -> None:
        self.faq = faq
        self.index = FaqIndex(faq)
        self.revision = -1  # not loaded from the database yet
        self._lock = asyncio.Lock()
        # Told after this process changed the content (bot/scale/sync.py tells the others).
        self.listeners: list[Callable[[], None]] = []
        self.session_factory: async_sessionmaker[AsyncSession] | None = None

    @classmethod
    def from_directory(cls, directory: Path) -> FaqLibrary:
        faq, index = _shipped(directory.resolve(), _stamp(directory))
        library = cls.__new__(cls)
        library.faq, library.index, library.revision = faq, index, -1
        library._lock = asyncio.Lock()
        library.listeners = []
        library.session_factory = None
        return library

    async def open(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        """The first start seeds the database from the YAML (what is loaded already is
        then the live content); every later start reads the database."""
        self.session_factory = session_factory
        async with session_factory() as session:
            if not await store.has_content(session):
                try:
                    await store.claim_seeding(session)
                    await store.import_faq(session, self.faq)
                    self.revision = await store.revision(session)
                    await session.commit()
                except IntegrityError:
                    # Another instance, started at the same moment on the same empty
                    # database, seeded it first: its content is the one to read.
                    await session.rollback()
                    log.info("FAQ content loaded into the database by another instance")
                else:
                    log.info(
                        "FAQ content loaded into the database: %d answers", len(self.faq.answers)
                    )
                    return
        await self.refresh(session_factory, force=True)

    async def changed(self) -> None:
        """After a publish, sign-off or restore was committed here: members see it from
        the next update on, on this instance and (told) on the others."""
        assert self.session_factory is not None, "open() first"
        await self.refresh(self.session_factory)
        for listener in self.listeners:
            listener()

    async def refresh(
        self, session_factory: async_sessionmaker[AsyncSession], *, force: bool = False
    ) -> bool:
        """Reload when the stored revision moved; True when it did."""
        async with self._lock:
            async with session_factory() as session:
                revision = await store.revision(session)
                if revision == self.revision and not force:
                    return False
                faq = await store.load_tree(session)
            # Building the index is CPU work of some milliseconds: off the event loop.
            index = await asyncio.to_thread(FaqIndex, faq)
            self.faq, self.index, self.revision = faq, index, revision
            log.info("FAQ content revision %d: %d answers", revision, len(faq.answers))
            return True
