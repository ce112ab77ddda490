"""Routers in order: onboarding, member features, staff, the catch-all last."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from bot.handlers import (
        appeal,
        closing,
        conversation,
        desk,
        fallback,
        faq,
        faq_desk,
        faq_editor,
        faq_versions,
        handover,
        inbox,
        invites,
        join,
        mailbox,
        my_appeals,
        news,
        press,
        privacy,
        question,
        rating,
        staff_admin,
        start,
        stats,
    )

    return [
        # Staff routers first: a staff member need not be a registered member.
        join.router,
        inbox.router,
        staff_admin.router,
        invites.router,
        desk.router,
        handover.router,
        closing.router,
        # The FAQ editors' screens, and what an editor types into a draft.
        faq_editor.router,
        faq_versions.router,
        faq_desk.router,
        stats.router,
        press.router,
        news.router,
        # Before onboarding: /mydata and /forget answer people who never registered too.
        privacy.router,
        start.router,
        # A Telegram reply to a lawyer's message goes to its appeal, even mid-draft.
        conversation.quotes,
        faq.router,
        my_appeals.router,
        mailbox.router,
        appeal.router,
        rating.router,
        # Words for the lawyer a member is talking with, before they would be searched.
        conversation.router,
        question.router,
        fallback.router,
    ]
