"""Appeals that came in writing or in person: a lawyer logs them with /log, works and
closes them on the desk; they count in the report's line 2 (written / oral / electronic)
and their person rows are never members of the bot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery
from sqlalchemy import func, select

from bot.broadcast.composition import Audience, audience_size
from bot.clock.desk import desk_job
from bot.clock.retention import retention_job
from bot.context import Context
from bot.handlers.desk.stats import summary_text
from bot.report.figures import build_report
from bot.report.period import Period
from bot.report.tally import rebuild, rows_for_check
from bot.services.desk import DeskError, lawyer_writes
from bot.services.privacy import months_before
from bot.services.staff import StaffView
from bot.storage.models import (
    Appeal,
    AppealStatus,
    Audit,
    Member,
    OutboxMessage,
    ReportTally,
    Staff,
    utcnow,
)
from bot.topics import default_member_orgs
from tests.conftest import ADMIN_ID
from tests.databases import KINDS
from tests.driver import Person, buttons, texts
from tests.recording import RecordingSession
from tests.test_desk_flow import make_lawyer
from tests.test_find import found_numbers
from tests.test_member_flow import onboard, send_appeal
from tests.test_privacy import bot_on

pytestmark = pytest.mark.asyncio


async def log(
    lawyer: Person,
    channel: str,
    *,
    org: str | None = None,
    workplace: str = "school",
    topic: str = "pay",
    day: str = "today",
    summary: str | None = None,
    name: str | None = None,
    contact: str | None = None,
) -> list[Any]:
    """Log an appeal through /log; returns what the bot sent for the last tap (Save)."""
    await lawyer.send("/log")
    await lawyer.press(f"log:ch:{channel}")
    if org is not None:
        await lawyer.press(f"log:org:{org}")
    await lawyer.press(f"log:wp:{workplace}")
    await lawyer.press(f"log:topic:{topic}")
    if day in ("today", "yesterday"):
        await lawyer.press(f"log:day:{day}")
    else:
        await lawyer.send(day)
    for step, words in (("summary", summary), ("name", name), ("contact", contact)):
        if words is None:
            await lawyer.press(f"log:skip:{step}")
        else:
            await lawyer.send(words)
    save = next(d for _t, d in buttons(lawyer.last_message()) if d.startswith("log:save:"))
    return await lawyer.press(save)


async def latest(ctx: Context) -> Appeal:
    async with ctx.session_factory() as session:
        appeal = await session.scalar(select(Appeal).order_by(Appeal.id.desc()))
        assert appeal is not None
        return appeal


def alerts(sent: list[Any]) -> str:
    return texts([r for r in sent if isinstance(r, AnswerCallbackQuery)])


def to_others(sent: list[Any], *chats: int) -> list[Any]:
    """What went to anyone but these chats."""
    return [r for r in sent if hasattr(r, "chat_id") and r.chat_id not in chats]


async def test_a_lawyer_logs_a_written_appeal_in_kazakh_and_closes_it_with_outcomes(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    admin, lawyer = person(ADMIN_ID), person(700, first_name="Гүлнар", language_code="kk")
    await make_lawyer(admin, lawyer)  # karaganda only: the organisation is not asked
    start = len(recording.requests)
    await lawyer.send("/log")
    assert "жазбаша" in lawyer.last_text().lower()
    await lawyer.tap("📄")
    assert "қайда жұмыс" in lawyer.last_text()  # straight to the workplace
    await lawyer.press("log:wp:kindergarten")
    await lawyer.press("log:topic:leave")
    await lawyer.press("log:day:yesterday")
    assert "міндетті емес" in lawyer.last_text().lower()  # optional, and said so
    await lawyer.send("Демалыс ақысы төленбеді, өтініш қағазбен келді.")
    assert "дербес деректер" in lawyer.last_text()  # the privacy rules of the name
    await lawyer.send("Сәуле Қ.")
    await lawyer.send("+7 701 000 00 00")
    confirmation = lawyer.last_text()
    assert "Сәуле Қ." in confirmation and "+7 701 000 00 00" in confirmation
    assert "Демалыс" in confirmation and "Қарағанды облысы" in confirmation
    sent = await lawyer.tap("✅")
    card = texts([r for r in sent if r.__api_method__ == "editMessageText"])
    appeal = await latest(ctx)
    assert f"№ {appeal.id}" in card or str(appeal.id) in card
    assert "Сәуле Қ." in card and "+7 701 000 00 00" in card
    assert "бот" in card.lower()  # the card says the bot cannot write to anyone here
    labels = [label for label, _d in buttons(lawyer.last_message())]
    assert not any("✍️" in label for label in labels)  # no "write to the member"
    assert not any("📋" in label or "📖" in label for label in labels)  # nor a ready text
    assert any("✅" in label for label in labels)  # closing is there

    # Found again by the contact's phone, however it is typed.
    for typed in ("8 (701) 000-00-00", "+77010000000", "000-00-00"):
        await lawyer.send(f"/find {typed}")
        assert found_numbers(lawyer) == [appeal.id], typed
    await lawyer.send(f"/find {appeal.id}")  # a bare short number is still an appeal's
    assert found_numbers(lawyer) == [appeal.id]
    # A forged ready-text button for it opens nothing.
    sent = await lawyer.press(f"pk:faq:{appeal.id}:0:")
    assert any(getattr(r, "show_alert", False) for r in sent)
    assert appeal.channel == "written" and appeal.status == AppealStatus.CLAIMED
    assert appeal.member_org == "karaganda" and appeal.topic == "leave"
    assert appeal.text == "Демалыс ақысы төленбеді, өтініш қағазбен келді."
    async with ctx.session_factory() as session:
        staff_id = await session.scalar(select(Staff.id).where(Staff.telegram_id == 700))
        person_row = await session.get_one(Member, appeal.member_id)
    assert appeal.claimed_by == staff_id
    assert person_row.telegram_id == -person_row.id and person_row.telegram_id < 0
    assert person_row.full_name == "Сәуле Қ." and person_row.username == "+7 701 000 00 00"
    assert person_row.consent_at is None and not person_row.active
    assert person_row.member_org is None

    # A forged "write to the member" is refused with the reason; nothing goes anywhere.
    sent = await lawyer.press(f"desk:reply:{appeal.id}:")
    assert "жаза алмайды" in alerts(sent)
    sent = await lawyer.send("Сәлеметсіз бе")
    assert not to_others(sent, 700)
    async with ctx.session_factory() as session:  # the rule holds whatever the caller
        view = StaffView.of(await session.get_one(Staff, staff_id))
        with pytest.raises(DeskError) as refused:
            await lawyer_writes(session, view, appeal.id, text="?", attachments=[])
        assert refused.value.code == "logged"

    # Closing: no "you never wrote to the member" question, outcomes as for a bot appeal.
    await lawyer.press(f"oc:open:{appeal.id}:")
    assert "Жабу" in lawyer.last_text() or str(appeal.id) in lawyer.last_text()
    await lawyer.press(f"oc:t:{appeal.id}:conc")
    await lawyer.press(f"oc:t:{appeal.id}:just")
    await lawyer.press(f"oc:n:{appeal.id}:money")
    await lawyer.send("150 000")
    sent = await lawyer.press(f"oc:save:{appeal.id}:")
    assert str(appeal.id) in texts(sent)
    assert "💡" not in str(sent)  # nothing of the lawyer's to offer the FAQ
    everything = recording.requests[start:]
    assert not to_others(everything, 700, ADMIN_ID)
    async with ctx.session_factory() as session:
        closed = await session.get_one(Appeal, appeal.id)
        assert closed.status == AppealStatus.CLOSED and closed.closed_at is not None
        assert closed.outcome_conciliation and closed.outcome_justified is True
        assert closed.money_returned_kzt == 150_000 and closed.outcome_consultation
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert rows == 0  # the bot never tried to reach the person
        actions = set(await session.scalars(select(Audit.action)))
        assert {"log-appeal", "close"} <= actions


async def test_an_oral_appeal_in_russian_asks_the_organisation_and_sits_in_mine(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin = person(ADMIN_ID)
    lawyer = person(710, first_name="Олег", language_code="ru")
    colleague = person(711, language_code="ru")
    await make_lawyer(admin, lawyer, "karaganda abai")
    await make_lawyer(admin, colleague, "abai")
    await lawyer.send("/log")
    await lawyer.tap("🗣")
    organisations = [label for label, _d in buttons(lawyer.last_message())]
    assert "Карагандинская область" in organisations and "Абайская область" in organisations
    assert "Атырауская область" not in organisations  # only what the lawyer covers
    await lawyer.tap("Абайская")
    await lawyer.tap("Школа")
    await lawyer.tap("Оплата труда")
    await lawyer.send("03.01.2026")
    assert "необязательно" in lawyer.last_text().lower()
    for _step in ("summary", "name", "contact"):
        await lawyer.tap("Пропустить")
    assert "устно" in lawyer.last_text() and "3 янв. 2026" in lawyer.last_text()
    await lawyer.tap("✅")
    appeal = await latest(ctx)
    assert appeal.channel == "oral" and appeal.member_org == "abai"
    assert appeal.text is None
    # Received on a past day: at 09:00 Almaty time that day.
    assert appeal.created_at.astimezone(ctx.calendar.tz).isoformat().startswith("2026-01-03T09:00")
    sent = await lawyer.send("/mine")
    assert any(f"№ {appeal.id}" in label for label, _d in buttons(lawyer.last_message()))
    sent = await colleague.send("/queue")
    assert f"№ {appeal.id}" not in str(sent)  # taken at once: not in the queue

    # Back to the queue: a colleague of the region sees it, and taking it tells nobody.
    await lawyer.press(f"desk:card:{appeal.id}:")
    await lawyer.press(f"desk:release:{appeal.id}:")
    await colleague.send("/queue")
    assert any(f"№ {appeal.id}" in label for label, _d in buttons(colleague.last_message()))
    sent = await colleague.press(f"desk:take:{appeal.id}:")
    assert not to_others(sent, 711)
    assert "недоступен" not in alerts(sent)  # no "the member cannot be reached" either
    assert await session_count(ctx, OutboxMessage) == 0  # nothing for the person stored


async def test_a_revoked_lawyer_s_logged_appeal_goes_back_telling_no_placeholder(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(715, language_code="ru")
    await make_lawyer(admin, lawyer)
    await log(lawyer, "oral")
    appeal = await latest(ctx)
    async with ctx.session_factory() as session:
        staff_id = await session.scalar(select(Staff.id).where(Staff.telegram_id == 715))
    await admin.send("/staff")
    await admin.press(f"st:revoke:{staff_id}:")
    async with ctx.session_factory() as session:
        row = await session.get_one(Appeal, appeal.id)
        assert row.status == AppealStatus.QUEUED and row.claimed_by is None
        chats = set(await session.scalars(select(OutboxMessage.chat_id)))
    assert 715 in chats  # the lawyer is told which appeals left them
    assert not [chat for chat in chats if chat <= 0]  # the person's placeholder is not


async def test_a_lawyer_cannot_log_for_a_region_they_do_not_cover(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(720, language_code="ru")
    await make_lawyer(admin, lawyer, "karaganda abai")
    await lawyer.send("/log")
    await lawyer.press("log:ch:written")
    sent = await lawyer.press("log:org:atyrau")  # forged: a region they do not cover
    assert "только" in alerts(sent).lower()
    sent = await lawyer.press("log:org:nowhere")  # forged: no such organisation
    assert "только" in alerts(sent).lower()
    # A step's button out of its step is outdated.
    sent = await lawyer.press("log:topic:pay")
    assert "устарела" in alerts(sent).lower()
    await lawyer.press("log:org:abai")
    await lawyer.press("log:wp:school")
    await lawyer.press("log:topic:pay")
    await lawyer.press("log:day:today")
    for step in ("summary", "name", "contact"):
        await lawyer.press(f"log:skip:{step}")
    # Meanwhile the lawyer no longer covers Abai: the save is refused, nothing stored.
    async with ctx.session_factory() as session:
        row = await session.scalar(select(Staff).where(Staff.telegram_id == 720))
        assert row is not None
        row.member_orgs = ["karaganda"]
        await session.commit()
    ctx.staff_directory.invalidate()
    save = next(d for _t, d in buttons(lawyer.last_message()) if d.startswith("log:save:"))
    sent = await lawyer.press(save)
    assert "только" in alerts(sent).lower()
    async with ctx.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Appeal)) == 0
        assert await session.scalar(select(func.count()).select_from(Member)) == 0
    # A forged save with another token does nothing either.
    sent = await lawyer.press("log:save:0123456789abcdef")
    assert await session_count(ctx, Appeal) == 0


async def session_count(ctx: Context, model: type) -> int:
    async with ctx.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_bad_dates_and_stickers_are_refused_and_nothing_is_lost(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(730, language_code="ru")
    await make_lawyer(admin, lawyer)
    await lawyer.send("/log")
    await lawyer.press("log:ch:oral")
    await lawyer.press("log:wp:college")
    sent = await lawyer.send("вчера")  # typing where buttons are asked for
    assert "кнопк" in texts(sent).lower()
    await lawyer.press("log:topic:dismissal")
    future = (utcnow() + timedelta(days=3)).astimezone(ctx.calendar.tz).strftime("%d.%m.%Y")
    for typed, reason in (
        ("31.02.2026", "не удалось прочитать"),
        ("завтра", "не удалось прочитать"),
        ("1" * 5000, "не удалось прочитать"),
        (future, "будущ"),
        ("31.12.1999", "2000"),
    ):
        sent = await lawyer.send(typed)
        assert reason in texts(sent).lower(), typed
    sent = await lawyer.send_sticker()
    assert "словами" in texts(sent).lower()
    await lawyer.send("01.01.2000")  # the first day allowed
    sent = await lawyer.send("ы" * 1001)
    assert "1001" in texts(sent)
    await lawyer.send("Уволили по сокращению без уведомления.")
    await lawyer.send("и" * 201)  # a name longer than stored: refused with the length
    assert "201" in lawyer.last_text()
    await lawyer.press("log:skip:name")
    await lawyer.send("x" * 65)
    assert "65" in lawyer.last_text()
    await lawyer.send("ivan@example.kz")
    await lawyer.press(
        next(d for _t, d in buttons(lawyer.last_message()) if d.startswith("log:save:"))
    )
    appeal = await latest(ctx)
    assert appeal.topic == "dismissal" and appeal.workplace_type == "college"
    assert appeal.text == "Уволили по сокращению без уведомления."
    assert appeal.created_at.astimezone(ctx.calendar.tz).date().isoformat() == "2000-01-01"
    # Saved once: the Save button again is outdated, no second appeal.
    sent = await lawyer.press(f"log:save:{appeal.draft_token}")
    assert await session_count(ctx, Appeal) == 1


async def test_the_desk_clock_leaves_logged_appeals_alone(
    person: Callable[..., Person], ctx: Context, recording: RecordingSession
) -> None:
    from aiogram import Bot  # noqa: F401  (the fixture's type)

    admin, lawyer = person(ADMIN_ID), person(740, language_code="ru")
    await make_lawyer(admin, lawyer)
    await log(lawyer, "written", day="01.02.2026")
    appeal = await latest(ctx)
    later = utcnow() + timedelta(days=30)
    notices = await desk_job(ctx, lawyer.bot, now=later)
    # No first-answer reminder, no breach, no hand-back to the queue for silence.
    for kind in ("new_appeals", "half_way", "overdue", "released"):
        assert not any(appeal.id in ids for ids in getattr(notices, kind).values()), kind
    async with ctx.session_factory() as session:
        row = await session.get_one(Appeal, appeal.id)
        assert row.status == AppealStatus.CLAIMED and row.sla_breached_at is None


@pytest.mark.parametrize("kind", KINDS)
async def test_the_report_counts_written_oral_and_electronic_by_hand(
    kind: str, tmp_path: Path
) -> None:
    async with bot_on(kind, tmp_path) as (ctx, person, _recording):
        admin, lawyer = person(ADMIN_ID), person(750, language_code="ru")
        member, other = person(751), person(752)
        await onboard(member, org="karaganda")
        await onboard(other, org="karaganda", consent=False)  # a member without consent
        await send_appeal(member, "pay", "Не платят надбавку.")  # electronic
        await make_lawyer(admin, lawyer)
        await log(lawyer, "written", topic="pay", name="Айжан", contact="+77010000001")
        written = (await latest(ctx)).id
        await log(lawyer, "oral", topic="leave", day="yesterday")
        await log(lawyer, "oral", topic="pay", day="yesterday")
        # The written one is closed with its outcome.
        await lawyer.press(f"oc:open:{written}:")
        await lawyer.press(f"oc:t:{written}:court")
        await lawyer.press(f"oc:n:{written}:money")
        await lawyer.send("20000")
        await lawyer.press(f"oc:save:{written}:")

        today = utcnow().astimezone(ctx.calendar.tz).date()
        period = Period(today - timedelta(days=1), today)
        async with ctx.session_factory() as session:
            report = await build_report(
                session, period, orgs=None, tz=ctx.calendar.tz, member_orgs=default_member_orgs()
            )
            ind = report.current.indicators
            # by hand: 1 through the bot, 1 written, 2 oral; 1 considered (the written one)
            assert (ind["appeals_received"], ind["appeals_electronic"]) == (4, 1)
            assert (ind["appeals_written"], ind["appeals_oral"]) == (1, 2)
            assert ind["appeals_considered"] == 1 and ind["court_cases"] == 1
            assert ind["money_returned_kzt"] == 20_000 and ind["consultations"] == 1
            assert ind["backlog_open"] == 3  # the bot's one and two oral ones
            assert ind["answered"] == 0 and ind["sla_breaches"] == 0
            assert report.current.by_topic["pay"]["received"] == 3
            with ctx.i18n.context(), ctx.i18n.use_locale("ru"):  # /stats' summary, line 2
                summary = summary_text(report, "ru", default_member_orgs())
            assert "в т.ч. письменных / устных / электронных: <b>1 / 2 / 1</b>" in summary
            # The bot's members: the two who registered, not the people of logged appeals.
            assert report.current.by_org["karaganda"]["bot_members"] == 2
            assert set(report.current.by_org) == {"karaganda"}
            # A post's audience: the one member who consented.
            assert await audience_size(session, Audience()) == 1
            assert await session.scalar(select(func.count()).select_from(Member)) == 5

            followed = rows_for_check(await session.scalars(select(ReportTally)))
            await rebuild(session, ctx.calendar.tz)
            await session.commit()
            assert rows_for_check(await session.scalars(select(ReportTally))) == followed


async def test_retention_erases_the_name_and_contact_of_a_logged_appeal(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(760, language_code="ru")
    member = person(761, first_name="Анна")
    await onboard(member, org="karaganda")
    await send_appeal(member, "pay", "Вопрос через бот.")
    await make_lawyer(admin, lawyer)
    await log(lawyer, "written", summary="Письмо о зарплате", name="Айгерим", contact="+7701")
    logged = (await latest(ctx)).id
    await log(lawyer, "oral", name="Нурлан")  # still open, but not idle for long
    await lawyer.press(f"oc:open:{logged}:")
    await lawyer.press(f"oc:save:{logged}:")
    months = ctx.settings.appeal_text_retention_months
    async with ctx.session_factory() as session:
        row = await session.get_one(Appeal, logged)
        row.closed_at = months_before(utcnow(), months + 1)
        row.created_at = row.closed_at - timedelta(days=2)
        await session.commit()
    purged = await retention_job(ctx)
    assert purged.people == 1 and purged.closed == 1
    async with ctx.session_factory() as session:
        row = await session.get_one(Appeal, logged)
        gone = await session.get_one(Member, row.member_id)
        assert row.text is None and gone.full_name is None and gone.username is None
        names = set(await session.scalars(select(Member.full_name)))
        assert "Нурлан" in names  # the open one keeps it
        assert "Айгерим" not in names
