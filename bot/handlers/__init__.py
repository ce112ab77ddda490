"""Routers in order: onboarding, member features, staff, the catch-all last."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from bot.handlers import (
        appeal,
        fallback,
        faq,
        inbox,
        mailbox,
        my_appeals,
        question,
        start,
    )

    return [
        start.router,
        inbox.router,
        faq.router,
        my_appeals.router,
        mailbox.router,
        appeal.router,
        question.router,
        fallback.router,
    ]
