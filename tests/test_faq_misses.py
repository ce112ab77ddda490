"""The questions behind "did not help": anonymised, kept only with consent, forgotten in time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.clock.retention import retention_job
from bot.context import Context
from bot.services.faq_misses import KEEP_DAYS
from bot.services.privacy import Purged
from bot.storage.models import FaqEvent, FaqEventKind, FaqMissQuestion, Member, utcnow
from tests.driver import Person, buttons
from tests.test_anonymise import QUESTION
from tests.test_member_flow import onboard


async def kept(ctx: Context) -> list[FaqMissQuestion]:
    async with ctx.session_factory() as session:
        return list(await session.scalars(select(FaqMissQuestion).order_by(FaqMissQuestion.id)))


async def not_helped_events(ctx: Context) -> int:
    async with ctx.session_factory() as session:
        query = select(func.count()).where(FaqEvent.kind == FaqEventKind.NOT_HELPED)
        return int(await session.scalar(query) or 0)


async def search_open_and_say_no(member: Person, question: str) -> str:
    """Type `question`, open the first answer found, press "No, ask a lawyer"; its id."""
    await member.send(question)
    first = buttons(member.last_message())[0][1]
    assert first.startswith("hit:open:")
    await member.press(first)
    await member.tap("✍️")
    return first.split(":")[2]


# --- the member's journey ---------------------------------------------------------------


async def test_the_question_behind_a_no_is_kept_anonymised(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(3101, first_name="Айгүл")
    await onboard(member)
    node_id = await search_open_and_say_no(member, QUESTION)
    # The member's appeal still quotes their words as they typed them.
    assert "+7 (701) 123-45-67" in member.last_text()
    [row] = await kept(ctx)
    assert (row.node_id, row.lang) == (node_id, "ru")
    assert "не выплачивают отпускные" in row.text
    for gone in ("Айгүл", "701", "45-67", "aigul", "@", "870101300123", "Петров"):
        assert gone not in row.text, gone
    assert await not_helped_events(ctx) == 1


async def test_a_member_without_consent_leaves_no_question(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(3102)
    await onboard(member, consent=False)
    await search_open_and_say_no(member, "не выплачивают отпускные перед отпуском")
    assert "соглас" in member.last_text().lower()  # the draft asks for consent first
    assert await kept(ctx) == []
    assert await not_helped_events(ctx) == 1  # the "did not help" itself still counts


async def test_consent_no_longer_current_keeps_nothing(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(3103)
    await onboard(member)
    await member.send("не выплачивают отпускные перед отпуском")
    # The consent text changed while the results were on screen: the member's consent is
    # no longer the current one, so their question is not kept.
    async with ctx.session_factory() as session:
        await session.execute(
            update(Member).where(Member.telegram_id == 3103).values(consent_version="2020-01")
        )
        await session.commit()
    ctx.member_directory.forget(3103)
    await member.press(buttons(member.last_message())[0][1])
    await member.tap("✍️")
    assert await kept(ctx) == []
    assert await not_helped_events(ctx) == 1


async def test_an_answer_from_the_menu_keeps_no_question(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(3104)
    await onboard(member)
    await member.send("не выплачивают отпускные перед отпуском")  # forgotten at the next step
    answer = next(n for n in ctx.faq.answers if n.topic == "leave")
    await member.send("/faq")
    await member.press(f"faq:open:{answer.id}")
    await member.press(f"faq:no:{answer.id}")
    assert await kept(ctx) == []
    assert await not_helped_events(ctx) == 1


# --- retention --------------------------------------------------------------------------


async def test_retention_deletes_questions_older_than_35_days(ctx: Context) -> None:
    now = utcnow()
    ages = [KEEP_DAYS + 1, KEEP_DAYS - 1, 2]
    async with ctx.session_factory() as session:
        session.add_all(
            FaqMissQuestion(
                node_id="leave-pay-timing", lang="kk", text=f"{days}", at=now - timedelta(days=days)
            )
            for days in ages
        )
        await session.commit()
    assert await retention_job(ctx, now=now) == Purged(faq_questions=1)
    assert sorted(int(q.text) for q in await kept(ctx)) == [2, KEEP_DAYS - 1]
    assert await retention_job(ctx, now=now) == Purged()  # nothing left to do
    assert await retention_job(ctx, now=now + timedelta(days=2)) == Purged(faq_questions=1)
