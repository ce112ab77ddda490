"""Running the bot: migrate, seed admins, set command menus, long polling."""

from __future__ import annotations

import logging
import sys

from aiogram.exceptions import TelegramUnauthorizedError

from bot.app import build_context, create_bot, create_dispatcher
from bot.commands import setup_command_menus
from bot.config import Settings
from bot.faq.content import FaqError
from bot.services.staff import ensure_admins
from bot.storage.migrate import upgrade

log = logging.getLogger(__name__)


async def run(settings: Settings) -> int:
    try:
        ctx = build_context(settings)
    except FaqError as exc:
        print(
            f"the FAQ content is invalid, the bot will not start ({len(exc.problems)} problems):",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    try:
        await upgrade(ctx.engine)
        async with ctx.session_factory() as session:
            await ensure_admins(session, settings.admin_ids)
            await session.commit()
    except Exception as exc:
        print(f"database error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        await ctx.engine.dispose()
        return 1
    bot = create_bot(settings)
    dp = create_dispatcher(ctx)
    try:
        await setup_command_menus(bot, ctx.i18n)
        log.info("Qorgau starts polling: %d FAQ answers", len(ctx.faq.answers))
        await dp.start_polling(bot, handle_signals=True, close_bot_session=True)
    except TelegramUnauthorizedError:
        print("BOT_TOKEN was refused by Telegram (Unauthorized)", file=sys.stderr)
        return 1
    finally:
        await ctx.engine.dispose()
    return 0
