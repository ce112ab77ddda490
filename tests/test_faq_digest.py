"""The FAQ editors' weekly digest: who gets it, what it says, once a week."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy import insert, select

from bot.callbacks import FaqEditCb
from bot.clock.faq_digest import (
    COUNTS,
    QUESTION_CHARS,
    TELEGRAM_LIMIT,
    Failing,
    digest_message,
    faq_digest_job,
    week_key,
)
from bot.context import Context
from bot.runner import _scheduler, post_runner
from bot.scale.lease import ProcessLease
from bot.storage.fsm import DatabaseStorage
from bot.storage.models import (
    BotSetting,
    FaqEvent,
    FaqMissQuestion,
    Staff,
    StaffRole,
    utcnow,
)
from tests.recording import RecordingSession

ALMATY = ZoneInfo("Asia/Almaty")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=ALMATY)
HEAD, EDITOR, LAWYER, GONE_HEAD = 900_101, 900_102, 900_103, 900_104
WORST, SECOND = "leave-pay-timing", "pay-late-wages"


async def editors_and_others(ctx: Context) -> None:
    async with ctx.session_factory() as session:
        session.add_all(
            [
                Staff(telegram_id=HEAD, role=StaffRole.HEAD_LAWYER, language="kk"),
                Staff(
                    telegram_id=EDITOR,
                    role=StaffRole.LAWYER,
                    member_orgs=["almaty"],
                    faq_editor=True,
                    language="ru",
                ),
                Staff(telegram_id=LAWYER, role=StaffRole.LAWYER, member_orgs=["abai"]),
                Staff(telegram_id=GONE_HEAD, role=StaffRole.HEAD_LAWYER, active=False),
            ]
        )
        await session.commit()


async def events(ctx: Context, *rows: tuple[str, str, int, timedelta]) -> None:
    """(node, kind, how many, how long before MONDAY_9)."""
    async with ctx.session_factory() as session:
        await session.execute(
            insert(FaqEvent),
            [
                {"node_id": node, "kind": kind, "at": MONDAY_9 - ago}
                for node, kind, count, ago in rows
                for _ in range(count)
            ],
        )
        await session.commit()


async def questions(ctx: Context, node: str, *texts_and_ages: tuple[str, timedelta]) -> None:
    async with ctx.session_factory() as session:
        session.add_all(
            FaqMissQuestion(node_id=node, lang="ru", text=text, at=MONDAY_9 - ago)
            for text, ago in texts_and_ages
        )
        await session.commit()


def digests(recording: RecordingSession, since: int = 0) -> dict[int, list[SendMessage]]:
    out: dict[int, list[SendMessage]] = {}
    for request in recording.requests[since:]:
        if isinstance(request, SendMessage):
            out.setdefault(int(request.chat_id), []).append(request)
    return out


def edit_buttons(message: SendMessage) -> list[tuple[str, str]]:
    markup = message.reply_markup
    assert isinstance(markup, InlineKeyboardMarkup)
    return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]


async def a_failing_week(ctx: Context) -> None:
    day = timedelta(days=1)
    await events(
        ctx,
        (WORST, "not-helped", 3, day),
        (WORST, "helped", 1, 2 * day),
        (SECOND, "not-helped", 1, 3 * day),
        (SECOND, "viewed", 9, 3 * day),
        ("an-answer-since-removed", "not-helped", 5, day),
        ("pay-deductions", "not-helped", 10, 8 * day),  # the week before
    )
    await questions(
        ctx,
        WORST,
        ("старый вопрос за прошлую неделю", 8 * day),
        ("первый вопрос", 6 * day),
        ("второй <b>вопрос</b>", 5 * day),
        ("третий вопрос", 4 * day),
        ("четвёртый вопрос", 3 * day),
    )


async def test_each_editor_gets_the_week_s_failing_answers_in_their_language(
    ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    await editors_and_others(ctx)
    await a_failing_week(ctx)
    assert await faq_digest_job(ctx, bot, now=MONDAY_9) == 2
    told = digests(recording)
    assert sorted(told) == [HEAD, EDITOR]  # not the plain lawyer, not the former head lawyer
    assert [len(messages) for messages in told.values()] == [1, 1]
    worst, second = ctx.faq.nodes[WORST], ctx.faq.nodes[SECOND]
    for chat, lang in ((HEAD, "kk"), (EDITOR, "ru")):
        [message] = told[chat]
        text = message.text
        # Worst first, each by its title in the editor's language, with its counts.
        assert text.index(worst.title_in(lang)) < text.index(second.title_in(lang))
        other = "ru" if lang == "kk" else "kk"
        assert worst.title_in(other) not in text
        with ctx.i18n.context(), ctx.i18n.use_locale(lang):
            counts = _(COUNTS)
        assert counts.format(not_helped=3, helped=1) in text
        assert counts.format(not_helped=1, helped=0) in text
        # The three newest questions of the week, newest first, escaped.
        assert (
            text.index("четвёртый вопрос")
            < text.index("третий вопрос")
            < text.index("второй &lt;b&gt;вопрос&lt;/b&gt;")
        )
        assert "первый вопрос" not in text and "прошлую неделю" not in text
        assert "an-answer-since-removed" not in text
        assert ctx.faq.nodes["pay-deductions"].title_in(lang) not in text
        buttons = edit_buttons(message)
        assert [data for _, data in buttons] == [
            FaqEditCb(action="open", node=WORST).pack(),
            FaqEditCb(action="open", node=SECOND).pack(),
        ]
        assert all(label.startswith("✏️") for label, _ in buttons)
        assert worst.title_in(lang)[:20] in buttons[0][0]


async def test_the_digest_goes_once_a_week(
    ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    await editors_and_others(ctx)
    await a_failing_week(ctx)
    assert await faq_digest_job(ctx, bot, now=MONDAY_9) == 2
    mark = len(recording.requests)
    assert await faq_digest_job(ctx, bot, now=MONDAY_9 + timedelta(hours=1)) == 0
    assert digests(recording, mark) == {}
    async with ctx.session_factory() as session:
        done = await session.get(BotSetting, week_key(MONDAY_9, ALMATY))
    assert done is not None and done.value == "2"
    # The next Monday is another week.
    await events(ctx, (SECOND, "not-helped", 2, timedelta(days=-6)))
    assert await faq_digest_job(ctx, bot, now=MONDAY_9 + timedelta(days=7)) == 2
    assert sorted(digests(recording, mark)) == [HEAD, EDITOR]


async def test_two_instances_at_once_send_one_digest(
    ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    await editors_and_others(ctx)
    await a_failing_week(ctx)
    stored = await asyncio.gather(
        faq_digest_job(ctx, bot, now=MONDAY_9), faq_digest_job(ctx, bot, now=MONDAY_9)
    )
    assert sorted(stored) == [0, 2]
    told = digests(recording)
    assert {chat: len(messages) for chat, messages in told.items()} == {HEAD: 1, EDITOR: 1}


async def test_no_failing_answer_no_message(
    ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    await editors_and_others(ctx)
    await events(
        ctx,
        (WORST, "helped", 4, timedelta(days=1)),
        (WORST, "not-helped", 4, timedelta(days=9)),  # failing, but not this week
        ("an-answer-since-removed", "not-helped", 3, timedelta(days=1)),
    )
    assert await faq_digest_job(ctx, bot, now=MONDAY_9) == 0
    assert digests(recording) == {}
    async with ctx.session_factory() as session:
        keys = (await session.scalars(select(BotSetting.key))).all()
    assert week_key(MONDAY_9, ALMATY) in keys  # the week is done: later tries send nothing


def test_five_answers_with_long_questions_fit_one_message(ctx: Context) -> None:
    answers = sorted(ctx.faq.answers, key=lambda n: -len(n.title_in("ru")))[:5]
    failing = [Failing(n.id, 99_999, 99_999, ("<&>" * 200,) * 3) for n in answers]
    with ctx.i18n.context(), ctx.i18n.use_locale("ru"):
        text, markup = digest_message(
            failing, ctx.faq, "ru", MONDAY_9 - timedelta(days=7), MONDAY_9, ALMATY
        )
    assert len(text.encode("utf-16-le")) // 2 <= TELEGRAM_LIMIT
    assert len(markup.inline_keyboard) == 5
    assert "&lt;&amp;&gt;" in text and "<&>" not in text
    # Each question is cut to QUESTION_CHARS (before escaping): "— «…»" around it.
    shown = [line for line in text.splitlines() if line.startswith("— «")]
    assert shown and all(len(unescape(line)) <= QUESTION_CHARS + 4 for line in shown)


async def test_the_scheduler_holder_sends_it_on_monday_mornings(
    ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    await editors_and_others(ctx)
    hour_ago = MONDAY_9 - (utcnow() - timedelta(hours=1))  # the job's week ends now
    await events(ctx, (WORST, "not-helped", 2, hour_ago))
    leader = ProcessLease(ctx.engine, "scheduler", "host:1", seconds=30.0)
    runner = post_runner(ctx, bot, "host:1", None)
    scheduler = _scheduler(ctx, bot, leader, runner, DatabaseStorage(ctx.session_factory))
    job = scheduler.get_job("faq_digest")
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=ALMATY)
    assert job.trigger.get_next_fire_time(None, sunday) == MONDAY_9
    # Tried again each hour that morning (sent once), then not until the next Monday.
    assert job.trigger.get_next_fire_time(None, MONDAY_9 + timedelta(seconds=1)) == (
        MONDAY_9 + timedelta(hours=1)
    )
    five_pm = MONDAY_9 + timedelta(hours=8, seconds=1)
    assert job.trigger.get_next_fire_time(None, five_pm) == MONDAY_9 + timedelta(days=7)
    await job.func()  # not the lease's holder: nothing
    assert digests(recording) == {}
    assert await leader.hold()
    await job.func()
    assert sorted(digests(recording)) == [HEAD, EDITOR]
    await leader.release()
