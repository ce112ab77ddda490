"""Saved replies (/replies) and ready texts sent to a member from an appeal's card: a saved
reply or an FAQ answer, previewed, maybe changed, then sent as the lawyer's own answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select

from bot.app import create_bot, create_dispatcher
from bot.callbacks import DeskCb, PickCb, PreviewCb, RepliesCb
from bot.commands import STAFF_COMMANDS
from bot.context import Context
from bot.handlers.desk.answers import answer_label
from bot.handlers.desk.ready_texts import faq_answer_text
from bot.handlers.member.faq import NOT_REVIEWED
from bot.handlers.shared.common import outdated
from bot.outbox.texts import TO_MEMBER
from bot.services.saved_replies import (
    SavedReplyError,
    Scope,
    add_reply,
    change_reply,
    delete_reply,
    get_reply,
    replies_page,
)
from bot.services.staff import StaffView
from bot.storage.db import create_session_factory
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealStatus,
    Audit,
    MessageSide,
    OutboxMessage,
    SavedReply,
    Staff,
    StaffRole,
)
from tests.databases import KINDS, database
from tests.driver import Person, buttons, texts
from tests.strict import StrictSession
from tests.test_member_flow import onboard, send_appeal

pytestmark = pytest.mark.asyncio
ORGS = ["karaganda", "atyrau"]


def rendered(ctx: Context, lang: str, make: Callable[[], str]) -> str:
    with ctx.i18n.context(), ctx.i18n.use_locale(lang):
        return make()


async def make_staff(
    ctx: Context, telegram_id: int, role: str = "lawyer", orgs: tuple[str, ...] = ("karaganda",)
) -> int:
    async with ctx.session_factory() as session:
        row = Staff(
            telegram_id=telegram_id,
            role=StaffRole(role),
            member_orgs=list(orgs) if role == "lawyer" else [],
            full_name=f"Заңгер {telegram_id}",
        )
        session.add(row)
        await session.commit()
        ctx.staff_directory.invalidate()
        return row.id


async def replies(ctx: Context) -> list[SavedReply]:
    async with ctx.session_factory() as session:
        return list(await session.scalars(select(SavedReply).order_by(SavedReply.id)))


def data_of(person: Person, label_part: str) -> str:
    """The data of the newest button whose label has `label_part`."""
    for message in reversed(person.messages()):
        for text, data in buttons(message):
            if label_part in text:
                return data
    raise AssertionError(f"no button with {label_part!r}; last: {person.last_text()!r}")


def labels(person: Person) -> list[str]:
    return [text for text, _data in buttons(person.last_message())]


def alert(sent: Sequence[object]) -> str:
    answers = [r for r in sent if isinstance(r, AnswerCallbackQuery)]
    assert len(answers) == 1, sent
    return str(answers[0].text or "")


async def add_via_bot(lawyer: Person, lang: str, where: str, title: str, text: str) -> None:
    await lawyer.send("/replies")
    await lawyer.press(RepliesCb(action="new", lang=lang).pack())
    await lawyer.press(RepliesCb(action="where", lang=lang, where=where).pack())
    await lawyer.send(title)
    await lawyer.send(text)


async def reply_id(ctx: Context, title: str) -> int:
    async with ctx.session_factory() as session:
        found = await session.scalar(select(SavedReply.id).where(SavedReply.title == title))
    assert found is not None, title
    return int(found)


# --- /replies ----------------------------------------------------------------------------


async def test_add_edit_delete_in_both_languages(
    person: Callable[..., Person], ctx: Context
) -> None:
    lawyer = person(900)
    staff_id = await make_staff(ctx, 900)
    await lawyer.send("/replies")
    assert "Дайын жауаптар" in lawyer.last_text()  # the lawyer's Telegram speaks Kazakh
    await lawyer.tap("➕")
    # A lawyer keeps a reply or shares it with their member organisation, not the union.
    offered = [data for _text, data in buttons(lawyer.last_message())]
    assert RepliesCb(action="where", lang="kk", where="own").pack() in offered
    assert RepliesCb(action="where", lang="kk", where="karaganda").pack() in offered
    assert RepliesCb(action="where", lang="kk", where="union").pack() not in offered
    assert RepliesCb(action="where", lang="kk", where="atyrau").pack() not in offered
    await lawyer.press(RepliesCb(action="where", lang="kk", where="own").pack())
    await lawyer.send("Демалыс ақысы")
    await lawyer.send("Демалыс ақысы демалысқа дейін кемінде 3 жұмыс күні бұрын төленеді.")
    assert "✅" in lawyer.last_text() and "Демалыс ақысы" in lawyer.last_text()

    await lawyer.press(RepliesCb(action="list", lang="ru").pack())
    assert not any("Демалыс" in label for label in labels(lawyer))  # the Kazakh one
    await add_via_bot(
        lawyer, "ru", "own", "Отпускные", "Отпускные выплачиваются не позднее чем за 3 дня."
    )
    saved = await replies(ctx)
    assert [(r.lang, r.title, r.owner_staff_id, r.member_org) for r in saved] == [
        ("kk", "Демалыс ақысы", staff_id, None),
        ("ru", "Отпускные", staff_id, None),
    ]
    kk_id, ru_id = saved[0].id, saved[1].id
    await lawyer.press(RepliesCb(action="list", lang="ru").pack())
    assert any("Отпускные" in label for label in labels(lawyer))

    # The title: too long is refused and the old one kept; then a good one.
    await lawyer.press(RepliesCb(action="open", value=kk_id).pack())
    await lawyer.tap("✏️ Тақырып")
    sent = await lawyer.send("ы" * 65)
    assert "64" in texts(sent)
    assert (await replies(ctx))[0].title == "Демалыс ақысы"
    await lawyer.send("Демалыс ақысының мерзімі")
    # The text of the Russian one.
    await lawyer.press(RepliesCb(action="open", value=ru_id).pack())
    await lawyer.tap("✏️ Мәтін")
    sent = await lawyer.send("ж" * 3001)
    assert "3001" in texts(sent)
    await lawyer.send("Отпускные — не позднее чем за три рабочих дня до отпуска.")
    saved = await replies(ctx)
    assert saved[0].title == "Демалыс ақысының мерзімі"
    assert saved[1].text == "Отпускные — не позднее чем за три рабочих дня до отпуска."

    # Delete asks first; "No" keeps it.
    await lawyer.press(RepliesCb(action="open", value=kk_id).pack())
    await lawyer.tap("🗑")
    assert "Демалыс ақысының мерзімі" in lawyer.last_text()
    await lawyer.tap("⬅️")
    assert len(await replies(ctx)) == 2
    await lawyer.tap("🗑")
    sent = await lawyer.tap("🗑")
    assert "Жойылды" in alert(sent)
    assert [r.id for r in await replies(ctx)] == [ru_id]
    await lawyer.press(RepliesCb(action="open", value=ru_id).pack())
    await lawyer.tap("🗑")
    await lawyer.tap("🗑")
    assert await replies(ctx) == []


async def test_a_shared_reply_reaches_its_region_only(
    person: Callable[..., Person], ctx: Context
) -> None:
    author, colleague, elsewhere, head = person(910), person(911), person(912), person(913)
    await make_staff(ctx, 910)
    await make_staff(ctx, 911)
    await make_staff(ctx, 912, orgs=("atyrau",))
    await make_staff(ctx, 913, role="head-lawyer")
    await add_via_bot(author, "kk", "karaganda", "Ортақ: жалақы", "Жалақы айына бір рет.")
    shared = await reply_id(ctx, "Ортақ: жалақы")
    assert (await replies(ctx))[0].owner_staff_id is None
    assert (await replies(ctx))[0].member_org == "karaganda"

    # A colleague of the region sees it, and may not change it.
    await colleague.send("/replies")
    assert any("Ортақ: жалақы" in label for label in labels(colleague))
    await colleague.press(RepliesCb(action="open", value=shared).pack())
    assert "Жалақы айына бір рет." in colleague.last_text()
    assert not any("✏️" in label or "🗑" in label for label in labels(colleague))
    for action in ("title", "text", "delete", "deleteok"):
        sent = await colleague.press(RepliesCb(action=action, value=shared).pack())
        assert alert(sent) == rendered(ctx, "kk", outdated)
    # A lawyer of another region neither sees nor opens it.
    await elsewhere.send("/replies")
    assert not any("Ортақ" in label for label in labels(elsewhere))
    sent = await elsewhere.press(RepliesCb(action="open", value=shared).pack())
    assert alert(sent) == rendered(ctx, "kk", outdated)
    assert "Жалақы айына" not in texts(sent)

    # The head lawyer sees every region's and changes it; and shares with the whole union.
    await head.send("/replies")
    assert any("Ортақ: жалақы" in label for label in labels(head))
    await head.press(RepliesCb(action="open", value=shared).pack())
    await head.tap("✏️ Мәтін")
    await head.send("Жалақы айына кемінде бір рет төленеді.")
    assert (await replies(ctx))[0].text == "Жалақы айына кемінде бір рет төленеді."
    await add_via_bot(head, "kk", "union", "Бүкіл одақ", "Кәсіподақ заңгерлері көмектеседі.")
    union = await reply_id(ctx, "Бүкіл одақ")
    for lawyer in (author, elsewhere):
        await lawyer.send("/replies")
        assert any("Бүкіл одақ" in label for label in labels(lawyer))
        sent = await lawyer.press(RepliesCb(action="delete", value=union).pack())
        assert alert(sent) == rendered(ctx, "kk", outdated)
    # Its author may still change the shared one.
    await author.press(RepliesCb(action="open", value=shared).pack())
    await author.tap("✏️ Тақырып")
    await author.send("Жалақы мерзімі")
    assert (await replies(ctx))[0].title == "Жалақы мерзімі"
    async with ctx.session_factory() as session:
        actions = list(await session.scalars(select(Audit.action).order_by(Audit.id)))
    assert actions.count("saved-reply-add") == 2 and actions.count("saved-reply-change") == 2


async def test_forged_and_foreign_reply_ids_are_refused(
    person: Callable[..., Person], ctx: Context
) -> None:
    member, holder, other = person(920), person(921), person(922)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Зарплату задерживают.")
    await make_staff(ctx, 921)
    await make_staff(ctx, 922)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(func.max(Appeal.id))) or 0)
    await holder.send("/queue")
    await holder.press(DeskCb(action="take", value=appeal_id).pack())
    await other.send("/replies")
    await add_via_bot(other, "ru", "own", "Чужой", "Чужой текст.")
    foreign = await reply_id(ctx, "Чужой")
    before = len(member.messages())

    refused = [
        (holder, RepliesCb(action="open", value=foreign)),
        (holder, RepliesCb(action="text", value=foreign)),
        (holder, RepliesCb(action="deleteok", value=foreign)),
        (holder, RepliesCb(action="open", value=2**31 - 1)),
        (holder, RepliesCb(action="where", lang="kk", where="atyrau")),
        (holder, RepliesCb(action="where", lang="xx", where="own")),
        (holder, PickCb(action="reply", appeal=appeal_id, value=foreign)),
        (holder, PickCb(action="reply", appeal=appeal_id, value=2**31 - 1)),
        (holder, PickCb(action="answer", appeal=appeal_id, node="no-such-answer")),
        (holder, PickCb(action="faq", appeal=appeal_id, node="no-such-topic")),
        (holder, PreviewCb(action="send", appeal=appeal_id, token="0123abcd")),
        (holder, PreviewCb(action="edit", appeal=appeal_id, token="0123abcd")),
        # The appeal is not theirs: nothing about it, with their own reply either.
        (other, PickCb(action="saved", appeal=appeal_id)),
        (other, PickCb(action="reply", appeal=appeal_id, value=foreign)),
        (other, PickCb(action="faq", appeal=appeal_id)),
        (other, PickCb(action="search", appeal=appeal_id)),
        (other, PickCb(action="answer", appeal=appeal_id, node="pay-late-wages")),
    ]
    for who, button in refused:
        sent = await who.press(button.pack())
        assert alert(sent) == rendered(ctx, "kk", outdated), button
        assert not [r for r in sent if isinstance(r, SendMessage)], button
    # A member presses a staff button: the catch-all's outdated, in their language.
    sent = await member.press(RepliesCb(action="open", value=foreign).pack())
    assert alert(sent) == rendered(ctx, "ru", outdated)
    assert "Чужой текст" not in texts(sent)
    assert len(member.messages()) == before
    saved = await replies(ctx)
    assert [(r.title, r.text) for r in saved] == [("Чужой", "Чужой текст.")]
    async with ctx.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(AppealMessage)) == 0


async def test_replies_is_a_lawyers_command(person: Callable[..., Person], ctx: Context) -> None:
    member, lawyer, head = person(925), person(926), person(927)
    await onboard(member, lang="ru")
    await make_staff(ctx, 926)
    await make_staff(ctx, 927, role="head-lawyer")
    assert "replies" in [name for name, _d in STAFF_COMMANDS[StaffRole.LAWYER]]
    assert "replies" in [name for name, _d in STAFF_COMMANDS[StaffRole.HEAD_LAWYER]]
    for role in (StaffRole.ADMIN, StaffRole.PRESS):
        assert "replies" not in [name for name, _d in STAFF_COMMANDS[role]]
    sent = await member.send("/replies")
    assert "Готовые ответы" not in texts(sent) and "Неизвестная команда" in texts(sent)
    for staff in (lawyer, head):
        assert "/replies" in texts(await staff.send("/help"))
        assert "Дайын жауаптар" in texts(await staff.send("/replies"))
    # The head lawyer shares with any organisation, and with the whole union.
    await head.tap("➕")
    offered = [data for _text, data in buttons(head.last_message())]
    for where in ("own", "union", "karaganda", "atyrau"):
        assert RepliesCb(action="where", lang="kk", where=where).pack() in offered


# --- sending a ready text ------------------------------------------------------------------


async def taken(
    person: Callable[..., Person], ctx: Context, member_id: int, lawyer_id: int, lang: str
) -> tuple[Person, Person, int]:
    member, lawyer = person(member_id), person(lawyer_id, language_code="ru")
    await onboard(member, lang=lang, org="karaganda")
    await send_appeal(member, "leave", "Отпускные не выплатили.")
    await make_staff(ctx, lawyer_id)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(func.max(Appeal.id))) or 0)
    await lawyer.send("/queue")
    await lawyer.press(DeskCb(action="take", value=appeal_id).pack())
    return member, lawyer, appeal_id


def to_member(sent: Sequence[object], member: Person) -> list[SendMessage]:
    return [r for r in sent if isinstance(r, SendMessage) and r.chat_id == member.chat.id]


async def stored_answers(ctx: Context, appeal_id: int) -> list[AppealMessage]:
    async with ctx.session_factory() as session:
        return list(
            await session.scalars(
                select(AppealMessage)
                .where(AppealMessage.appeal_id == appeal_id)
                .order_by(AppealMessage.id)
            )
        )


async def test_a_saved_reply_goes_after_a_preview_and_an_edit(
    person: Callable[..., Person], ctx: Context
) -> None:
    member, lawyer, appeal_id = await taken(person, ctx, 930, 931, "ru")
    await add_via_bot(lawyer, "kk", "own", "Қазақша", "Қазақша мәтін.")
    await add_via_bot(lawyer, "ru", "own", "Отпускные", "Отпускные — за 3 рабочих дня.")
    await lawyer.press(DeskCb(action="card", value=appeal_id).pack())
    assert "📋 Готовый ответ" in labels(lawyer) and "📖 Из вопросов и ответов" in labels(lawyer)
    await lawyer.tap("📋")
    picked = [label for label in labels(lawyer) if "🇷🇺" in label or "🇰🇿" in label]
    assert "Отпускные" in picked[0] and "Қазақша" in picked[1]  # the member's language first
    await lawyer.tap("Отпускные")
    label = rendered(ctx, "ru", lambda: answer_label(appeal_id))
    assert f"{label}\n\nОтпускные — за 3 рабочих дня." in lawyer.last_text()
    first_send = data_of(lawyer, "📨")
    assert not await stored_answers(ctx, appeal_id)  # a preview stores nothing

    sent = await lawyer.tap("✏️")
    assert "Отпускные — за 3 рабочих дня." in texts(sent)  # to copy and change
    edited = "Отпускные — за 3 рабочих дня до отпуска, <ст. 92>."
    await lawyer.send(edited)
    assert escape(edited) in lawyer.last_text()
    # The first preview's Send is outdated now: only the latest preview goes.
    sent = await lawyer.press(first_send)
    assert alert(sent) == rendered(ctx, "ru", outdated) and not to_member(sent, member)

    sent = await lawyer.tap("📨")
    delivered = to_member(sent, member)
    assert len(delivered) == 1 and delivered[0].text == f"{label}\n\n{escape(edited)}"
    assert "✅" in texts(sent)  # the lawyer's confirmation names the appeal
    answers = await stored_answers(ctx, appeal_id)
    assert [(a.side, a.text) for a in answers] == [(MessageSide.LAWYER, edited)]
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.first_answer_at is not None and appeal.status == AppealStatus.ANSWERED
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.appeal_message_id == answers[0].id)
            )
        )
    assert [(r.purpose, r.chat_id) for r in rows] == [(TO_MEMBER, member.chat.id)]
    # A second tap sends nothing more.
    sent = await lawyer.press(data_of(lawyer, "📨"))
    assert alert(sent) == rendered(ctx, "ru", outdated) and not to_member(sent, member)
    assert len(await stored_answers(ctx, appeal_id)) == 1


async def test_an_faq_answer_goes_in_the_member_s_language(
    person: Callable[..., Person], ctx: Context
) -> None:
    member, lawyer, appeal_id = await taken(person, ctx, 940, 941, "kk")
    await lawyer.press(DeskCb(action="card", value=appeal_id).pack())
    await lawyer.tap("📖")
    topics = labels(lawyer)
    assert any("Отпуск" in label for label in topics)  # browsed in the lawyer's Russian
    await lawyer.tap("Отпуск")
    assert any(data.startswith("pk:") for _t, data in buttons(lawyer.last_message()))
    await lawyer.tap("🔎")
    await lawyer.send("когда платят отпускные")
    hit = next(data for _t, data in buttons(lawyer.last_message()) if data.startswith("pk:answer:"))
    node = ctx.faq.get(PickCb.unpack(hit).node)
    assert node is not None
    await lawyer.press(hit)
    expected = rendered(ctx, "kk", lambda: faq_answer_text(node, "kk"))
    assert node.title_in("kk") in expected and node.answer_in("kk") in expected
    label = rendered(ctx, "kk", lambda: answer_label(appeal_id))
    assert f"{label}\n\n{escape(expected)}" in lawyer.last_text()
    # Sent by a lawyer, it is the lawyer's answer: not the FAQ's "no lawyer checked it"
    # line, which the lawyer (reading in Russian) is warned about instead.
    assert rendered(ctx, "kk", lambda: _(NOT_REVIEWED)) not in expected
    assert "⚠️" in lawyer.last_text() and "не подписал" in lawyer.last_text()

    sent = await lawyer.tap("📨")
    delivered = to_member(sent, member)
    assert len(delivered) == 1 and delivered[0].text == f"{label}\n\n{escape(expected)}"
    answers = await stored_answers(ctx, appeal_id)
    assert [(a.side, a.text) for a in answers] == [(MessageSide.LAWYER, expected)]
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).first_answer_at is not None

    # Likewise after an edit: the member gets exactly what the lawyer typed.
    await lawyer.press(PickCb(action="answer", appeal=appeal_id, node=node.id).pack())
    await lawyer.tap("✏️")
    await lawyer.send("Қысқасы: демалыс ақысы 3 жұмыс күні бұрын төленеді.")
    sent = await lawyer.tap("📨")
    assert [r.text for r in to_member(sent, member)] == [
        f"{label}\n\nҚысқасы: демалыс ақысы 3 жұмыс күні бұрын төленеді."
    ]


async def test_a_preview_goes_stale(person: Callable[..., Person], ctx: Context) -> None:
    member, lawyer, appeal_id = await taken(person, ctx, 950, 951, "ru")
    await add_via_bot(lawyer, "ru", "own", "Шаблон", "Текст шаблона.")
    rid = await reply_id(ctx, "Шаблон")

    # The reply is deleted after the preview was made.
    await lawyer.press(PickCb(action="reply", appeal=appeal_id, value=rid).pack())
    send = data_of(lawyer, "📨")
    await lawyer.press(RepliesCb(action="deleteok", value=rid).pack())
    sent = await lawyer.press(send)
    assert alert(sent) == rendered(ctx, "ru", outdated) and not to_member(sent, member)

    # The appeal goes back to the queue after the preview was made.
    await add_via_bot(lawyer, "ru", "own", "Шаблон 2", "Второй текст.")
    rid = await reply_id(ctx, "Шаблон 2")
    await lawyer.press(PickCb(action="reply", appeal=appeal_id, value=rid).pack())
    send = data_of(lawyer, "📨")
    await lawyer.press(DeskCb(action="release", value=appeal_id).pack())
    sent = await lawyer.press(send)
    assert alert(sent) == rendered(ctx, "ru", outdated) and not to_member(sent, member)
    assert await stored_answers(ctx, appeal_id) == []
    # Cancel: the preview is gone, nothing sent.
    await lawyer.press(DeskCb(action="take", value=appeal_id).pack())
    await lawyer.press(PickCb(action="reply", appeal=appeal_id, value=rid).pack())
    send = data_of(lawyer, "📨")
    await lawyer.tap("✖️")
    sent = await lawyer.press(send)
    assert alert(sent) == rendered(ctx, "ru", outdated) and not to_member(sent, member)
    # A sticker where the changed text is expected: asked for text, nothing sent.
    await lawyer.press(PickCb(action="reply", appeal=appeal_id, value=rid).pack())
    await lawyer.tap("✏️")
    sent = await lawyer.send_sticker()
    assert not to_member(sent, member) and texts(sent)
    assert await stored_answers(ctx, appeal_id) == []


# --- storage, both databases --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_storage_and_rules(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as engine:
        sessions = create_session_factory(engine)
        async with sessions() as session:
            people = [
                Staff(telegram_id=1, role=StaffRole.LAWYER, member_orgs=["karaganda"]),
                Staff(telegram_id=2, role=StaffRole.LAWYER, member_orgs=["karaganda"]),
                Staff(telegram_id=3, role=StaffRole.LAWYER, member_orgs=["atyrau"]),
                Staff(telegram_id=4, role=StaffRole.HEAD_LAWYER, member_orgs=[]),
                Staff(telegram_id=5, role=StaffRole.ADMIN, member_orgs=[]),
            ]
            session.add_all(people)
            await session.flush()
            a, b, c, head, admin = (StaffView.of(p) for p in people)
            own = await add_reply(
                session,
                a,
                lang="kk",
                title="  Өз  жауабым ",
                text=" Мәтін ",
                scope=Scope.OWN,
                known_orgs=ORGS,
            )
            shared = await add_reply(
                session,
                a,
                lang="ru",
                title="Общий",
                text="Текст",
                scope=Scope.ORG,
                member_org="karaganda",
                known_orgs=ORGS,
            )
            union = await add_reply(
                session,
                head,
                lang="ru",
                title="Для всех",
                text="Всем",
                scope=Scope.UNION,
                known_orgs=ORGS,
            )
            await session.commit()
            assert (own.title, own.text) == ("Өз жауабым", "Мәтін")
            for who, scope, org in (
                (a, Scope.UNION, None),
                (a, Scope.ORG, "atyrau"),
                (head, Scope.ORG, "nowhere"),
                (c, Scope.ORG, "karaganda"),
            ):
                with pytest.raises(SavedReplyError) as refused:
                    await add_reply(
                        session,
                        who,
                        lang="ru",
                        title="x",
                        text="y",
                        scope=scope,
                        member_org=org,
                        known_orgs=ORGS,
                    )
                assert refused.value.code == "bad-scope"
            for title, text, code in (
                ("", "y", "title-empty"),
                ("ы" * 65, "y", "title-too-long"),
                ("x", " ", "text-empty"),
                ("x", "ы" * 3001, "text-too-long"),
            ):
                with pytest.raises(SavedReplyError) as refused:
                    await add_reply(
                        session,
                        a,
                        lang="kk",
                        title=title,
                        text=text,
                        scope=Scope.OWN,
                        known_orgs=ORGS,
                    )
                assert refused.value.code == code
            await session.rollback()

        async with sessions() as session:

            async def seen(
                who: StaffView, lang: str | None = None, first_lang: str | None = None
            ) -> list[int]:
                found, total = await replies_page(
                    session, who, lang=lang, first_lang=first_lang, offset=0, limit=50
                )
                assert total == len(found)
                return [r.id for r in found]

            assert await seen(a) == [own.id, shared.id, union.id]
            assert await seen(a, first_lang="ru") == [shared.id, union.id, own.id]
            assert await seen(a, lang="kk") == [own.id]
            assert await seen(b) == [shared.id, union.id]
            assert await seen(c) == [union.id]
            assert await seen(head) == [shared.id, union.id]
            assert await seen(admin) == [shared.id, union.id]
            with pytest.raises(SavedReplyError):
                await get_reply(session, b, own.id)
            with pytest.raises(SavedReplyError):
                await get_reply(session, c, shared.id)

            # Who changes what.
            for who, target in ((b, shared), (b, own), (a, union), (c, union), (head, own)):
                with pytest.raises(SavedReplyError):
                    await change_reply(session, who, target.id, text="чужое")
            await change_reply(session, admin, shared.id, text="Администратор")
            await change_reply(session, head, union.id, title="Всем юристам")
            await change_reply(session, a, shared.id, title="Общий ответ")
            await session.commit()
            with pytest.raises(SavedReplyError):
                await delete_reply(session, b, shared.id)
            await delete_reply(session, head, shared.id)
            await delete_reply(session, a, own.id)
            await session.commit()

        async with sessions() as session:
            left = list(await session.scalars(select(SavedReply)))
            assert [(r.title, r.text) for r in left] == [("Всем юристам", "Всем")]
            assert left[0].updated_at >= left[0].created_at


async def test_a_reply_full_of_emoji_opens_and_saves_within_telegram_s_limit(
    ctx: Context,
) -> None:
    """Telegram counts an emoji as two: a saved reply of 2,080 characters, 4,080 of
    Telegram's units, is shown clipped beside its heading (Telegram refuses an overlong
    message), and kept whole."""
    strict = StrictSession()
    lawyer = Person(
        create_dispatcher(ctx),
        create_bot(ctx.settings, session=strict),  # type: ignore[arg-type]
        strict,
        900,
    )
    await make_staff(ctx, 900)
    text = "🙂" * 2000 + " Отпуск 56 дней." * 5
    await add_via_bot(lawyer, "ru", "own", "Эмодзи", text)
    assert "✅" in lawyer.last_text()
    saved = await reply_id(ctx, "Эмодзи")
    await lawyer.press(RepliesCb(action="open", value=saved).pack())
    assert "Эмодзи" in lawyer.last_text() and lawyer.last_text().endswith("…")
    await lawyer.press(RepliesCb(action="text", value=saved).pack())
    await lawyer.send(text + "!")
    assert "✅" in lawyer.last_text()
    assert strict.refused == []
    assert [r.text for r in await replies(ctx)] == [text + "!"]
