"""The FAQ editors' monthly reminder of answers to sign off."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import update

from bot.clock.faq_review import faq_review_job
from bot.context import Context
from bot.storage import faq as store
from bot.storage.models import FaqVersion, Staff, StaffRole
from tests.recording import RecordingSession

NOW = datetime(2027, 2, 1, 4, 0, tzinfo=UTC)  # 09:00 in Almaty


async def test_editors_get_the_month_list_once(
    ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    async with ctx.session_factory() as session:
        session.add_all(
            [
                Staff(telegram_id=730, role=StaffRole.HEAD_LAWYER, member_orgs=[]),
                Staff(telegram_id=731, role=StaffRole.LAWYER, member_orgs=["karaganda"]),
                Staff(
                    telegram_id=732,
                    role=StaffRole.LAWYER,
                    member_orgs=["karaganda"],
                    faq_editor=True,
                ),
            ]
        )
        lawyer = store.Author(None, "Айгерім Сапарова")
        # One answer signed off a month ago, one 13 months ago (expired).
        assert await store.sign_off(
            session, "pay-late-wages", 1, lawyer, datetime(2027, 1, 5, tzinfo=UTC)
        )
        assert await store.sign_off(
            session, "leave-split", 1, lawyer, datetime(2025, 12, 30, tzinfo=UTC)
        )
        await session.commit()
    await ctx.faq_library.refresh(ctx.session_factory)
    total = len(ctx.faq.answers)

    mark = len(recording.requests)
    assert await faq_review_job(ctx, bot, NOW) == 2
    sent = [r for r in recording.requests[mark:] if isinstance(r, SendMessage)]
    assert sorted(r.chat_id for r in sent) == [730, 732]  # not the plain lawyer
    text = str(sent[0].text)
    assert str(total - 2) in text and "1" in text
    expired_title = ctx.faq.get("leave-split").title_in("kk")  # type: ignore[union-attr]
    assert text.index(expired_title) < text.index("⚠️")  # the expired one first
    signed_title = ctx.faq.get("pay-late-wages").title_in("kk")  # type: ignore[union-attr]
    assert signed_title not in text
    markup = sent[0].reply_markup
    assert isinstance(markup, InlineKeyboardMarkup)
    assert markup.inline_keyboard[0][0].callback_data == "fe:list::unsigned-0"

    # The same month again (another instance, a restart): nothing more.
    assert await faq_review_job(ctx, bot, NOW) == 0

    # Everything signed off: next month's reminder is not sent at all.
    async with ctx.session_factory() as session:
        await session.execute(
            update(FaqVersion).values(signed_by_name="Айгерім Сапарова", signed_at=NOW)
        )
        await session.commit()
    await ctx.faq_library.refresh(ctx.session_factory, force=True)
    mark = len(recording.requests)
    assert await faq_review_job(ctx, bot, datetime(2027, 3, 1, 4, 0, tzinfo=UTC)) == 0
    assert not [r for r in recording.requests[mark:] if isinstance(r, SendMessage)]
