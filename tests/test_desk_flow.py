"""The lawyers' desk through the production Dispatcher: invite, join, queue, take, talk."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiogram.methods import CopyMessage, SendMessage, SendPhoto
from sqlalchemy import select

from bot.app import Context
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealStatus,
    Audit,
    MessageSide,
    Staff,
    StaffRole,
)
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons, texts
from tests.test_member_flow import onboard, send_appeal

pytestmark = pytest.mark.asyncio


async def invite(admin: Person, args: str) -> str:
    sent = await admin.send(f"/invite {args}")
    text = texts(sent)
    assert "/join " in text, text
    return text.split("/join ", 1)[1].split("<", 1)[0].split()[0]


async def make_lawyer(admin: Person, person: Person, orgs: str = "karaganda") -> None:
    code = await invite(admin, f"lawyer {orgs}")
    sent = await person.send(f"/join {code}")
    assert any(isinstance(r, SendMessage) for r in sent)


async def test_invite_join_queue_take_and_talk(person: Callable[..., Person], ctx: Context) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(600, first_name="Гүлнар"), person(601)
    await onboard(member, lang="ru", org="karaganda")
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Не платят за классное руководство с сентября.")
    await member.send_photo("PAYSLIP")
    await member.press("draft:files_done")
    await member.press("draft:send")

    await make_lawyer(admin, lawyer)
    sent = await lawyer.send("/queue")
    queue = sent[-1]
    assert isinstance(queue, SendMessage)
    labels = [t for t, _ in buttons(lawyer.last_message())]
    assert any(label.startswith("№ ") for label in labels)
    appeal_id = int(
        next(d for _, d in buttons(lawyer.last_message()) if d.startswith("desk:card")).split(":")[
            2
        ]
    )

    sent = await lawyer.press(f"desk:card:{appeal_id}:")
    card = texts([r for r in sent if r.__api_method__ == "editMessageText"])
    assert "Не платят за классное руководство" in card
    assert "Қарағанды облысы" in card  # a staff member who is not a member: Kazakh
    assert any(isinstance(r, SendPhoto) and r.photo == "PAYSLIP" for r in sent)

    sent = await lawyer.press(f"desk:take:{appeal_id}:")
    to_member = [r for r in sent if isinstance(r, SendMessage) and r.chat_id == 601]
    assert to_member and "юрист" in str(to_member[0].text).lower()

    await lawyer.press(f"desk:reply:{appeal_id}:")
    sent = await lawyer.send("Здравствуйте! Напишите, пожалуйста, какая у Вас нагрузка.")
    delivered = [r for r in sent if isinstance(r, SendMessage) and r.chat_id == 601]
    assert delivered and str(appeal_id) in str(delivered[0].text)
    assert "какая у Вас нагрузка" in str(delivered[0].text)
    sent = await lawyer.send_document("ORDER-PDF")
    assert any(
        isinstance(r, CopyMessage) and r.chat_id == 601 for r in sent
    )  # copied, never forwarded

    # The member answers with the Reply button on the lawyer's message.
    await member.press(f"my:add:{appeal_id}")
    sent = await member.send("18 часов и классное руководство в 5 «А».")
    relayed = [r for r in sent if isinstance(r, SendMessage) and r.chat_id == 600]
    assert relayed and "5 «А»" in str(relayed[0].text)

    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.status == AppealStatus.ANSWERED and appeal.first_answer_at is not None
        sides = list(
            await session.scalars(
                select(AppealMessage.side)
                .where(AppealMessage.appeal_id == appeal_id)
                .order_by(AppealMessage.id)
            )
        )
        assert sides == [MessageSide.LAWYER, MessageSide.LAWYER, MessageSide.MEMBER]
        actions = set(await session.scalars(select(Audit.action)))
        assert {"invite", "join", "open-appeal", "claim", "answer"} <= actions


async def test_second_lawyer_is_told_who_took_it(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, first, second, member = (
        person(ADMIN_ID),
        person(610, first_name="Асқар"),
        person(611),
        person(612),
    )
    await onboard(member, org="karaganda")
    await send_appeal(member, "leave", "Отпуск не дают.")
    await make_lawyer(admin, first)
    await make_lawyer(admin, second)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    await first.press(f"desk:take:{appeal_id}:")
    sent = await second.press(f"desk:take:{appeal_id}:")
    alert = next(r for r in sent if r.__api_method__ == "answerCallbackQuery")
    assert "Асқар" in str(getattr(alert, "text", ""))


async def test_lawyer_cannot_reach_other_regions_or_write_to_unclaimed(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(620), person(621)
    await onboard(member, org="atyrau")
    await send_appeal(member, "pay", "Секрет Атырау.")
    await make_lawyer(admin, lawyer, "karaganda")
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    for data in (f"desk:card:{appeal_id}:", f"desk:take:{appeal_id}:"):
        sent = await lawyer.press(data)
        assert "Секрет" not in texts(sent)
        assert [r for r in sent if r.__api_method__ == "answerCallbackQuery"]
    # A forged "reply" on an appeal that is not theirs: nothing reaches the member.
    await lawyer.press(f"desk:reply:{appeal_id}:")
    sent = await lawyer.send("чужому члену")
    assert not [r for r in sent if getattr(r, "chat_id", None) == 621]
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.QUEUED


@pytest.mark.parametrize("command", ["/queue", "/mine", "/invite lawyer abai", "/staff", "/inbox"])
async def test_members_get_no_staff_commands(person: Callable[..., Person], command: str) -> None:
    member = person(630)
    await onboard(member)
    sent = await member.send(command)
    assert (
        "/join" not in texts(sent) and "Очередь" not in texts(sent) and "Staff" not in texts(sent)
    )
    assert len(sent) == 1  # the fallback's "unknown command" hint


async def test_roles_change_and_revoke_take_effect_at_once(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(640, first_name="Бақыт")
    await make_lawyer(admin, lawyer)
    async with ctx.session_factory() as session:
        staff_id = int(await session.scalar(select(Staff.id).where(Staff.telegram_id == 640)) or 0)
    await admin.send("/staff")
    await admin.press(f"st:role:{staff_id}:head-lawyer")
    async with ctx.session_factory() as session:
        assert (await session.get_one(Staff, staff_id)).role == StaffRole.HEAD_LAWYER
    await admin.press(f"st:revoke:{staff_id}:")
    sent = await lawyer.send("/queue")
    assert not any(
        "Очередь" in str(getattr(r, "text", "")) or "Кезек" in str(getattr(r, "text", ""))
        for r in sent
    )


async def test_join_code_works_once(person: Callable[..., Person]) -> None:
    admin, first, second = person(ADMIN_ID), person(650), person(651)
    code = await invite(admin, "press")
    await first.send(f"/join {code}")
    sent = await second.send(f"/join {code}")
    assert "/queue" not in texts(sent)
    sent = await second.send("/join")
    assert "/join" in texts(sent)
