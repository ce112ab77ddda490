"""Staff supergroups with a topic per appeal: linking, topics, routing in both directions,
and what must never happen (a member's words in another topic, a note or a stranger's
words reaching a member)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    CloseForumTopic,
    CreateForumTopic,
    EditMessageText,
    LeaveChat,
    ReopenForumTopic,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import Chat, ChatMemberAdministrator
from sqlalchemy import select, update

from bot.app import create_dispatcher
from bot.context import Context
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealStatus,
    AppealTopic,
    Audit,
    MessageSide,
    StaffGroup,
)
from tests.conftest import ADMIN_ID, TOKEN
from tests.driver import Person, buttons, texts
from tests.recording import BOT_USER, RecordingSession
from tests.test_desk_flow import invite, make_lawyer
from tests.test_member_flow import onboard, send_appeal

pytestmark = pytest.mark.asyncio

GROUP = -1001000000001
OTHER_GROUP = -1001000000002
BOT_ID = int(TOKEN.split(":")[0])  # aiogram's bot.id: from its token


def forum(chat_id: int = GROUP, *, is_forum: bool = True) -> Chat:
    return Chat(id=chat_id, type="supergroup", title="Lawyers", is_forum=is_forum)


def bot_may_manage_topics(recording: RecordingSession, chat_id: int = GROUP) -> None:
    rights = dict.fromkeys(
        (
            "can_be_edited",
            "is_anonymous",
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_promote_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
            "can_send_welcome_messages",
        ),
        False,
    )
    recording.chat_members[(chat_id, BOT_ID)] = ChatMemberAdministrator.model_validate(
        {"user": BOT_USER, "can_manage_topics": True, **rights}
    )


async def linked(admin: Person, recording: RecordingSession, scope: str = "karaganda") -> None:
    bot_may_manage_topics(recording)
    sent = await admin.in_chat(forum()).send(f"/linkgroup {scope}")
    assert "✅" in texts(sent), texts(sent)


def to(requests: list[TelegramMethod[Any]], chat_id: int) -> list[SendMessage]:
    return [r for r in requests if isinstance(r, SendMessage) and r.chat_id == chat_id]


async def topic_of(ctx: Context, appeal_id: int, chat_id: int = GROUP) -> int:
    async with ctx.session_factory() as session:
        thread = await session.scalar(
            select(AppealTopic.thread_id).where(
                AppealTopic.appeal_id == appeal_id, AppealTopic.chat_id == chat_id
            )
        )
    assert thread is not None
    return int(thread)


async def newest_appeal(ctx: Context) -> int:
    async with ctx.session_factory() as session:
        return int(await session.scalar(select(Appeal.id).order_by(Appeal.id.desc())) or 0)


async def test_linking_checks_and_unlinking(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer = person(ADMIN_ID), person(600, first_name="Гүлнар")
    await make_lawyer(admin, lawyer)

    # Not a forum: explained, nothing stored.
    sent = await admin.in_chat(forum(is_forum=False)).send("/linkgroup karaganda")
    assert "Topics" in texts(sent) or "Тақырып" in texts(sent) or "Тем" in texts(sent)
    # A forum, but the bot is not an administrator there: refused.
    sent = await admin.in_chat(forum()).send("/linkgroup karaganda")
    assert any(r.__api_method__ == "getChatMember" for r in sent)
    assert not any(isinstance(r, LeaveChat) for r in sent)
    async with ctx.session_factory() as session:
        assert await session.scalar(select(StaffGroup)) is None
    # An unknown region: explained.
    bot_may_manage_topics(recording)
    sent = await admin.in_chat(forum()).send("/linkgroup atlantis")
    assert "/linkgroup head" in texts(sent)

    # A lawyer cannot link a group: it is met as any group (the bot leaves).
    sent = await lawyer.in_chat(forum(OTHER_GROUP)).send("/linkgroup karaganda")
    assert any(isinstance(r, LeaveChat) for r in sent)

    await linked(admin, recording)
    async with ctx.session_factory() as session:
        group = await session.scalar(select(StaffGroup))
        assert group is not None and group.chat_id == GROUP and group.scope == "karaganda"
        assert group.linked_by == ADMIN_ID
        actions = list(await session.scalars(select(Audit.action)))
        assert "link-group" in actions

    # In the linked group, a lawyer still cannot link or unlink.
    sent = await lawyer.in_chat(forum()).send("/unlinkgroup")
    assert not any(isinstance(r, LeaveChat) for r in sent)
    async with ctx.session_factory() as session:
        assert await session.scalar(select(StaffGroup)) is not None

    # One group per region.
    bot_may_manage_topics(recording, OTHER_GROUP)
    sent = await admin.in_chat(forum(OTHER_GROUP)).send("/linkgroup karaganda")
    async with ctx.session_factory() as session:
        groups = list(await session.scalars(select(StaffGroup)))
        assert [g.chat_id for g in groups] == [GROUP]

    sent = await admin.in_chat(forum()).send("/unlinkgroup")
    assert sent
    async with ctx.session_factory() as session:
        assert await session.scalar(select(StaffGroup)) is None
        assert "unlink-group" in list(await session.scalars(select(Audit.action)))


async def test_new_appeal_opens_its_topic_with_the_card_and_unlinked_regions_do_not(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, member, elsewhere = person(ADMIN_ID), person(601), person(602)
    await linked(admin, recording)
    await onboard(member, org="karaganda")
    before = len(recording.requests)
    await send_appeal(member, "pay", "Не платят за классное руководство.")
    sent = recording.requests[before:]
    created = [r for r in sent if isinstance(r, CreateForumTopic)]
    assert len(created) == 1 and created[0].chat_id == GROUP
    appeal_id = await newest_appeal(ctx)
    assert created[0].name.startswith(f"№{appeal_id} · ")
    thread = await topic_of(ctx, appeal_id)
    card = to(sent, GROUP)
    assert card and card[0].message_thread_id == thread
    assert "Не платят за классное руководство." in str(card[0].text)
    lawyer_view = person(603).in_topic(forum(), thread)
    assert any(data.startswith("fm:take") for _, data in buttons(lawyer_view.last_message()))
    assert "🔒" not in str(card[0].text)

    # The member asked not to be named to their workplace's union committee: the topic
    # says so, as the private card does, for every lawyer reading it.
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Директор мстит, не хочу, чтобы знали.")
    await member.press("draft:files_done")
    await member.press("draft:anon")
    before = len(recording.requests)
    await member.press("draft:send")
    hidden = to(recording.requests[before:], GROUP)
    assert hidden and "🔒" in str(hidden[0].text)

    # A region without a linked group: no topic, as before.
    await onboard(elsewhere, org="kostanay")
    before = len(recording.requests)
    await send_appeal(elsewhere, "pay", "Вопрос из другого региона.")
    assert not any(isinstance(r, CreateForumTopic) for r in recording.requests[before:])


async def test_three_appeals_three_topics_replies_reach_the_right_member_only(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer = person(ADMIN_ID), person(600, first_name="Гүлнар")
    await make_lawyer(admin, lawyer)
    await linked(admin, recording)
    members = [person(610 + i) for i in range(3)]
    appeals: list[int] = []
    for i, member in enumerate(members):
        await onboard(member, org="karaganda")
        await send_appeal(member, "pay", f"Вопрос номер {i}.")
        appeals.append(await newest_appeal(ctx))
    threads = [await topic_of(ctx, a) for a in appeals]
    assert len(set(threads)) == 3

    for i, thread in enumerate(threads):
        in_topic = lawyer.in_topic(forum(), thread)
        sent = await in_topic.tap("✋")
        assert to(sent, members[i].user.id), texts(sent)  # the member is told
        assert not any(to(sent, m.user.id) for j, m in enumerate(members) if j != i)

    member_ids = {m.user.id for m in members}
    for i in (2, 0, 1):  # answered out of order
        sent = await lawyer.in_topic(forum(), threads[i]).send(f"Ответ для вопроса {i}.")
        got = [r for r in sent if isinstance(r, SendMessage) and r.chat_id in member_ids]
        assert [r.chat_id for r in got] == [members[i].user.id]
        assert f"Ответ для вопроса {i}." in str(got[0].text)
        assert f"№ {appeals[i]}" in str(got[0].text) or str(appeals[i]) in str(got[0].text)

    # The member's words land in their own topic (and with their lawyer), nowhere else.
    for i in (1, 2, 0):
        sent = await members[i].send(f"Спасибо, дополнение {i}.")
        posted = to(sent, GROUP)
        assert posted and {r.message_thread_id for r in posted} == {threads[i]}
        assert f"дополнение {i}." in str(posted[0].text)
        others = member_ids - {members[i].user.id}
        assert not [r for r in sent if isinstance(r, SendMessage) and r.chat_id in others]

    async with ctx.session_factory() as session:
        for i, appeal_id in enumerate(appeals):
            answers = list(
                await session.scalars(
                    select(AppealMessage.text).where(
                        AppealMessage.appeal_id == appeal_id,
                        AppealMessage.side == MessageSide.LAWYER,
                    )
                )
            )
            assert answers == [f"Ответ для вопроса {i}."]
            appeal = await session.get_one(Appeal, appeal_id)
            assert appeal.first_answer_at is not None
            assert appeal.status == AppealStatus.ANSWERED


async def test_notes_non_holders_and_strangers_reach_nobody(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, holder = person(ADMIN_ID), person(600, first_name="Гүлнар")
    colleague, other_region = person(620, first_name="Асель"), person(621)
    member, stranger = person(630), person(631)
    await make_lawyer(admin, holder)
    await make_lawyer(admin, colleague)
    await make_lawyer(admin, other_region, "kostanay")
    await linked(admin, recording)
    await onboard(member, org="karaganda")
    await onboard(stranger, org="karaganda")
    await send_appeal(member, "pay", "Вопрос.")
    appeal_id = await newest_appeal(ctx)
    thread = await topic_of(ctx, appeal_id)

    # Someone the group does not serve taps Take: nothing changes.
    for outsider in (stranger, other_region):
        sent = await outsider.in_topic(forum(), thread).tap("✋")
        assert any(isinstance(r, AnswerCallbackQuery) for r in sent)
        assert not to(sent, member.user.id)
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.QUEUED

    await holder.in_topic(forum(), thread).tap("✋")

    # The holder's note: stored, never sent to the member.
    sent = await holder.in_topic(forum(), thread).send("!Позвонить работодателю")
    assert not to(sent, member.user.id)
    # A colleague's words: to nobody; told once.
    sent = await colleague.in_topic(forum(), thread).send("Я бы ответила иначе")
    assert not to(sent, member.user.id) and len(to(sent, GROUP)) == 1
    sent = await colleague.in_topic(forum(), thread).send("И ещё")
    assert not to(sent, member.user.id) and not to(sent, GROUP)
    # Not staff, or another region's lawyer: ignored entirely.
    for outsider in (stranger, other_region):
        sent = await outsider.in_topic(forum(), thread).send("Привет всем")
        assert not [r for r in sent if isinstance(r, SendMessage)]
    # The general chat of the group: the staff's own talk, nobody gets it.
    sent = await holder.in_topic(forum(), None).send("Коллеги, кто свободен?")
    assert not [r for r in sent if isinstance(r, SendMessage)]

    async with ctx.session_factory() as session:
        rows = list(
            await session.execute(
                select(AppealMessage.side, AppealMessage.text).where(
                    AppealMessage.appeal_id == appeal_id
                )
            )
        )
    assert [tuple(r) for r in rows] == [(MessageSide.NOTE, "Позвонить работодателю")]


async def test_release_in_topic_and_closing_closes_the_topic(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(600, first_name="Гүлнар"), person(640)
    await make_lawyer(admin, lawyer)
    await linked(admin, recording)
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "Вопрос.")
    appeal_id = await newest_appeal(ctx)
    thread = await topic_of(ctx, appeal_id)
    in_topic = lawyer.in_topic(forum(), thread)

    await in_topic.tap("✋")
    await in_topic.tap("↩️")
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.QUEUED
    await in_topic.tap("✋")
    await in_topic.send("Ответ.")
    # The card in the private chat, where the outcome is chosen.
    sent = await in_topic.tap("🗂")
    assert to(sent, lawyer.user.id)

    await lawyer.press(f"oc:sure:{appeal_id}:")
    sent = await lawyer.press(f"oc:save:{appeal_id}:")
    closes = [r for r in sent if isinstance(r, CloseForumTopic)]
    assert [(r.chat_id, r.message_thread_id) for r in closes] == [(GROUP, thread)]
    async with ctx.session_factory() as session:
        assert (await session.get_one(Appeal, appeal_id)).status == AppealStatus.CLOSED


async def test_hand_over_to_another_region_moves_the_topic(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(600, first_name="Гүлнар"), person(650)
    await make_lawyer(admin, lawyer)
    await linked(admin, recording)
    bot_may_manage_topics(recording, OTHER_GROUP)
    await admin.in_chat(forum(OTHER_GROUP)).send("/linkgroup kostanay")
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "Вопрос.")
    appeal_id = await newest_appeal(ctx)
    old = await topic_of(ctx, appeal_id)
    in_topic = lawyer.in_topic(forum(), old)
    await in_topic.tap("✋")
    await in_topic.send("Ответ.")

    sent = await lawyer.press(f"hand:org:{appeal_id}:0:kostanay")
    closes = [r for r in sent if isinstance(r, CloseForumTopic)]
    assert [(r.chat_id, r.message_thread_id) for r in closes] == [(GROUP, old)]
    assert [r.chat_id for r in sent if isinstance(r, CreateForumTopic)] == [OTHER_GROUP]
    new = await topic_of(ctx, appeal_id, OTHER_GROUP)

    # The member's words now go to the new region's topic only.
    await member.press(f"my:add:{appeal_id}")
    sent = await member.send("Дополнение.")
    assert not to(sent, GROUP)
    assert [r.message_thread_id for r in to(sent, OTHER_GROUP)] == [new]


async def test_other_groups_are_left_as_before(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(600), person(660)
    await make_lawyer(admin, lawyer)
    await onboard(member, org="karaganda")
    # An admin setting a supergroup up: the bot stays, says nothing.
    sent = await admin.in_chat(forum(OTHER_GROUP)).send("Настраиваю группу")
    assert not [r for r in sent if isinstance(r, (LeaveChat, SendMessage))]
    # Anyone else there before it is linked: the group is left, as any group.
    sent = await member.in_chat(forum(OTHER_GROUP)).send("/start")
    assert any(isinstance(r, LeaveChat) for r in sent)
    # A plain group: left, even for an admin's /linkgroup.
    sent = await admin.in_chat(Chat(id=-4000001, type="group", title="g")).send("/linkgroup head")
    assert any(isinstance(r, LeaveChat) for r in sent)

    # A linked group, then unlinked: the next update from it is met as any group's.
    await linked(admin, recording)
    sent = await lawyer.in_topic(forum(), None).send("Коллеги")
    assert not [r for r in sent if isinstance(r, (LeaveChat, SendMessage))]
    await admin.in_chat(forum()).send("/unlinkgroup")
    sent = await lawyer.in_topic(forum(), None).send("Коллеги")
    assert any(isinstance(r, LeaveChat) for r in sent)
    async with ctx.session_factory() as session:
        assert await session.scalar(select(StaffGroup)) is None


async def test_private_answers_show_in_the_topic_and_reopening_opens_it_again(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(600, first_name="Гүлнар"), person(670)
    await make_lawyer(admin, lawyer)
    await linked(admin, recording)
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "Вопрос.")
    appeal_id = await newest_appeal(ctx)
    thread = await topic_of(ctx, appeal_id)

    # Taken and answered on the private desk: the topic shows the answer too.
    await lawyer.press(f"desk:take:{appeal_id}:")
    await lawyer.press(f"desk:reply:{appeal_id}:")
    sent = await lawyer.send("Ответ из личного чата.")
    assert to(sent, member.user.id)
    posted = to(sent, GROUP)
    assert [r.message_thread_id for r in posted] == [thread]
    assert "Ответ из личного чата." in str(posted[0].text)
    # Written in the topic: not posted there a second time.
    sent = await lawyer.in_topic(forum(), thread).send("Ответ из темы.")
    assert to(sent, member.user.id) and len(to(sent, GROUP)) == 1  # the confirmation only

    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")
    sent = await member.press(f"rate:{appeal_id}:0")
    reopened = [r for r in sent if isinstance(r, ReopenForumTopic)]
    assert [(r.chat_id, r.message_thread_id) for r in reopened] == [(GROUP, thread)]
    line = to(sent, GROUP)
    assert line and line[0].message_thread_id == thread and str(appeal_id) in str(line[0].text)


async def test_the_head_lawyers_group_gets_every_region_and_serves_head_lawyers_only(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, head, lawyer = person(ADMIN_ID), person(680, first_name="Сауле"), person(681)
    member = person(682)
    await make_lawyer(admin, lawyer, "kostanay")
    code = await invite(admin, "head-lawyer")
    await head.send(f"/join {code}")
    await linked(admin, recording, "head")
    await onboard(member, org="kostanay")
    await send_appeal(member, "pay", "Вопрос из Костаная.")
    appeal_id = await newest_appeal(ctx)
    thread = await topic_of(ctx, appeal_id)

    # A lawyer of the region is not served in the head lawyers' group.
    sent = await lawyer.in_topic(forum(), thread).tap("✋")
    assert not to(sent, member.user.id)
    sent = await head.in_topic(forum(), thread).tap("✋")
    assert to(sent, member.user.id)
    sent = await head.in_topic(forum(), thread).send("Ответ главного юриста.")
    people = [r.chat_id for r in sent if isinstance(r, SendMessage) and r.chat_id != GROUP]
    assert people == [member.user.id]


async def test_a_group_linked_in_another_process_is_not_left(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession, bot: Bot
) -> None:
    admin, lawyer = person(ADMIN_ID), person(600)
    await make_lawyer(admin, lawyer)
    other = create_dispatcher(ctx)  # a second process: its own memory of the links
    admin_there = Person(other, bot, recording, ADMIN_ID).in_chat(forum())
    await admin_there.send("Настраиваю группу")  # it has read the links: none yet
    await linked(admin, recording)
    sent = await Person(other, bot, recording, 600).in_topic(forum(), None).send("Коллеги")
    assert not any(isinstance(r, LeaveChat) for r in sent)


async def test_the_holders_edit_in_a_topic_corrects_the_members_copy(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(600, first_name="Гүлнар"), person(690)
    await make_lawyer(admin, lawyer)
    await linked(admin, recording)
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "Вопрос.")
    appeal_id = await newest_appeal(ctx)
    in_topic = lawyer.in_topic(forum(), await topic_of(ctx, appeal_id))
    await in_topic.tap("✋")
    await in_topic.send("Ответ с опечаткой.")
    sent = await in_topic.edit(in_topic.last_sent_id, "Ответ без опечатки.")
    edited = [r for r in sent if isinstance(r, EditMessageText) and r.chat_id == member.user.id]
    assert edited and "Ответ без опечатки." in str(edited[0].text)
    async with ctx.session_factory() as session:
        texts_now = list(
            await session.scalars(
                select(AppealMessage.text).where(
                    AppealMessage.appeal_id == appeal_id, AppealMessage.side == MessageSide.LAWYER
                )
            )
        )
    assert texts_now == ["Ответ без опечатки."]


async def test_what_stays_in_a_topic_is_in_the_groups_language(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, member = person(ADMIN_ID, language_code="ru"), person(695)
    lawyer = person(600, first_name="Гүлнар", language_code="kk")
    await make_lawyer(admin, lawyer)
    await linked(admin, recording)  # linked by an admin reading Russian
    await onboard(member, lang="kk", org="karaganda")
    await send_appeal(member, "pay", "Сұрақ.")
    appeal_id = await newest_appeal(ctx)
    in_topic = lawyer.in_topic(forum(), await topic_of(ctx, appeal_id))
    assert "Взять" in " ".join(t for t, _ in buttons(in_topic.last_message()))
    sent = await in_topic.tap("✋")
    took = to(sent, GROUP)
    assert took and "взял" in str(took[0].text)
    labels = " ".join(t for t, _ in buttons(in_topic.message_with(f"№{appeal_id}")))
    assert "Вернуть в очередь" in labels


async def test_linking_gives_open_appeals_their_topics_and_again_retries_refused_ones(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer = person(ADMIN_ID), person(600, first_name="Гүлнар")
    first, second = person(700), person(701)
    await make_lawyer(admin, lawyer)
    await onboard(first, org="karaganda")
    await onboard(second, org="karaganda")
    await send_appeal(first, "pay", "Открыто до привязки.")
    waiting = await newest_appeal(ctx)
    await send_appeal(second, "pay", "Закрыто до привязки.")
    closed = await newest_appeal(ctx)
    await lawyer.press(f"desk:take:{closed}:")
    await lawyer.press(f"oc:sure:{closed}:")
    await lawyer.press(f"oc:save:{closed}:")

    await linked(admin, recording)
    assert await topic_of(ctx, waiting)
    async with ctx.session_factory() as session:
        assert (
            await session.scalar(select(AppealTopic).where(AppealTopic.appeal_id == closed))
        ) is None

    # Telegram refuses a topic: the appeal is on the desk; linking again opens it.
    recording.failing[GROUP] = [
        lambda method: TelegramBadRequest(method, "Bad Request: not enough rights")
    ]
    await send_appeal(first, "other", "Ещё вопрос.")
    refused = await newest_appeal(ctx)
    async with ctx.session_factory() as session:
        assert (
            await session.scalar(select(AppealTopic).where(AppealTopic.appeal_id == refused))
        ) is None
    sent = await admin.in_chat(forum()).send("/linkgroup karaganda")
    assert [r.chat_id for r in sent if isinstance(r, CreateForumTopic)] == [GROUP]
    assert await topic_of(ctx, refused)


async def test_a_stale_card_shows_the_appeal_as_it_is_after_a_tap(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer, colleague = person(ADMIN_ID), person(600), person(601)
    member = person(710)
    await make_lawyer(admin, lawyer)
    await make_lawyer(admin, colleague)
    await linked(admin, recording)
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "Вопрос.")
    appeal_id = await newest_appeal(ctx)
    thread = await topic_of(ctx, appeal_id)
    await lawyer.in_topic(forum(), thread).tap("✋")
    # Back in the queue behind the topic's back (as the desk's clock does it).
    async with ctx.session_factory() as session:
        await session.execute(
            update(Appeal)
            .where(Appeal.id == appeal_id)
            .values(status=AppealStatus.QUEUED, claimed_by=None, claimed_at=None)
        )
        await session.commit()
    in_topic = colleague.in_topic(forum(), thread)
    await in_topic.tap("↩️")  # not theirs: refused, and the card is as the appeal is now
    sent = await in_topic.tap("✋")
    assert to(sent, member.user.id)
    async with ctx.session_factory() as session:
        appeal = await session.get_one(Appeal, appeal_id)
        assert appeal.status == AppealStatus.CLAIMED and appeal.claimed_by is not None
