"""The member journey through the production Dispatcher with a recording session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bot.context import Context
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealSource,
    AppealStatus,
    Audit,
    FaqEvent,
    FaqEventKind,
    Feedback,
    Member,
)
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons, texts
from tests.recording import RecordingSession


async def onboard(
    member: Person, lang: str = "ru", org: str = "karaganda", consent: bool = True
) -> None:
    await member.send("/start")
    await member.press(f"lang:{lang}")
    await member.press(f"org:{org}")
    await member.press("wp:school")
    await member.press(f"consent:{int(consent)}")


async def send_appeal(member: Person, topic: str, text: str) -> None:
    """A direct appeal without files, the shortest way through the draft."""
    await member.send("/ask")
    await member.press(f"topic:{topic}")
    await member.send(text)
    await member.press("draft:files_done")
    await member.press("draft:send")


async def count(ctx: Context, model: type) -> int:
    async with ctx.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_onboarding_in_russian_stores_member_and_shows_menu(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    member = person(101)
    sent = await member.send("/start")
    assert "Бот тілін таңдаңыз" in texts(sent) and "Выберите язык бота" in texts(sent)
    await member.press("lang:ru")
    assert "членск" in member.last_text().lower()
    assert any("Карагандинская" in text for text, _ in buttons(member.last_message()))
    await member.press("org:karaganda")
    await member.press("wp:kindergarten")
    assert "согласие" in member.last_text().lower()
    sent = await member.press("consent:1")
    assert any(r.__api_method__ == "setMyCommands" for r in sent)
    keyboard = recording.screen.reply_keyboards[101]
    labels = [b.text for row in keyboard.keyboard for b in row]
    assert any("юрист" in label.lower() for label in labels)
    async with ctx.session_factory() as session:
        row = await session.scalar(select(Member).where(Member.telegram_id == 101))
        assert row is not None
        assert (row.language, row.member_org, row.workplace_type) == (
            "ru",
            "karaganda",
            "kindergarten",
        )
        assert row.consent_version is not None and row.consent_at is not None


async def test_onboarding_in_kazakh_and_returning_member_lands_in_menu(
    person: Callable[..., Person], recording: RecordingSession
) -> None:
    member = person(102)
    await onboard(member, lang="kk", org="abai")
    assert "тіркелдіңіз" in texts(recording.requests[-3:]).lower()
    sent = await member.send("/start")
    assert len(sent) == 1 and sent[0].__api_method__ == "sendMessage"
    assert "Бот тілін" not in texts(sent)


async def test_forged_org_during_onboarding_is_refused(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(103)
    await member.send("/start")
    await member.press("lang:kk")
    sent = await member.press("org:nowhere-land")
    assert sent[-1].__api_method__ == "answerCallbackQuery"
    assert await count(ctx, Member) == 0


async def test_faq_navigation_edits_one_message_with_back_and_home(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(104)
    await onboard(member)
    await member.send("/faq")
    faq_message = member.last_message()
    topic = ctx.faq.topics[2]  # leave
    await member.press(f"faq:open:{topic.id}", faq_message)
    sub = topic.children[0]
    screen = member.session.screen.messages[104][faq_message.message_id]
    assert ("⬅️ Назад", "faq:open:") in buttons(screen)
    await member.press(f"faq:open:{sub.id}", screen)
    answer = sub.children[0] if not sub.is_answer else sub
    if not answer.is_answer:
        answer = next(n for n in ctx.faq.answers if n.topic == topic.id)
    sent = await member.press(f"faq:open:{answer.id}", screen)
    assert [r.__api_method__ for r in sent] == ["editMessageText", "answerCallbackQuery"]
    shown = member.session.screen.messages[104][faq_message.message_id]
    assert shown.text is not None
    assert answer.refs[0].ru.split(",")[0] in shown.text or "ст." in shown.text
    assert "Это помогло?" in shown.text
    labels = [t for t, _ in buttons(shown)]
    assert any("Да" in t for t in labels) and any("юрист" in t for t in labels)
    assert any("Назад" in t for t in labels) and any(
        "Главная" in t or "В начало" in t for t in labels
    )
    await member.press(f"faq:yes:{answer.id}", shown)
    async with ctx.session_factory() as session:
        kinds = list(
            await session.scalars(
                select(FaqEvent.kind).where(FaqEvent.node_id == answer.id).order_by(FaqEvent.id)
            )
        )
    assert kinds == [FaqEventKind.VIEWED, FaqEventKind.HELPED]


async def test_faq_miss_leads_to_appeal_with_topic_and_node(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(105)
    await onboard(member)
    answer = next(n for n in ctx.faq.answers if n.topic == "pay")
    await member.send("/faq")
    await member.press(f"faq:open:{answer.id}")
    await member.press(f"faq:no:{answer.id}")
    assert "Оплата труда" in member.last_text()
    await member.send("Зарплату за октябрь не выплатили до сих пор, директор молчит.")
    await member.press("draft:files_done")
    await member.press("draft:send")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None
        assert appeal.topic == "pay" and appeal.faq_node == answer.id
        assert appeal.source == AppealSource.FAQ_MISS
        events = list(
            await session.scalars(select(FaqEvent.kind).where(FaqEvent.node_id == answer.id))
        )
    assert FaqEventKind.NOT_HELPED in events and FaqEventKind.LED_TO_APPEAL in events
    assert f"№ {appeal.id}" in member.last_text() or f"№{appeal.id}" in member.last_text()


async def test_free_text_search_shows_three_answers_and_ask_a_lawyer(
    person: Callable[..., Person],
) -> None:
    member = person(106)
    await onboard(member, lang="kk")
    sent = await member.send("демалыс ақысы кашан толенеди")
    reply = sent[-1]
    markup = reply.reply_markup  # type: ignore[attr-defined]
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert len(labels) == 4
    assert labels[-1].startswith("✍️")
    assert all(
        b.callback_data.startswith("hit:open:") for row in markup.inline_keyboard[:3] for b in row
    )

    # An answer opened among them leads back to them, not to the topic tree.
    results = [d for _l, d in buttons(member.last_message())]
    await member.press(results[0])
    back = [d for _l, d in buttons(member.last_message()) if d.startswith("hit:back:")]
    assert len(back) == 1
    await member.press(back[0])
    assert [d for _l, d in buttons(member.last_message())] == results


async def test_direct_appeal_with_files_is_stored_before_its_number_is_shown(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    member = person(107, first_name="Сәуле")
    await onboard(member, lang="kk", org="shymkent")
    await member.send("/ask")
    await member.press("topic:dismissal")
    await member.send("Мені қысқартуға байланысты бір күн бұрын ескертіп жұмыстан шығарды.")
    for i in range(4):
        await member.send_photo(f"PHOTO{i}")
    # Words under a photo join the question, and the member is told so.
    sent = await member.send_photo("PHOTO4", caption="Бұйрықтың көшірмесі.")
    assert "сұрағыңызға қосылды" in texts(sent)
    sent = await member.send_document("DOC6")
    assert "5" in texts(sent)  # the sixth file is refused with the limit stated
    await member.press("draft:files_done")
    await member.press("draft:anon")
    assert await count(ctx, Appeal) == 0  # nothing stored before the member sends it
    sent = await member.press("draft:send")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None
    assert appeal.status == AppealStatus.QUEUED and appeal.source == AppealSource.DIRECT
    assert appeal.member_org == "shymkent" and appeal.topic == "dismissal"
    assert appeal.hide_from_employer is True
    assert [a["file_id"] for a in appeal.attachments] == [f"PHOTO{i}" for i in range(5)]
    assert str(appeal.id) in texts(sent)


async def test_appeal_needs_consent_first(person: Callable[..., Person], ctx: Context) -> None:
    member = person(108)
    await onboard(member, consent=False)
    await member.send("/ask")
    assert "согласие" in member.last_text().lower()
    await member.press("consent:1")
    await member.press("topic:leave")
    await member.send("Не дают отпуск летом, говорят работать в лагере.")
    await member.press("draft:files_done")
    await member.press("draft:send")
    assert await count(ctx, Appeal) == 1


async def test_search_then_ask_keeps_the_question(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(109)
    await onboard(member)
    await member.send("задерживают зарплату второй месяц")
    await member.tap("✍️")
    assert "задерживают зарплату второй месяц" in member.last_text()
    await member.press("draft:as_is")
    await member.press("draft:files_done")
    await member.press("draft:send")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.text == "задерживают зарплату второй месяц"
    assert appeal.topic == "pay" and appeal.source == AppealSource.FAQ_MISS


async def test_my_appeals_and_adding_a_message(person: Callable[..., Person], ctx: Context) -> None:
    member = person(110)
    await onboard(member)
    await send_appeal(
        member, "contract", "Работодатель не выдаёт справку с места работы уже неделю."
    )
    await member.send("/my")
    assert "№" in member.last_text() and "очеред" in member.last_text()
    appeal_id = int(buttons(member.last_message())[0][1].split(":")[-1])
    await member.press(f"my:open:{appeal_id}")
    assert "Работодатель не выдаёт справку" in member.last_text()
    await member.press(f"my:add:{appeal_id}")
    await member.send("Заявление подала 1 ноября, входящий номер 123.")
    async with ctx.session_factory() as session:
        added = await session.scalar(select(AppealMessage))
    assert added is not None and added.appeal_id == appeal_id and "входящий" in (added.text or "")


async def test_member_cannot_open_or_write_to_anothers_appeal(
    person: Callable[..., Person], ctx: Context
) -> None:
    owner, intruder = person(111), person(112)
    await onboard(owner)
    await onboard(intruder)
    await send_appeal(owner, "pay", "Секретная история про мою зарплату.")
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    sent = await intruder.press(f"my:open:{appeal_id}")
    assert "Секретная" not in texts(sent)
    assert sent[-1].__api_method__ == "answerCallbackQuery"
    await intruder.press(f"my:add:{appeal_id}")
    await intruder.send("чужое")
    assert await count(ctx, AppealMessage) == 0


async def test_mailbox_anonymous_and_admin_inbox(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(113, first_name="Ерлан")
    await onboard(member)
    await member.send("/feedback")
    await member.press("fb:kind:suggestion")
    await member.send("Сделайте, пожалуйста, семинар по аттестации для молодых педагогов.")
    await member.press("fb:send:anonymous")
    async with ctx.session_factory() as session:
        item = await session.scalar(select(Feedback))
    assert item is not None and item.anonymous and item.member_id is None
    # Members are not admins: /inbox is not theirs.
    sent = await member.send("/inbox")
    assert "семинар" not in texts(sent)
    admin = person(ADMIN_ID)
    sent = await admin.send("/inbox")
    assert "семинар по аттестации" in texts(sent)
    assert "Ерлан" not in texts(sent)
    async with ctx.session_factory() as session:
        reads = list(await session.scalars(select(Audit).where(Audit.action == "read-inbox")))
    assert [r.staff_telegram_id for r in reads] == [ADMIN_ID]


async def test_inbox_pages(person: Callable[..., Person], ctx: Context) -> None:
    member = person(114)
    await onboard(member)
    for i in range(7):
        await member.send("/feedback")
        await member.press("fb:kind:complaint")
        await member.send(f"жалоба номер {i}")
        await member.press("fb:send:signed")
    admin = person(ADMIN_ID)
    sent = await admin.send("/inbox")
    assert "жалоба номер 6" in texts(sent) and "жалоба номер 0" not in texts(sent)
    await admin.press("inbox:1")
    assert "жалоба номер 0" in admin.last_text()


async def test_bad_input_gets_localised_hints_and_loses_nothing(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(115)
    await onboard(member)
    for action in (
        member.send_sticker,
        member.send_voice,
        member.send_location,
        member.send_contact,
    ):
        sent = await action()
        assert len(sent) == 1 and sent[0].__api_method__ == "sendMessage"
        text = texts(sent)
        assert text and "Sorry" not in text and any("а" <= ch <= "я" for ch in text.lower())
    sent = await member.send("ы" * 5000)
    assert "5000" in texts(sent) and "3000" in texts(sent)
    # Mid-appeal: a sticker gets a hint and the draft survives.
    await member.send("/ask")
    await member.press("topic:leave")
    await member.send_sticker()
    sent = await member.send("a" * 3500)
    assert "3500" in texts(sent)
    await member.send("Отпуск перенесли без моего согласия.")
    await member.press("draft:files_done")
    await member.press("draft:send")
    assert await count(ctx, Appeal) == 1


async def test_stale_and_forged_buttons_are_answered(person: Callable[..., Person]) -> None:
    member = person(116)
    await onboard(member)
    for data in (
        "faq:open:no-such-node",
        "faq:yes:",
        "my:open:999999",
        "draft:send",
        "garbage",
        "x" * 64,
        "inbox:0",
        "lang:xx",
        "topic:pay",
    ):
        sent = await member.press(data)
        answers = [r for r in sent if r.__api_method__ == "answerCallbackQuery"]
        assert len(answers) == 1, data
        shown = str(getattr(answers[0], "text", "") or "")
        assert "устар" in shown.lower(), (data, shown)


async def test_language_switch_changes_texts_and_commands(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(117)
    await onboard(member, lang="kk")
    await member.send("/lang")
    sent = await member.press("lang:ru")
    assert "русский" in texts(sent).lower()
    commands = [r for r in sent if r.__api_method__ == "setMyCommands"]
    assert commands and any("юрист" in c.description.lower() for c in commands[0].commands)  # type: ignore[attr-defined]
    async with ctx.session_factory() as session:
        assert (
            await session.scalar(select(Member.language).where(Member.telegram_id == 117)) == "ru"
        )


async def test_handler_error_is_logged_with_update_id_and_member_gets_apology(
    person: Callable[..., Person], ctx: Context, caplog: object, monkeypatch: object
) -> None:
    import logging

    import pytest

    from bot.handlers.member import my_appeals

    member = person(118)
    await onboard(member)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(my_appeals, "list_member_appeals", broken)
    assert isinstance(caplog, pytest.LogCaptureFixture)
    with caplog.at_level(logging.ERROR):
        sent = await member.send("/my")
    assert "Извините" in texts(sent)
    assert any("handler error in update" in r.getMessage() for r in caplog.records)


async def test_search_answer_not_helping_carries_the_typed_question(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(119)
    await onboard(member)
    await member.send("не выплачивают отпускные перед отпуском")
    first = buttons(member.last_message())[0][1]
    await member.press(first)
    node_id = first.split(":")[2]
    assert first.startswith("hit:open:")
    await member.tap("✍️")  # "No, ask a lawyer" under the answer
    assert "не выплачивают отпускные перед отпуском" in member.last_text()
    await member.send("Отпуск с 1 июля, денег нет.")
    await member.press("draft:files_done")
    await member.press("draft:send")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.faq_node == node_id
    assert appeal.text == "не выплачивают отпускные перед отпуском\n\nОтпуск с 1 июля, денег нет."
    # Browsing the FAQ anew forgets the question: it is not attached to an unrelated appeal.
    await member.send("задерживают зарплату")
    await member.send("/faq")
    answer = next(n for n in ctx.faq.answers if n.topic == "safety")
    await member.press(f"faq:open:{answer.id}")
    await member.press(f"faq:no:{answer.id}")
    assert "задерживают зарплату" not in member.last_text()


@pytest.mark.parametrize(
    ("lang", "words"), [("ru", "персональные данные"), ("kk", "жеке деректер")]
)
async def test_help_names_every_member_command(
    person: Callable[..., Person], lang: str, words: str
) -> None:
    member = person(880)
    await onboard(member, lang=lang, org="karaganda")
    shown = texts(await member.send("/help"))
    for command in ("/faq", "/ask", "/my", "/feedback", "/news", "/mydata", "/forget", "/lang"):
        assert command in shown
    assert words in shown
