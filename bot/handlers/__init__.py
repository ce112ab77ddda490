"""Routers in order: staff first, then onboarding and member features, the catch-all last.

The routers live with the people who use them: `member/`, `desk/` (lawyers, head
lawyers), `press/`, `admin/`; `shared/` holds what they share and has no routers."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from bot.handlers import edits, fallback, press
    from bot.handlers.admin import inbox, invites, join, links, staff_admin
    from bot.handlers.desk import (
        archive,
        closing,
        desk,
        faq_desk,
        faq_editor,
        faq_versions,
        handover,
        log,
        ready_texts,
        replies,
        stats,
        topics,
        writing,
    )
    from bot.handlers.member import (
        appeal,
        conversation,
        faq,
        mailbox,
        my_appeals,
        news,
        privacy,
        question,
        rating,
        start,
    )

    return [
        # Every update from a staff supergroup (only linked ones, and an admin's /linkgroup,
        # get this far), before anything else: nothing said there reaches a private flow.
        topics.router,
        # Edited messages of an appeal's conversation (edited_message updates only).
        edits.router,
        # Staff routers first: a staff member need not be a registered member.
        join.router,
        inbox.router,
        staff_admin.router,
        invites.router,
        links.router,
        # Writing to a member and notes, before the desk's "words for no appeal".
        writing.router,
        desk.router,
        archive.router,
        # Saved replies, and ready texts (a saved reply, an FAQ answer) sent to a member.
        replies.router,
        ready_texts.router,
        handover.router,
        closing.router,
        log.router,
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
