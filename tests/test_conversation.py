"""Member ↔ lawyer conversation through the production Dispatcher: words reach the right
person and only them (writing mode tied to one appeal, replies by quote both ways, a
member's plain words to the lawyer they talk with, asking when there are several), and
nothing the member started is lost (drafts, consent, the question they typed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import DeleteMessage, SendMessage, SendPhoto, TelegramMethod
from sqlalchemy import func, select

from bot.context import Context
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealStatus,
    MessageSide,
    OutboxMessage,
    OutboxStatus,
    Staff,
)
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons, texts
from tests.recording import RecordingSession
from tests.test_desk_flow import make_lawyer
from tests.test_member_flow import onboard, send_appeal

pytestmark = pytest.mark.asyncio


def to(chat: int, sent: list[TelegramMethod[object]]) -> list[TelegramMethod[object]]:
    return [r for r in sent if getattr(r, "chat_id", None) == chat]


def words_of(sent: list[TelegramMethod[object]]) -> str:
    """Texts and captions of the requests."""
    return "\n".join(
        str(getattr(r, "text", None) or getattr(r, "caption", None) or "") for r in sent
    )


def shown_to(person: Person, words: str) -> int:
    """How many of the bot's messages in the person's chat contain `words`."""
    return sum(words in (m.text or m.caption or "") for m in person.messages())


async def appeal_ids(ctx: Context) -> list[int]:
    async with ctx.session_factory() as session:
        return list(await session.scalars(select(Appeal.id).order_by(Appeal.id)))


async def thread(ctx: Context, appeal_id: int) -> list[tuple[MessageSide, str | None]]:
    async with ctx.session_factory() as session:
        rows = await session.execute(
            select(AppealMessage.side, AppealMessage.text)
            .where(AppealMessage.appeal_id == appeal_id)
            .order_by(AppealMessage.id)
        )
        return [(side, text) for side, text in rows]


async def two_members_one_lawyer(
    person: Callable[..., Person], ctx: Context
) -> tuple[Person, Person, Person, int, int]:
    admin, lawyer = person(ADMIN_ID), person(800, first_name="Гүлнар")
    first, second = person(801, first_name="Айгерим"), person(802, first_name="Болат")
    await onboard(first, lang="ru", org="karaganda")
    await onboard(second, lang="kk", org="karaganda")
    await send_appeal(first, "pay", "Не платят за классное руководство.")
    await send_appeal(second, "leave", "Демалыс бермейді.")
    await make_lawyer(admin, lawyer)
    one, two = await appeal_ids(ctx)
    return lawyer, first, second, one, two


async def test_writing_mode_ends_when_the_lawyer_takes_another_appeal(
    person: Callable[..., Person], ctx: Context
) -> None:
    """The sequence a lawyer tried: writing to appeal A's member, /queue, take B, type a
    message for B's member. It must not reach A's member."""
    lawyer, _first, _second, one, two = await two_members_one_lawyer(person, ctx)
    await lawyer.press(f"desk:take:{one}:")
    await lawyer.press(f"desk:reply:{one}:")
    sent = await lawyer.send("Здравствуйте, Айгерим! Пришлите приказ.")
    assert to(801, sent) and f"№ {one}" in texts(to(800, sent))

    await lawyer.send("/queue")
    await lawyer.press(f"desk:take:{two}:")
    sent = await lawyer.send("Болат, сәлеметсіз бе! Өтінішіңізді алдым.")
    assert not to(801, sent) and not to(802, sent)  # nobody: the lawyer chose no appeal
    assert "не отправлено" in texts(sent).lower() or "жіберілген жоқ" in texts(sent)
    assert [t for _, t in await thread(ctx, one)] == ["Здравствуйте, Айгерим! Пришлите приказ."]

    await lawyer.press(f"desk:reply:{two}:")
    sent = await lawyer.send("Болат, сәлеметсіз бе! Өтінішіңізді алдым.")
    assert to(802, sent) and not to(801, sent)
    assert f"№ {two}" in texts(to(800, sent))  # the confirmation names the appeal


@pytest.mark.parametrize("turn", ["card", "release", "close"])
async def test_opening_releasing_or_closing_another_appeal_ends_writing(
    person: Callable[..., Person], ctx: Context, turn: str
) -> None:
    lawyer, _first, _second, one, two = await two_members_one_lawyer(person, ctx)
    await lawyer.press(f"desk:take:{one}:")
    await lawyer.press(f"desk:take:{two}:")
    await lawyer.press(f"desk:reply:{one}:")
    other = {
        "card": f"desk:card:{two}:",
        "release": f"desk:release:{two}:",
        "close": f"oc:sure:{two}:",
    }[turn]
    await lawyer.press(other)
    sent = await lawyer.send("Кому это?")
    assert not to(801, sent) and not to(802, sent)


async def test_opening_the_same_card_keeps_writing(
    person: Callable[..., Person], ctx: Context
) -> None:
    lawyer, _first, _second, one, _two = await two_members_one_lawyer(person, ctx)
    await lawyer.press(f"desk:take:{one}:")
    await lawyer.press(f"desk:reply:{one}:")
    await lawyer.press(f"desk:card:{one}:")
    assert to(801, await lawyer.send("Продолжаю."))


async def test_replies_by_quote_answer_that_appeal_both_ways(
    person: Callable[..., Person], ctx: Context
) -> None:
    lawyer, first, second, one, two = await two_members_one_lawyer(person, ctx)
    for appeal in (one, two):
        await lawyer.press(f"desk:take:{appeal}:")
        await lawyer.press(f"desk:reply:{appeal}:")
        await lawyer.send(f"Вопрос по обращению {appeal}")
    # The lawyer is still "writing" to the second; a reply to the first member's message
    # answers the first, because the quote says whose it is.
    await first.send("Приказ будет завтра.", reply_to=first.message_with("обращению"))
    relayed = lawyer.message_with("Приказ будет завтра.")
    sent = await lawyer.send("Хорошо, жду.", reply_to=relayed)
    assert to(801, sent) and not to(802, sent)
    assert "Хорошо, жду." in texts(to(801, sent))
    # And a member's reply to the lawyer's message goes to that appeal, even mid-draft.
    await second.send("/ask")
    await second.press("topic:pay")
    quoted = second.message_with(f"обращению {two}")
    sent = await second.send_photo("SICK-LEAVE", caption="Ауру парағы", reply_to=quoted)
    photo = [r for r in to(800, sent) if isinstance(r, SendPhoto)]
    assert photo and photo[0].photo == "SICK-LEAVE" and f"№ {two}" in str(photo[0].caption)
    assert (MessageSide.MEMBER, "Ауру парағы") in await thread(ctx, two)
    sent = await second.send("Жалақы туралы жаңа сұрақ")  # the draft went on as it was
    assert not to(800, sent)


async def test_plain_words_go_to_the_lawyer_in_conversation_and_can_be_taken_back(
    person: Callable[..., Person], ctx: Context
) -> None:
    lawyer, first, _second, one, _two = await two_members_one_lawyer(person, ctx)
    await lawyer.press(f"desk:take:{one}:")
    await lawyer.press(f"desk:reply:{one}:")
    await lawyer.send("Сколько у Вас часов нагрузки?")
    sent = await first.send("18 часов.")
    assert "18 часов." in texts(to(800, sent))
    assert any("№" in texts([r]) for r in to(801, sent))  # one short line, naming the appeal
    assert (MessageSide.MEMBER, "18 часов.") in await thread(ctx, one)

    # "That was a new question": it leaves the appeal, the lawyer's copy is deleted, and
    # the words are searched in the FAQ instead.
    sent = await first.send("когда выплачивают отпускные")
    copy = next(r for r in to(800, sent) if isinstance(r, SendMessage))
    sent = await first.tap("🆕")
    assert any(isinstance(r, DeleteMessage) and r.chat_id == 800 for r in sent)
    assert (MessageSide.MEMBER, "когда выплачивают отпускные") not in await thread(ctx, one)
    assert any(data.startswith("hit:open:") for _, data in buttons(first.last_message()))
    assert copy.text and "отпускные" in copy.text


async def test_several_conversations_ask_which_and_never_guess(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(810), person(811)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Не платят.")
    await send_appeal(member, "leave", "Не дают отпуск.")
    await make_lawyer(admin, lawyer)
    one, two = await appeal_ids(ctx)
    for appeal in (one, two):
        await lawyer.press(f"desk:take:{appeal}:")
        await lawyer.press(f"desk:reply:{appeal}:")
        await lawyer.send(f"Уточните по {appeal}")
    sent = await member.send("Директор отказал письменно.")
    assert not to(810, sent)
    choices = [d for _, d in buttons(member.last_message())]
    assert f"cv:to:{two}" in choices and f"cv:to:{one}" in choices and "cv:new:0" in choices
    await member.send_photo("REFUSAL")  # kept with the words until the choice
    sent = await member.press(f"cv:to:{two}")
    relayed = to(810, sent)
    assert "Директор отказал письменно." in words_of(relayed)
    assert any(isinstance(r, SendPhoto) and r.photo == "REFUSAL" for r in relayed)
    assert (MessageSide.MEMBER, "Директор отказал письменно.") in await thread(ctx, two)
    assert not [t for side, t in await thread(ctx, one) if side == MessageSide.MEMBER]
    # "A new question": searched, not sent to anyone.
    await member.send("как оплачивается сверхурочная работа")
    sent = await member.press("cv:new:0")
    assert not to(810, sent)
    assert any(d.startswith("hit:open:") for _, d in buttons(member.last_message()))


async def test_messages_added_to_a_queued_appeal_are_on_the_card(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(820), person(821)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Не платят.")
    (appeal,) = await appeal_ids(ctx)
    await member.press(f"my:add:{appeal}")
    sent = await member.send("Забыла: и за октябрь тоже.")
    assert "увидит" in texts(sent)  # whoever takes it
    await member.press(f"my:add:{appeal}")
    await member.send_photo("PAYSLIP-OCT")
    await make_lawyer(admin, lawyer)
    sent = await lawyer.press(f"desk:card:{appeal}:")
    card = texts([r for r in sent if r.__api_method__ == "editMessageText"])
    assert "Не платят." in card and "Забыла: и за октябрь тоже." in card
    assert "📎" in card and "(2)" not in card and "(1)" in texts_of_buttons(lawyer)


def texts_of_buttons(person: Person) -> str:
    return " ".join(text for text, _ in buttons(person.last_message()))


async def test_start_or_an_old_ask_button_mid_draft_asks_before_dropping_it(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(830)
    await onboard(member, lang="kk")
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Жалақы екі айдан бері төленбейді.")
    await member.send("/start")
    assert {d for _, d in buttons(member.last_message())} == {"draft:keep", "draft:restart"}
    await member.press("draft:keep")
    await member.press("draft:files_done")
    await member.press("draft:send")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.text == "Жалақы екі айдан бері төленбейді."

    await member.send("/ask")
    await member.press("topic:leave")
    await member.send("Демалыс бермейді.")
    await member.press("ask:menu")  # an old "ask a lawyer" button
    await member.press("draft:restart")
    assert "Демалыс" not in member.last_text()
    await member.send("/start")  # the new draft is empty: nothing to lose, the menu comes
    assert "draft:keep" not in {d for _, d in buttons(member.last_message())}


async def test_a_member_who_declined_consent_can_still_search(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(840)
    await onboard(member, lang="ru", consent=False)
    sent = await member.send("когда выплачивают отпускные")
    assert any(d.startswith("hit:open:") for _, d in buttons(member.last_message()))
    await member.send("/ask")  # the consent question …
    sent = await member.send("задерживают зарплату")  # … and the member types instead
    assert any(d.startswith("hit:open:") for _, d in buttons(member.last_message()))
    assert "Я понимаю текст" not in texts(sent)
    async with ctx.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Appeal)) == 0
    state = await member.dp.storage.get_data(key_of(member))
    assert "задерживают" not in str(state)  # nothing typed is kept without consent


def key_of(member: Person):  # type: ignore[no-untyped-def]
    from aiogram.fsm.storage.base import StorageKey

    return StorageKey(bot_id=member.bot.id, chat_id=member.chat.id, user_id=member.user.id)


@pytest.mark.parametrize(
    ("lang", "words", "expected"),
    [
        ("ru", "здравствуйте", "Здравствуйте!"),
        ("kk", "Рахмет!", "Оқасы жоқ"),
        ("ru", "?", "словами"),
        ("kk", "👍", "сөзбен"),
    ],
)
async def test_small_talk_gets_a_short_friendly_answer(
    person: Callable[..., Person], lang: str, words: str, expected: str
) -> None:
    member = person(850)
    await onboard(member, lang=lang)
    sent = await member.send(words)
    assert expected in texts(sent)
    assert "FAQ" not in texts(sent) and not buttons(member.last_message())


async def test_the_draft_quotes_the_question_of_the_answer_being_read(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(860)
    await onboard(member, lang="ru")
    await member.send("не выплачивают отпускные")
    first_results = member.last_message()
    await member.press(buttons(first_results)[0][1], first_results)
    answer = member.session.screen.messages[860][first_results.message_id]
    await member.send("задерживают зарплату третий месяц")  # a newer search
    nos = next(d for _, d in buttons(answer) if d.startswith("hit:nos:"))
    await member.press(nos, answer)  # "did not help" on the older answer
    assert "третий месяц" not in member.last_text()


async def test_the_typed_question_is_forgotten_at_the_next_step(
    person: Callable[..., Person],
) -> None:
    member = person(870)
    await onboard(member, lang="ru")
    await member.send("не выплачивают отпускные")
    assert "отпускные" in str(await member.dp.storage.get_data(key_of(member)))
    await member.send("/my")
    assert "отпускные" not in str(await member.dp.storage.get_data(key_of(member)))


async def test_closing_an_unanswered_appeal_asks_and_the_member_learns_the_outcome(
    person: Callable[..., Person], ctx: Context
) -> None:
    lawyer, _first, _second, one, _two = await two_members_one_lawyer(person, ctx)
    await lawyer.press(f"desk:take:{one}:")
    sent = await lawyer.press(f"oc:open:{one}:")
    assert {d for _, d in buttons(lawyer.last_message())} == {
        f"desk:reply:{one}:",
        f"oc:sure:{one}:",
    }
    assert "Close" not in texts(sent) or "?" in texts(sent)
    await lawyer.press(f"oc:sure:{one}:")
    await lawyer.press(f"oc:t:{one}:conc")
    await lawyer.press(f"oc:t:{one}:just")
    await lawyer.press(f"oc:n:{one}:money")
    await lawyer.send("120000")
    sent = await lawyer.press(f"oc:save:{one}:")
    closing = texts(to(801, sent))
    for words in ("консультация", "Согласительная комиссия", "обоснованным", "120"):
        assert words in closing, closing


async def test_not_solved_after_a_rating_reopens_and_tells_the_lawyer(
    person: Callable[..., Person], ctx: Context
) -> None:
    lawyer, first, _second, one, _two = await two_members_one_lawyer(person, ctx)
    await lawyer.press(f"desk:take:{one}:")
    await lawyer.press(f"desk:reply:{one}:")
    await lawyer.send("Ответ.")
    await lawyer.press(f"oc:open:{one}:")
    await lawyer.press(f"oc:save:{one}:")
    await first.press(f"rate:{one}:4")
    await first.send("Спасибо, но директор всё равно не платит.")
    sent = await first.tap("❌")  # "Not solved after all", under the thanks
    back = to(800, sent)
    assert back and f"№ {one}" in texts(back)
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, one)
        assert appeal.status == AppealStatus.CLAIMED and appeal.rating is None


async def test_not_solved_goes_to_the_region_when_the_lawyer_left(
    person: Callable[..., Person], ctx: Context
) -> None:
    lawyer, first, _second, one, _two = await two_members_one_lawyer(person, ctx)
    await lawyer.press(f"desk:take:{one}:")
    await lawyer.press(f"oc:sure:{one}:")
    await lawyer.press(f"oc:save:{one}:")
    async with ctx.session_factory() as session:
        staff = await session.scalar(select(Staff).where(Staff.telegram_id == 800))
        assert staff is not None
        staff.active = False
        await session.commit()
    ctx.staff_directory.invalidate()
    await first.press(f"rate:{one}:0")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, one)
        assert appeal.status == AppealStatus.REOPENED and appeal.claimed_by is None
        assert appeal.notified_at is None  # the desk's clock tells the region's lawyers


async def test_a_busy_telegram_saves_the_answer_and_tells_the_lawyer_so(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    lawyer, first, _second, one, _two = await two_members_one_lawyer(person, ctx)
    await lawyer.press(f"desk:take:{one}:")
    await lawyer.press(f"desk:reply:{one}:")
    recording.failing[801] = [
        lambda m: TelegramRetryAfter(m, "Too Many Requests: retry after 1", 1)
    ]
    sent = await lawyer.send("Ответ в час пик.")
    assert shown_to(first, "час пик") == 0  # Telegram said "not now"
    assert "💾" in texts(to(800, sent))  # saved, on its way: never "try again"
    async with ctx.session_factory() as session:
        waiting = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
            )
        )
        assert len(waiting) == 1
        waiting[0].not_before = waiting[0].created_at  # the retry_after has passed
        await session.commit()
    assert [t for _, t in await thread(ctx, one)] == ["Ответ в час пик."]  # stored once
    ctx.outbox._paused_until = 0
    await ctx.outbox.send_due(lawyer.bot)
    assert shown_to(first, "час пик") == 1
