"""The lawyers' archive: /find by words, number, @username and name, on SQLite and
PostgreSQL; /appeal N; a member's other appeals; erased words are never found again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from bot.context import Context
from bot.runner import index_appeals
from bot.services.privacy import purge_expired
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealSearch,
    AppealSource,
    AppealStatus,
    Audit,
    Member,
    utcnow,
)
from tests.conftest import ADMIN_ID, open_context
from tests.databases import KINDS, database
from tests.driver import Person, buttons, texts
from tests.test_desk_flow import (
    invite,
    make_lawyer,
    mine_marks_the_appeals_whose_member_wrote_since_the_last_answer,
)
from tests.test_member_flow import onboard, send_appeal

LAWYER, HEAD, AIGUL, BORIS, CHINGIZ = 700, 701, 702, 703, 704


@pytest.fixture(params=KINDS)
async def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Context]:
    """The conftest's context, on SQLite and on PostgreSQL."""
    async with database(request.param, tmp_path) as engine:
        context = await open_context(engine.url.render_as_string(hide_password=False))
        yield context
        await context.close()


def found_numbers(lawyer: Person) -> list[int]:
    """The appeals listed in the lawyer's last message, by their buttons."""
    return [
        int(data.split(":")[2])
        for _, data in buttons(lawyer.last_message())
        if data.startswith("desk:card:")
    ]


async def appeal_of(ctx: Context, telegram_id: int) -> int:
    """The member's newest appeal."""
    async with ctx.session_factory() as session:
        found = await session.scalar(
            select(func.max(Appeal.id))
            .join(Member, Member.id == Appeal.member_id)
            .where(Member.telegram_id == telegram_id)
        )
    assert found is not None
    return int(found)


async def three_members(person: Callable[..., Person], ctx: Context) -> dict[str, int]:
    aigul = person(AIGUL, first_name="Айгүл")
    aigul.user = aigul.user.model_copy(update={"last_name": "Серікова", "username": "aigul_s"})
    boris = person(BORIS, language_code="ru", first_name="Борис")
    chingiz = person(CHINGIZ, language_code="ru", first_name="Шыңғыс")
    await onboard(aigul, lang="kk", org="karaganda")
    await onboard(boris, lang="ru", org="karaganda")
    await onboard(chingiz, lang="ru", org="almaty")
    await send_appeal(aigul, "leave", "Мектеп директоры демалыс ақысын төлемеді.")
    await send_appeal(boris, "leave", "Не выплатили отпускные за август.")
    await send_appeal(chingiz, "leave", "Отпускные тоже не заплатили.")
    return {
        "aigul": await appeal_of(ctx, AIGUL),
        "boris": await appeal_of(ctx, BORIS),
        "chingiz": await appeal_of(ctx, CHINGIZ),
    }


async def test_find_by_words_forms_number_username_and_name(
    person: Callable[..., Person], ctx: Context
) -> None:
    appeals = await three_members(person, ctx)
    admin, lawyer = person(ADMIN_ID), person(LAWYER, language_code="ru")
    await make_lawyer(admin, lawyer, "karaganda")

    # Another form of the word; the appeal of another region is not the lawyer's.
    await lawyer.send("/find отпускных")
    assert found_numbers(lawyer) == [appeals["boris"]]
    assert "отпускных" in lawyer.last_text()
    # Kazakh, declined, and typed without the Kazakh letters.
    for words in ("демалысқа", "демалыс акысын", "ДЕМАЛЫС"):
        await lawyer.send(f"/find {words}")
        assert found_numbers(lawyer) == [appeals["aigul"]], words
    # The member's name (folded as well) and @username.
    for words in ("айгул", "Серікова", "@aigul_s", "@AIGUL_S"):
        await lawyer.send(f"/find {words}")
        assert found_numbers(lawyer) == [appeals["aigul"]], words
    # A number: the appeal itself, only when it is of the lawyer's regions.
    await lawyer.send(f"/find №{appeals['boris']}")
    assert found_numbers(lawyer) == [appeals["boris"]]
    await lawyer.send(f"/find {appeals['chingiz']}")
    assert found_numbers(lawyer) == []
    assert "ничего не найдено" in lawyer.last_text()
    # Every word must be found: "отпуск" and "сентябрь" together find nothing.
    await lawyer.send("/find отпускные сентябрь")
    assert found_numbers(lawyer) == []

    # The lawyer's answer is searchable as soon as it is written; newest first.
    await lawyer.press(f"desk:take:{appeals['boris']}:")
    await lawyer.press(f"desk:reply:{appeals['boris']}:")
    await lawyer.send("Обратитесь в согласительную комиссию Вашей школы.")
    await lawyer.send("/queue")  # leaves writing mode
    await lawyer.send("/find комиссия")
    assert found_numbers(lawyer) == [appeals["boris"]]

    # The head lawyer covers every region: both appeals about holiday pay, newest first.
    head = person(HEAD, language_code="ru")
    code = await invite(admin, "head-lawyer")
    await head.send(f"/join {code}")
    await head.send("/find отпускные")
    assert found_numbers(head) == [appeals["chingiz"], appeals["boris"]]


async def test_find_refuses_members_and_explains_itself(
    person: Callable[..., Person], ctx: Context
) -> None:
    appeals = await three_members(person, ctx)
    member = person(BORIS, language_code="ru")
    await member.send("/find отпускные")
    assert str(appeals["boris"]) not in member.last_text()
    assert found_numbers(member) == []
    await member.send(f"/appeal {appeals['boris']}")
    assert "Не выплатили" not in member.last_text()

    lawyer = person(LAWYER, language_code="kk")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")
    await lawyer.send("/find")
    assert "/find" in lawyer.last_text() and found_numbers(lawyer) == []
    await lawyer.send("/find ?!…")  # nothing to search by
    assert "/find" in lawyer.last_text()
    await lawyer.send("/find " + "демалыс " * 2_000)  # a huge query is cut, not a crash
    assert found_numbers(lawyer) == [appeals["aigul"]]


async def test_results_come_in_pages_and_a_stale_page_is_outdated(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(BORIS, language_code="ru")
    await onboard(member, lang="ru", org="karaganda")
    for n in range(10):
        await send_appeal(member, "leave", f"Отпуск номер {n} не дали.")
    lawyer = person(LAWYER, language_code="ru")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")
    await lawyer.send("/find отпуск")
    first = found_numbers(lawyer)
    assert len(first) == 8 and first == sorted(first, reverse=True)
    assert "10" in lawyer.last_text()
    await lawyer.press("fd:1")
    second = found_numbers(lawyer)
    assert len(second) == 2 and not set(first) & set(second)

    # Another lawyer's state has no query: the button is outdated, nothing is searched.
    other = person(LAWYER + 50, language_code="ru")
    await make_lawyer(person(ADMIN_ID), other, "karaganda")
    sent = await other.press("fd:1")
    assert "устарела" in texts(sent).lower()


async def test_appeal_n_opens_any_appeal_of_the_regions_and_is_audited(
    person: Callable[..., Person], ctx: Context
) -> None:
    appeals = await three_members(person, ctx)
    async with ctx.session_factory() as session:
        await session.execute(
            update(Appeal)
            .where(Appeal.id == appeals["boris"])
            .values(status=AppealStatus.CLOSED, closed_at=utcnow())
        )
        await session.commit()
    lawyer = person(LAWYER, language_code="ru")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")

    await lawyer.send(f"/appeal {appeals['boris']}")
    assert "Не выплатили отпускные за август" in lawyer.last_text()  # closed, still readable
    await lawyer.send(f"/appeal №{appeals['chingiz']}")
    assert "Отпускные тоже" not in lawyer.last_text()
    assert f"№ {appeals['chingiz']}" in lawyer.last_text() or str(appeals["chingiz"]) in (
        lawyer.last_text()
    )
    await lawyer.send("/appeal вчерашнее")
    assert "/appeal" in lawyer.last_text()
    await lawyer.send("/appeal 99999999999")
    assert "/appeal" in lawyer.last_text()
    async with ctx.session_factory() as session:
        opened = list(
            await session.scalars(select(Audit.appeal_id).where(Audit.action == "open-appeal"))
        )
    assert opened == [appeals["boris"]]


async def test_the_card_lists_the_member_s_other_appeals(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(BORIS, language_code="ru")
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "leave", "Отпуск не дали.")
    await send_appeal(member, "pay", "Зарплату задерживают.")
    await send_appeal(member, "dismissal", "Грозят уволить.")
    first, second, third = sorted(await ctx_appeals(ctx))
    lawyer = person(LAWYER, language_code="ru")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")

    await lawyer.send(f"/appeal {second}")
    others = [d for _, d in buttons(lawyer.last_message()) if d.startswith("ma:")]
    assert others == [f"ma:{second}:0"]
    await lawyer.press(others[0])
    # Newest first, this one left out; the last button goes back to its card.
    assert found_numbers(lawyer) == [third, first, second]
    assert "№" in buttons(lawyer.last_message())[-1][0]

    # A forged button for an appeal of another region shows nothing.
    other_member = person(CHINGIZ, language_code="ru")
    await onboard(other_member, lang="ru", org="almaty")
    await send_appeal(other_member, "leave", "Отпуск.")
    foreign = max(await ctx_appeals(ctx))
    sent = await lawyer.press(f"ma:{foreign}:0")
    assert "устарела" in texts(sent).lower()


async def ctx_appeals(ctx: Context) -> list[int]:
    async with ctx.session_factory() as session:
        return list(await session.scalars(select(Appeal.id)))


async def test_erased_texts_are_not_found_any_more(
    person: Callable[..., Person], ctx: Context
) -> None:
    appeals = await three_members(person, ctx)
    lawyer = person(LAWYER, language_code="ru")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")

    # /forget: the member's words and name are gone from the search.
    aigul = person(AIGUL)
    await aigul.send("/forget")
    yes = next(d for _, d in buttons(aigul.last_message()) if d.startswith("forget:yes:"))
    await aigul.press(yes)
    for words in ("демалыс", "айгул", "@aigul_s"):
        await lawyer.send(f"/find {words}")
        assert found_numbers(lawyer) == [], words

    # The retention clock: texts of appeals closed long ago are found no more either,
    # the thread's as well as the first text.
    await lawyer.press(f"desk:take:{appeals['boris']}:")
    await lawyer.press(f"desk:reply:{appeals['boris']}:")
    await lawyer.send("Обратитесь в согласительную комиссию.")
    await lawyer.send("/queue")
    async with ctx.session_factory() as session:
        await session.execute(
            update(Appeal)
            .where(Appeal.id == appeals["boris"])
            .values(status=AppealStatus.CLOSED, closed_at=utcnow() - timedelta(days=800))
        )
        await session.commit()
    await lawyer.send("/find отпускные")
    assert found_numbers(lawyer) == [appeals["boris"]]
    async with ctx.session_factory() as session:
        purged = await purge_expired(session, utcnow(), 12)
        await session.commit()
    assert purged.closed == 1
    for words in ("отпускные", "комиссию"):
        await lawyer.send(f"/find {words}")
        assert found_numbers(lawyer) == [], words
    await lawyer.send(f"/find {appeals['boris']}")  # the number still finds it
    assert found_numbers(lawyer) == [appeals["boris"]]


async def test_appeals_without_words_get_them_at_start(
    person: Callable[..., Person], ctx: Context
) -> None:
    appeals = await three_members(person, ctx)
    async with ctx.session_factory() as session:
        await session.execute(delete(AppealSearch))
        await session.commit()
    lawyer = person(LAWYER, language_code="ru")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")
    await lawyer.send("/find отпускные")
    assert found_numbers(lawyer) == []
    await index_appeals(ctx)
    await lawyer.send("/find отпускные")
    assert found_numbers(lawyer) == [appeals["boris"]]


async def test_last_month_s_closed_appeal_is_found_by_a_word_and_opens_with_its_history(
    person: Callable[..., Person], ctx: Context
) -> None:
    appeals = await three_members(person, ctx)
    number = appeals["boris"]
    lawyer = person(LAWYER, language_code="ru", first_name="Дана")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")
    await lawyer.press(f"desk:take:{number}:")
    await lawyer.press(f"desk:reply:{number}:")
    await lawyer.send("Подайте заявление работодателю, срок выплаты прошёл.")
    await lawyer.press(f"oc:sure:{number}:")
    await lawyer.press(f"oc:t:{number}:conc")
    await lawyer.press(f"oc:save:{number}:")
    # A month on: the appeal, its messages and its history all happened last month.
    month = timedelta(days=35)
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, number)
        appeal.created_at -= month
        appeal.closed_at = (appeal.closed_at or utcnow()) - month
        for message in await session.scalars(
            select(AppealMessage).where(AppealMessage.appeal_id == number)
        ):
            message.sent_at -= month
        for event in await session.scalars(select(Audit).where(Audit.appeal_id == number)):
            event.at -= month
        await session.commit()

    # Not in the queue or in /mine any more; one word of the member's text finds it.
    await lawyer.send("/find август")
    assert found_numbers(lawyer) == [number]
    await lawyer.press(f"desk:card:{number}:")
    card = lawyer.last_text()
    assert "Закрыто" in card
    assert "Итог: Оказана консультация, Согласительная комиссия" in card
    assert "Ожидает" not in card  # a closed appeal waits for nobody
    # The thread in order: the question, taken, the answer, closed.
    order = [
        card.index("Не выплатили отпускные за август."),
        card.index("✋ Взято: Дана"),
        card.index("Подайте заявление работодателю"),
        card.index("✅ Закрыто: Дана"),
    ]
    assert order == sorted(order)


async def test_a_logged_appeal_is_found_by_its_contact_s_phone(
    person: Callable[..., Person], ctx: Context
) -> None:
    async with ctx.session_factory() as session:
        person_row = Member(telegram_id=-1, full_name="Сәуле Қ.", username="+7 (701) 555-44 33")
        other = Member(telegram_id=-2, full_name="Бақыт", username="8 702 111 22 33")
        session.add_all([person_row, other])
        await session.flush()
        appeals = [
            Appeal(
                member_id=row.id,
                member_org="karaganda",
                topic="pay",
                text=None,
                source=AppealSource.DIRECT,
                channel="oral",
            )
            for row in (person_row, other)
        ]
        session.add_all(appeals)
        await session.commit()
    lawyer = person(LAWYER, language_code="ru")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")
    for typed in ("87015554433", "+7 701 555 44 33", "555-44-33"):
        await lawyer.send(f"/find {typed}")
        assert found_numbers(lawyer) == [appeals[0].id], typed


async def test_mine_marks_the_appeals_whose_member_wrote_since_the_last_answer(
    person: Callable[..., Person], ctx: Context
) -> None:
    """/mine's 🆕, on both databases (the journey is in test_desk_flow)."""
    await mine_marks_the_appeals_whose_member_wrote_since_the_last_answer(person, ctx)
