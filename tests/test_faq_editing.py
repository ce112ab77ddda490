"""Head lawyers edit, preview, publish and sign off FAQ answers in the bot, and members
read the new text and the sign-off at once (through the production Dispatcher)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from sqlalchemy import select

from bot.context import Context
from bot.faq.content import load_faq
from bot.handlers.member.faq import SIGNED_OFF
from bot.storage.models import (
    Appeal,
    AppealMessage,
    Audit,
    FaqCandidate,
    FaqEntry,
    FaqOrigin,
    FaqVersion,
    MessageSide,
    Staff,
)
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons, texts
from tests.test_desk_flow import invite
from tests.test_member_flow import onboard, send_appeal

pytestmark = pytest.mark.asyncio
NOT_REVIEWED_RU = "юрист профсоюза ещё не проверял"
NODE = "leave-pedagogue-56"
KK = "Педагогтің жыл сайынғы ақылы демалысы — 56 күнтізбелік күн (жаңа мәтін)."
RU = "Ежегодный оплачиваемый отпуск педагога — 56 календарных дней (новый текст)."


async def head_lawyer(admin: Person, person: Person) -> None:
    code = await invite(admin, "head-lawyer")
    await person.send(f"/join {code}")


def alerts(sent: Sequence[object]) -> str:
    return " ".join(str(r.text) for r in sent if isinstance(r, AnswerCallbackQuery) and r.text)


async def test_a_head_lawyer_edits_both_languages_publishes_and_signs_off(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin = person(ADMIN_ID)
    head = person(700, first_name="Айгерім Сапарова")
    member = person(701)
    await onboard(member, lang="ru")
    await head_lawyer(admin, head)
    shipped = load_faq().nodes[NODE]

    # The member reads the shipped answer: prepared from the Code, nobody's review claimed.
    await member.press(f"faq:open:{NODE}")
    assert NOT_REVIEWED_RU in member.last_text()
    assert "✏️" not in " ".join(t for t, _ in buttons(member.last_message()))  # no edit for members

    # The head lawyer opens the editor from /faqedit: the answer waits for a sign-off.
    await head.send("/faqedit")
    await head.tap("⚠️")
    assert str(len(ctx.faq.answers)) in head.last_text()
    await head.tap("📝")  # back home
    await head.tap("📂")
    await head.tap(ctx.faq.nodes["leave"].title_in("kk"))
    await head.tap(ctx.faq.nodes["leave-annual"].title_in("kk"))
    await head.tap(shipped.title_in("kk"))
    assert "✏️" in head.last_text()
    await head.press(f"fe:field:{NODE}:answer.kk")
    assert shipped.answer_in("kk")[:40] in texts(head.session.requests[-3:])  # current text to copy
    await head.send(KK)
    assert "жоба" in head.last_text().lower() or "draft" in head.last_text().lower()
    await head.press(f"fe:field:{NODE}:answer.ru")
    await head.send(RU)

    # Preview in Russian: exactly what the member will read, before anything is published.
    sent = await head.press(f"fe:preview:{NODE}:ru")
    preview = texts([r for r in sent if isinstance(r, SendMessage)])
    assert RU in preview and NOT_REVIEWED_RU in preview
    await member.press(f"faq:open:{NODE}")
    assert RU not in member.last_text()  # a draft is not published

    sent = await head.press(f"fe:publish:{NODE}:", head.message_with("✏️"))
    assert "2" in texts(sent)
    await member.press(f"faq:open:{NODE}")
    assert RU in member.last_text()
    assert NOT_REVIEWED_RU in member.last_text()
    assert ctx.faq_index.search("новый текст", limit=1)[0].node.id == NODE  # search too

    # Sign-off: asked, then confirmed; the member sees the lawyer's name and the date.
    await head.press(f"fe:sign:{NODE}:2", head.message_with("✏️"))
    assert "Айгерім Сапарова" in head.last_text()
    await head.press(f"fe:signok:{NODE}:2")
    await member.press(f"faq:open:{NODE}")
    signed = ctx.i18n.gettext(SIGNED_OFF, locale="ru").format(name="Айгерім Сапарова", date="")
    assert signed.rstrip(". ") in member.last_text()
    kk_member = person(702)
    await onboard(kk_member, lang="kk")
    await kk_member.press(f"faq:open:{NODE}")
    assert KK in kk_member.last_text() and "Айгерім Сапарова" in kk_member.last_text()

    # Any edit clears the sign-off.
    await head.press(f"fe:field:{NODE}:title.ru")
    await head.send("Сколько дней длится отпуск педагога?")
    await head.press(f"fe:publish:{NODE}:", head.message_with("✏️"))
    await member.press(f"faq:open:{NODE}")
    assert "Сколько дней длится отпуск педагога?" in member.last_text()
    assert "Айгерім Сапарова" not in member.last_text()
    assert NOT_REVIEWED_RU in member.last_text()

    # Versions: restoring the first one is a new version with the shipped text.
    await head.press(f"fe:history:{NODE}:", head.message_with("✏️"))
    history = head.last_text()
    assert "Айгерім Сапарова" in history and "3" in history
    await head.press(f"fe:restore:{NODE}:1")
    await head.press(f"fe:restoreok:{NODE}:1")
    await member.press(f"faq:open:{NODE}")
    assert shipped.answer_in("ru")[:60] in member.last_text()
    async with ctx.session_factory() as session:
        numbers = (
            await session.scalars(select(FaqVersion.number).where(FaqVersion.entry_id == NODE))
        ).all()
        actions = (await session.scalars(select(Audit.action))).all()
    assert sorted(numbers) == [1, 2, 3, 4]
    assert {"faq-publish", "faq-sign-off", "faq-restore"} <= set(actions)


async def test_edits_break_no_rule_and_only_editors_edit(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, head, lawyer, member = person(ADMIN_ID), person(710), person(711), person(712)
    await head_lawyer(admin, head)
    code = await invite(admin, "lawyer karaganda")
    await lawyer.send(f"/join {code}")
    await onboard(member, lang="ru")

    # A plain lawyer or a member pressing an editor's (forged) button edits nothing.
    for someone in (lawyer, member):
        sent = await someone.press(f"fe:open:{NODE}:")
        assert not any(isinstance(r, SendMessage) and "✏️" in str(r.text) for r in sent)
        sent = await someone.press(f"fe:publish:{NODE}:")
        assert "устарела" in alerts(sent) or "ескірген" in alerts(sent)
    await lawyer.send("/faqedit")
    assert "✏️" not in lawyer.last_text()

    # A forged version number no database integer holds: outdated, no apology.
    for action in ("signok", "restore", "restoreok"):
        sent = await head.press(f"fe:{action}:{NODE}:{'9' * 25}")
        assert "устарела" in alerts(sent) or "ескірген" in alerts(sent), action

    # An empty text, a tag and an over-long title are refused; nothing is published.
    await head.press(f"fe:open:{NODE}:new", member.last_message())
    await head.press(f"fe:field:{NODE}:title.kk")
    await head.send("x" * 61)
    assert "60" in head.last_text()
    await head.send_sticker()
    await head.send("<b>Демалыс</b>")
    await head.press(f"fe:field:{NODE}:refs.ru")
    await head.send("ст. 88 ТК РК\nст. 92 ТК РК\nст. 99 ТК РК\nст. 100 ТК РК")
    sent = await head.press(f"fe:publish:{NODE}:", head.message_with("✏️"))
    problems = texts([r for r in sent if isinstance(r, SendMessage)])
    assert problems.count("•") >= 2  # the tag, and references without their Kazakh text
    async with ctx.session_factory() as session:
        assert (await session.get(FaqEntry, NODE)).version == 1  # type: ignore[union-attr]

    # An admin gives a lawyer the editor right (and is told): from then on they edit too.
    async with ctx.session_factory() as session:
        staff_id = await session.scalar(select(Staff.id).where(Staff.telegram_id == 711))
    await admin.send("/staff")
    await admin.press(f"st:pick:{staff_id}:")
    sent = await admin.tap("✏️")
    assert any(
        isinstance(r, SendMessage) and r.chat_id == 711 and "/faqedit" in str(r.text) for r in sent
    )
    sent = await lawyer.press(f"fe:open:{NODE}:")
    assert "✏️" in texts(sent)
    # A change in one language only is asked about before it reaches members.
    await lawyer.press(f"fe:field:{NODE}:answer.ru")
    await lawyer.send("Только русский текст изменён.")
    sent = await lawyer.press(f"fe:publish:{NODE}:", lawyer.message_with("✏️"))
    asked = lawyer.last_message()
    assert [d for _, d in buttons(asked)] == [
        f"fe:field:{NODE}:answer.kk",
        f"fe:publish:{NODE}:one",
    ]
    await member.press(f"faq:open:{NODE}")
    assert "Только русский текст" not in member.last_text()
    await lawyer.press(f"fe:publish:{NODE}:one", asked)
    await member.press(f"faq:open:{NODE}")
    assert "Только русский текст изменён." in member.last_text()
    await admin.tap("✏️")  # and takes it back
    sent = await lawyer.press(f"fe:open:{NODE}:")
    assert "✏️" not in texts(sent)


async def test_a_new_answer_and_one_grown_from_an_appeal(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, head, lawyer = person(ADMIN_ID), person(720), person(721, first_name="Марат")
    member = person(722, first_name="Жанар")
    await head_lawyer(admin, head)
    code = await invite(admin, "lawyer karaganda")
    await lawyer.send(f"/join {code}")
    await onboard(member, lang="ru")

    # A new answer where the editor picks it: under "Annual leave".
    await head.send("/faqedit")
    await head.tap("📂")
    await head.tap(load_faq().nodes["leave"].title_in("kk"))
    await head.tap(load_faq().nodes["leave-annual"].title_in("kk"))
    await head.tap("➕")
    for field, value in (
        ("title:kk", "Демалысты ауыстыруға бола ма?"),
        ("title:ru", "Можно ли перенести отпуск на осень?"),
        ("answer:kk", "Демалыс кестесі жұмыс берушімен келісіліп өзгертіледі."),
        ("answer:ru", "График отпусков меняется по согласованию с работодателем."),
        ("refs:kk", "Еңбек кодексінің 92-бабы"),
        ("refs:ru", "ст. 92 ТК РК"),
    ):
        await head.press(f"fe:field:+leave-annual:{field.replace(':', '.')}")
        await head.send(value)
    await head.press("fe:publish:+leave-annual:", head.message_with("✏️"))
    assert "1" in head.last_text()
    await member.press("faq:open:leave-annual")
    assert "Можно ли перенести отпуск на осень?" in " ".join(
        t for t, _ in buttons(member.last_message())
    )
    assert ctx.faq_index.search("перенести отпуск на осень", limit=3)

    # A lawyer closes an appeal and offers their answer; the member's name stays out.
    await send_appeal(member, "leave", "Отпуск не дают летом, что делать?")
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    await lawyer.press(f"desk:take:{appeal_id}:")
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lawyer.send("Жанар, отпуск по графику; позвоните мне: +7 701 123 45 67.")
    await lawyer.press(f"oc:open:{appeal_id}:")
    await lawyer.press(f"oc:t:{appeal_id}:cons")
    await lawyer.press(f"oc:save:{appeal_id}:")
    sent = await lawyer.tap("💡")
    assert alerts(sent)
    async with ctx.session_factory() as session:
        candidate = await session.scalar(select(FaqCandidate))
        lawyer_words = (
            await session.scalars(
                select(AppealMessage.text).where(AppealMessage.side == MessageSide.LAWYER)
            )
        ).all()
    assert candidate is not None and "отпуск по графику" in candidate.text
    assert "Жанар" not in candidate.text and "701" not in candidate.text
    assert lawyer_words  # the appeal itself keeps what was said

    await head.send("/faqedit")
    await head.tap("💡")
    await head.tap(f"№ {appeal_id}")
    await head.tap(load_faq().nodes["leave"].title_in("kk"))
    for field, value in (
        ("title:kk", "Жазда демалыс бермесе?"),
        ("title:ru", "Не дают отпуск летом?"),
        ("answer:kk", "Демалыс кестесі бойынша беріледі."),
        ("refs:kk", "Еңбек кодексінің 92-бабы"),
        ("refs:ru", "ст. 92 ТК РК"),
    ):
        await head.press(f"fe:field:+leave:{field.replace(':', '.')}")
        await head.send(value)
    await head.press("fe:publish:+leave:", head.message_with("✏️"))
    async with ctx.session_factory() as session:
        grown = await session.scalar(select(FaqEntry).where(FaqEntry.origin == FaqOrigin.APPEAL))
        offered = await session.scalar(select(FaqCandidate))
    assert grown is not None and grown.origin_appeal_id == appeal_id
    assert offered is not None and offered.entry_id == grown.id
