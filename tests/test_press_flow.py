"""The press secretary's /post and /posts through the production Dispatcher: compose,
preview, schedule, approval, the life of a post, and who may touch it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.methods import (
    AnswerCallbackQuery,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendPoll,
    TelegramMethod,
)
from sqlalchemy import select, update

from bot.broadcast import composition, lifecycle
from bot.broadcast.engine import Broadcaster, SendSettings
from bot.broadcast.limiter import Pacer
from bot.broadcast.telegram_html import CAPTION_LIMIT, check_html
from bot.broadcast.worker import PostRunner
from bot.callbacks import PostCb
from bot.context import Context
from bot.services.staff import StaffView
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import (
    Audit,
    BotSetting,
    Broadcast,
    Delivery,
    DeliveryStatus,
    Member,
    PostStatus,
    StaffRole,
)
from tests.conftest import ADMIN_ID
from tests.databases import KINDS, database
from tests.driver import Person, buttons, texts
from tests.fake_bot_api import parse_text
from tests.recording import RecordingSession
from tests.test_desk_flow import invite, make_lawyer
from tests.test_member_flow import onboard

ALMATY = ZoneInfo("Asia/Almaty")
PRESS_ID = 900


def cb(action: str, post: int = 0, value: str = "") -> str:
    return PostCb(action=action, post=post, value=value).pack()


def answer(sent: list[TelegramMethod[Any]]) -> AnswerCallbackQuery:
    answers = [r for r in sent if isinstance(r, AnswerCallbackQuery)]
    assert len(answers) == 1, sent  # every press answered exactly once
    return answers[0]


def alert(sent: list[TelegramMethod[Any]]) -> str:
    assert answer(sent).show_alert, sent
    return str(answer(sent).text)


async def make_press(admin: Person, press: Person) -> None:
    code = await invite(admin, "press")
    sent = await press.send(f"/join {code}")
    assert any(isinstance(r, SendMessage) for r in sent)


async def the_post(ctx: Context, post_id: int | None = None) -> Broadcast:
    async with ctx.session_factory() as session:
        query = select(Broadcast).order_by(Broadcast.id.desc())
        if post_id is not None:
            query = query.where(Broadcast.id == post_id)
        post = await session.scalar(query)
        assert post is not None
        return post


async def compose_quickly(press: Person, ctx: Context, text: str = "<b>Жаңалық</b>") -> int:
    """Kazakh text only, everyone, no media, no survey, now, not urgent: to the preview."""
    await press.send("/post")
    post_id = (await the_post(ctx)).id
    await press.send(text)
    await press.press(cb("skip", post_id, "ru"))
    await press.press(cb("media", post_id, "none"))
    await press.press(cb("aud", post_id))
    await press.press(cb("survey", post_id, "no"))
    await press.press(cb("when", post_id, "now"))
    sent = await press.press(cb("urgent", post_id, "0"))
    assert cb("confirm", post_id) in [d for _, d in buttons(press.last_message())], texts(sent)
    return post_id


async def test_bilingual_post_to_two_regions_with_survey_preview_and_schedule(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    for user_id, org in ((901, "karaganda"), (902, "almaty"), (903, "astana"), (904, "almaty")):
        await onboard(person(user_id), lang="kk" if user_id % 2 else "ru", org=org)
    async with ctx.session_factory() as session:  # /news off: not counted in the audience
        await session.execute(
            update(Member).where(Member.telegram_id == 904).values(news_opt_out=True)
        )
        await session.commit()

    sent = await press.send("/post")
    assert "<b>" in texts(sent) and "&lt;b&gt;" in texts(sent)  # the tags it may use
    post_id = (await the_post(ctx)).id
    kk = '<b>Жиналыс</b> 25 желтоқсанда. <a href="https://kasipodaq.kz">Толығырақ</a>'
    ru = '<b>Собрание</b> 25 декабря. <a href="https://kasipodaq.kz">Подробнее</a>'
    await press.send(kk)
    assert cb("skip", post_id, "ru") in [d for _, d in buttons(press.last_message())]
    await press.send(ru)
    await press.send_photo("POSTER")

    # The audience: two regions out of twenty, paged; the size follows the taps.
    assert "<b>3</b>" in press.last_text()  # everyone: 3 members (one turned news off)
    await press.press(cb("org", post_id, "karaganda"))
    sent = await press.press(cb("org", post_id, "almaty"))
    assert "<b>2</b>" in press.last_text(), press.last_text()
    await press.press(cb("page", post_id, "1"))  # Almaty city is on the second page
    labels = [label for label, _ in buttons(press.last_message())]
    assert "2/2" in labels and [label for label in labels if label.startswith("✅")] == [
        "✅ город Алматы"  # in the reader's language
    ], labels
    await press.press(cb("aud", post_id))

    await press.press(cb("survey", post_id, "yes"))
    await press.send("Жиналысқа келесіз бе?\nИә\nЖоқ\nӘлі білмеймін")
    await press.send("Вы придёте на собрание?\n- Да\n- Нет\n- Пока не знаю")

    year = datetime.now(ALMATY).year + 1
    await press.press(cb("when", post_id, "date"))
    await press.send(f"25.12.{year} 10:00")
    sent = await press.press(cb("urgent", post_id, "1"))

    # The preview: both versions as members get them, photo with the HTML caption, polls.
    photos = [r for r in sent if isinstance(r, SendPhoto)]
    assert [(p.photo, p.caption, p.parse_mode) for p in photos] == [
        ("POSTER", kk, "HTML"),
        ("POSTER", ru, "HTML"),
    ]
    polls = [r for r in sent if isinstance(r, SendPoll)]
    assert [p.question for p in polls] == ["Жиналысқа келесіз бе?", "Вы придёте на собрание?"]
    assert [list(p.options) for p in polls][1] == ["Да", "Нет", "Пока не знаю"]
    assert {p.chat_id for p in photos} | {p.chat_id for p in polls} == {PRESS_ID}
    summary = press.last_text()
    assert str(post_id) in summary
    assert "⚡" in summary and "<b>2</b>" in summary

    sent = await press.press(cb("confirm", post_id))
    assert not any(r.chat_id == ADMIN_ID for r in sent if isinstance(r, SendMessage))
    post = await the_post(ctx, post_id)
    assert post.status == PostStatus.SCHEDULED
    assert (post.text_kk, post.text_ru) == (kk, ru)
    assert (post.media_kind, post.media_file_id) == ("photo", "POSTER")
    assert post.orgs == ["almaty", "karaganda"] and post.workplace_types == []
    assert post.language is None and post.urgent is True
    assert post.run_at == datetime(year, 12, 25, 5, 0, tzinfo=UTC)  # 10:00 in Almaty, UTC+5
    assert post.repeat_weekday is None and post.created_by == PRESS_ID
    assert post.survey is not None
    assert post.survey["ru"] == {
        "question": "Вы придёте на собрание?",
        "options": ["Да", "Нет", "Пока не знаю"],
    }

    await press.send("/posts")
    assert "«Собрание 25 декабря. Подробнее»" in press.last_text()  # the reader's language
    assert cb("open", post_id) in [d for _, d in buttons(press.last_message())]
    sent = await press.press(cb("open", post_id))
    assert cb("edit", post_id) in [d for _, d in buttons(press.last_message())]
    async with ctx.session_factory() as session:
        actions = set(await session.scalars(select(Audit.action)))
    assert {
        "post-create",
        "post-text",
        "post-media",
        "post-audience",
        "post-survey",
        "post-schedule",
        "post-urgent",
        "post-confirm",
    } <= actions


async def test_invalid_html_and_long_texts_are_refused_and_the_earlier_text_kept(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    post_id = await compose_quickly(press, ctx, "<b>Бірінші</b> нұсқа")

    await press.press(cb("change", post_id))
    await press.press(cb("part", post_id, "kk"))
    sent = await press.send("<b>Жабылмаған")
    assert "&lt;b&gt;" in texts(sent)  # the reason names the tag
    sent = await press.send("<marquee>Жоқ тег</marquee>")
    assert "marquee" in texts(sent)
    sent = await press.send("Жарна 1% < 2%")  # a bare "&" is taken, a bare "<" is not
    assert "&amp;lt;" in texts(sent)  # how to write it
    sent = await press.send("ә" * 5000)
    assert "5000" in texts(sent) and "4096" in texts(sent)
    assert (await the_post(ctx, post_id)).text_kk == "<b>Бірінші</b> нұсқа"

    # Still asked: the corrected text is taken and the preview comes again.
    sent = await press.send("<i>Екінші</i> нұсқа")
    assert any(isinstance(r, SendMessage) and r.text == "<i>Екінші</i> нұсқа" for r in sent)
    assert (await the_post(ctx, post_id)).text_kk == "<i>Екінші</i> нұсқа"

    # With a photo the caption limit applies: a long text keeps the post without one.
    await press.press(cb("part", post_id, "kk"))
    await press.send("ә" * 2000)
    await press.press(cb("part", post_id, "media"))
    sent = await press.send_photo("BIG")
    assert "1024" in texts(sent) and (await the_post(ctx, post_id)).media_file_id is None

    # A bad survey is refused with its reason and asked again.
    await press.press(cb("part", post_id, "survey"))
    await press.press(cb("survey", post_id, "yes"))
    sent = await press.send("Тек сұрақ?\nЖалғыз жауап")
    assert "1" in texts(sent) and (await the_post(ctx, post_id)).survey is None
    sent = await press.send("С" * 301 + "\nИә\nЖоқ")
    assert "301" in texts(sent)

    # A past date is refused; Russian skipped: flagged in the summary.
    await press.press(cb("svskip", post_id, "kk"))
    await press.press(cb("svskip", post_id, "ru"))
    sent = await press.send("Бірдеңе")  # the preview waits for a button
    assert cb("part", post_id, "kk") not in str(sent) and "⚠️" not in texts(sent)
    await press.press(cb("part", post_id, "schedule"))
    await press.press(cb("when", post_id, "date"))
    sent = await press.send("01.01.2020 10:00")
    assert (await the_post(ctx, post_id)).run_at is None
    sent = await press.send("32.01.2030 10:00")
    assert (await the_post(ctx, post_id)).run_at is None
    await press.press(cb("part", post_id, "schedule"))
    await press.press(cb("when", post_id, "now"))
    summary = press.last_text()
    assert summary.count("⚠️") == 1  # no Russian text


async def test_approval_an_admin_approves_and_weekly_posts(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    sent = await admin.send("/approval on")
    async with ctx.session_factory() as session:
        setting = await session.get(BotSetting, lifecycle.APPROVAL_SETTING)
        assert setting is not None and setting.value == "1"

    post_id = await compose_quickly(press, ctx)
    sent = await press.press(cb("confirm", post_id))
    assert (await the_post(ctx, post_id)).status == PostStatus.AWAITING_APPROVAL
    asked = [r for r in sent if isinstance(r, SendMessage) and r.chat_id == ADMIN_ID]
    assert asked and cb("approve", post_id) in str(asked[0].reply_markup)

    # The press secretary cannot approve; an admin can, and the author is told.
    assert alert(await press.press(cb("approve", post_id)))
    assert (await the_post(ctx, post_id)).status == PostStatus.AWAITING_APPROVAL
    sent = await admin.press(cb("approve", post_id))
    post = await the_post(ctx, post_id)
    assert post.status == PostStatus.SCHEDULED and post.approved_by == ADMIN_ID
    assert any(isinstance(r, SendMessage) and r.chat_id == PRESS_ID for r in sent)
    alert(await admin.press(cb("approve", post_id)))  # twice: already scheduled
    assert (await the_post(ctx, post_id)).status == PostStatus.SCHEDULED

    # Rejected: back to drafts.
    second = await compose_quickly(press, ctx)
    await press.press(cb("confirm", second))
    await admin.press(cb("reject", second))
    assert (await the_post(ctx, second)).status == PostStatus.DRAFT

    # A weekly post, written by an admin: approved by confirming it.
    await admin.send("/post")
    weekly = (await the_post(ctx)).id
    await admin.send("Апта сайынғы дайджест")
    await admin.press(cb("skip", weekly, "ru"))
    await admin.press(cb("media", weekly, "none"))
    await admin.press(cb("aud", weekly))
    await admin.press(cb("survey", weekly, "no"))
    await admin.press(cb("when", weekly, "weekly"))
    await admin.press(cb("wd", weekly, "0"))
    sent = await admin.send("25:00")
    assert (await the_post(ctx, weekly)).repeat_time is None
    await admin.send("9:30")
    await admin.press(cb("urgent", weekly, "0"))
    before = datetime.now(UTC)
    await admin.press(cb("confirm", weekly))
    post = await the_post(ctx, weekly)
    assert post.status == PostStatus.SCHEDULED and post.approved_by == ADMIN_ID
    assert (post.repeat_weekday, post.repeat_time) == (0, "09:30")
    assert post.run_at is not None and before < post.run_at <= before + timedelta(days=7)
    local = post.run_at.astimezone(ALMATY)
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 30)

    await admin.send("/approval off")
    async with ctx.session_factory() as session:
        assert not await lifecycle.approval_needed(session)


async def _post_with(ctx: Context, status: PostStatus, deliveries: int = 0) -> int:
    async with ctx.session_factory() as session:
        post = Broadcast(
            created_by=PRESS_ID,
            status=status,
            text_kk="<b>Хабар</b>",
            orgs=[],
            workplace_types=[],
            run_at=datetime.now(UTC) + timedelta(days=1),
        )
        session.add(post)
        await session.flush()
        if deliveries:
            member = Member(telegram_id=-1, language="kk", member_org="almaty")
            session.add(member)
            await session.flush()
            session.add(
                Delivery(
                    broadcast_id=post.id,
                    member_id=member.id,
                    chat_id=-1,
                    language="kk",
                    status=DeliveryStatus.DELIVERED,
                )
            )
        await session.commit()
        return post.id


async def test_cancel_pause_resume_and_refused_transitions(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    running = await _post_with(ctx, PostStatus.RUNNING, deliveries=1)
    scheduled = await _post_with(ctx, PostStatus.SCHEDULED)
    done = await _post_with(ctx, PostStatus.DONE)

    sent = await press.send("/posts")
    listing = texts(sent)
    assert "1" in listing and all(str(i) in listing for i in (running, scheduled, done))
    await press.press(cb("open", running))
    assert "1" in press.last_text()  # delivered 1

    await press.press(cb("pause", running))
    assert (await the_post(ctx, running)).status == PostStatus.PAUSED
    alert(await press.press(cb("pause", running)))  # already paused
    await press.press(cb("resume", running))
    assert (await the_post(ctx, running)).status == PostStatus.RUNNING

    alert(await press.press(cb("resume", done)))  # a finished post does not start again
    alert(await press.press(cb("cancelyes", done)))
    alert(await press.press(cb("cancel", done)))
    alert(await press.press(cb("edit", running)))  # it has started: no changes
    alert(await press.press(cb("pause", scheduled)))
    assert (await the_post(ctx, done)).status == PostStatus.DONE
    assert (await the_post(ctx, scheduled)).status == PostStatus.SCHEDULED

    await press.press(cb("cancel", scheduled))
    assert cb("cancelyes", scheduled) in [d for _, d in buttons(press.last_message())]
    await press.press(cb("cancelyes", scheduled))
    post = await the_post(ctx, scheduled)
    assert post.status == PostStatus.CANCELLED and post.finished_at is not None
    await press.press(cb("cancelyes", running))
    assert (await the_post(ctx, running)).status == PostStatus.CANCELLED

    # Changing a scheduled post makes it a draft until it is confirmed again.
    other = await _post_with(ctx, PostStatus.SCHEDULED)
    await press.press(cb("edit", other))
    assert (await the_post(ctx, other)).status == PostStatus.DRAFT
    await press.press(cb("part", other, "urgent"))
    await press.press(cb("urgent", other, "1"))
    await press.press(cb("confirm", other))
    post = await the_post(ctx, other)
    assert post.status == PostStatus.SCHEDULED and post.urgent

    async with ctx.session_factory() as session:
        actions = list(
            await session.scalars(select(Audit.action).where(Audit.action.like("post-%")))
        )
    assert {"post-pause", "post-resume", "post-cancel", "post-edit"} <= set(actions)


async def test_a_long_posts_list_fits_one_message_and_says_what_it_left_out(
    person: Callable[..., Person], ctx: Context
) -> None:
    """20 drafts, 20 scheduled, 20 sending and 10 finished posts with long titles: the list
    stays within Telegram's 4,096 units, every shown post has its button, and the list says
    how many are not shown."""
    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    title = "Ұжымдық шарт & еңбекақы туралы маңызды жаңалық " * 3
    async with ctx.session_factory() as session:
        statuses = [PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.RUNNING] * 20
        for status in statuses + [PostStatus.DONE] * 10:
            session.add(
                Broadcast(
                    created_by=PRESS_ID,
                    status=status,
                    text_kk=f"<b>{escape(title)}</b>",
                    orgs=[],
                    workplace_types=[],
                    repeat_weekday=2 if status == PostStatus.SCHEDULED else None,
                    repeat_time="10:00" if status == PostStatus.SCHEDULED else None,
                    run_at=datetime.now(UTC) + timedelta(days=1),
                )
            )
        await session.commit()
    sent = await press.send("/posts")
    listing = [r for r in sent if isinstance(r, SendMessage)][-1]
    shown = parse_text(str(listing.text), "HTML", None).text
    assert len(shown.encode("utf-16-le")) // 2 <= 4096
    more = re.findall(r"^… \D*(\d+)", shown, re.MULTILINE)
    assert more, shown  # something was left out, and the list says so
    numbers = [d for _, d in buttons(press.last_message()) if d.startswith("post:open:")]
    assert len(numbers) + sum(int(n) for n in more) == 70
    assert len(numbers) == shown.count("«")  # a button for each post shown


@pytest.mark.parametrize("role", ["member", "lawyer"])
async def test_members_and_lawyers_cannot_post(
    person: Callable[..., Person], ctx: Context, role: str
) -> None:
    admin, someone = person(ADMIN_ID), person(950)
    if role == "lawyer":
        await make_lawyer(admin, someone)
    else:
        await onboard(someone, lang="ru", org="almaty")
    scheduled = await _post_with(ctx, PostStatus.SCHEDULED)
    running = await _post_with(ctx, PostStatus.RUNNING)
    for command in ("/post", "/posts", "/approval on"):
        sent = await someone.send(command)
        assert "post:" not in str([buttons(someone.last_message())]), (command, texts(sent))
    assert (await the_post(ctx)).id == running  # no draft was created
    for data in (
        cb("open", scheduled),
        cb("edit", scheduled),
        cb("cancel", scheduled),
        cb("cancelyes", scheduled),
        cb("pause", running),
        cb("approve", scheduled),
        cb("confirm", scheduled),
    ):
        sent = await someone.press(data)
        assert any(w in str(answer(sent).text) for w in ("устарел", "ескірген")), data
        assert not any(isinstance(r, SendMessage) for r in sent), data
    assert (await the_post(ctx, scheduled)).status == PostStatus.SCHEDULED
    assert (await the_post(ctx, running)).status == PostStatus.RUNNING
    async with ctx.session_factory() as session:
        assert await session.get(BotSetting, lifecycle.APPROVAL_SETTING) is None


async def test_forged_and_stale_post_buttons_get_an_alert(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    other = await _post_with(ctx, PostStatus.DRAFT)
    await press.send("/post")
    post_id = (await the_post(ctx)).id
    await press.send("Мәтін")
    await press.press(cb("skip", post_id, "ru"))
    await press.press(cb("media", post_id, "none"))
    for data in (
        cb("open", 99999),
        cb("edit", 99999),
        cb("cancel", 99999),
        cb("resume", 99999),
        cb("org", post_id, "atlantis"),
        cb("wp", post_id, "spaceship"),
        cb("lang", post_id, "en"),
        cb("page", post_id, "x"),
        cb("org", other, "almaty"),  # a draft that is not this dialogue's
        cb("skip", post_id, "ru"),  # a step already passed
        cb("confirm", post_id),  # not at the preview yet
        cb("when", post_id, "now"),
        "post:confirm:notanumber:",
        "post",
    ):
        sent = await press.press(data)
        alert(sent)
        assert not any(isinstance(r, SendPhoto | SendDocument | SendPoll) for r in sent)
    assert (await the_post(ctx, post_id)).status == PostStatus.DRAFT
    assert (await the_post(ctx, post_id)).orgs == []


def test_html_check_reasons() -> None:
    ok = [
        "<b>a</b> <strong>b</strong> <i>c</i> <em>d</em> <u>e</u> <ins>f</ins>",
        "<s>a</s><strike>b</strike><del>c</del><tg-spoiler>d</tg-spoiler>",
        '<span class="tg-spoiler">x</span> <a href="https://x.kz/?a=1&amp;b=2">link</a>',
        '<pre><code class="language-python">x = 1 &lt; 2</code></pre>',
        "<blockquote expandable>q</blockquote> &#128512; &quot;x&quot; a > b",
    ]
    for text in ok:
        assert check_html(text) is None, text
    refused = {
        "<b>x": ("unclosed", "b"),
        "x</i>": ("stray-close", "i"),
        "<b><i>x</b></i>": ("bad-nesting", "i"),
        "<br>": ("unknown-tag", "br"),
        "<span>x</span>": ("bad-attribute", "span"),
        "<a>x</a>": ("no-href", "a"),
        '<a href="javascript:alert(1)">x</a>': ("bad-href", "a"),
        "<code><b>x</b></code>": ("inside-code", "b"),
        "1 < 2": ("bare-lt", ""),
        "Q&A": ("bare-amp", ""),
        "&nbsp;": ("bare-amp", ""),
        "<b> </b>": ("empty", ""),
    }
    for text, (code, tag) in refused.items():
        problem = check_html(text)
        assert problem is not None and (problem.code, problem.tag) == (code, tag), text
    long = check_html("<b>" + "😀" * 2049 + "</b>")  # UTF-16: two units each
    assert long is not None and (long.code, long.length, long.limit) == ("too-long", 4098, 4096)
    assert check_html("x" * 1025, limit=CAPTION_LIMIT) is not None


def test_schedule_and_survey_parsing() -> None:
    # Thursday 3 December 2026, 12:00 in Almaty.
    now = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    assert lifecycle.next_weekly(3, "13:00", ALMATY, now) == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert lifecycle.next_weekly(3, "12:00", ALMATY, now) == datetime(
        2026, 12, 10, 7, 0, tzinfo=UTC
    )
    assert lifecycle.next_weekly(0, "09:30", ALMATY, now) == datetime(
        2026, 12, 7, 4, 30, tzinfo=UTC
    )
    assert lifecycle.parse_local_datetime("25.12.2026 10:00") == datetime(2026, 12, 25, 10, 0)
    assert lifecycle.parse_hhmm("9.05") == "09:05"
    for bad in ("31.02.2026 10:00", "25/12/2026 10:00"):
        with pytest.raises(lifecycle.PostError):
            lifecycle.parse_local_datetime(bad)
    survey = composition.parse_survey("Q & A?\n1) Иә\n- Жоқ\n\n• Білмеймін")
    assert survey == {"question": "Q &amp; A?", "options": ["Иә", "Жоқ", "Білмеймін"]}
    with pytest.raises(lifecycle.PostError) as too_many:
        composition.parse_survey("Q\n" + "\n".join(str(i) + " x" for i in range(11)))
    assert too_many.value.code == "survey-options"
    with pytest.raises(lifecycle.PostError) as long_option:
        composition.parse_survey("Q\nИә\n" + "ж" * 101)
    assert long_option.value.details == {"number": 2, "length": 101, "limit": 100}


@pytest.mark.parametrize("kind", KINDS)
async def test_post_services_on_both_databases(kind: str, tmp_path: Path) -> None:
    press = StaffView(1, PRESS_ID, StaffRole.PRESS, ())
    admin = StaffView(2, ADMIN_ID, StaffRole.ADMIN, ())
    known = ["almaty", "astana"]
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        make = create_session_factory(engine)
        now = datetime.now(UTC)
        async with make() as session:
            for i, (org, lang, opted) in enumerate(
                [("almaty", "kk", False), ("almaty", "ru", False), ("astana", "kk", True)]
            ):
                session.add(
                    Member(
                        telegram_id=7000 + i,
                        language=lang,
                        member_org=org,
                        consent_version="1",
                        consent_at=now,
                        news_opt_out=opted,
                    )
                )
            session.add(Member(telegram_id=7100, language="kk", member_org="almaty"))  # no consent
            post = await composition.create_draft(session, press)
            await composition.set_text(session, press, post.id, "kk", "<b>Жаңалық</b>")
            await composition.set_audience(
                session, press, post.id, composition.Audience(("almaty",)), known_orgs=known
            )
            with pytest.raises(lifecycle.PostError):
                await composition.set_audience(
                    session, press, post.id, composition.Audience(("mars",)), known_orgs=known
                )
            survey = composition.parse_survey("Келесіз бе?\nИә\nЖоқ")
            await composition.set_survey(session, press, post.id, "kk", survey)
            await lifecycle.schedule_at(session, press, post.id, datetime(2030, 1, 1, 9), ALMATY)
            assert await composition.audience_size(session, composition.Audience(("almaty",))) == 2
            assert await composition.audience_size(session, composition.Audience((), (), "kk")) == 1
            draft = await lifecycle.get_post(session, post.id)
            assert draft is not None and composition.flags(draft) == ["text-ru", "survey-ru"]
            await lifecycle.set_approval_needed(session, admin, True)
            confirmed = await composition.confirm(session, press, post.id, ALMATY)
            assert confirmed.status == PostStatus.AWAITING_APPROVAL
            assert confirmed.run_at == datetime(2030, 1, 1, 4, tzinfo=UTC)
            with pytest.raises(lifecycle.PostError) as refused:
                await lifecycle.approve(session, press, post.id)
            assert refused.value.code == "forbidden"
            assert (await lifecycle.approve(session, admin, post.id)).status == PostStatus.SCHEDULED
            with pytest.raises(lifecycle.PostError) as twice:
                await lifecycle.approve(session, admin, post.id)
            assert twice.value.code == "state"
            await session.commit()

        # The scheduler starts it: it can no longer be changed, only paused or cancelled.
        async with engine.begin() as conn:
            await conn.execute(
                update(Broadcast).where(Broadcast.id == post.id).values(status=PostStatus.RUNNING)
            )
        async with make() as session:
            with pytest.raises(lifecycle.PostError):
                await lifecycle.begin_edit(session, press, post.id)
            with pytest.raises(lifecycle.PostError):
                await composition.set_urgent(session, press, post.id, True)
            assert (await lifecycle.pause(session, press, post.id)).status == PostStatus.PAUSED
            listed = await lifecycle.list_posts(session)
            assert [p.id for p in listed.under_way] == [post.id]
            assert listed.counts[post.id]["delivered"] == 0
            assert (await lifecycle.resume(session, press, post.id)).status == PostStatus.RUNNING
            assert (await lifecycle.cancel(session, press, post.id)).status == PostStatus.CANCELLED
            with pytest.raises(lifecycle.PostError):
                await lifecycle.resume(session, press, post.id)
            await session.commit()
            listed = await lifecycle.list_posts(session)
            assert [p.id for p in listed.finished] == [post.id] and not listed.under_way
            actions = list(await session.scalars(select(Audit.action).order_by(Audit.id)))
        assert actions[:2] == ["post-create", "post-text"]
        assert actions[-3:] == ["post-pause", "post-resume", "post-cancel"]
        assert {"post-approve", "post-confirm", "post-approval-setting"} <= set(actions)


async def test_a_russian_press_secretary_changes_their_mind_and_reads_everything_in_russian(
    person: Callable[..., Person], ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    """Staff who are not members read their Telegram language, also in what the bot sends
    them unasked (the author's report); "cancel" while composing asks in a message of its
    own and "keep it" leaves the step as it was; the "when" buttons stay live after "on a
    date" was tapped; /help lists the press secretary's commands."""
    admin, press = person(ADMIN_ID), person(PRESS_ID, language_code="ru")
    await make_press(admin, press)
    await onboard(person(901), lang="kk", org="almaty")
    sent = await press.send("/help")
    assert "/post:" in texts(sent) and "/posts:" in texts(sent), texts(sent)
    assert "/approval" not in texts(sent)  # an admin's command

    await press.send("/post")
    post_id = (await the_post(ctx)).id
    await press.send("<b>Жиналыс</b> ертең")
    await press.press(cb("skip", post_id, "ru"))
    await press.press(cb("media", post_id, "none"))
    await press.press(cb("aud", post_id))
    await press.press(cb("survey", post_id, "no"))
    when = press.last_message()
    await press.press(cb("when", post_id, "date"))
    prompt = press.last_message()
    assert "Алматы" in (prompt.text or "") and "Asia/" not in (prompt.text or "")
    assert cb("cancel", post_id, "step") in [d for _, d in buttons(prompt)]

    sent = await press.press(cb("cancel", post_id, "step"), prompt)
    question = press.last_message()
    assert question.message_id != prompt.message_id  # a message of its own
    assert [d for _, d in buttons(question)] == [cb("cancelyes", post_id), cb("cancelno", post_id)]
    assert "№ " + str(post_id) in (question.text or "")
    assert buttons(press.session.screen.messages[PRESS_ID][prompt.message_id]) == buttons(prompt)
    await press.press(cb("cancelno", post_id), question)
    assert not buttons(press.session.screen.messages[PRESS_ID][question.message_id])
    assert (await the_post(ctx, post_id)).status == PostStatus.DRAFT

    # "On a date" was tapped; the press secretary wants it now after all.
    sent = await press.press(cb("when", post_id, "now"), when)
    assert not answer(sent).show_alert, texts(sent)
    urgent = press.last_text()
    assert "22:00" in urgent and "08:00" in urgent and "Алматы" in urgent, urgent
    await press.press(cb("urgent", post_id, "1"))
    await press.press(cb("confirm", post_id))
    assert (await the_post(ctx, post_id)).status == PostStatus.SCHEDULED
    assert "отправляется сейчас" in press.last_text(), press.last_text()

    broadcaster = Broadcaster(bot, ctx.engine, Pacer(100), owner="t", settings=SendSettings())
    runner = PostRunner(ctx, bot, broadcaster)
    await runner.tick()
    await asyncio.wait_for(asyncio.gather(*runner.tasks.values()), timeout=30)
    await runner.tick()  # reports
    await asyncio.gather(*runner.tasks.values())
    reports = [
        r
        for r in recording.requests
        if isinstance(r, SendMessage) and r.chat_id == PRESS_ID and f"№ {post_id}" in r.text
    ]
    assert reports and "отправлена" in reports[-1].text, [r.text for r in reports]
    delivered = [r for r in recording.requests if getattr(r, "chat_id", None) == 901]
    assert [type(r).__name__ for r in delivered][-1] == "BroadcastMessage"

    # A post that is not urgent, at 23:30: the confirmation says it waits for 08:00.
    night = await compose_quickly(press, ctx)
    await press.press(cb("change", night))
    await press.press(cb("part", night, "schedule"))
    await press.press(cb("when", night, "date"))
    await press.send(f"15.06.{datetime.now(ALMATY).year + 1} 23:30")
    await press.press(cb("urgent", night, "0"))
    await press.press(cb("confirm", night))
    assert "🌙" in press.last_text() and "08:00" in press.last_text(), press.last_text()
