"""Personal data: /mydata, /forget and the retention clock, through the production
Dispatcher on SQLite and PostgreSQL; the legal inspection's report does not move."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage
from aiogram.types import BufferedInputFile, PollAnswer, User
from sqlalchemy import select

from bot.app import create_bot, create_dispatcher
from bot.clock.retention import NOTE_RETAINED, retention_job
from bot.context import Context, build_context
from bot.handlers.member.privacy import delivered_copies, forget_text
from bot.outbox import Outbox
from bot.report.figures import build_report
from bot.report.period import Period
from bot.services.appeals import Draft, add_member_message, create_appeal
from bot.services.desk import claim, lawyer_writes
from bot.services.members import MemberView, save_onboarding
from bot.services.outcomes import Outcome, close_appeal, rate
from bot.services.privacy import Purged, export_member, months_before
from bot.services.staff import StaffView, ensure_admins
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import (
    Appeal,
    AppealMessage,
    AppealSource,
    AppealStatus,
    Audit,
    Base,
    Broadcast,
    Delivery,
    DeliveryStatus,
    FaqEvent,
    Feedback,
    FeedbackKind,
    FsmRecord,
    Member,
    MessageSide,
    PostStatus,
    Staff,
    StaffRole,
    SurveyAnswer,
    WorkplaceType,
)
from bot.storage.writer import SqliteWriter
from tests.conftest import ADMIN_ID, make_settings
from tests.databases import KINDS, database
from tests.driver import Person, buttons, texts
from tests.recording import RecordingSession
from tests.test_desk_flow import make_lawyer
from tests.test_member_flow import onboard, send_appeal

TZ = ZoneInfo("Asia/Almaty")
MEMBER_ID, OTHER_ID, LAWYER_ID = 901, 902, 905
NOW = datetime(2027, 1, 1, tzinfo=UTC)  # "generated at" of the reports compared
OUTDATED = "устарел"

# What the member wrote or sent, and what was written to them: none of it may survive.
APPEAL_TEXT = "Секретный текст обращения про зарплату Ерлана."
OPEN_TEXT = "Второе обращение, ещё открытое: директор не даёт отпуск."
LAWYER_TEXT = "Ответ юриста: пришлите, пожалуйста, приказ."
MEMBER_MORE = "Моё дополнение: приказ № 17 от марта."
NOTE_TEXT = "Заметка юриста про Ерлана из школы № 5."
COMMENT = "Комментарий к оценке: всё понятно."
SIGNED = "Подписанное письмо в почтовый ящик."
ANONYMOUS = "Анонимное письмо в почтовый ящик."
DRAFT = "Недописанный черновик третьего обращения."
FILES = ("PHOTO-ERLAN-1", "DOC-ERLAN-2", "DOC-LAWYER-3")
NAME, USERNAME = "Ерлан Секретов", "erlan_secret"
OTHERS_TEXT = "Чужое обращение другого учителя."
SECRETS = (
    APPEAL_TEXT,
    OPEN_TEXT,
    LAWYER_TEXT,
    MEMBER_MORE,
    NOTE_TEXT,
    COMMENT,
    SIGNED,
    DRAFT,
    *FILES,
    NAME,
    USERNAME,
    "POLL-901",
)


@asynccontextmanager
async def bot_on(
    kind: str, tmp_path: Path
) -> AsyncIterator[tuple[Context, Callable[..., Person], RecordingSession]]:
    """The production Dispatcher on a fresh database of that kind."""
    async with database(kind, tmp_path) as engine:
        context = build_context(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
        await context.close()
        context.engine = engine
        context.session_factory = create_session_factory(engine)
        context.writer = SqliteWriter.for_url(engine.url.render_as_string(hide_password=False))
        context.outbox = Outbox(context.session_factory, context.i18n, context.owner)
        await upgrade(engine)
        async with context.session_factory() as session:
            await ensure_admins(session, [ADMIN_ID])
            await session.commit()
        dp = create_dispatcher(context)
        recording = RecordingSession()
        bot = create_bot(context.settings, session=recording)  # type: ignore[arg-type]

        def make(user_id: int, **kwargs: Any) -> Person:
            return Person(dp, bot, recording, user_id, **kwargs)

        yield context, make, recording
        if context.writer is not None:
            await context.writer.close()


def with_username(person: Person, name: str, username: str) -> Person:
    person.user = User(
        id=person.user.id, is_bot=False, first_name=name, username=username, language_code="ru"
    )
    return person


async def latest_appeal(ctx: Context) -> int:
    async with ctx.session_factory() as session:
        return int(await session.scalar(select(Appeal.id).order_by(Appeal.id.desc())) or 0)


async def report_json(ctx: Context) -> dict[str, Any]:
    today = datetime.now(TZ).date()
    period = Period(today.replace(month=1, day=1), today + timedelta(days=1))
    async with ctx.session_factory() as session:
        report = await build_report(
            session, period, orgs=None, tz=TZ, member_orgs=ctx.orgs, now=NOW
        )
        await session.commit()
    return report.as_json()


async def member_story(ctx: Context, person: Callable[..., Person]) -> dict[str, Any]:
    """A member with everything a member can leave: a closed and rated appeal with files
    and a conversation (and a lawyer's note), an open appeal, signed and anonymous mailbox
    messages, FAQ events, a post with a survey answered, a half-written draft."""
    admin, lawyer = person(ADMIN_ID), person(LAWYER_ID, first_name="Айжан")
    member = with_username(person(MEMBER_ID), NAME, USERNAME)
    other = person(OTHER_ID)
    await onboard(member, lang="ru", org="karaganda")
    await onboard(other, lang="ru", org="karaganda")
    await send_appeal(other, "pay", OTHERS_TEXT)
    await make_lawyer(admin, lawyer)

    await member.send("/ask")
    await member.press("topic:pay")
    await member.send(APPEAL_TEXT)
    await member.send_photo(FILES[0])
    await member.send_document(FILES[1])
    await member.press("draft:files_done")
    await member.press("draft:send")
    closed_id = await latest_appeal(ctx)

    await lawyer.press(f"desk:take:{closed_id}:")
    await lawyer.press(f"desk:reply:{closed_id}:")
    await lawyer.send(LAWYER_TEXT)
    await lawyer.send_document(FILES[2])
    await lawyer.send("/mine")
    await lawyer.press(f"desk:note:{closed_id}:")
    await lawyer.send(NOTE_TEXT)
    await member.press(f"my:add:{closed_id}")
    await member.send(MEMBER_MORE)
    await member.send("/my")
    await lawyer.press(f"oc:open:{closed_id}:")
    await lawyer.press(f"oc:n:{closed_id}:money")
    await lawyer.send("25000")
    await lawyer.press(f"oc:save:{closed_id}:")
    await member.press(f"rate:{closed_id}:4")
    await member.send(COMMENT)

    await send_appeal(member, "leave", OPEN_TEXT)
    open_id = await latest_appeal(ctx)

    await member.send("/feedback")
    await member.press("fb:kind:suggestion")
    await member.send(SIGNED)
    await member.press("fb:send:signed")
    await member.send("/feedback")
    await member.press("fb:kind:complaint")
    await member.send(ANONYMOUS)
    await member.press("fb:send:anonymous")

    answer = ctx.faq.answers[0]
    await member.press(f"faq:open:{answer.id}")
    await member.press(f"faq:yes:{answer.id}")

    async with ctx.session_factory() as session:
        row = await session.scalar(select(Member).where(Member.telegram_id == MEMBER_ID))
        assert row is not None and row.full_name == NAME and row.username == USERNAME
        post = Broadcast(
            created_by=ADMIN_ID,
            status=PostStatus.DONE,
            text_ru="Новости",
            survey={"ru": {"question": "Удобен ли бот?", "options": ["Да", "Нет"]}},
        )
        session.add(post)
        await session.flush()
        session.add(
            Delivery(
                broadcast_id=post.id,
                member_id=row.id,
                chat_id=MEMBER_ID,
                language="ru",
                member_org="karaganda",
                status=DeliveryStatus.DELIVERED,
                sent_at=datetime.now(UTC),
                poll_id="POLL-901",
            )
        )
        await session.commit()
        member_row_id = row.id
    answer_to_poll = PollAnswer(
        poll_id="POLL-901", user=member.user, option_ids=[0], option_persistent_ids=["a"]
    )
    await member.feed(poll_answer=answer_to_poll)

    await member.send("/ask")  # left half-way: the draft sits in the FSM storage
    await member.press("topic:other")
    await member.send(DRAFT)
    return {
        "member": member,
        "other": other,
        "lawyer": lawyer,
        "closed": closed_id,
        "open": open_id,
        "row": member_row_id,
    }


def document_of(sent: list[Any]) -> dict[str, Any]:
    documents = [r for r in sent if isinstance(r, SendDocument)]
    assert len(documents) == 1, texts(sent)
    file = documents[0].document
    assert isinstance(file, BufferedInputFile) and file.filename == "qorgau-mydata.json"
    return dict(json.loads(file.data.decode("utf-8")))


async def everything(ctx: Context) -> list[tuple[str, str, Any]]:
    """Every value of every column of every table: (table, column, value)."""
    out: list[tuple[str, str, Any]] = []
    async with ctx.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                out.extend((table.name, str(column), value) for column, value in row.items())
    return out


def leftovers(values: list[tuple[str, str, Any]], telegram_id: int) -> list[Any]:
    found = []
    for table, column, value in values:
        if isinstance(value, bool | datetime) or value is None:
            continue
        if isinstance(value, int):
            if value == telegram_id:
                found.append((table, column, value))
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if any(secret in text for secret in SECRETS) or f":{telegram_id}" in text:
            found.append((table, column, value))
    return found


@pytest.mark.parametrize("kind", KINDS)
async def test_mydata_then_forget_leaves_nothing_personal_and_the_report_unchanged(
    kind: str, tmp_path: Path
) -> None:
    async with bot_on(kind, tmp_path) as (ctx, person, _recording):
        story = await member_story(ctx, person)
        member: Person = story["member"]

        # /mydata: a JSON file of everything about this member, nobody else's.
        mine = document_of(await member.send("/mydata"))
        dump = json.dumps(mine, ensure_ascii=False)
        assert mine["member"]["telegram_id"] == MEMBER_ID
        assert mine["member"]["telegram_name"] == NAME
        assert mine["member"]["member_organisation"] == "karaganda"
        assert mine["member"]["consent_version"] and mine["member"]["consent_at"]
        appeals = {a["number"]: a for a in mine["appeals"]}
        assert set(appeals) == {story["closed"], story["open"]}
        closed = appeals[story["closed"]]
        assert closed["text"] == APPEAL_TEXT and closed["rating"] == 4
        assert closed["rating_comment"] == COMMENT
        assert closed["outcome"]["money_returned_kzt"] == 25000
        assert [f["file_id"] for f in closed["files"]] == list(FILES[:2])
        thread = [(m["from"], m["text"]) for m in closed["messages"]]
        assert ("lawyer", LAWYER_TEXT) in thread and ("member", MEMBER_MORE) in thread
        assert any(f["file_id"] == FILES[2] for m in closed["messages"] for f in m["files"])
        assert closed["handled_by"] == "lawyer"
        # The lawyers' notes about the member's case are personal data about the member.
        notes = closed["internal_notes"]
        assert [(n["by"], n["text"]) for n in notes] == [("lawyer", NOTE_TEXT)]
        assert notes[0]["written_at"] and appeals[story["open"]]["internal_notes"] == []
        assert str(LAWYER_ID) not in dump and "Айжан" not in dump  # lawyers by role only
        assert OTHERS_TEXT not in dump and str(OTHER_ID) not in dump
        assert [m["text"] for m in mine["mailbox"]] == [SIGNED]  # not the anonymous one
        assert mine["survey_answers"][0]["chosen"] == ["Да"]
        assert mine["post_deliveries"][0]["status"] == "delivered"
        assert {e["event"] for e in mine["faq_events"]} == {"viewed", "helped"}
        assert DRAFT in json.dumps(mine["conversation"], ensure_ascii=False)
        assert {a["action"] for a in mine["staff_access_to_your_appeals"]} >= {"open-appeal"}

        before = await report_json(ctx)
        assert before["indicators"]["appeals_received"] == 3
        assert before["indicators"]["appeals_considered"] == 1

        # /forget explains, names the open appeal, and asks.
        sent = await member.send("/forget")
        assert f"№ {story['open']}" in texts(sent)
        with ctx.i18n.context(), ctx.i18n.use_locale("ru"):
            assert delivered_copies() in texts(sent)  # Telegram's copies are out of reach
        yes = next(d for _, d in buttons(member.last_message()) if d.startswith("forget:yes:"))
        sent = await member.press("forget:yes:0123456789abcdef")  # forged: nothing happens
        assert any(isinstance(r, AnswerCallbackQuery) and r.show_alert for r in sent)
        assert OUTDATED in texts([r for r in sent if isinstance(r, AnswerCallbackQuery)])
        sent = await member.press(yes)
        assert not any(isinstance(r, AnswerCallbackQuery) and r.show_alert for r in sent)

        values = await everything(ctx)
        assert leftovers(values, MEMBER_ID) == []
        assert await report_json(ctx) == before

        async with ctx.session_factory() as session:
            row = await session.get_one(Member, story["row"])
            assert row.telegram_id < 0 and row.full_name is None and row.username is None
            assert row.consent_at is None and row.member_org == "karaganda"  # statistics
            kept = await session.get_one(Appeal, story["closed"])
            assert kept.text is None and kept.attachments == [] and kept.rating_comment is None
            assert (kept.status, kept.rating, kept.money_returned_kzt) == (
                AppealStatus.CLOSED,
                4,
                25000,
            )
            still_open = await session.get_one(Appeal, story["open"])
            assert still_open.status == AppealStatus.QUEUED and still_open.text is None
            note = await session.scalar(
                select(AppealMessage.text).where(
                    AppealMessage.appeal_id == story["open"],
                    AppealMessage.side == MessageSide.NOTE,
                )
            )
            assert note  # tells the lawyers the member cannot be reached any more
            feedback = list(await session.scalars(select(Feedback).order_by(Feedback.id)))
            assert [f.text for f in feedback] == ["", ANONYMOUS]
            assert all(f.member_id is None for f in feedback)
            assert await session.scalar(select(FaqEvent.member_id)) is None
            # Survey answers stay, linked only to the anonymised row (the privacy guide says so).
            answers = await session.execute(select(SurveyAnswer.member_id, SurveyAnswer.options))
            assert [tuple(a) for a in answers] == [(story["row"], [0])]
            assert (
                await session.scalar(select(FsmRecord.key).where(FsmRecord.key.like("%901%")))
                is None
            )
            audit = await session.scalar(select(Audit).where(Audit.action == "forget-member"))
            assert audit is not None and audit.staff_telegram_id == 0
            assert audit.details["open_appeals"] == 1 and audit.details["appeals"] == 2
            # The other member's appeal is untouched.
            theirs = await session.scalar(select(Appeal.text).where(Appeal.text == OTHERS_TEXT))
            assert theirs == OTHERS_TEXT
            assert await ctx.member_directory.get(session, MEMBER_ID) is None

        # A new user now: nothing stored, and /start begins onboarding.
        sent = await member.send("/mydata")
        assert not [r for r in sent if isinstance(r, SendDocument)]
        sent = await member.send("/start")
        assert "Выберите язык бота" in texts(sent)
        # The stale confirmation does nothing.
        sent = await member.press(yes)
        assert OUTDATED in texts([r for r in sent if isinstance(r, AnswerCallbackQuery)])


def test_readme_and_the_confirmation_say_what_forget_keeps(ctx: Context) -> None:
    """What the code keeps (the test above): survey answers. The privacy guide's /forget
    paragraph and the confirmation must list them among what stays, not what goes."""
    guide = Path(__file__).resolve().parent.parent / "docs" / "privacy.md"
    readme = guide.read_text(encoding="utf-8")
    paragraph = readme.split("- `/forget`", 1)[1].split("\n- ", 1)[0]
    erased, kept = paragraph.split("It keeps", 1)
    with ctx.i18n.context(), ctx.i18n.use_locale("en"):  # the English source texts
        confirmation = forget_text([])
        copies = delivered_copies()
    goes, stays = confirmation.split("Kept without", 1)
    assert "survey answers" in kept and "survey answers" not in erased
    assert "survey answers" in stays and "survey answers" not in goes
    assert copies in stays and "cannot be deleted by the bot" in " ".join(paragraph.split())


async def test_cancel_and_stale_buttons_change_nothing(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(920)
    await onboard(member, lang="ru")
    await send_appeal(member, "pay", APPEAL_TEXT)
    before = await everything(ctx)

    await member.send("/forget")
    first = dict((d.split(":")[1], d) for _, d in buttons(member.last_message()))
    sent = await member.press(first["no"])
    assert not any(isinstance(r, AnswerCallbackQuery) and r.show_alert for r in sent)
    edits = [r for r in sent if r.__api_method__ == "editMessageText"]
    assert edits  # "cancelled"
    sent = await member.press(first["yes"])  # the same /forget: used up by cancel
    assert OUTDATED in texts([r for r in sent if isinstance(r, AnswerCallbackQuery)])

    await member.send("/forget")
    second = dict((d.split(":")[1], d) for _, d in buttons(member.last_message()))
    await member.send("/forget")  # a newer one: the second's buttons are stale now
    for stale in (second["yes"], second["no"], "forget:yes:", "forget:yes:" + "0" * 16):
        sent = await member.press(stale)
        assert OUTDATED in texts([r for r in sent if isinstance(r, AnswerCallbackQuery)]), stale

    after = await everything(ctx)
    # Only the member's conversation state changed (the pending confirmation's token).
    assert [v for v in before if v[0] != "fsm_record"] == [v for v in after if v[0] != "fsm_record"]
    async with ctx.session_factory() as session:
        row = await session.scalar(select(Member).where(Member.telegram_id == 920))
        assert row is not None and row.consent_at is not None


async def test_expired_confirmation_does_nothing(
    person: Callable[..., Person], ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.handlers.member import privacy as handler

    member = person(921)
    await onboard(member, lang="ru")
    monkeypatch.setattr(handler, "CONFIRM_FOR", timedelta(seconds=-1))
    await member.send("/forget")
    yes = next(d for _, d in buttons(member.last_message()) if d.startswith("forget:yes:"))
    sent = await member.press(yes)
    assert OUTDATED in texts([r for r in sent if isinstance(r, AnswerCallbackQuery)])
    async with ctx.session_factory() as session:
        assert await session.scalar(select(Member).where(Member.telegram_id == 921)) is not None


async def test_people_who_never_registered_are_told_nothing_is_stored(
    person: Callable[..., Person],
) -> None:
    stranger = person(930)
    for command in ("/mydata", "/forget"):
        sent = await stranger.send(command)
        assert not [r for r in sent if isinstance(r, SendDocument)]
        assert len([r for r in sent if isinstance(r, SendMessage)]) == 1
        assert not buttons(stranger.last_message())


async def test_a_lawyer_who_forgets_their_member_data_stays_a_lawyer(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(940)
    await make_lawyer(admin, lawyer)
    await onboard(lawyer, lang="ru")
    await lawyer.send("/forget")
    yes = next(d for _, d in buttons(lawyer.last_message()) if d.startswith("forget:yes:"))
    await lawyer.press(yes)
    async with ctx.session_factory() as session:
        assert await session.scalar(select(Member).where(Member.telegram_id == 940)) is None
        assert await session.scalar(select(Staff).where(Staff.telegram_id == 940)) is not None
    sent = await lawyer.send("/queue")
    assert "Queue" in texts(sent) or "Кезек" in texts(sent) or "Очередь" in texts(sent)


async def test_staff_reading_personal_data_is_audited(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(960), person(961)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", APPEAL_TEXT)
    appeal_id = await latest_appeal(ctx)
    await make_lawyer(admin, lawyer)
    await lawyer.press(f"desk:card:{appeal_id}:")  # the card shows the member's name and text
    today = datetime.now(TZ).date()
    await admin.press(f"stats:go:{Period(today, today).code()}:all")  # with the register
    async with ctx.session_factory() as session:
        rows = list(await session.scalars(select(Audit).order_by(Audit.id)))
    opened = [r for r in rows if r.action == "open-appeal"]
    assert [(r.staff_telegram_id, r.appeal_id) for r in opened] == [(960, appeal_id)]
    report = [r for r in rows if r.action == "report"]
    assert [(r.staff_telegram_id, r.details["register_rows"]) for r in report] == [(ADMIN_ID, 1)]
    assert not any(APPEAL_TEXT in json.dumps(r.details, ensure_ascii=False) for r in rows)


# --- retention ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_retention_removes_texts_after_the_period_and_keeps_the_report(
    kind: str, tmp_path: Path
) -> None:
    async with bot_on(kind, tmp_path) as (ctx, _person, _recording):
        assert ctx.settings.appeal_text_retention_months == 36
        now = datetime.now(UTC)
        async with ctx.session_factory() as session:
            member = MemberView.of(
                await save_onboarding(
                    session,
                    950,
                    language="ru",
                    member_org="almaty",
                    workplace_type=WorkplaceType.SCHOOL,
                    consent=True,
                )
            )
            lawyer_row = Staff(telegram_id=951, role=StaffRole.LAWYER, member_orgs=["almaty"])
            session.add(lawyer_row)
            await session.commit()
            lawyer = StaffView.of(lawyer_row)
            ids = {}
            for months in (37, 35):
                draft = Draft(
                    topic="pay",
                    text=f"Текст обращения {months}",
                    source=AppealSource.DIRECT,
                    attachments=[{"kind": "photo", "file_id": f"F{months}", "name": None}],
                )
                created = await create_appeal(
                    session, member, draft, full_name="Имя", username=None
                )
                appeal_id = created.id
                await session.commit()
                assert (await claim(session, lawyer, appeal_id)).won
                await session.commit()
                session.expire_all()
                await add_member_message(
                    session, member, appeal_id, text=f"Сообщение {months}", attachments=[]
                )
                await lawyer_writes(
                    session,
                    lawyer,
                    appeal_id,
                    text=f"Ответ {months}",
                    attachments=[{"kind": "document", "file_id": f"L{months}", "name": "x"}],
                )
                await close_appeal(session, lawyer, appeal_id, Outcome(money_returned_kzt=9), "pay")
                await rate(session, member, appeal_id, 5, comment=f"Отзыв {months}")
                # Back in time through the ORM, so the report's tally follows.
                row = await session.get_one(Appeal, appeal_id)
                row.closed_at = months_before(now, months)
                row.created_at = row.closed_at - timedelta(days=3)
                row.first_answer_at = row.closed_at - timedelta(days=1)
                await session.commit()
                ids[months] = appeal_id
        period = Period(months_before(now, 40).astimezone(TZ).date(), now.astimezone(TZ).date())

        async def figures() -> dict[str, Any]:
            async with ctx.session_factory() as session:
                report = await build_report(
                    session, period, orgs=None, tz=TZ, member_orgs=ctx.orgs, now=NOW
                )
                await session.commit()
            return report.as_json()

        before = await figures()
        assert before["indicators"]["appeals_considered"] == 2
        assert await retention_job(ctx) == Purged(closed=1)
        assert await retention_job(ctx) == Purged()  # nothing left to do
        assert await figures() == before

        async with ctx.session_factory() as session:
            old = await session.get_one(Appeal, ids[37])
            assert (old.text, old.attachments, old.rating_comment) == (None, [], None)
            assert (old.rating, old.money_returned_kzt) == (5, 9)
            recent = await session.get_one(Appeal, ids[35])
            assert recent.text == "Текст обращения 35" and recent.rating_comment == "Отзыв 35"
            assert recent.attachments and recent.attachments[0]["file_id"] == "F35"
            messages = {
                appeal_id: [(m.text, m.attachments) for m in rows]
                for appeal_id in ids.values()
                for rows in [
                    list(
                        await session.scalars(
                            select(AppealMessage).where(AppealMessage.appeal_id == appeal_id)
                        )
                    )
                ]
            }
            assert messages[ids[37]] == [(None, []), (None, [])]
            assert ("Ответ 35", [{"kind": "document", "file_id": "L35", "name": "x"}]) in (
                messages[ids[35]]
            )
            audit = await session.scalar(select(Audit).where(Audit.action == "retention-purge"))
            assert audit is not None
            assert audit.details == {
                "appeals": 1,
                "idle_appeals": 0,
                "mailbox": 0,
                "people": 0,
                "months": 36,
            }
            assert audit.staff_telegram_id == 0
        # A year later the other one goes too.
        assert await retention_job(ctx, now=now + timedelta(days=366)) == Purged(closed=1)


@pytest.mark.parametrize("kind", KINDS)
async def test_retention_reaches_appeals_never_closed_and_the_mailbox(
    kind: str, tmp_path: Path
) -> None:
    """An appeal nobody closed loses its texts the retention period after its last
    activity and stays open with a note; a mailbox letter the period after it was sent."""
    async with bot_on(kind, tmp_path) as (ctx, person, _recording):
        now = datetime.now(UTC)

        def ago(months: int) -> datetime:
            return months_before(now, months)

        async with ctx.session_factory() as session:
            member = MemberView.of(
                await save_onboarding(
                    session,
                    970,
                    language="ru",
                    member_org="almaty",
                    workplace_type=WorkplaceType.SCHOOL,
                    consent=True,
                )
            )
            lawyer_row = Staff(telegram_id=971, role=StaffRole.LAWYER, member_orgs=["almaty"])
            session.add(lawyer_row)
            await session.commit()
            lawyer = StaffView.of(lawyer_row)

            async def appeal(label: str, created: datetime) -> int:
                draft = Draft(
                    topic="pay",
                    text=f"Обращение {label}",
                    source=AppealSource.DIRECT,
                    attachments=[{"kind": "photo", "file_id": f"F-{label}", "name": None}],
                )
                made = await create_appeal(session, member, draft, full_name="Имя", username=None)
                made.created_at = created  # through the ORM: the tally follows
                await session.commit()
                return made.id

            # Idle: taken and answered 38 months ago, nothing since.
            idle = await appeal("idle", ago(40))
            assert (await claim(session, lawyer, idle)).won
            await session.commit()
            session.expire_all()
            await lawyer_writes(
                session,
                lawyer,
                idle,
                text="Ответ idle",
                attachments=[{"kind": "document", "file_id": "L-idle", "name": "x"}],
            )
            # A note the bot left earlier (as /forget does): it stays, it is no activity.
            session.add(AppealMessage(appeal_id=idle, side=MessageSide.NOTE, text="bot note"))
            # The member wrote 35 months ago: not idle for the whole period.
            talking = await appeal("talking", ago(40))
            await add_member_message(
                session, member, talking, text="Дополнение talking", attachments=[]
            )
            # Reopened by the member 10 months ago.
            reopened = await appeal("reopened", ago(40))
            await session.flush()
            for message in await session.scalars(select(AppealMessage)):
                message.sent_at = ago(38) if message.appeal_id == idle else ago(35)
            again = await session.get_one(Appeal, reopened)
            again.status, again.reopened_at = AppealStatus.REOPENED, ago(10)
            old_letter = Feedback(
                member_org="almaty",
                kind=FeedbackKind.COMPLAINT,
                anonymous=True,
                text="Старое письмо",
                created_at=ago(37),
            )
            new_letter = Feedback(
                member_id=member.id,
                member_org="almaty",
                kind=FeedbackKind.SUGGESTION,
                text="Новое письмо",
                created_at=ago(35),
            )
            session.add_all([old_letter, new_letter])
            await session.commit()
        period = Period(ago(41).astimezone(TZ).date(), now.astimezone(TZ).date())

        async def figures() -> dict[str, Any]:
            async with ctx.session_factory() as session:
                report = await build_report(
                    session, period, orgs=None, tz=TZ, member_orgs=ctx.orgs, now=NOW
                )
                await session.commit()
            return report.as_json()

        before = await figures()
        assert await retention_job(ctx) == Purged(idle=1, mailbox=1)
        assert await retention_job(ctx) == Purged()  # its own note is no activity
        assert await figures() == before

        note = ctx.i18n.gettext(NOTE_RETAINED, locale="ru").format(months=36)
        async with ctx.session_factory() as session:
            kept = await session.get_one(Appeal, idle)
            assert (kept.text, kept.attachments, kept.status) == (None, [], AppealStatus.ANSWERED)
            thread = list(
                await session.scalars(
                    select(AppealMessage)
                    .where(AppealMessage.appeal_id == idle)
                    .order_by(AppealMessage.id)
                )
            )
            assert [(m.side, m.text, m.attachments) for m in thread[:2]] == [
                (MessageSide.LAWYER, None, []),
                (MessageSide.NOTE, "bot note", []),
            ]
            assert thread[2].side == MessageSide.NOTE and note in (thread[2].text or "")
            for untouched in (talking, reopened):
                assert (await session.get_one(Appeal, untouched)).text is not None
            assert (
                await session.scalar(
                    select(AppealMessage.text).where(AppealMessage.appeal_id == talking)
                )
                == "Дополнение talking"
            )
            letters = list(await session.scalars(select(Feedback).order_by(Feedback.id)))
            assert [f.text for f in letters] == ["", "Новое письмо"]
            # /mydata tells the member too, in the bot's own note.
            mine = await export_member(session, member.id, now=now)
            (gone,) = [a for a in mine["appeals"] if a["number"] == idle]
            assert gone["text"] is None and [m["text"] for m in gone["messages"]] == [None]
            assert [(n["by"], n["text"]) for n in gone["internal_notes"]] == [
                ("bot", "bot note"),
                ("bot", thread[2].text),
            ]
            audit = await session.scalar(select(Audit).where(Audit.action == "retention-purge"))
            assert audit is not None
            assert audit.details == {
                "appeals": 0,
                "idle_appeals": 1,
                "mailbox": 1,
                "people": 0,
                "months": 36,
            }

        # The admin sees the erased letter counted, without a text.
        sent = await person(ADMIN_ID).send("/inbox")
        assert "Новое письмо" in texts(sent) and "Старое письмо" not in texts(sent)
        assert texts(sent).count("<i>") == 1

        # A year later the letter and the appeal the member wrote to go too; the reopened
        # one (10 + 12 months) stays.
        later = await retention_job(ctx, now=now + timedelta(days=366))
        assert later == Purged(idle=1, mailbox=1)
        async with ctx.session_factory() as session:
            assert (await session.get_one(Appeal, talking)).text is None
            assert (await session.get_one(Appeal, reopened)).text == "Обращение reopened"


def test_months_before_keeps_the_day_within_the_month() -> None:
    assert months_before(datetime(2026, 5, 31, 12, tzinfo=UTC), 3) == datetime(
        2026, 2, 28, 12, tzinfo=UTC
    )
    assert months_before(datetime(2027, 3, 31, tzinfo=UTC), 37) == datetime(2024, 2, 29, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 36) == datetime(2023, 1, 15, tzinfo=UTC)
