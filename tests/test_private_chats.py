"""Private chats only: nothing from a group, a supergroup or a channel is handled. A group
gets one short line pointing to a private chat (no names, no data) and the bot leaves it;
private chats and updates without a chat (survey answers) work as before."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Dispatcher
from aiogram.methods import (
    AnswerCallbackQuery,
    GetMe,
    LeaveChat,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import (
    Chat,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberUpdated,
    Message,
    User,
)
from sqlalchemy import func, select

from bot.context import Context
from bot.middlewares.private_chats import HINT, PrivateChatsOnly
from bot.storage.models import Appeal, Base
from tests.conftest import ADMIN_ID
from tests.driver import Person, texts
from tests.recording import BOT_USER
from tests.test_member_flow import onboard, send_appeal

GROUP = Chat(id=-1001234567890, type="supergroup", title="Мектеп №5 кәсіподақ")
SMALL_GROUP = Chat(id=-4055, type="group", title="Мұғалімдер")
CHANNEL = Chat(id=-1009876543210, type="channel", title="Жаңалықтар")


def hint(ctx: Context, lang: str) -> str:
    return ctx.i18n.gettext(HINT, locale=lang).format(username=BOT_USER.username)


APPEAL_TEXT = "Директор сыныптан тыс жұмысқа ақы төлемейді, 14-мектеп"


async def seen(requests: Awaitable[list[TelegramMethod[Any]]]) -> list[TelegramMethod[Any]]:
    """What the bot did, without asking Telegram for its own username (getMe, once)."""
    return [r for r in await requests if not isinstance(r, GetMe)]


def to_chat(requests: list[TelegramMethod[Any]], chat_id: int) -> list[TelegramMethod[Any]]:
    return [r for r in requests if getattr(r, "chat_id", None) == chat_id]


def only_the_hint(ctx: Context, requests: list[TelegramMethod[Any]], chat: Chat) -> None:
    """At most the one line and leaving the chat; nothing else to anyone."""
    kinds = [type(r) for r in requests]
    assert kinds in ([], [SendMessage, LeaveChat], [LeaveChat]), kinds
    for request in requests:
        assert getattr(request, "chat_id", None) == chat.id
        if isinstance(request, SendMessage):
            assert request.text in (hint(ctx, "kk"), hint(ctx, "ru")), request.text


async def rows(ctx: Context) -> dict[str, int]:
    async with ctx.session_factory() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def private_chats_only(dp: Dispatcher) -> PrivateChatsOnly:
    found = [m for m in dp.update.outer_middleware if isinstance(m, PrivateChatsOnly)]
    assert len(found) == 1
    return found[0]


async def test_mydata_in_a_group_sends_no_file_and_no_data(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(7101, first_name="Гүлжан")
    await onboard(member, lang="ru")
    await send_appeal(member, "pay", APPEAL_TEXT)
    in_group = member.in_chat(GROUP)

    sent = await seen(in_group.send("/mydata"))
    sent += await seen(in_group.send("/mydata@qorgau_test_bot"))
    assert not any(isinstance(r, SendDocument) for r in sent)
    only_the_hint(ctx, sent, GROUP)
    hint = [r for r in sent if isinstance(r, SendMessage)]
    assert len(hint) == 1 and "7101" not in str(hint[0].text) and "Гүлжан" not in str(hint[0].text)
    # In private the member still gets the file.
    assert any(isinstance(r, SendDocument) for r in await member.send("/mydata"))


async def test_invite_in_a_group_makes_no_code(person: Callable[..., Person], ctx: Context) -> None:
    admin = person(ADMIN_ID, language_code="ru")
    before = await rows(ctx)
    sent = await seen(admin.in_chat(SMALL_GROUP).send("/invite admin"))
    sent += await seen(admin.in_chat(GROUP).send("/invite@qorgau_test_bot lawyer karaganda"))
    assert "/join" not in texts(sent)
    only_the_hint(ctx, to_chat(sent, SMALL_GROUP.id), SMALL_GROUP)
    only_the_hint(ctx, to_chat(sent, GROUP.id), GROUP)
    assert await rows(ctx) == before  # no invite was stored
    assert "/join" in texts(await admin.send("/invite admin"))  # in private it works


async def test_a_members_words_in_a_group_store_nothing_and_get_one_line(
    person: Callable[..., Person], ctx: Context, dp: Dispatcher
) -> None:
    member = person(7102)
    await onboard(member, lang="kk")
    newcomer = person(7103, language_code="ru")
    before = await rows(ctx)
    sent: list[TelegramMethod[Any]] = []
    for who in (member, newcomer, member):
        in_group = who.in_chat(GROUP)
        sent += await seen(in_group.send(APPEAL_TEXT))
        sent += await seen(in_group.send("/start"))
        sent += await seen(in_group.send("/ask"))
        sent += await seen(in_group.send_photo("photo-in-group", caption=APPEAL_TEXT))
    assert await rows(ctx) == before  # no member, no FSM state, no FAQ event, no appeal
    lines = [r for r in sent if isinstance(r, SendMessage)]
    assert len(lines) == 1 and lines[0].chat_id == GROUP.id
    assert lines[0].text == hint(ctx, "kk")  # the first writer's Telegram language
    assert [type(r) for r in sent] == [SendMessage, LeaveChat]
    assert private_chats_only(dp).ignored == 12


async def test_a_button_on_a_message_in_a_group_is_answered_without_data(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(7104)
    await onboard(member, lang="ru")
    await send_appeal(member, "pay", APPEAL_TEXT)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    # The bot's message with the member's buttons, seen in a group (forwarded there).
    in_group = member.last_message().model_copy(update={"chat": GROUP})
    sent = await seen(member.in_chat(GROUP).press(f"my:open:{appeal_id}", in_group))
    assert APPEAL_TEXT not in texts(sent)
    answers = [r for r in sent if isinstance(r, AnswerCallbackQuery)]
    assert len(answers) == 1 and answers[0].text == hint(ctx, "kk")
    assert [type(r) for r in sent] == [AnswerCallbackQuery, LeaveChat]
    # The same button in the private chat opens the appeal.
    opened = await member.press(f"my:open:{appeal_id}", member.last_message())
    assert APPEAL_TEXT in texts(opened)


def added(chat: Chat, status: str = "member") -> dict[str, Any]:
    adder = User(id=7105, is_bot=False, first_name="Асель", language_code="ru")
    bot = User(id=BOT_USER.id, is_bot=True, first_name="Qorgau")
    new = ChatMemberMember(user=bot) if status == "member" else ChatMemberLeft(user=bot)
    return {
        "my_chat_member": ChatMemberUpdated(
            chat=chat,
            from_user=adder,
            date=datetime.now(UTC),
            old_chat_member=ChatMemberLeft(user=bot)
            if status == "member"
            else ChatMemberMember(user=bot),
            new_chat_member=new,
        )
    }


async def test_added_to_a_group_or_channel_the_bot_says_where_to_write_and_leaves(
    person: Callable[..., Person], ctx: Context
) -> None:
    someone = person(7105, language_code="ru")
    before = await rows(ctx)
    sent = await seen(someone.feed(**added(SMALL_GROUP)))
    assert [type(r) for r in sent] == [SendMessage, LeaveChat]
    assert sent[0].text == hint(ctx, "ru")  # type: ignore[attr-defined]
    # Telegram then says the bot left: nothing more is sent.
    assert await seen(someone.feed(**added(SMALL_GROUP, status="left"))) == []
    # A channel gets no line (every subscriber would read it); the bot leaves.
    sent = await seen(someone.feed(**added(CHANNEL)))
    assert [type(r) for r in sent] == [LeaveChat]
    post = Message(
        message_id=1, date=datetime.now(UTC), chat=CHANNEL, text="/mydata", sender_chat=CHANNEL
    )
    assert await seen(someone.feed(channel_post=post)) == []  # left already
    assert await rows(ctx) == before


async def test_told_chats_are_remembered_within_a_bound() -> None:
    from bot.i18n import create_i18n

    guard = PrivateChatsOnly(create_i18n(), remember=3)
    assert [guard._first_time(chat) for chat in (-1, -2, -3, -1)] == [True, True, True, False]
    assert guard._first_time(-4)  # the bound: the least recently seen (-2) is forgotten
    assert not guard._first_time(-1) and not guard._first_time(-3)
    assert guard._first_time(-2)
    assert len(guard._told) == 3
