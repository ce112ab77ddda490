"""An edited message in an appeal's conversation: the stored text follows with its history,
and the other side's copy is corrected (edited in place, or sent again marked corrected)."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.methods import EditMessageText, SendMessage
from sqlalchemy import select

from bot.context import Context
from bot.storage.models import Appeal, AppealMessage, MessageSide, OutboxMessage
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons, texts
from tests.test_desk_flow import make_lawyer
from tests.test_member_flow import onboard, send_appeal

LAWYER, MEMBER = 800, 801


async def held_appeal(person: Callable[..., Person], lang: str) -> tuple[Person, Person, int]:
    """A member's appeal taken by a lawyer, the lawyer in writing mode."""
    member = person(MEMBER, language_code=lang, first_name="Борис")
    lawyer = person(LAWYER, language_code=lang, first_name="Гүлнар")
    await onboard(member, lang=lang, org="karaganda")
    await send_appeal(member, "leave", "Не дают отпуск летом.")
    await make_lawyer(person(ADMIN_ID), lawyer, "karaganda")
    await lawyer.send("/queue")
    appeal_id = int(
        next(d for _, d in buttons(lawyer.last_message()) if d.startswith("desk:card")).split(":")[
            2
        ]
    )
    await lawyer.press(f"desk:take:{appeal_id}:")
    await lawyer.press(f"desk:reply:{appeal_id}:")
    return member, lawyer, appeal_id


async def stored(ctx: Context, side: MessageSide) -> AppealMessage:
    async with ctx.session_factory() as session:
        found = await session.scalar(
            select(AppealMessage).where(AppealMessage.side == side).order_by(AppealMessage.id)
        )
    assert found is not None
    return found


async def test_a_lawyer_s_correction_reaches_the_member_as_an_edit(
    person: Callable[..., Person], ctx: Context
) -> None:
    member, lawyer, appeal_id = await held_appeal(person, "ru")
    sent = await lawyer.send("Срок подачи жалобы — 3 месяца.")
    copy = next(r for r in sent if isinstance(r, SendMessage) and r.chat_id == MEMBER)
    written = lawyer.last_sent_id

    sent = await lawyer.edit(written, "Срок подачи жалобы — 1 месяц.")
    edits = [r for r in sent if isinstance(r, EditMessageText) and r.chat_id == MEMBER]
    assert len(edits) == 1
    assert "1 месяц" in str(edits[0].text) and "3 месяца" not in str(edits[0].text)
    assert f"№ {appeal_id}" in str(edits[0].text)  # the label stays: which appeal it is
    assert edits[0].reply_markup is not None  # and the member's reply button
    assert "1 месяц" in member.last_text() and "3 месяца" not in member.last_text()
    assert copy.text and "3 месяца" in copy.text
    assert str(appeal_id) in texts([r for r in sent if getattr(r, "chat_id", 0) == LAWYER])

    answer = await stored(ctx, MessageSide.LAWYER)
    assert answer.text == "Срок подачи жалобы — 1 месяц."
    assert [e["text"] for e in answer.edits] == ["Срок подачи жалобы — 3 месяца."]
    assert answer.edited_at is not None

    # The card shows the new words, marked as edited.
    await lawyer.press(f"desk:card:{appeal_id}:")
    card = lawyer.last_text()
    assert "1 месяц" in card and "3 месяца" not in card and "✏️" in card


async def test_a_member_s_correction_reaches_the_lawyer_in_kazakh(
    person: Callable[..., Person], ctx: Context
) -> None:
    member, lawyer, appeal_id = await held_appeal(person, "kk")
    await lawyer.send("Қай мектепте жұмыс істейсіз?")
    await lawyer.send("/queue")  # the lawyer leaves writing mode
    await member.press(f"my:add:{appeal_id}")
    await member.send("№ 15 мектеп")
    written = member.last_sent_id
    sent = await member.edit(written, "№ 51 мектеп")
    edits = [r for r in sent if isinstance(r, EditMessageText) and r.chat_id == LAWYER]
    assert len(edits) == 1 and "№ 51 мектеп" in str(edits[0].text)
    assert f"№ {appeal_id}" in str(edits[0].text)
    told = texts([r for r in sent if getattr(r, "chat_id", 0) == MEMBER])
    assert "№ " in told and str(appeal_id) in told  # the member is told, in Kazakh
    assert (await stored(ctx, MessageSide.MEMBER)).text == "№ 51 мектеп"


async def test_a_correction_of_a_copy_on_its_way_follows_it_marked(
    person: Callable[..., Person], ctx: Context
) -> None:
    _member, lawyer, appeal_id = await held_appeal(person, "ru")
    await lawyer.send("Ответ.")
    # As if the member's copy had not been sent yet (Telegram busy): still pending.
    async with ctx.session_factory() as session:
        copy = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.chat_id == MEMBER, OutboxMessage.appeal_message_id.is_not(None)
            )
        )
        assert copy is not None
        copy.status, copy.message_id = "pending", None  # type: ignore[assignment]
        await session.commit()
    sent = await lawyer.edit(lawyer.last_sent_id, "Исправленный ответ.")
    assert not [r for r in sent if isinstance(r, EditMessageText)]
    # The correction waits behind the original (a chat's messages go in order).
    async with ctx.session_factory() as session:
        queued = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == MEMBER, OutboxMessage.status == "pending")
                .order_by(OutboxMessage.id)
            )
        )
    assert len(queued) == 2
    assert "Исправленный ответ." in queued[1].payload["text"]
    assert "✏️" in queued[1].payload["text"] and f"№ {appeal_id}" in queued[1].payload["text"]


async def test_edits_of_other_messages_and_bad_edits_change_nothing(
    person: Callable[..., Person], ctx: Context
) -> None:
    _member, lawyer, _appeal = await held_appeal(person, "ru")
    await lawyer.send("Первый ответ.")
    answer = lawyer.last_sent_id
    # A search another member typed, then edited: not an appeal's message, nothing happens.
    other = person(MEMBER + 1, language_code="ru")
    await onboard(other, lang="ru", org="karaganda")
    await other.send("отпуск летом")
    assert await other.edit(other.last_sent_id, "отпуск зимой") == []
    # A correction longer than a message may be: refused, the stored words kept.
    sent = await lawyer.edit(answer, "а" * 5_000)
    assert not [r for r in sent if getattr(r, "chat_id", 0) == MEMBER]
    assert texts(sent)  # the lawyer is told why
    # The same words again (Telegram sends an edit for a changed link preview too).
    assert [
        r for r in await lawyer.edit(answer, "Первый ответ.") if getattr(r, "chat_id", 0) == MEMBER
    ] == []
    assert (await stored(ctx, MessageSide.LAWYER)).text == "Первый ответ."


async def test_after_forget_an_edit_brings_nothing_back(
    person: Callable[..., Person], ctx: Context
) -> None:
    member, lawyer, appeal_id = await held_appeal(person, "ru")
    await lawyer.send("/queue")
    await member.press(f"my:add:{appeal_id}")
    await member.send("Мой телефон 8 701 123 45 67")
    written = member.last_sent_id
    await member.send("/forget")
    yes = next(d for _, d in buttons(member.last_message()) if d.startswith("forget:yes:"))
    await member.press(yes)
    sent = await member.edit(written, "Мой телефон 8 777 000 00 00")
    assert not [r for r in sent if getattr(r, "chat_id", 0) == LAWYER]
    async with ctx.session_factory() as session:
        words = list(await session.scalars(select(AppealMessage.text)))
        history = list(await session.scalars(select(AppealMessage.edits)))
    assert not any(w and "телефон" in w for w in words)
    assert all(h == [] for h in history)


async def test_an_edit_while_writing_the_appeal_corrects_it_and_after_sending_says_so(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(830, language_code="ru")
    await onboard(member, lang="ru", org="karaganda")
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Не платят с сентября, сумма 300 000 тг.")
    written = member.last_sent_id
    await member.press("draft:files_done")  # the check screen, with the words as typed
    sent = await member.edit(written, "Не платят с сентября, сумма 350 000 тг.")
    assert "✏️" in texts(sent)
    assert "350 000" in member.last_text()  # the check screen again, corrected
    await member.press("draft:send")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.text == "Не платят с сентября, сумма 350 000 тг."

    # Sent: the edit cannot follow, and the member is told how to correct it.
    sent = await member.edit(written, "Не платят с сентября, сумма 400 000 тг.")
    assert f"№ {appeal.id}" in texts(sent) and "новым сообщением" in texts(sent)
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal.id)).text.endswith("350 000 тг.")  # type: ignore[union-attr]
