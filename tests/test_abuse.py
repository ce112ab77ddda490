"""Abuse and bad input: member text shown to staff is always escaped, no token or member
text in the logs at INFO, forged buttons answered politely, file size limits that lose
nothing the member gave."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from aiogram.methods import TelegramMethod
from aiogram.types import Document, PhotoSize
from sqlalchemy import select

from bot.app import create_bot, create_dispatcher
from bot.context import Context
from bot.handlers.shared.media import MAX_FILE_BYTES
from bot.storage.models import Appeal, AppealMessage, Member
from tests.conftest import ADMIN_ID, TOKEN
from tests.driver import Person, texts
from tests.driver import buttons as driver_buttons
from tests.fake_bot_api import parse_text
from tests.strict import StrictSession
from tests.test_desk_flow import make_lawyer
from tests.test_member_flow import onboard, send_appeal

EVIL = '<b>x</b><a href="tg://x">boom</a> & <i'
EVIL_NAME = '<b>N</b><a href="tg://x">'
APOLOGY = "Sorry, something went wrong on our side. Please try again; your data is safe."


@pytest.fixture
def strict() -> StrictSession:
    return StrictSession()


@pytest.fixture
def people(ctx: Context, strict: StrictSession) -> Callable[..., Person]:
    bot = create_bot(ctx.settings, session=strict)  # type: ignore[arg-type]
    dp = create_dispatcher(ctx)

    def make(user_id: int, **kwargs: Any) -> Person:
        return Person(dp, bot, strict, user_id, **kwargs)

    return make


def shown(request: TelegramMethod[Any]) -> tuple[int, str, list[dict[str, Any]]] | None:
    """(chat, the plain text a person sees, its entities) of a request that shows text."""
    raw = getattr(request, "text", None) or getattr(request, "caption", None)
    chat = getattr(request, "chat_id", None)
    if raw is None or chat is None or request.__api_method__ == "answerCallbackQuery":
        return None
    parse_mode = getattr(request, "parse_mode", None)
    html = parse_mode is None or not isinstance(parse_mode, str) or parse_mode.lower() == "html"
    parsed = parse_text(str(raw), "HTML" if html else None, None)
    return int(chat), parsed.text, parsed.entities or []


async def test_member_text_and_names_reach_staff_escaped(
    people: Callable[..., Person], ctx: Context, strict: StrictSession
) -> None:
    admin = people(ADMIN_ID)
    lawyer = people(600, first_name=EVIL_NAME)
    member = people(601, first_name=EVIL_NAME)
    await onboard(member, lang="ru", org="karaganda")
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Appeal " + EVIL)
    await member.send_photo("F1", caption="Caption " + EVIL)
    await member.press("draft:files_done")
    await member.press("draft:send")
    await member.send("/feedback")
    await member.press("fb:kind:complaint")
    await member.send("Mailbox " + EVIL)
    await member.press("fb:send:signed")
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)

    await make_lawyer(admin, lawyer)
    await lawyer.send("/queue")
    await lawyer.press(f"desk:card:{appeal_id}:")
    await lawyer.press(f"desk:take:{appeal_id}:")
    await member.press(f"my:add:{appeal_id}")
    await member.send("Added " + EVIL)
    await member.press(f"my:add:{appeal_id}")
    await member.send_photo("F2", caption="Photo " + EVIL)
    await lawyer.press(f"desk:note:{appeal_id}:")
    await lawyer.send("Note " + EVIL)
    await lawyer.press(f"desk:card:{appeal_id}:")
    await admin.send("/inbox")
    await admin.send("/staff")

    assert strict.refused == []  # every text parsed as Telegram would
    seen: dict[int, str] = {}
    for request in strict.requests:
        view = shown(request)
        if view is None:
            continue
        chat, text, entities = view
        assert not any("tg://x" in str(e.get("url")) for e in entities), text
        seen[chat] = seen.get(chat, "") + "\n" + text
    for chat, what in (
        (600, "Appeal " + EVIL),  # the card
        (600, "Caption " + EVIL),
        (600, "Added " + EVIL),  # relayed to the lawyer
        (600, "Photo " + EVIL),  # relayed as a caption
        (600, "Note " + EVIL),
        (600, EVIL_NAME),  # the member's name on the card
        (ADMIN_ID, "Mailbox " + EVIL),  # /inbox
        (ADMIN_ID, EVIL_NAME),  # /inbox author, /staff
    ):
        assert what in seen.get(chat, ""), (chat, what)


async def test_no_token_and_no_member_text_in_the_logs_at_info(
    people: Callable[..., Person], ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    secret_words = [
        "Директор не платит премию секретно-тайно",
        "Подробности: приказ №17-секрет",
        "Жалоба-в-ящик-секретная",
        "Ответ-юриста-секретный",
    ]
    caplog.set_level(logging.INFO)  # every logger, aiogram's included
    admin, lawyer, member = people(ADMIN_ID), people(602), people(603, first_name="Сауле")
    await onboard(member, lang="ru", org="karaganda")
    await member.send(secret_words[0])  # a search
    await send_appeal(member, "pay", secret_words[1])
    await member.send("/feedback")
    await member.press("fb:kind:complaint")
    await member.send(secret_words[2])
    await member.press("fb:send:signed")
    await make_lawyer(admin, lawyer)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    await lawyer.press(f"desk:take:{appeal_id}:")
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lawyer.send(secret_words[3])
    await admin.send("/inbox")
    assert caplog.records  # the capture works
    secret = TOKEN.split(":", 1)[1]
    for record in caplog.records:
        line = record.getMessage() + (record.exc_text or "")
        assert secret not in line and TOKEN not in line, line
        for words in secret_words:
            assert words not in line, (record.name, line)


FORGED = [
    "",
    "\x00\x01\x02",
    "🙂" * 16,
    "x" * 64,
    "my",
    "my:",
    "my:open",
    "my:open:abc",
    "my:open:-1",
    "my:open:99999999999999999999999",
    "my:add:1:extra",
    "rate:abc:5",
    "rate:{other}:9",
    "rate:{other}:-1",
    "draft:send:extra",
    "desk:take:{other}",
    "desk:take:x:",
    "oc:open:{other}:",
    "oc:save:{other}:",
    "hand:org:{other}:0:karaganda",
    "st:role:1:admin",
    "st:role:x:admin",
    "inbox:-5",
    "inbox:x",
    "post:cancelyes:1:",
    "stats:go:c20250101-20251231:all",
    "lang:ru:extra",
    "org:",
    "wp:",
    "consent:maybe",
    "faq:open:../../etc",
    "topic:",
    "fb:kind:evil",
    "ask:",
    "menu:",
    "ratec:{other}",
    "my:open:{other}",
    "my:add:{other}",
    "rate:{other}:5",
    "rate:{other}:0",
]


async def test_forged_callbacks_get_a_localised_alert_and_change_nothing(
    people: Callable[..., Person], ctx: Context, strict: StrictSession
) -> None:
    owner, forger = people(604), people(605)
    await onboard(owner, lang="kk")
    await send_appeal(owner, "pay", "Менің өтінішім.")
    await onboard(forger, lang="ru")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None
        before = (appeal.status, appeal.rating, appeal.claimed_by)
    await forger.send("/help")
    for template in FORGED:
        data = template.replace("{other}", str(appeal.id))
        sent = await forger.press(data)
        answers = [r for r in sent if r.__api_method__ == "answerCallbackQuery"]
        assert len(answers) == 1, (data, sent)
        text = str(getattr(answers[0], "text", "") or "")
        assert any("а" <= ch <= "я" for ch in text.lower()), (data, text)  # Russian
        assert APOLOGY not in texts(sent) and "Извините" not in texts(sent), data
        assert not [r for r in sent if getattr(r, "chat_id", None) == owner.user.id], data
    async with ctx.session_factory() as session:
        again = await session.get(Appeal, appeal.id)
        assert again is not None
        assert (again.status, again.rating, again.claimed_by) == before
        assert not (await session.scalars(select(AppealMessage))).all()
    assert strict.refused == []


# --- file sizes -------------------------------------------------------------------------------


async def send_document(member: Person, size: int, caption: str | None = None) -> list[Any]:
    document = Document(file_id=f"D{size}", file_unique_id=f"U{size}", file_size=size)
    return await member.feed(message=member._message(document=document, caption=caption))


async def send_photo(member: Person, size: int, caption: str | None = None) -> list[Any]:
    photo = [
        PhotoSize(file_id="small", file_unique_id="s", width=90, height=90, file_size=1000),
        PhotoSize(file_id=f"P{size}", file_unique_id="p", width=9000, height=9000, file_size=size),
    ]
    return await member.feed(message=member._message(photo=photo, caption=caption))


async def test_too_big_file_is_refused_and_the_draft_keeps_everything(
    people: Callable[..., Person], ctx: Context, strict: StrictSession
) -> None:
    member = people(606)
    await onboard(member, lang="ru")
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Задерживают зарплату.")
    sent = await send_document(member, 1_000)
    assert "1" in texts(sent)
    big = MAX_FILE_BYTES + 1
    sent = await send_document(member, big, caption="Приказ директора от мая.")
    refusal = ctx.i18n.gettext(
        "This file is too big: {size} MB, the limit is {limit} MB. It was not added. Please "
        "send a smaller file, or photos of the pages.",
        locale="ru",
    ).format(size="20", limit=20)  # 20 MB and a byte, rounded
    assert refusal in texts(sent)
    sent = await send_photo(member, 50 * 1024 * 1024)
    assert "50" in texts(sent)
    await send_photo(member, MAX_FILE_BYTES)  # exactly the limit: fine
    await member.press("draft:files_done")
    await member.press("draft:send")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None
    assert [a["file_id"] for a in appeal.attachments] == ["D1000", f"P{MAX_FILE_BYTES}"]
    assert appeal.text == "Задерживают зарплату.\n\nПриказ директора от мая."  # caption kept
    assert strict.refused == []


async def test_sixth_file_is_refused_but_its_caption_kept(
    people: Callable[..., Person], ctx: Context
) -> None:
    member = people(607)
    await onboard(member, lang="kk")
    await member.send("/ask")
    await member.press("topic:leave")
    await member.send("Демалыс берілмеді.")
    for i in range(5):
        await send_document(member, 100 + i)
    sent = await send_document(member, 999, caption="Тағы бір құжат туралы.")
    assert "5" in texts(sent)
    await member.press("draft:files_done")
    await member.press("draft:send")
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and len(appeal.attachments) == 5
    assert appeal.text == "Демалыс берілмеді.\n\nТағы бір құжат туралы."


async def test_too_big_file_added_to_an_open_appeal_keeps_its_words(
    people: Callable[..., Person], ctx: Context, strict: StrictSession
) -> None:
    admin, lawyer, member = people(ADMIN_ID), people(608), people(609)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Не платят.")
    await make_lawyer(admin, lawyer)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    await lawyer.press(f"desk:take:{appeal_id}:")
    await member.press(f"my:add:{appeal_id}")
    sent = await send_document(member, MAX_FILE_BYTES * 2)  # nothing else: try again
    assert "40" in texts(sent)
    sent = await send_document(member, MAX_FILE_BYTES * 2, caption="Вот приказ, он большой.")
    to_lawyer = [r for r in sent if getattr(r, "chat_id", None) == 608]
    assert [r.__api_method__ for r in to_lawyer] == ["sendMessage"]  # words, not the file
    assert "Вот приказ, он большой." in texts(to_lawyer)
    async with ctx.session_factory() as session:
        rows = (await session.scalars(select(AppealMessage))).all()
    assert [(m.text, m.attachments) for m in rows] == [("Вот приказ, он большой.", [])]
    assert strict.refused == []


async def test_files_added_later_count_against_the_appeals_limit(
    people: Callable[..., Person], ctx: Context, strict: StrictSession
) -> None:
    """Five files per appeal in all: those sent with it and those added to it later. A
    sixth is refused with its words kept; a sixth alone stores nothing."""
    admin, lawyer, member = people(ADMIN_ID), people(612), people(613)
    await onboard(member, lang="ru", org="karaganda")
    await member.send("/ask")
    await member.press("topic:pay")
    await member.send("Не платят за категорию.")
    for n in range(3):
        await member.send_photo(f"P{n}")
    await member.press("draft:files_done")
    await member.press("draft:send")
    await make_lawyer(admin, lawyer)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    await lawyer.press(f"desk:take:{appeal_id}:")
    for n in (3, 4):  # the fourth and fifth: accepted and passed on
        await member.press(f"my:add:{appeal_id}")
        sent = await member.send_photo(f"P{n}")
        assert [r.__api_method__ for r in sent if getattr(r, "chat_id", None) == 612] == [
            "sendPhoto"
        ]
    await member.press(f"my:add:{appeal_id}")
    sent = await member.send_photo("P5")  # the sixth alone: refused, nothing stored
    assert "5" in texts(sent) and not [r for r in sent if getattr(r, "chat_id", None) == 612]
    sent = await member.send_photo("P6", caption="Это ещё один приказ.")
    to_lawyer = [r for r in sent if getattr(r, "chat_id", None) == 612]
    assert [r.__api_method__ for r in to_lawyer] == ["sendMessage"]  # the words, no file
    async with ctx.session_factory() as session:
        rows = (await session.scalars(select(AppealMessage).order_by(AppealMessage.id))).all()
    files = [a["file_id"] for m in rows for a in m.attachments]
    assert files == ["P3", "P4"] and rows[-1].text == "Это ещё один приказ."
    assert strict.refused == []


async def test_long_caption_reaches_the_lawyer_in_two_parts(
    people: Callable[..., Person], ctx: Context, strict: StrictSession
) -> None:
    admin, lawyer, member = people(ADMIN_ID), people(610), people(611)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Не платят.")
    await make_lawyer(admin, lawyer)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
        member_row = await session.scalar(select(Member))
        assert member_row is not None
    await lawyer.press(f"desk:take:{appeal_id}:")
    await member.press(f"my:add:{appeal_id}")
    caption = "ж" * 1024  # a full caption: with the label it would be too long
    sent = await send_photo(member, 1000, caption=caption)
    to_lawyer = [r for r in sent if getattr(r, "chat_id", None) == 610]
    assert [r.__api_method__ for r in to_lawyer] == ["sendPhoto", "sendMessage"]
    assert caption in texts(to_lawyer)
    assert any(buttons_of(r) for r in to_lawyer[1:])  # "Write to the member" under the text
    assert strict.refused == []


def buttons_of(request: TelegramMethod[Any]) -> list[str]:
    markup = getattr(request, "reply_markup", None)
    return [b.text for row in getattr(markup, "inline_keyboard", []) for b in row]


async def test_a_long_appeal_with_notes_fits_the_card_and_arrives_whole(
    people: Callable[..., Person], ctx: Context, strict: StrictSession
) -> None:
    admin, lawyer, member = people(ADMIN_ID), people(612), people(613)
    await onboard(member, lang="ru", org="karaganda")
    story = ("Директор не оплачивает сверхурочные часы. " * 80)[:2990] + " Конец."
    await send_appeal(member, "pay", story)
    await make_lawyer(admin, lawyer)
    async with ctx.session_factory() as session:
        appeal_id = int(await session.scalar(select(Appeal.id)) or 0)
    await lawyer.press(f"desk:take:{appeal_id}:")
    for i in range(3):
        await lawyer.press(f"desk:note:{appeal_id}:")
        await lawyer.send(f"Заметка {i}: " + "проверить табель " * 30)
    await lawyer.press(f"desk:card:{appeal_id}:")
    assert strict.refused == []  # every page of the card fits Telegram's 4,096
    card = lawyer.last_message()
    assert "Заметка 2" in (card.text or "")  # the newest page first …
    earlier = next(d for t, d in driver_buttons(card) if "◀️" in t)
    await lawyer.press(earlier, card)
    assert strict.refused == []
    page = lawyer.session.screen.messages[612][card.message_id].text or ""
    assert story in page  # … and the member's whole text on the page before


async def test_a_button_tapped_twice_is_no_error(ctx: Context) -> None:
    # Telegram refuses an edit that changes nothing ("message is not modified"); the Bot API
    # request middleware EditsThatChangeNothing, which create_bot adds, makes it a success.
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties

    for with_middleware in (False, True):
        session = StrictSession()
        if with_middleware:
            bot = create_bot(ctx.settings, session=session)  # type: ignore[arg-type]
        else:
            bot = Bot(
                ctx.settings.bot_token.get_secret_value(),
                session=session,
                default=DefaultBotProperties(parse_mode="HTML"),
            )
        member = Person(create_dispatcher(ctx), bot, session, 614 + with_middleware)
        await onboard(member, lang="ru")
        await member.send("/my")
        sent = await member.press("my:list:0")  # the list is shown already: same page
        apologised = "Извините" in texts(sent) or APOLOGY in texts(sent)
        assert apologised != with_middleware
