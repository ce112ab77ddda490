"""`python -m bot faq export DIR` and `faq import DIR`: the live content as YAML and back."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import ToolSettings
from bot.faq.content import check_faq
from bot.faq.export import write_yaml
from bot.faq.library import FaqLibrary
from bot.storage import faq as store
from bot.storage.db import create_engine, create_session_factory
from bot.storage.migrate import upgrade


async def faq_export(settings: ToolSettings, directory: Path) -> int:
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        session_factory = create_session_factory(engine)
        # A database nobody started the bot on yet holds the shipped content, as the bot would.
        await FaqLibrary.from_directory(settings.faq_dir).open(session_factory)
        async with session_factory() as session:
            faq = await store.load_tree(session)
    finally:
        await engine.dispose()
    written = write_yaml(faq, directory)
    print(f"written: {len(written)} files, {len(faq.answers)} answers to {directory}")
    return 0


async def faq_import(settings: ToolSettings, directory: Path) -> int:
    faq, problems = check_faq(directory)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"nothing imported: {len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        session_factory = create_session_factory(engine)
        async with session_factory() as session:
            result = await store.import_faq(session, faq, store.Author(None, "faq import"))
            await session.commit()
    finally:
        await engine.dispose()
    print(
        f"imported {directory}: {len(result.created)} new, {len(result.changed)} changed "
        f"(their sign-off no longer shown), {len(result.unchanged)} unchanged (sign-offs kept), "
        f"{len(result.retired)} retired; running bots reload within "
        "half a minute"
    )
    for what, ids in (("changed", result.changed), ("retired", result.retired)):
        if ids:
            print(f"{what}: {', '.join(ids)}")
    return 0
