"""The desk's work done in an appeal's topic of a staff group: closing with the outcome,
handing over, the card's buttons following the appeal, a member's edit corrected in the
topic, and a topic Telegram refused created again by the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    CloseForumTopic,
    CreateForumTopic,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import Message
from sqlalchemy import select, update

from bot.access import settle_access
from bot.app import create_bot
from bot.clock.desk import desk_job
from bot.clock.topics import TopicRetries, topics_job
from bot.context import Context
from bot.handlers.desk.topic_buttons import mask_of
from bot.handlers.shared.common import outdated
from bot.handlers.shared.forum import open_topics
from bot.runner import _scheduler, post_runner
from bot.scale.lease import ProcessLease
from bot.services.outcomes import Outcome
from bot.storage.fsm import DatabaseStorage
from bot.storage.models import (
    Appeal,
    AppealSource,
    AppealStatus,
    AppealTopic,
    Audit,
    Member,
    OutboxMessage,
    OutboxStatus,
    Staff,
    StaffGroup,
    utcnow,
)
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons
from tests.fake_bot_api import FakeBotAPI
from tests.recording import RecordingSession
from tests.test_desk_flow import make_lawyer
from tests.test_member_flow import onboard, send_appeal
from tests.test_topic_groups import (
    GROUP,
    OTHER_GROUP,
    bot_may_manage_topics,
    forum,
    linked,
    newest_appeal,
    to,
    topic_of,
)

pytestmark = pytest.mark.asyncio

DEFAULT = mask_of(Outcome())  # a consultation, nothing else
COURT = 1 << 2  # the picker's bit for "court case" (FLAGS' third)
WON = 1 << 9  # "court claim won: yes"


def with_button(who: Person, prefix: str) -> Message:
    """The latest message in the person's topic or chat with a button whose data starts
    with `prefix`."""
    for message in reversed(who.messages()):
        if any(data.startswith(prefix) for _, data in buttons(message)):
            return message
    raise AssertionError(f"no button {prefix!r}")


async def press_data(who: Person, data: str) -> list[TelegramMethod[Any]]:
    """Press the button with exactly this data, on the latest message that has it."""
    return await who.press(data, with_button(who, data))


def answers(sent: list[TelegramMethod[Any]]) -> list[AnswerCallbackQuery]:
    return [r for r in sent if isinstance(r, AnswerCallbackQuery)]


def said_outdated(ctx: Context, sent: list[TelegramMethod[Any]], lang: str = "kk") -> bool:
    with ctx.i18n.context(), ctx.i18n.use_locale(lang):
        expected = outdated()
    return any(a.text == expected for a in answers(sent))


async def staff_id(ctx: Context, telegram_id: int) -> int:
    async with ctx.session_factory() as session:
        found = await session.scalar(select(Staff.id).where(Staff.telegram_id == telegram_id))
    assert found is not None
    return int(found)


async def appeal_row(ctx: Context, appeal_id: int) -> Appeal:
    async with ctx.session_factory() as session:
        return await session.get_one(Appeal, appeal_id)


async def audits(ctx: Context, action: str) -> list[Audit]:
    async with ctx.session_factory() as session:
        return list(await session.scalars(select(Audit).where(Audit.action == action)))


async def started(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession, member_id: int
) -> tuple[Person, Person, Person, int, int]:
    """A linked group, a lawyer, a member's appeal with its topic: (admin, lawyer, member,
    appeal, thread)."""
    admin, lawyer, member = person(ADMIN_ID), person(600, first_name="Гүлнар"), person(member_id)
    await make_lawyer(admin, lawyer)
    await linked(admin, recording)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Не платят за классное руководство.")
    appeal_id = await newest_appeal(ctx)
    return admin, lawyer, member, appeal_id, await topic_of(ctx, appeal_id)


async def test_closing_in_the_topic_with_the_outcome(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, member, appeal_id, thread = await started(person, ctx, recording, 800)
    in_topic = lawyer.in_topic(forum(), thread)
    await in_topic.tap("✋")
    card = with_button(in_topic, "ft:close:")  # the card now offers close and hand over
    assert any(data.startswith("ft:hand:") for _, data in buttons(card))
    await in_topic.send("Ответ юриста.")

    # The picker is posted in the topic; its marks travel in its buttons.
    sent = await in_topic.press(f"ft:close:{appeal_id}:0:", card)
    picker = to(sent, GROUP)
    assert picker and picker[0].message_thread_id == thread and str(appeal_id) in picker[0].text
    await press_data(in_topic, f"ft:pick:{appeal_id}:{DEFAULT | COURT}:")
    await press_data(in_topic, f"ft:pick:{appeal_id}:{DEFAULT | COURT | WON}:")
    # A tap on a picker someone deleted in the group meanwhile: nothing breaks.
    recording.failing[GROUP] = [
        lambda m: TelegramBadRequest(m, "Bad Request: message to edit not found")
    ]
    sent = await in_topic.press(
        f"ft:pick:{appeal_id}:{DEFAULT | COURT | WON}:", with_button(in_topic, "ft:save:")
    )
    assert answers(sent) and not to(sent, lawyer.user.id)
    async with ctx.session_factory() as session:  # nothing is stored before "close"
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.ANSWERED

    sent = await press_data(in_topic, f"ft:save:{appeal_id}:{DEFAULT | COURT | WON}:")
    told = to(sent, member.user.id)
    assert len(told) == 1 and str(appeal_id) in str(told[0].text)
    assert "⭐" in " ".join(t for t, _ in buttons(member.last_message()))
    closes = [r for r in sent if isinstance(r, CloseForumTopic)]
    assert [(r.chat_id, r.message_thread_id) for r in closes] == [(GROUP, thread)]
    # The card loses its buttons, before the topic is closed.
    card_edits = [
        r for r in sent if isinstance(r, EditMessageReplyMarkup) and r.message_id == card.message_id
    ]
    assert card_edits and card_edits[0].reply_markup is None
    assert sent.index(card_edits[0]) < sent.index(closes[0])
    assert buttons(in_topic.message_with(f"№{appeal_id}")) == []

    appeal = await appeal_row(ctx, appeal_id)
    assert appeal.status == AppealStatus.CLOSED and appeal.closed_at is not None
    assert appeal.outcome_consultation and appeal.outcome_court and appeal.outcome_court_won
    assert not appeal.outcome_conciliation and appeal.money_returned_kzt == 0
    [closed] = await audits(ctx, "close")
    assert closed.staff_telegram_id == lawyer.user.id and closed.appeal_id == appeal_id
    assert closed.details["court"] is True and closed.details["court_won"] is True

    # The picker's buttons again, after it is closed: refused, nothing sent twice.
    sent = await in_topic.press(f"ft:save:{appeal_id}:{DEFAULT}:")
    assert answers(sent) and answers(sent)[0].show_alert
    assert not to(sent, member.user.id)

    # The closing line offers the answer to the FAQ editors: only its closer may.
    colleague = person(621, first_name="Асель")
    await make_lawyer(admin, colleague)
    sent = await colleague.in_topic(forum(), thread).press(f"ft:propose:{appeal_id}:0:")
    assert said_outdated(ctx, sent) and await audits(ctx, "faq-candidate") == []
    sent = await press_data(in_topic, f"ft:propose:{appeal_id}:0:")
    assert answers(sent) and not said_outdated(ctx, sent)
    assert [a.appeal_id for a in await audits(ctx, "faq-candidate")] == [appeal_id]
    sent = await in_topic.press(f"ft:propose:{appeal_id}:0:")  # once only
    assert len(await audits(ctx, "faq-candidate")) == 1


async def test_only_the_holder_closes_and_forged_or_stale_taps_are_refused(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, member, appeal_id, thread = await started(person, ctx, recording, 801)
    colleague, stranger = person(620, first_name="Асель"), person(630)
    await make_lawyer(admin, colleague)
    in_topic = lawyer.in_topic(forum(), thread)
    await in_topic.tap("✋")
    await in_topic.send("Ответ.")

    # A colleague of the region taps close or hand over: refused, no picker.
    theirs = colleague.in_topic(forum(), thread)
    for data in (f"ft:close:{appeal_id}:0:", f"ft:hand:{appeal_id}:0:"):
        sent = await theirs.press(data)
        assert answers(sent) and answers(sent)[0].show_alert and not to(sent, GROUP)
    sent = await theirs.press(f"ft:save:{appeal_id}:{DEFAULT}:")
    assert not to(sent, member.user.id)
    # Someone the group does not serve: told so, nothing else.
    sent = await stranger.in_topic(forum(), thread).press(f"ft:save:{appeal_id}:{DEFAULT}:")
    assert answers(sent) and not to(sent, member.user.id)

    # Forged: another appeal's number in this topic, a mask out of range, an unknown
    # action, data that does not unpack; all get the outdated answer.
    await send_appeal(member, "other", "Второй вопрос.")
    other = await newest_appeal(ctx)
    for data in (
        f"ft:save:{other}:{DEFAULT}:",
        f"ft:save:{appeal_id}:{1 << 20}:",
        f"ft:pick:{appeal_id}:{1 << 30}:",
        f"ft:explode:{appeal_id}:0:",
        "ft:save:abc",
        f"ft:org:{appeal_id}:0:atlantis",
    ):
        sent = await in_topic.press(data)
        assert said_outdated(ctx, sent), data
        assert not to(sent, member.user.id)
    for appeal in (appeal_id, other):
        assert (await appeal_row(ctx, appeal)).status != AppealStatus.CLOSED
    assert await audits(ctx, "close") == []
    assert (await appeal_row(ctx, appeal_id)).member_org == "karaganda"


async def test_without_an_answer_it_asks_first_and_amounts_go_to_the_private_chat(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    _admin, lawyer, member, appeal_id, thread = await started(person, ctx, recording, 802)
    in_topic = lawyer.in_topic(forum(), thread)
    await in_topic.tap("✋")
    await lawyer.send("/start")  # the lawyer's private chat with the bot

    sent = await press_data(in_topic, f"ft:close:{appeal_id}:0:")
    question = to(sent, GROUP)
    assert question and str(appeal_id) in question[0].text
    assert not any(d.startswith("ft:save:") for _, d in buttons(in_topic.last_message()))
    await press_data(in_topic, f"ft:pick:{appeal_id}:{DEFAULT}:")  # close it all the same
    await press_data(in_topic, f"ft:pick:{appeal_id}:{DEFAULT | COURT}:")

    # The amounts: the draft, marks kept, on the closing screen in the private chat.
    sent = await press_data(in_topic, f"ft:private:{appeal_id}:{DEFAULT | COURT}:")
    screen = to(sent, lawyer.user.id)
    assert screen and f"oc:save:{appeal_id}:" in [d for _, d in buttons(lawyer.last_message())]
    await lawyer.press(f"oc:n:{appeal_id}:money")
    await lawyer.send("150 000")
    sent = await lawyer.press(f"oc:save:{appeal_id}:")
    told = to(sent, member.user.id)
    assert told and "150" in told[0].text
    assert [(r.chat_id, r.message_thread_id) for r in sent if isinstance(r, CloseForumTopic)] == [
        (GROUP, thread)
    ]
    appeal = await appeal_row(ctx, appeal_id)
    assert appeal.status == AppealStatus.CLOSED
    assert appeal.outcome_court and appeal.outcome_consultation
    assert appeal.money_returned_kzt == 150_000


async def test_hand_over_in_the_topic_to_a_colleague_then_to_another_region(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, _member, appeal_id, thread = await started(person, ctx, recording, 803)
    colleague = person(620, first_name="Асель")
    await make_lawyer(admin, colleague)
    await colleague.send("/start")
    bot_may_manage_topics(recording, OTHER_GROUP)
    await admin.in_chat(forum(OTHER_GROUP)).send("/linkgroup kostanay")
    in_topic = lawyer.in_topic(forum(), thread)
    await in_topic.tap("✋")

    sent = await press_data(in_topic, f"ft:hand:{appeal_id}:0:")
    assert to(sent, GROUP)  # the menu, in the topic
    target = await staff_id(ctx, colleague.user.id)
    sent = await press_data(in_topic, f"ft:staff:{appeal_id}:{target}:")
    assert to(sent, colleague.user.id)  # the colleague is told, with the card's button
    appeal = await appeal_row(ctx, appeal_id)
    assert appeal.claimed_by == target and appeal.status == AppealStatus.CLAIMED
    assert [a.details.get("to_staff") for a in await audits(ctx, "hand-over")] == [target]

    # The former holder may no longer hand it on.
    sent = await in_topic.press(f"ft:hand:{appeal_id}:0:", with_button(in_topic, "ft:hand:"))
    assert answers(sent)[0].show_alert and not to(sent, GROUP)

    # The new holder hands it to another region's queue, from the same topic.
    theirs = colleague.in_topic(forum(), thread)
    await press_data(theirs, f"ft:hand:{appeal_id}:0:")
    await press_data(theirs, f"ft:regions:{appeal_id}:0:")
    sent = await press_data(theirs, f"ft:org:{appeal_id}:0:kostanay")
    closes = [r for r in sent if isinstance(r, CloseForumTopic)]
    assert [(r.chat_id, r.message_thread_id) for r in closes] == [(GROUP, thread)]
    assert [r.chat_id for r in sent if isinstance(r, CreateForumTopic)] == [OTHER_GROUP]
    appeal = await appeal_row(ctx, appeal_id)
    assert appeal.member_org == "kostanay" and appeal.status == AppealStatus.QUEUED
    assert appeal.claimed_by is None
    assert await topic_of(ctx, appeal_id, OTHER_GROUP)
    # The old region's card loses its buttons.
    assert buttons(theirs.message_with(f"№{appeal_id}")) == []


async def test_the_card_follows_the_desk_in_the_private_chat(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    _admin, lawyer, _member, appeal_id, thread = await started(person, ctx, recording, 804)
    in_topic = lawyer.in_topic(forum(), thread)
    card = in_topic.message_with(f"№{appeal_id}")
    assert next(d for _, d in buttons(card)).startswith("fm:take")

    await lawyer.press(f"desk:take:{appeal_id}:")
    data = [d for _, d in buttons(in_topic.message_with(f"№{appeal_id}"))]
    assert f"ft:close:{appeal_id}:0:" in data and not any(d.startswith("fm:take") for d in data)
    await lawyer.press(f"desk:card:{appeal_id}:")
    await lawyer.press(f"desk:release:{appeal_id}:")
    data = [d for _, d in buttons(in_topic.message_with(f"№{appeal_id}"))]
    assert data[0].startswith("fm:take")


async def test_a_members_edit_corrects_the_copy_in_the_topic(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    _admin, lawyer, member, appeal_id, thread = await started(person, ctx, recording, 805)
    in_topic = lawyer.in_topic(forum(), thread)
    await in_topic.tap("✋")
    await in_topic.send("Ответ.")
    sent = await member.send("Зарплата 10 000 тенге.")
    posted = to(sent, GROUP)
    assert posted and posted[0].message_thread_id == thread
    sent = await member.edit(member.last_sent_id, "Зарплата 100 000 тенге.")
    fixed = [r for r in sent if isinstance(r, EditMessageText) and r.chat_id == GROUP]
    assert fixed and "100 000" in str(fixed[0].text)
    assert str(fixed[0].text).startswith("📨") and str(appeal_id) in str(fixed[0].text)
    shown = in_topic.message_with("100 000")
    assert shown.message_thread_id == thread
    assert to(sent, lawyer.user.id) or any(
        isinstance(r, EditMessageText) and r.chat_id == lawyer.user.id for r in sent
    )

    # A lawyer's answer written in the private chat is shown in the topic: its edit too.
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lawyer.send("Ответ из личного чата с опечаткой.")
    sent = await lawyer.edit(lawyer.last_sent_id, "Ответ из личного чата без опечатки.")
    fixed = [r for r in sent if isinstance(r, EditMessageText) and r.chat_id == GROUP]
    assert fixed and "без опечатки" in str(fixed[0].text)
    assert str(fixed[0].text).startswith("💬 Гүлнар")

    # A copy still on its way to the topic (Telegram busy): the correction follows it,
    # marked, in the same topic and in the group's language.
    recording.failing[GROUP] = [lambda m: TelegramRetryAfter(m, "retry after 5", retry_after=5)]
    await member.send("Стаж 5 лет.")
    async with ctx.session_factory() as session:
        copy = await session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == GROUP, OutboxMessage.appeal_message_id.is_not(None))
            .order_by(OutboxMessage.id.desc())
        )
        assert copy is not None and copy.status == OutboxStatus.PENDING
    sent = await member.edit(member.last_sent_id, "Стаж 15 лет.")
    assert not [r for r in sent if isinstance(r, EditMessageText) and r.chat_id == GROUP]
    async with ctx.session_factory() as session:
        queued = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == GROUP, OutboxMessage.status == "pending")
                .order_by(OutboxMessage.id)
            )
        )
    assert len(queued) == 2 and "Стаж 15 лет." in queued[1].payload["text"]
    assert queued[1].payload["text"].startswith("✏️")
    assert queued[1].payload["message_thread_id"] == thread


async def test_a_topic_telegram_refused_is_created_by_the_clock(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession, bot: Bot
) -> None:
    admin, member = person(ADMIN_ID), person(806)
    await linked(admin, recording)
    await onboard(member, lang="ru", org="karaganda")

    def flood(method: TelegramMethod[Any]) -> Exception:
        return TelegramRetryAfter(method, "Too Many Requests: retry after 5", retry_after=5)

    recording.failing[GROUP] = [flood]  # createForumTopic fails once
    await send_appeal(member, "pay", "Вопрос.")
    appeal_id = await newest_appeal(ctx)
    async with ctx.session_factory() as session:
        assert (
            await session.scalar(select(AppealTopic).where(AppealTopic.appeal_id == appeal_id))
            is None
        )

    retries = TopicRetries()
    now = utcnow()
    # Too new: its topic may be being opened right now.
    assert await topics_job(ctx, bot, retries, now) == 0
    later = now + timedelta(minutes=2)
    recording.failing[GROUP] = [flood]  # still refused at the first try on the clock
    before = len(recording.requests)
    assert await topics_job(ctx, bot, retries, later) == 0
    assert [r for r in recording.requests[before:] if isinstance(r, CreateForumTopic)]
    # Not tried again before its wait is over, then opened, with its card.
    before = len(recording.requests)
    assert await topics_job(ctx, bot, retries, later + timedelta(seconds=10)) == 0
    assert not [r for r in recording.requests[before:] if isinstance(r, CreateForumTopic)]
    before = len(recording.requests)
    assert await topics_job(ctx, bot, retries, later + timedelta(minutes=1)) == 1
    thread = await topic_of(ctx, appeal_id)
    card = [
        r
        for r in recording.requests[before:]
        if isinstance(r, SendMessage) and r.chat_id == GROUP and r.message_thread_id == thread
    ]
    assert card and "Вопрос." in card[0].text
    assert retries.tries == {}
    # Nothing left to do: nothing created twice.
    before = len(recording.requests)
    assert await topics_job(ctx, bot, retries, later + timedelta(minutes=5)) == 0
    assert not [r for r in recording.requests[before:] if isinstance(r, CreateForumTopic)]


async def test_the_scheduler_runs_the_topic_retries_on_the_lease_holder(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession, bot: Bot
) -> None:
    admin, member = person(ADMIN_ID), person(807)
    await linked(admin, recording)
    await onboard(member, lang="ru", org="karaganda")
    recording.failing[GROUP] = [lambda m: TelegramRetryAfter(m, "retry after 5", retry_after=5)]
    await send_appeal(member, "pay", "Вопрос.")
    appeal_id = await newest_appeal(ctx)
    async with ctx.session_factory() as session:  # as if sent two minutes ago
        await session.execute(
            update(Appeal)
            .where(Appeal.id == appeal_id)
            .values(created_at=utcnow() - timedelta(minutes=2))
        )
        await session.commit()
    leader = ProcessLease(ctx.engine, "scheduler", "host:1", seconds=30.0)
    runner = post_runner(ctx, bot, "host:1", None)
    job = _scheduler(ctx, bot, leader, runner, DatabaseStorage(ctx.session_factory)).get_job(
        "topics"
    )
    assert job is not None
    await job.func()  # not the lease's holder: nothing
    async with ctx.session_factory() as session:
        assert await session.scalar(select(AppealTopic.id)) is None
    assert await leader.hold()
    await job.func()
    assert await topic_of(ctx, appeal_id)
    await leader.release()


async def test_the_clock_gives_up_after_its_tries(ctx: Context) -> None:
    retries = TopicRetries(limit=2)
    now = utcnow()
    key = (1, GROUP)
    assert retries.due(key, now)
    retries.refused(key, now)
    assert not retries.due(key, now) and retries.due(key, now + timedelta(minutes=1))
    retries.refused(key, now + timedelta(minutes=1))
    assert not retries.due(key, now + timedelta(days=1))
    retries.keep_only(set())
    assert retries.tries == {}


async def test_a_topic_refused_by_the_fake_bot_api_is_opened_on_the_clock(ctx: Context) -> None:
    """Over HTTP, against the fake Bot API server: createForumTopic fails once (flood
    control), the appeal is left without a topic, the clock's next run opens it with its
    card."""
    async with FakeBotAPI() as api:
        api.store.forum(GROUP, bot_rights={"can_manage_topics": True})
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = create_bot(ctx.settings, session=session)
        try:
            async with ctx.session_factory() as db:
                db.add(
                    StaffGroup(
                        scope="karaganda",
                        chat_id=GROUP,
                        language="ru",
                        linked_by=ADMIN_ID,
                        linked_at=utcnow(),
                    )
                )
                member = Member(telegram_id=900, language="ru", member_org="karaganda")
                db.add(member)
                await db.flush()
                appeal = Appeal(
                    member_id=member.id,
                    member_org="karaganda",
                    topic="pay",
                    text="Не платят отпускные.",
                    source=AppealSource.DIRECT,
                    created_at=utcnow() - timedelta(minutes=5),
                )
                db.add(appeal)
                await db.commit()
                appeal_id = appeal.id
            api.inject("createForumTopic", status=429, retry_after=3, times=1)
            async with ctx.session_factory() as db:
                with ctx.i18n.context():
                    refused = await open_topics(
                        appeal_id,
                        session=db,
                        bot=bot,
                        outbox=ctx.outbox,
                        orgs=ctx.orgs,
                        i18n=ctx.i18n,
                    )
            assert refused == [GROUP] and not api.store.topics.get(GROUP)

            assert await topics_job(ctx, bot, TopicRetries()) == 1
            [thread] = api.store.topics[GROUP]
            assert api.store.topics[GROUP][thread]["name"].startswith(f"№{appeal_id} · ")
            assert await topic_of(ctx, appeal_id) == thread
            cards = [
                m for m in api.store.bot_messages(GROUP) if m.get("message_thread_id") == thread
            ]
            assert cards and "Не платят отпускные." in cards[0]["text"]
        finally:
            await bot.session.close()


async def test_an_idle_claim_released_by_the_clock_refreshes_the_card(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession, bot: Bot
) -> None:
    _admin, lawyer, _member, appeal_id, thread = await started(person, ctx, recording, 808)
    in_topic = lawyer.in_topic(forum(), thread)
    await in_topic.tap("✋")
    card = in_topic.message_with(f"№{appeal_id}")
    long_ago = utcnow() - timedelta(days=60)
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        appeal.created_at = appeal.claimed_at = long_ago
        appeal.first_answer_at = appeal.last_lawyer_at = long_ago
        appeal.notified_at = appeal.sla_half_at = appeal.sla_breached_at = long_ago
        await session.commit()
    await desk_job(ctx, bot)
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.QUEUED
        edits = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.chat_id == GROUP, OutboxMessage.method == "editMessageReplyMarkup"
                )
            )
        )
    assert edits  # queued for the background sender
    assert any(f"fm:take:{appeal_id}" in str(e.payload) for e in edits)
    assert all(e.payload.get("message_id") == card.message_id for e in edits)


async def test_a_revoked_holders_appeal_shows_take_again_in_its_topic(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, member, appeal_id, thread = await started(person, ctx, recording, 809)
    in_topic = lawyer.in_topic(forum(), thread)
    await in_topic.tap("✋")
    assert any(
        d.startswith("ft:close:") for _, d in buttons(in_topic.message_with(f"№{appeal_id}"))
    )
    sent = await admin.press(f"st:revoke:{await staff_id(ctx, lawyer.user.id)}:")
    assert to(sent, member.user.id)  # the member is told it is back in the queue
    assert (await appeal_row(ctx, appeal_id)).status == AppealStatus.QUEUED
    data = [d for _, d in buttons(in_topic.message_with(f"№{appeal_id}"))]
    assert data[0] == f"fm:take:{appeal_id}"


async def test_a_hold_released_at_start_shows_take_again_in_its_topic(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    """A role changed while the bot was down (by hand in the database): the start gives the
    appeal back to the queue, and its topic card offers "take" again."""
    _admin, lawyer, _member, appeal_id, thread = await started(person, ctx, recording, 810)
    in_topic = lawyer.in_topic(forum(), thread)
    await in_topic.tap("✋")
    card = in_topic.message_with(f"№{appeal_id}")
    async with ctx.session_factory() as session:
        await session.execute(
            update(Staff).where(Staff.telegram_id == lawyer.user.id).values(member_orgs=["abai"])
        )
        await session.commit()
    ctx.staff_directory.invalidate()
    await settle_access(ctx)
    assert (await appeal_row(ctx, appeal_id)).status == AppealStatus.QUEUED
    async with ctx.session_factory() as session:
        edits = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.chat_id == GROUP, OutboxMessage.method == "editMessageReplyMarkup"
                )
            )
        )
    assert any(f"fm:take:{appeal_id}" in str(e.payload) for e in edits)
    assert all(e.payload.get("message_id") == card.message_id for e in edits)
