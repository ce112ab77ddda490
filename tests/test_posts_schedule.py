"""When posts run (due, quiet hours, weekly copies), the in-process runner with its report
to the author, and the members' side: /news, blocking the bot, survey answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendMessage
from aiogram.types import Chat, ChatMemberBanned, ChatMemberMember, ChatMemberUpdated, PollAnswer
from aiogram.types import User as TgUser
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.broadcast.engine import Broadcaster, SendSettings
from bot.broadcast.limiter import Pacer
from bot.broadcast.schedule import advance
from bot.broadcast.worker import PostRunner
from bot.context import Context
from bot.services.calendar import WorkCalendar
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import (
    Broadcast,
    Delivery,
    DeliveryStatus,
    Member,
    PostStatus,
    Staff,
    SurveyAnswer,
)
from tests.conftest import ADMIN_ID
from tests.databases import KINDS, database
from tests.driver import Person, buttons, texts
from tests.fake_bot_api import FakeBotAPI
from tests.recording import RecordingSession
from tests.test_member_flow import onboard

TZ = ZoneInfo("Asia/Almaty")
CALENDAR = WorkCalendar(TZ)
TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


async def _post(engine: AsyncEngine, **values: object) -> int:
    fields: dict[str, object] = {
        "created_by": ADMIN_ID,
        "status": PostStatus.SCHEDULED,
        "text_kk": "Жаңалық",
        "text_ru": "Новость",
        "orgs": [],
        "workplace_types": [],
        "urgent": False,
        **values,
    }
    async with create_session_factory(engine)() as session:
        post = Broadcast(**fields)
        session.add(post)
        await session.commit()
        return post.id


@pytest.mark.parametrize("kind", KINDS)
async def test_due_posts_start_nights_wait_weekly_posts_copy_once(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        due = await _post(engine, run_at=local("2026-12-07 09:00"))
        later = await _post(engine, run_at=local("2026-12-07 12:00"))
        night = await _post(engine, run_at=local("2026-12-07 23:00"))
        urgent = await _post(engine, run_at=local("2026-12-07 23:00"), urgent=True)
        weekly = await _post(
            engine, run_at=local("2026-12-07 10:00"), repeat_weekday=0, repeat_time="10:00"
        )
        sessions = create_session_factory(engine)
        async with sessions() as session:
            morning = await advance(session, local("2026-12-07 10:00"), CALENDAR)
            await session.commit()
        async with sessions() as session:  # a second scheduler at the same moment
            again = await advance(session, local("2026-12-07 10:00"), CALENDAR)
            await session.commit()
        assert due in morning.started and later not in morning.started
        assert len(morning.started) == 2  # `due` and this week's copy of `weekly`
        assert again.started == []
        async with sessions() as session:
            template = await session.get_one(Broadcast, weekly)
            copies = list(
                await session.scalars(select(Broadcast).where(Broadcast.parent_id == weekly))
            )
        assert template.status == PostStatus.SCHEDULED
        assert template.run_at == local("2026-12-14 10:00")
        assert [c.status for c in copies] == [PostStatus.RUNNING]
        assert copies[0].text_ru == "Новость"

        async with sessions() as session:  # 23:30: `due` is still running; night falls
            late = await advance(session, local("2026-12-07 23:30"), CALENDAR)
            await session.commit()
            held = await session.get_one(Broadcast, due)
            waiting = await session.get_one(Broadcast, night)
        assert urgent in late.started and night not in late.started
        assert due in late.held and copies[0].id in late.held
        assert held.status == PostStatus.SCHEDULED
        assert held.run_at == local("2026-12-08 08:00")
        assert waiting.status == PostStatus.SCHEDULED
        async with sessions() as session:
            dawn = await advance(session, local("2026-12-08 08:00"), CALENDAR)
            await session.commit()
        assert {due, night, later} <= set(dawn.started)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def test_runner_sends_a_due_post_and_reports_to_its_author_once(
    ctx: Context, api: FakeBotAPI
) -> None:
    now = datetime.now(UTC)
    async with ctx.engine.begin() as conn:
        await conn.execute(
            insert(Member),
            [
                {
                    "telegram_id": 20_000 + i,
                    "language": "kk",
                    "member_org": "almaty",
                    "consent_version": "1",
                    "consent_at": now,
                    "created_at": now,
                }
                for i in range(30)
            ],
        )
    post = await _post(ctx.engine, run_at=now - timedelta(minutes=1), urgent=True)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        broadcaster = Broadcaster(bot, ctx.engine, Pacer(500), owner="t", settings=SendSettings())
        runner = PostRunner(ctx, bot, broadcaster)
        await runner.tick()
        await asyncio.wait_for(asyncio.gather(*runner.tasks.values()), timeout=30)
        await runner.tick()  # nothing more: done, reported
        await asyncio.gather(*runner.tasks.values())
        assert await runner.report(post) is False  # told once
    finally:
        await bot.session.close()
    reports = [c for c in api.calls_for("sendMessage") if c.chat_id == ADMIN_ID]
    assert len(reports) == 1
    assert "30" in str(reports[0].params["text"])
    async with ctx.session_factory() as session:
        done = await session.get_one(Broadcast, post)
    assert done.status == PostStatus.DONE and done.reported_at is not None


async def test_news_off_on_blocking_and_survey_answers(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(901)
    await onboard(member, lang="ru", org="almaty")

    async def opted_out() -> bool:
        async with ctx.session_factory() as session:
            row = await session.scalar(select(Member).where(Member.telegram_id == 901))
            assert row is not None
            return row.news_opt_out

    # /news shows the setting and one button that changes it, from a phone.
    await member.send("/news")
    assert "включены" in member.last_text()
    assert [d for _l, d in buttons(member.last_message())] == ["news:0"]
    await member.press("news:0")
    assert await opted_out() and "выключены" in member.last_text()
    assert [d for _l, d in buttons(member.last_message())] == ["news:1"]
    await member.send("/news")  # the setting as it is now
    assert "выключены" in member.last_text()
    await member.press("news:1")
    assert not await opted_out()
    # Typed words still work.
    await member.send("/news off")
    assert await opted_out()
    await member.send("/news on")
    assert not await opted_out()
    async with ctx.session_factory() as session:
        member_id = int(
            await session.scalar(select(Member.id).where(Member.telegram_id == 901)) or 0
        )

    user = TgUser(id=901, is_bot=False, first_name="M")
    chat = Chat(id=901, type="private")
    bot_user = TgUser(id=1000, is_bot=True, first_name="Qorgau")
    await member.feed(
        my_chat_member=ChatMemberUpdated(
            chat=chat,
            from_user=user,
            date=datetime.now(UTC),
            old_chat_member=ChatMemberMember(user=bot_user),
            new_chat_member=ChatMemberBanned(
                user=bot_user, until_date=datetime(1970, 1, 1, tzinfo=UTC)
            ),
        )
    )
    async with ctx.session_factory() as session:
        row = await session.get_one(Member, member_id)
        assert row.active is False

    post = await _post(ctx.engine, status=PostStatus.DONE)
    async with ctx.engine.begin() as conn:
        await conn.execute(
            insert(Delivery).values(
                broadcast_id=post,
                member_id=member_id,
                chat_id=901,
                language="ru",
                member_org="almaty",
                status="delivered",
                attempts=1,
                poll_id="poll-1",
            )
        )
    await member.feed(
        poll_answer=PollAnswer(
            poll_id="poll-1", user=user, option_ids=[1], option_persistent_ids=["b"]
        )
    )
    await member.feed(
        poll_answer=PollAnswer(
            poll_id="unknown", user=user, option_ids=[0], option_persistent_ids=["a"]
        )
    )
    async with ctx.session_factory() as session:
        answers = list(await session.scalars(select(SurveyAnswer)))
    assert [(a.broadcast_id, a.options) for a in answers] == [(post, [1])]
    await member.feed(
        poll_answer=PollAnswer(poll_id="poll-1", user=user, option_ids=[], option_persistent_ids=[])
    )
    async with ctx.session_factory() as session:
        assert list(await session.scalars(select(SurveyAnswer))) == []  # withdrawn


async def test_survey_in_each_members_language_answers_counted_on_the_post_card(
    person: Callable[..., Person], ctx: Context, api: FakeBotAPI
) -> None:
    """Text only in Kazakh, survey only in Russian: everybody gets both parts (the missing
    version falls back to the other one, both ways); the answers that come in afterwards
    are on the post's card in /posts, by option, language and organisation."""
    from tests.test_press_flow import PRESS_ID, cb, make_press

    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    members = {901: ("kk", "almaty"), 902: ("ru", "almaty"), 903: ("ru", "astana")}
    for user_id, (lang, org) in members.items():
        await onboard(person(user_id), lang=lang, org=org)
    survey = {"ru": {"question": "Вы придёте?", "options": ["Да", "Нет"]}}
    post = await _post(
        ctx.engine,
        created_by=PRESS_ID,
        text_ru=None,
        survey=survey,
        run_at=datetime.now(UTC) - timedelta(minutes=1),
        urgent=True,
    )
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        broadcaster = Broadcaster(bot, ctx.engine, Pacer(500), owner="t", settings=SendSettings())
        runner = PostRunner(ctx, bot, broadcaster)
        await runner.tick()
        await asyncio.wait_for(asyncio.gather(*runner.tasks.values()), timeout=30)
    finally:
        await bot.session.close()
    texts_sent = {int(str(c.chat_id)): c.params["text"] for c in api.calls_for("sendMessage")}
    polls = {int(str(c.chat_id)): c for c in api.calls_for("sendPoll")}
    assert all(texts_sent[m] == "Жаңалық" for m in members)
    assert set(polls) == set(members)
    assert all(c.params["question"] == "Вы придёте?" for c in polls.values())
    report = texts_sent[PRESS_ID]
    assert "Да: 0" in report and "/posts" in report  # answers come later: where to see them

    for user_id, option in ((901, 0), (902, 1), (903, 1)):
        await person(user_id).feed(
            poll_answer=PollAnswer(
                poll_id=polls[user_id].result["poll"]["id"],
                user=TgUser(id=user_id, is_bot=False, first_name="M"),
                option_ids=[option],
                option_persistent_ids=[str(option)],
            )
        )
    await press.send("/posts")
    await press.press(cb("open", post))
    card = press.last_text()
    lines = card.splitlines()
    assert "• Да: 1" in lines and "• Нет: 2" in lines, card
    assert "казахский: 1 / 0" in lines and "русский: 0 / 2" in lines, card
    assert any(line.endswith("Алматы: 1 / 1") for line in lines), card
    assert any(line.endswith("Астана: 0 / 1") for line in lines), card


async def _many_members(engine: AsyncEngine, n: int, org: str = "almaty") -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Member),
            [
                {
                    "telegram_id": 20_000 + i,
                    "language": "kk" if i % 2 else "ru",
                    "member_org": org,
                    "consent_version": "1",
                    "consent_at": now,
                    "created_at": now,
                }
                for i in range(n)
            ],
        )


async def test_a_post_held_for_the_night_has_started_and_cannot_be_changed(
    person: Callable[..., Person], ctx: Context, bot: Bot
) -> None:
    """A non-urgent post still sending at 22:00 is scheduled again for 08:00, with its
    recipients written and some delivered: it is shown as under way with its figures,
    and ✏️ Change is refused (the morning would send the old rows, or two versions)."""
    from tests.test_press_flow import PRESS_ID, alert, cb, compose_quickly, make_press

    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    await _many_members(ctx.engine, 6)
    post_id = await compose_quickly(press, ctx)
    await press.press(cb("confirm", post_id))
    async with ctx.session_factory() as session:  # it starts; two members have it
        post = await session.get_one(Broadcast, post_id)
        post.status, post.started_at = PostStatus.RUNNING, datetime.now(UTC)
        await session.commit()
    broadcaster = Broadcaster(bot, ctx.engine, Pacer(100), owner="t", settings=SendSettings())
    async with ctx.session_factory() as session:
        await broadcaster.materialise(await session.get_one(Broadcast, post_id))
    async with ctx.session_factory() as session:
        rows = list(await session.scalars(select(Delivery).order_by(Delivery.id)))
        for row in rows[:2]:
            row.status = DeliveryStatus.DELIVERED
        await session.commit()
    async with ctx.session_factory() as session:
        night = await advance(session, local("2026-12-07 22:30"), CALENDAR)
        await session.commit()
    assert night.held == [post_id]

    listing = texts(await press.send("/posts"))
    rest = listing.partition("<b>Рассылаются сейчас</b>")[2]
    assert "<b>Запланированные" not in listing, listing
    assert f"№ {post_id}" in rest and "доставлено 2 из 6" in rest, listing
    await press.press(cb("open", post_id))
    card = press.last_text()
    assert "Получат сейчас" not in card and "доставлено 2, в очереди 4" in card, card
    assert cb("edit", post_id) not in [d for _, d in buttons(press.last_message())]

    refused = alert(await press.press(cb("edit", post_id)))
    assert "началась" in refused, refused
    async with ctx.session_factory() as session:
        post = await session.get_one(Broadcast, post_id)
    assert post.status == PostStatus.SCHEDULED and post.text_kk == "<b>Жаңалық</b>"


async def test_both_languages_of_a_survey_need_the_same_options(
    person: Callable[..., Person], ctx: Context
) -> None:
    """Answers are counted by option number across languages: a Russian version with
    another number of options than the Kazakh one is refused, and the prompt asks for the
    same options in the same order; a new Kazakh version drops a Russian one that no
    longer matches (the Russian one is asked right after)."""
    from tests.test_press_flow import PRESS_ID, cb, make_press

    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    await press.send("/post")
    async with ctx.session_factory() as session:
        post_id = int(await session.scalar(select(Broadcast.id)) or 0)
    await press.send("Жиналыс")
    await press.press(cb("skip", post_id, "ru"))
    await press.press(cb("media", post_id, "none"))
    await press.press(cb("aud", post_id))
    sent = await press.press(cb("survey", post_id, "yes"))
    assert "в том же порядке" in texts(sent), texts(sent)
    sent = await press.send("Келесіз бе?\nИә\nЖоқ\nБілмеймін")
    assert "(их 3)" in texts(sent), texts(sent)
    sent = await press.send("Вы придёте?\nНет\nДа")
    assert "3" in texts(sent) and "2" in texts(sent) and "в том же порядке" in texts(sent)

    async def survey() -> dict[str, object] | None:
        async with ctx.session_factory() as session:
            return (await session.get_one(Broadcast, post_id)).survey

    assert set(await survey() or {}) == {"kk"}  # the Russian version was not saved
    await press.send("Вы придёте?\nДа\nНет\nНе знаю")
    assert set(await survey() or {}) == {"kk", "ru"}

    # Changing the survey: a Kazakh version of two options drops the Russian one of three.
    await press.press(cb("when", post_id, "now"))
    await press.press(cb("urgent", post_id, "0"))
    await press.press(cb("part", post_id, "survey"))
    await press.press(cb("survey", post_id, "yes"))
    sent = await press.send("Келесіз бе?\nИә\nЖоқ")
    assert "(их 2)" in texts(sent), texts(sent)
    assert set(await survey() or {}) == {"kk"}


async def test_survey_answers_of_versions_with_different_options_stay_per_language(
    ctx: Context,
) -> None:
    """A survey stored before both versions had to match (Kazakh 3 options, Russian 2):
    option 0 is "Иә" in Kazakh but "Нет" in Russian, so the answers are listed by
    language and never added up by position."""
    from bot.broadcast.outcome import survey_lines, survey_results

    survey = {
        "kk": {"question": "Келесіз бе?", "options": ["Иә", "Жоқ", "Білмеймін"]},
        "ru": {"question": "Придёте?", "options": ["Нет", "Да"]},
    }
    post_id = await _post(ctx.engine, status=PostStatus.DONE, survey=survey)
    async with ctx.session_factory() as session:
        for number, (language, option) in enumerate((("kk", 2), ("kk", 0), ("ru", 0))):
            member = Member(telegram_id=30_000 + number, language=language, member_org="almaty")
            session.add(member)
            await session.flush()
            session.add(
                Delivery(
                    broadcast_id=post_id,
                    member_id=member.id,
                    chat_id=member.telegram_id,
                    language=language,
                    member_org="almaty",
                    status=DeliveryStatus.DELIVERED,
                )
            )
            session.add(SurveyAnswer(broadcast_id=post_id, member_id=member.id, options=[option]))
        await session.commit()
        results = await survey_results(session, await session.get_one(Broadcast, post_id))
    assert results is not None
    with ctx.i18n.context(), ctx.i18n.use_locale("ru"):
        from aiogram.utils.i18n import gettext

        lines = survey_lines(results, "ru", gettext, ctx.orgs)
    text = "\n".join(lines)
    kk_part, _, ru_part = text.partition("русский:")
    assert "• Иә: 1" in kk_part and "• Білмеймін: 1" in kk_part and "• Жоқ: 0" in kk_part, text
    assert "• Нет: 1" in ru_part and "• Да: 0" in ru_part, text
    assert "• Нет: 2" not in text and "• Да: 1" not in text, text


async def test_a_post_for_right_after_confirming_stays_so_after_a_change_or_a_return(
    person: Callable[..., Person], ctx: Context
) -> None:
    """ "Right after confirming" is no time: confirmed, changed and confirmed again, or
    returned to drafts by an admin and confirmed again, it is not "already passed", the
    card says when it goes, and the scheduler starts it."""
    from tests.test_press_flow import PRESS_ID, cb, compose_quickly, make_press

    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    post_id = await compose_quickly(press, ctx)
    await press.press(cb("confirm", post_id))

    async def stored() -> Broadcast:
        async with ctx.session_factory() as session:
            return await session.get_one(Broadcast, post_id)

    await asyncio.sleep(0.01)  # a moment later, as for a person
    await press.press(cb("edit", post_id))
    await press.press(cb("part", post_id, "urgent"))
    await press.press(cb("urgent", post_id, "1"))
    sent = await press.press(cb("confirm", post_id))
    assert not any(getattr(r, "show_alert", False) for r in sent), texts(sent)
    post = await stored()
    assert post.status == PostStatus.SCHEDULED and post.run_at is None and post.urgent

    await admin.send("/approval on")  # an admin returns it; its author confirms it again
    await press.press(cb("edit", post_id))
    await press.press(cb("confirm", post_id))
    assert (await stored()).status == PostStatus.AWAITING_APPROVAL
    await admin.press(cb("reject", post_id))
    await press.send("/posts")
    await press.press(cb("open", post_id))
    assert "сразу после подтверждения" in press.last_text(), press.last_text()
    await press.press(cb("edit", post_id))
    sent = await press.press(cb("confirm", post_id))
    assert not any(getattr(r, "show_alert", False) for r in sent), texts(sent)
    assert (await stored()).status == PostStatus.AWAITING_APPROVAL
    await admin.press(cb("approve", post_id))
    await press.send("/posts")
    await press.press(cb("open", post_id))
    assert "сразу после подтверждения" in press.last_text(), press.last_text()

    async with ctx.session_factory() as session:
        started = await advance(session, datetime.now(UTC), CALENDAR)
        await session.commit()
    assert started.started == [post_id]


async def test_an_admin_from_admin_ids_is_asked_to_approve_in_their_language(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    """ADMIN_IDS make an admin with no language (only /join gave one): their first update
    gives it, so approval requests reach them in their Telegram's language, not Kazakh."""
    from aiogram.methods import SendMessage

    from tests.test_press_flow import PRESS_ID, cb, compose_quickly, make_press

    admin, press = person(ADMIN_ID, language_code="ru"), person(PRESS_ID, language_code="kk")
    await make_press(admin, press)  # the admin's first updates
    await admin.send("/approval on")
    await admin.send("/approval on")  # known now: nothing more to write
    post_id = await compose_quickly(press, ctx)
    before = len(recording.requests)
    await press.press(cb("confirm", post_id))
    asks = [
        r
        for r in recording.requests[before:]
        if isinstance(r, SendMessage) and r.chat_id == ADMIN_ID
    ]
    assert len(asks) == 1 and "Новость ждёт Вашего одобрения" in str(asks[0].text), asks
    async with ctx.session_factory() as session:
        rows = await session.execute(select(Staff.telegram_id, Staff.language))
        languages = {telegram_id: language for telegram_id, language in rows}
    assert languages == {ADMIN_ID: "ru", PRESS_ID: "kk"}


async def test_a_scheduled_post_left_mid_change_is_said_to_be_off_the_schedule(
    person: Callable[..., Person], ctx: Context
) -> None:
    """✏️ Change makes a scheduled post a draft until it is confirmed again: a new /post
    (or changing another post) in the middle says it stays a draft and how to confirm it;
    a draft that was never scheduled is left without a word."""
    from tests.test_press_flow import PRESS_ID, cb, make_press

    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    scheduled = await _post(ctx.engine, run_at=datetime.now(UTC) + timedelta(days=1))
    other = await _post(ctx.engine, run_at=datetime.now(UTC) + timedelta(days=2))
    await press.press(cb("edit", scheduled))
    await press.press(cb("part", scheduled, "urgent"))
    sent = await press.send("/post")
    warning = f"Новость № {scheduled}, которую Вы меняли, всё ещё черновик"
    assert warning in texts(sent), texts(sent)
    async with ctx.session_factory() as session:
        assert (await session.get_one(Broadcast, scheduled)).status == PostStatus.DRAFT
    sent = await press.send("/post")  # the new draft was never scheduled
    assert "черновик" not in texts(sent), texts(sent)

    await press.press(cb("edit", other))
    sent = await press.press(cb("edit", scheduled))  # leaving `other` mid-change
    assert f"Новость № {other}, которую Вы меняли" in texts(sent), texts(sent)
    sent = await press.send("/post")  # `scheduled` was a draft already when opened
    assert "которую Вы меняли" not in texts(sent), texts(sent)


async def test_a_pasted_link_a_date_hint_and_titles_in_the_readers_language(
    person: Callable[..., Person], ctx: Context
) -> None:
    """A bare "&" (a pasted link's) is taken as the character, not refused; the date
    hint's example is a week from today, not a fixed date; /posts and the card show a
    Russian reader the Russian title."""
    from tests.test_press_flow import PRESS_ID, cb, make_press

    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    await press.send("/post")
    async with ctx.session_factory() as session:
        post_id = int(await session.scalar(select(Broadcast.id)) or 0)
    sent = await press.send("Толығырақ: https://kasipodaq.kz/news?id=5&lang=kk &amp; &lt;")
    assert "Не сохранено" not in texts(sent), texts(sent)
    await press.send('Подробнее: <a href="https://kasipodaq.kz/news?id=5&lang=ru">сайт</a>')
    async with ctx.session_factory() as session:
        post = await session.get_one(Broadcast, post_id)
    assert post.text_kk == "Толығырақ: https://kasipodaq.kz/news?id=5&amp;lang=kk &amp; &lt;"
    assert post.text_ru == (
        'Подробнее: <a href="https://kasipodaq.kz/news?id=5&amp;lang=ru">сайт</a>'
    )
    await press.press(cb("media", post_id, "none"))
    await press.press(cb("aud", post_id))
    await press.press(cb("survey", post_id, "no"))
    await press.press(cb("when", post_id, "date"))
    sent = await press.send("завтра в 10")
    week = (datetime.now(TZ) + timedelta(days=7)).strftime("%d.%m.%Y")
    assert f"напишите так: {week} 10:00" in texts(sent), texts(sent)

    listing = texts(await press.send("/posts"))
    assert "«Подробнее: сайт»" in listing and "Толығырақ" not in listing, listing
    await press.press(cb("open", post_id))
    assert "«Подробнее: сайт»" in press.last_text(), press.last_text()


async def test_an_admin_reads_a_post_as_members_will_before_approving_it(
    person: Callable[..., Person], ctx: Context
) -> None:
    from tests.test_press_flow import PRESS_ID, alert, cb, compose_quickly, make_press

    admin, press = person(ADMIN_ID, language_code="ru"), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    await admin.send("/approval on")
    post_id = await compose_quickly(press, ctx, "<b>Жиналыс</b> ертең, сағат 10-да.")
    await press.press(cb("confirm", post_id))

    sent = await admin.press(cb("show", post_id))
    shown = [str(r.text) for r in sent if isinstance(r, SendMessage) and r.chat_id == ADMIN_ID]
    # Both languages' readers: the Kazakh text, in full and formatted, for each.
    assert sum("<b>Жиналыс</b> ертең, сағат 10-да." in text for text in shown) == 2
    assert cb("approve", post_id) in [d for _l, d in buttons(admin.last_message())]
    # Only admins, and only while it awaits them.
    assert alert(await press.press(cb("show", post_id)))
    await admin.press(cb("approve", post_id))
    assert alert(await admin.press(cb("show", post_id)))


async def test_a_text_formatted_both_ways_is_warned_about(
    person: Callable[..., Person], ctx: Context
) -> None:
    from aiogram.types import MessageEntity

    from tests.test_press_flow import PRESS_ID, make_press

    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    await press.send("/post")
    text = 'Важная новость <a href="https://kasipodaq.kz">сайт</a>'
    sent = await press.send_formatted(text, [MessageEntity(type="bold", offset=0, length=6)])
    assert "⚠️" in texts(sent) and "&lt;b&gt;" in texts(sent)
    # Formatted one way only (the Russian text, asked next): no warning, kept as formatted.
    sent = await press.send_formatted(
        "Важная новость", [MessageEntity(type="bold", offset=0, length=6)]
    )
    assert "⚠️" not in texts(sent)
    async with ctx.session_factory() as session:
        post = await session.scalar(select(Broadcast))
    assert post is not None and post.text_ru == "<b>Важная</b> новость"
    assert post.text_kk is not None and "&lt;a href" in post.text_kk  # what members would see


async def test_a_post_cancelled_before_it_had_words_is_not_listed(
    person: Callable[..., Person], ctx: Context
) -> None:
    from tests.test_press_flow import PRESS_ID, cb, make_press

    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    await press.send("/post")
    async with ctx.session_factory() as session:
        empty = int(await session.scalar(select(Broadcast.id)) or 0)
    await press.press(cb("cancel", empty, "step"))
    await press.press(cb("cancelyes", empty))
    await press.send("/post")
    await press.send("Собрание в пятницу.")
    async with ctx.session_factory() as session:
        worded = int(await session.scalar(select(Broadcast.id).where(Broadcast.id != empty)) or 0)
    await press.press(cb("cancel", worded, "step"))
    await press.press(cb("cancelyes", worded))
    await press.send("/posts")
    listing = press.last_text()
    assert f"№ {worded}" in listing and f"№ {empty} " not in listing
    async with ctx.session_factory() as session:
        assert (await session.get_one(Broadcast, empty)).status == PostStatus.CANCELLED
