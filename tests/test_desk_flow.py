"""The lawyers' desk through the production Dispatcher: invite, join, queue, take, talk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage, SendPhoto
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select

from bot.context import Context
from bot.handlers.shared.relay import unreachable
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealStatus,
    Audit,
    MessageSide,
    Staff,
    StaffRole,
    utcnow,
)
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons, texts
from tests.recording import RecordingSession
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
    sent = await lawyer.press(f"desk:files:{appeal_id}:")  # "📎 Files (1)" sends them again
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
    # Copied by its file id, never forwarded: a member who hides their account gets it too.
    assert any(isinstance(r, SendDocument) and r.document == "ORDER-PDF" for r in sent)
    assert not [r for r in sent if r.__api_method__ == "forwardMessage"]

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


async def taken_appeal(
    admin: Person, lawyer: Person, member: Person, ctx: Context, topic: str = "pay"
) -> int:
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, topic, "Не выплатили отпускные, а отпуск уже начался.")
    await make_lawyer(admin, lawyer)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id).order_by(Appeal.id.desc())) or 0)
    await lawyer.press(f"desk:take:{appeal_id}:")
    return appeal_id


async def two_taken_appeals(
    admin: Person, lawyer: Person, members: tuple[Person, Person], ctx: Context
) -> tuple[int, int]:
    """Two members' appeals, both taken by `lawyer` (the first as `taken_appeal` makes it)."""
    one = await taken_appeal(admin, lawyer, members[0], ctx)
    await onboard(members[1], lang="ru", org="karaganda")
    await send_appeal(members[1], "leave", "Не дают отпуск.")
    async with ctx.session_factory() as session:
        two = int(await session.scalar(select(func.max(Appeal.id))) or 0)
    await lawyer.press(f"desk:take:{two}:")
    return one, two


async def test_close_with_outcomes_in_taps_then_rate(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(700), person(701)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"oc:sure:{appeal_id}:")
    for field in ("conc", "just", "court", "won", "won"):  # won: — → yes → no
        await lawyer.press(f"oc:t:{appeal_id}:{field}")
    await lawyer.press(f"oc:n:{appeal_id}:money")
    await lawyer.send("150 000")
    assert any("150" in label and "000" in label for label, _ in buttons(lawyer.last_message()))
    await lawyer.press(f"oc:n:{appeal_id}:vf")
    sent = await lawyer.send("два")  # not a number: asked again, nothing lost
    assert "10" in texts(sent) and "000" in texts(sent)  # "from 0 to 10 000"
    await lawyer.send("2")
    await lawyer.press(f"oc:n:{appeal_id}:vr")
    await lawyer.send("1")
    await lawyer.press(f"oc:topic:{appeal_id}:")
    await lawyer.press(f"oc:settopic:{appeal_id}:leave")
    sent = await lawyer.press(f"oc:save:{appeal_id}:")
    to_member = [r for r in sent if isinstance(r, SendMessage) and r.chat_id == 701]
    assert to_member and str(appeal_id) in str(to_member[0].text)
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.status == AppealStatus.CLOSED and appeal.closed_at is not None
        assert appeal.topic == "leave"  # corrected by the lawyer
        assert (appeal.outcome_consultation, appeal.outcome_conciliation, appeal.outcome_court) == (
            True,
            True,
            True,
        )
        assert appeal.outcome_justified is True and appeal.outcome_court_won is False
        assert (appeal.money_returned_kzt, appeal.violations_found, appeal.violations_remedied) == (
            150000,
            2,
            1,
        )
    await member.press(f"rate:{appeal_id}:4")
    await member.send("Спасибо, всё объяснили.")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.rating == 4 and appeal.rating_comment == "Спасибо, всё объяснили."
    # The lawyer reads both on the card, after the closing.
    await lawyer.press(f"desk:card:{appeal_id}:")
    card = lawyer.last_text()
    assert "⭐" in card and "4" in card and "«Спасибо, всё объяснили.»" in card
    assert card.index("✅") < card.index("⭐")


async def test_not_solved_reopens_to_the_same_lawyer(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(710), person(711)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")
    sent = await member.press(f"rate:{appeal_id}:0")
    assert [r for r in sent if isinstance(r, SendMessage) and r.chat_id == 710]
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.status == AppealStatus.CLAIMED and appeal.reopen_count == 1
        assert appeal.closed_at is None
    await lawyer.press(f"desk:card:{appeal_id}:")
    card = lawyer.last_text()
    closed, reopened = card.find("✅ Жапқан"), card.find("🔁 Мүше қайта ашты: мәселе шешілмеді")
    assert -1 < closed < reopened, card
    assert "Қайта ашылғанға дейінгі нәтиже:" in card  # what the closing had marked


async def test_reopen_window_is_seven_days(person: Callable[..., Person], ctx: Context) -> None:
    from datetime import timedelta

    admin, lawyer, member = person(ADMIN_ID), person(720), person(721)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.closed_at is not None
        appeal.closed_at = appeal.closed_at - timedelta(days=8)
        await session.commit()
    sent = await member.press(f"rate:{appeal_id}:0")
    alert = next(r for r in sent if r.__api_method__ == "answerCallbackQuery")
    assert "7" in str(getattr(alert, "text", ""))
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.CLOSED


async def test_outcome_rules_are_enforced(person: Callable[..., Person], ctx: Context) -> None:
    admin, lawyer, member, other = person(ADMIN_ID), person(730), person(731), person(732)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:n:{appeal_id}:vr")
    await lawyer.send("3")  # remedied 3 of 0 found
    sent = await lawyer.press(f"oc:save:{appeal_id}:")
    assert not [r for r in sent if getattr(r, "chat_id", None) == 731]
    # Another member cannot rate or reopen someone else's appeal.
    await onboard(other)
    sent = await other.press(f"rate:{appeal_id}:5")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.status == AppealStatus.CLAIMED and appeal.rating is None


async def test_internal_note_never_reaches_the_member(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(740), person(741)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"desk:note:{appeal_id}:")
    sent = await lawyer.send("Директору звонила, обещали выплатить до пятницы.")
    assert not [r for r in sent if getattr(r, "chat_id", None) == 741]
    sent = await lawyer.press(f"desk:card:{appeal_id}:")
    assert "обещали выплатить" in texts(sent)
    await member.press(f"my:open:{appeal_id}")
    assert "обещали выплатить" not in member.last_text()
    async with ctx.session_factory() as session:
        sides = list(await session.scalars(select(AppealMessage.side)))
    assert sides == [MessageSide.NOTE]


async def test_release_returns_the_appeal_to_the_queue(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, colleague, member = person(ADMIN_ID), person(750), person(751), person(752)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await make_lawyer(admin, colleague)
    sent = await colleague.press(f"desk:release:{appeal_id}:")  # not theirs: refused
    refusal = next(r for r in sent if r.__api_method__ == "answerCallbackQuery")
    assert getattr(refusal, "show_alert", False)
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.CLAIMED
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lawyer.send("Пришлите, пожалуйста, копию приказа.")
    sent = await lawyer.press(f"desk:release:{appeal_id}:")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.status == AppealStatus.QUEUED and appeal.claimed_by is None
    # The member is told (in their language, no lawyer named) ...
    told = words_to(sent, 752)
    assert len(told) == 1 and f"№ {appeal_id}" in told[0] and "очеред" in told[0]
    # ... and what they write next still goes to the appeal, for whoever takes it.
    sent = await member.send("Копия приказа у меня есть.")
    assert any(f"№ {appeal_id}" in words for words in words_to(sent, 752))
    await colleague.press(f"desk:take:{appeal_id}:")
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.CLAIMED
    await colleague.press(f"desk:card:{appeal_id}:")
    assert "Копия приказа у меня есть." in colleague.last_text()


async def test_mystats_counts_open_closed_and_median_first_answer(
    person: Callable[..., Person], ctx: Context
) -> None:
    from datetime import timedelta

    admin, lawyer, member = person(ADMIN_ID), person(760), person(761)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lawyer.send("Ответ.")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.first_answer_at is not None
        appeal.created_at = appeal.first_answer_at - timedelta(hours=5)
        await session.commit()
    await lawyer.send("/mine")  # ends writing to the member
    sent = await lawyer.send("/mystats")
    import re

    # In whatever language: open 1, closed this month 0, median first answer 5 hours.
    assert re.findall(r"\d+", texts(sent)) == ["1", "0", "5"]


async def test_hand_over_to_a_colleague_or_another_region(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, colleague, outsider, member = (
        person(ADMIN_ID),
        person(770, first_name="Асель"),
        person(771, first_name="Дана"),
        person(772, first_name="Ерлан"),
        person(773),
    )
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await make_lawyer(admin, colleague)  # karaganda, like the appeal
    await make_lawyer(admin, outsider, "abai")
    async with ctx.session_factory() as session:
        ids = {
            tg: int(await session.scalar(select(Staff.id).where(Staff.telegram_id == tg)) or 0)
            for tg in (771, 772)
        }
    await lawyer.press(f"hand:menu:{appeal_id}:0:")
    offered = [data for _, data in buttons(lawyer.last_message())]
    assert f"hand:staff:{appeal_id}:{ids[771]}:" in offered
    assert f"hand:staff:{appeal_id}:{ids[772]}:" not in offered  # not their region
    # A forged hand-over to someone outside the region is refused.
    await lawyer.press(f"hand:staff:{appeal_id}:{ids[772]}:")
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).claimed_by != ids[772]
    sent = await lawyer.press(f"hand:staff:{appeal_id}:{ids[771]}:")
    assert [r for r in sent if isinstance(r, SendMessage) and r.chat_id == 771]
    told = words_to(sent, 773)  # the member hears it changed hands, never whose
    assert len(told) == 1 and f"№ {appeal_id}" in told[0] and "Асель" not in told[0]
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).claimed_by == ids[771]
    # The colleague sends it on to another region: back in that region's queue.
    await colleague.press(f"hand:org:{appeal_id}:0:abai")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert (appeal.member_org, appeal.status, appeal.claimed_by) == (
            "abai",
            AppealStatus.QUEUED,
            None,
        )
    await outsider.press(f"desk:take:{appeal_id}:")
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).claimed_by == ids[772]
    # The card's thread tells the way it came, in order, to whoever opens it next
    # (in Kazakh here, in Russian in tests/test_find.py).
    await outsider.press(f"desk:card:{appeal_id}:")
    card = outsider.last_text()
    steps = [
        "Не выплатили отпускные",
        "✋ Алған: Асель",
        "🔀 Асель әріптесіне берді: Дана",
        "🔀 Дана басқа өңірге берді: Абай облысы",
        "✋ Алған: Ерлан",
    ]
    at = [card.find(step) for step in steps]
    assert -1 not in at and at == sorted(at), card
    assert card.count("✋ Алған") == 2


async def test_hand_over_to_a_colleague_who_blocked_the_bot_is_done_and_said(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, colleague, member = person(ADMIN_ID), person(780), person(781), person(783)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await make_lawyer(admin, colleague)
    async with ctx.session_factory() as session:
        to = int(await session.scalar(select(Staff.id).where(Staff.telegram_id == 781)) or 0)
    recording.blocked.add(781)
    sent = await lawyer.press(f"hand:staff:{appeal_id}:{to}:")
    with ctx.i18n.context(), ctx.i18n.use_locale("kk"):
        warning = _("⚠️ The colleague could not be told in Telegram; the appeal is in their /mine.")
        apology = _("Sorry, something went wrong on our side. Please try again; your data is safe.")
    edited = texts([r for r in sent if r.__api_method__ == "editMessageText"])
    assert warning in edited and apology not in texts(sent)
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).claimed_by == to


async def test_card_offers_the_holder_every_action(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, colleague, member = person(ADMIN_ID), person(780), person(781), person(782)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await make_lawyer(admin, colleague)
    await lawyer.press(f"desk:card:{appeal_id}:")
    actions = {data.split(":")[1] for _, data in buttons(lawyer.last_message())}
    assert {"reply", "open", "note", "release", "menu", "queue"} <= actions
    await colleague.press(f"desk:card:{appeal_id}:")
    seen = {data.split(":")[1] for _, data in buttons(colleague.last_message())}
    assert seen == {"queue"}  # taken by someone else: nothing to do but go back


@pytest.mark.parametrize("gone", ["blocked", "forgot"])
async def test_a_member_out_of_reach_does_not_break_the_lawyers_work(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession, gone: str
) -> None:
    """A member who blocked the bot, or erased their data with /forget, while their appeal
    is open: the lawyer's take, answer and closing are saved and the lawyer is told the
    member was not reached (no apology for an error, nothing sent to a placeholder id)."""
    admin, lawyer, member = person(ADMIN_ID), person(740), person(741)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Не выплатили отпускные, а отпуск уже начался.")
    await make_lawyer(admin, lawyer)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id).order_by(Appeal.id.desc())) or 0)
    if gone == "blocked":
        recording.blocked.add(741)
    else:
        await member.send("/forget")
        await member.press(
            next(d for _, d in buttons(member.last_message()) if d.startswith("forget:yes:"))
        )
    with ctx.i18n.context(), ctx.i18n.use_locale("kk"):  # the lawyer is not a member: Kazakh
        warning = unreachable()
        apology = _("Sorry, something went wrong on our side. Please try again; your data is safe.")
        erased = _("The text is erased: at the member's request, or after the storage period.")
    start = len(recording.requests)

    sent = await lawyer.press(f"desk:take:{appeal_id}:")
    alerts = [r for r in sent if isinstance(r, AnswerCallbackQuery)]
    assert len(alerts) == 1 and alerts[0].show_alert and warning in str(alerts[0].text)
    assert (erased in texts(sent)) == (gone == "forgot")  # the card says why it has no text

    await lawyer.press(f"desk:reply:{appeal_id}:")
    sent = await lawyer.send("Здравствуйте! Уточните, пожалуйста, дату приказа.")
    assert warning in texts(sent)

    await lawyer.press(f"oc:sure:{appeal_id}:")
    sent = await lawyer.press(f"oc:save:{appeal_id}:")
    assert warning in texts(sent)

    after = recording.requests[start:]
    assert apology not in texts(after)
    assert all(int(getattr(r, "chat_id", 1) or 1) > 0 for r in after)  # no placeholder id
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.status == AppealStatus.CLOSED
        answers = await session.scalars(
            select(AppealMessage.text).where(
                AppealMessage.appeal_id == appeal_id, AppealMessage.side == MessageSide.LAWYER
            )
        )
        assert list(answers) == ["Здравствуйте! Уточните, пожалуйста, дату приказа."]


def words_to(sent: list[Any], chat_id: int) -> list[str]:
    return [str(r.text) for r in sent if isinstance(r, SendMessage) and r.chat_id == chat_id]


async def test_a_quote_while_typing_a_note_or_an_amount_stays_that_input(
    person: Callable[..., Person], ctx: Context
) -> None:
    """Replying (Telegram's quote) to the member's relayed message answers the member only
    from the desk or while writing; a note or a closing amount typed as a reply is the
    note or the amount, never words to the member."""
    admin, lawyer, member = person(ADMIN_ID), person(780, language_code="ru"), person(781)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lawyer.send("Какая сумма долга?")
    await member.send("Двести тысяч.")
    relayed = lawyer.message_with("Двести тысяч")

    await lawyer.press(f"desk:note:{appeal_id}:")
    sent = await lawyer.send("Директор называет её скандалисткой.", reply_to=relayed)
    assert not words_to(sent, 781)
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:n:{appeal_id}:money")
    sent = await lawyer.send("200000", reply_to=relayed)
    assert not words_to(sent, 781)
    async with ctx.session_factory() as session:
        thread = list(
            await session.scalars(
                select(AppealMessage)
                .where(AppealMessage.appeal_id == appeal_id)
                .order_by(AppealMessage.id)
            )
        )
    assert [(m.side, m.text) for m in thread][-1] == (
        MessageSide.NOTE,
        "Директор называет её скандалисткой.",
    )
    assert all(m.text != "200000" for m in thread)

    # From the desk, the same quote is an answer to that member.
    await lawyer.send("/mine")
    sent = await lawyer.send("Это зарплата за сентябрь?", reply_to=relayed)
    assert any("Это зарплата за сентябрь?" in words for words in words_to(sent, 781))


async def test_a_reply_to_a_staff_notice_reaches_no_member(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(782, language_code="ru", first_name="Гүлнар")
    colleague, member = person(783, language_code="ru", first_name="Бақыт"), person(784)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await make_lawyer(admin, colleague)
    async with ctx.session_factory() as session:
        colleague_id = await session.scalar(select(Staff.id).where(Staff.telegram_id == 783))
    await lawyer.press(f"hand:staff:{appeal_id}:{colleague_id}:")
    notice = colleague.message_with(f"№ {appeal_id}")
    sent = await colleague.send("Спасибо, Гүлнар, посмотрю вечером.", reply_to=notice)
    assert not words_to(sent, 784)
    async with ctx.session_factory() as session:
        texts_stored = list(
            await session.scalars(
                select(AppealMessage.text).where(AppealMessage.appeal_id == appeal_id)
            )
        )
    assert "Спасибо, Гүлнар, посмотрю вечером." not in texts_stored


async def test_turning_the_pages_of_another_appeal_ends_writing(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(785, language_code="ru")
    first, second = person(786), person(787)
    one, two = await two_taken_appeals(admin, lawyer, (first, second), ctx)
    await lawyer.press(f"desk:card:{two}:")
    card_two = lawyer.last_message()
    await lawyer.press(f"desk:reply:{one}:")
    # The old message with the second appeal's card: a page of it (or its files).
    await lawyer.press(f"th:{two}:0", card_two)
    sent = await lawyer.send("Борис, по Вашему отпуску: напишите заявление.")
    assert not words_to(sent, 786) and not words_to(sent, 787)
    await lawyer.press(f"desk:reply:{one}:")
    await lawyer.press(f"desk:files:{two}:")
    sent = await lawyer.send("Борис, ещё раз.")
    assert not words_to(sent, 786) and not words_to(sent, 787)


async def test_a_too_long_answer_is_refused_with_its_length_and_writing_goes_on(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(790, language_code="ru"), person(791)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"desk:reply:{appeal_id}:")
    sent = await lawyer.send("ж" * 5000)
    assert not words_to(sent, 791)
    refusal = lawyer.last_text()
    assert "5000" in refusal and f"№ {appeal_id}" in refusal
    # A sticker or a voice message goes nowhere, and the lawyer is told so.
    for unsendable in (lawyer.send_sticker, lawyer.send_voice):
        sent = await unsendable()
        assert not words_to(sent, 791)
        assert "не отправлено" in lawyer.last_text() and f"№ {appeal_id}" in lawyer.last_text()
    # Still writing to the same member: the shorter version goes.
    sent = await lawyer.send("Коротко: подайте заявление.")
    assert any("Коротко: подайте заявление." in words for words in words_to(sent, 791))
    # The card says how long ago a taken appeal came, not that it waits.
    await lawyer.press(f"desk:card:{appeal_id}:")
    assert "Поступило" in lawyer.last_text() and "Ожидает" not in lawyer.last_text()


async def test_taking_again_an_appeal_one_holds_says_it_is_one_s_own(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(792, language_code="ru"), person(793)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    sent = await lawyer.press(f"desk:take:{appeal_id}:")  # an old card's ✋
    answer = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
    assert answer.text == "Это обращение уже Ваше." and not answer.show_alert
    assert not words_to(sent, 793)  # the member is not told a second time
    assert any("✍️" in label for label, _data in buttons(lawyer.last_message()))


async def test_a_reply_to_a_closed_appeal_is_kept_and_reopens_it_or_asks_anew(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(794, language_code="ru"), person(795)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lawyer.send("Уточните сумму долга.")
    answer = member.message_with("Уточните сумму долга.")
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")

    # The member answers the lawyer's question after the closing: kept, not refused.
    sent = await member.send("Сумма 350 000 тенге.", reply_to=answer)
    assert not words_to(sent, 794)
    offered = [data for _label, data in buttons(member.last_message())]
    assert offered == [f"rate:{appeal_id}:0", "cv:new:0"]
    # "Not solved": reopened, and the kept words are in it and reach the lawyer.
    sent = await member.press(offered[0])
    assert any("Сумма 350 000 тенге." in words for words in words_to(sent, 794))
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        thread = list(
            await session.scalars(
                select(AppealMessage.text).where(AppealMessage.appeal_id == appeal_id)
            )
        )
    assert appeal.status == AppealStatus.CLAIMED and "Сумма 350 000 тенге." in thread

    # Closed again, past the week: only "a new question", which searches the FAQ.
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        appeal.closed_at = utcnow() - timedelta(days=8)
        await session.commit()
    await member.send("Когда выплатят отпускные?", reply_to=answer)
    offered = [data for _label, data in buttons(member.last_message())]
    assert offered == ["cv:new:0"]
    await member.press("cv:new:0")  # searched in the FAQ, as any question
    assert "вопросах и ответах" in member.last_text()
    assert "Когда выплатят отпускные?" not in await ctx_thread(ctx, appeal_id)


async def ctx_thread(ctx: Context, appeal_id: int) -> list[str | None]:
    async with ctx.session_factory() as session:
        return list(
            await session.scalars(
                select(AppealMessage.text).where(AppealMessage.appeal_id == appeal_id)
            )
        )


async def test_a_note_is_asked_only_of_the_appeal_s_holder(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(796, language_code="ru"), person(797)
    colleague = person(798, language_code="ru")
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await make_lawyer(admin, colleague)
    sent = await colleague.press(f"desk:note:{appeal_id}:")
    assert any(getattr(r, "show_alert", False) for r in sent)
    assert not [r for r in sent if isinstance(r, SendMessage)]  # no prompt to type it
    sent = await lawyer.press(f"desk:note:{appeal_id}:")
    assert any(f"№ {appeal_id}" in str(r.text) for r in sent if isinstance(r, SendMessage))


async def test_words_typed_after_rating_that_were_a_new_question_are_answered_as_one(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(799, language_code="ru"), person(800)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")
    await member.press(f"rate:{appeal_id}:5")
    await member.send("Как уволиться по собственному желанию?")
    offered = [data for _label, data in buttons(member.last_message())]
    assert f"ratq:{appeal_id}" in offered
    await member.press(f"ratq:{appeal_id}")
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
    assert appeal.rating == 5 and appeal.rating_comment is None  # not a comment after all
    assert "вопросах и ответах" in member.last_text()  # searched as any question
    sent = await member.press(f"ratq:{appeal_id}")  # twice: nothing left to take
    assert any(getattr(r, "show_alert", False) for r in sent)


async def mine_marks_the_appeals_whose_member_wrote_since_the_last_answer(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(801, language_code="ru")
    first, second = person(802), person(803)
    one, _two = await two_taken_appeals(admin, lawyer, (first, second), ctx)
    await lawyer.press(f"desk:reply:{one}:")
    await lawyer.send("Пришлите расчётный лист.")
    await first.send("Отправляю расчётный лист.")

    def marked() -> list[str]:
        return [label for label, _d in buttons(lawyer.last_message()) if label.startswith("🆕")]

    await lawyer.send("/mine")
    assert [label.split(" · ")[0] for label in marked()] == [f"🆕 № {one}"]
    assert "🆕" in lawyer.last_text() and ": 1" in lawyer.last_text()
    # Answered: no longer waiting.
    await lawyer.press(f"desk:reply:{one}:")
    await lawyer.send("Спасибо, получил.")
    await lawyer.send("/mine")
    assert marked() == []
