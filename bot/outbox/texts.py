"""What a writer is told when the background sender could not deliver their message."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

# Purposes of outbox messages (OutboxMessage.purpose).
TO_MEMBER = "to-member"  # a lawyer's answer, or a notice about the member's appeal
TO_STAFF = "to-staff"  # a member's words to their lawyer, a notice to a colleague
NOTICE = "notice"  # the desk's clock, reports: nobody to tell if they do not arrive


def undelivered_notice(purpose: str, appeal_id: int | None, status: str) -> str:
    """`status`: "blocked" (the other side cannot be reached) or "failed" (Telegram
    refused the message, or it could not be sent for a day)."""
    number = appeal_id or 0
    if purpose == TO_MEMBER:
        if status == "blocked":
            return _(
                "⚠️ Appeal No. {number}: the member did not receive your message: they "
                "blocked the bot or erased their data. It is kept in the appeal."
            ).format(number=number)
        return _(
            "⚠️ Appeal No. {number}: Telegram did not deliver your message to the member. "
            "It is kept in the appeal; please write again or contact the member another way."
        ).format(number=number)
    return _(
        "Your message for appeal No. {number} is saved in the appeal; the lawyer will see it there."
    ).format(number=number)
