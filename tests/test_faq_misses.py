"""The questions behind "did not help": anonymised, kept only with consent, forgotten in time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from bot.context import Context
from bot.retention import retention_job
from bot.services.faq_misses import KEEP_DAYS, MASK, MAX_CHARS, anonymise
from bot.services.privacy import Purged
from bot.storage.models import FaqEvent, FaqEventKind, FaqMissQuestion, Member, utcnow
from tests.driver import Person, buttons
from tests.test_member_flow import onboard

QUESTION = (
    "Айгүл Серикова, школа 12: не выплачивают отпускные перед отпуском. Директор Петров "
    "говорит ждать. Мой номер +7 (701) 123-45-67, почта aigul.s@mail.kz, ИИН 870101300123"
)


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


# --- the anonymiser ---------------------------------------------------------------------


def test_contact_details_and_identifying_numbers_are_masked() -> None:
    text = anonymise(QUESTION, ["Айгүл", None])
    for gone in ("Айгүл", "Серикова", "Петров", "701", "45-67", "aigul", "mail.kz", "870101"):
        assert gone not in text, gone
    # The question's wording stays: what the editors need.
    assert "не выплачивают отпускные перед отпуском" in text
    assert "школа 12" in text and "Директор" in text and "ИИН" in text


def test_links_usernames_initials_and_declined_names() -> None:
    text = anonymise(
        "Пишу за Айгуль. Айгули сказали https://t.me/x и www.edu.kz, пишите @aigul_k. "
        "Приказ подписал И.И. Сидоренко",
        ["Айгуль"],
    )
    assert (
        text
        == f"Пишу за {MASK}. {MASK} сказали {MASK} и {MASK}, пишите {MASK}. Приказ подписал {MASK}"
    )


def test_what_is_no_one_s_stays() -> None:
    # The Labour Code, a region, a date, a year, a school year, an article, a sum of money.
    text = (
        "По ст. 54 Трудового кодекса РК в Алматы уволили 01.09.2025, в 2024-2025 учебном "
        "году не доплатили 150 000 тенге. Как быть?"
    )
    assert anonymise(text) == text


def test_kazakh_names_and_patronymics() -> None:
    text = anonymise("Мектеп директоры Серік Әлібекұлы демалыс бермейді. Жанар Қайратқызы айтты.")
    assert "Серік" not in text and "Әлібекұлы" not in text and "Қайратқызы" not in text
    assert "демалыс бермейді" in text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=900), st.lists(st.text(max_size=20), max_size=2))
def test_any_text_gives_a_short_text(text: str, names: list[str]) -> None:
    out = anonymise(text, names)
    assert len(out) <= MAX_CHARS


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
