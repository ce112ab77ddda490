"""Access follows the role, at once: a role change, a revoke, new regions, a /join by
staff or ADMIN_IDS at a start send the appeals the person can no longer handle back to
their regions' queues (members and region told); the desk refuses a holder who lost
coverage; invites are hashed, listed, revocable, and not redeemable by their creator
for the admin or head-lawyer role."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import ReplyKeyboardRemove
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import back_in_queue, numbers, settle_access
from bot.clock.desk import desk_job
from bot.context import Context
from bot.handlers.admin.join import refused
from bot.handlers.shared.common import outdated
from bot.report.tally import rebuild, rows_for_check
from bot.services.appeals import Draft, create_appeal
from bot.services.desk import claim, lawyer_writes
from bot.services.members import MemberView, save_onboarding
from bot.services.outcomes import Outcome, close_appeal, reopen
from bot.services.staff import (
    Released,
    StaffView,
    change_role,
    ensure_admins,
    set_regions,
)
from bot.storage.db import create_session_factory
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import (
    Appeal,
    AppealSource,
    AppealStatus,
    Audit,
    Member,
    OutboxMessage,
    ReportTally,
    Staff,
    StaffInvite,
    StaffRole,
    WorkplaceType,
)
from tests import report_data
from tests.conftest import ADMIN_ID
from tests.databases import KINDS, database
from tests.driver import Person, buttons, texts
from tests.recording import RecordingSession
from tests.test_desk_flow import invite, make_lawyer, taken_appeal
from tests.test_member_flow import onboard, send_appeal

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Almaty"))


async def staff_id(ctx: Context, telegram_id: int) -> int:
    async with ctx.session_factory() as session:
        found = await session.scalar(select(Staff.id).where(Staff.telegram_id == telegram_id))
    assert found is not None
    return int(found)


async def appeal(ctx: Context, appeal_id: int) -> Appeal:
    async with ctx.session_factory() as session:
        return await session.get_one(Appeal, appeal_id)


async def latest_appeal(ctx: Context) -> int:
    async with ctx.session_factory() as session:
        return int(await session.scalar(select(Appeal.id).order_by(Appeal.id.desc())) or 0)


def to_chat(sent: Sequence[TelegramMethod[Any]], chat_id: int) -> list[str]:
    return [str(r.text) for r in sent if isinstance(r, SendMessage) and r.chat_id == chat_id]


def rendered(ctx: Context, lang: str, make: Callable[[], str]) -> str:
    with ctx.i18n.context(), ctx.i18n.use_locale(lang):
        return make()


async def audits(ctx: Context, action: str) -> list[Audit]:
    async with ctx.session_factory() as session:
        return list(await session.scalars(select(Audit).where(Audit.action == action)))


# --- releasing on loss of coverage ---------------------------------------------------------


async def test_revoke_sends_held_appeals_back_and_tells_member_lawyer_and_region(
    person: Callable[..., Person], ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    admin, lawyer, colleague, member = (
        person(ADMIN_ID),
        person(1000, first_name="Бақыт"),
        person(1001),
        person(1002),
    )
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Не выплатили отпускные.")
    await make_lawyer(admin, lawyer)
    await make_lawyer(admin, colleague)
    appeal_id = await latest_appeal(ctx)
    await desk_job(ctx, bot, now=MONDAY_10)  # the region was told of the new appeal
    await lawyer.press(f"desk:take:{appeal_id}:")
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lawyer.send("Пришлите, пожалуйста, приказ об отпуске.")
    assert (await appeal(ctx, appeal_id)).status == AppealStatus.ANSWERED

    await admin.send("/staff")
    sent = await admin.press(f"st:revoke:{await staff_id(ctx, 1000)}:")
    row = await appeal(ctx, appeal_id)
    assert (row.status, row.claimed_by, row.claimed_at, row.notified_at) == (
        AppealStatus.QUEUED,
        None,
        None,
        None,
    )
    told = to_chat(sent, 1002)
    assert told == [rendered(ctx, "ru", lambda: back_in_queue(appeal_id))]
    assert "Бақыт" not in told[0]  # no lawyer's name
    assert any(str(appeal_id) in t for t in to_chat(sent, 1000))  # the lawyer learns it too
    [back] = await audits(ctx, "back-to-queue")
    assert (back.appeal_id, back.staff_telegram_id, back.details["reason"]) == (
        appeal_id,
        ADMIN_ID,
        "revoke",
    )
    # The desk's clock tells the region's lawyers again; the colleague takes it.
    mark = len(recording.requests)
    await desk_job(ctx, bot, now=MONDAY_10)
    assert any(f"№ {appeal_id}" in t for t in to_chat(recording.requests[mark:], 1001))
    await colleague.press(f"desk:take:{appeal_id}:")
    assert (await appeal(ctx, appeal_id)).claimed_by == await staff_id(ctx, 1001)


async def test_new_regions_release_only_the_appeals_of_regions_taken_away(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer = person(ADMIN_ID), person(1010)
    karaganda, abai = person(1011), person(1012)
    await onboard(karaganda, lang="ru", org="karaganda")
    await onboard(abai, lang="kk", org="abai")
    await send_appeal(karaganda, "pay", "Қарағанды.")
    kept = await latest_appeal(ctx)
    await send_appeal(abai, "leave", "Абай.")
    lost = await latest_appeal(ctx)
    await make_lawyer(admin, lawyer, "karaganda abai")
    await lawyer.press(f"desk:take:{kept}:")
    await lawyer.press(f"desk:take:{lost}:")
    lawyer_id = await staff_id(ctx, 1010)

    await admin.send("/staff")
    await admin.press(f"st:pick:{lawyer_id}:")
    assert "2" in admin.last_text()  # the appeals they hold are counted before a change
    await admin.tap("🗺")
    chosen = [label for label, _ in buttons(admin.last_message()) if label.startswith("✅")]
    assert len(chosen) == 2  # the picker starts from their regions
    await admin.press(f"reg:org:{lawyer_id}:abai")  # untick Abai
    sent = await admin.press(f"reg:save:{lawyer_id}:")

    async with ctx.session_factory() as session:
        assert (await session.get_one(Staff, lawyer_id)).member_orgs == ["karaganda"]
    assert (await appeal(ctx, kept)).claimed_by == lawyer_id
    assert (await appeal(ctx, lost)).status == AppealStatus.QUEUED
    assert to_chat(sent, 1012) == [rendered(ctx, "kk", lambda: back_in_queue(lost))]
    assert not to_chat(sent, 1011)
    [change] = await audits(ctx, "change-regions")
    assert (change.details["old_orgs"], change.details["member_orgs"]) == (
        ["abai", "karaganda"],
        ["karaganda"],
    )
    # The lawyer can go on with the appeal of the region they kept.
    await lawyer.press(f"desk:reply:{kept}:")
    assert to_chat(await lawyer.send("Ответ."), 1011)


async def test_head_lawyer_keeps_appeals_press_secretary_does_not(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(1020), person(1021)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    lawyer_id = await staff_id(ctx, 1020)
    await admin.send("/staff")
    sent = await admin.press(f"st:role:{lawyer_id}:head-lawyer")  # all regions: none back
    assert (await appeal(ctx, appeal_id)).claimed_by == lawyer_id
    assert to_chat(sent, 1020) and not to_chat(sent, 1021)  # the person is told, not the member
    sent = await admin.press(f"st:role:{lawyer_id}:head-lawyer")  # the same again: nothing
    assert not to_chat(sent, 1020) and len(await audits(ctx, "change-role")) == 1
    sent = await admin.press(f"st:role:{lawyer_id}:press")
    assert (await appeal(ctx, appeal_id)).status == AppealStatus.QUEUED
    assert to_chat(sent, 1021)


async def test_a_lawyer_made_from_another_role_gets_regions_first(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, press = person(ADMIN_ID), person(1030)
    code = await invite(admin, "press")
    await press.send(f"/join {code}")
    press_id = await staff_id(ctx, 1030)
    await admin.send("/staff")
    await admin.press(f"st:role:{press_id}:lawyer")
    async with ctx.session_factory() as session:
        assert (await session.get_one(Staff, press_id)).role == StaffRole.PRESS  # not yet
    assert any(d.startswith("reg:org:") for _, d in buttons(admin.last_message()))
    sent = await admin.press(f"reg:save:{press_id}:")  # nothing chosen: refused, said why
    alert = next(r for r in sent if r.__api_method__ == "answerCallbackQuery")
    assert getattr(alert, "show_alert", False)
    await admin.press(f"reg:org:{press_id}:atyrau")
    await admin.press(f"reg:save:{press_id}:")
    async with ctx.session_factory() as session:
        row = await session.get_one(Staff, press_id)
        assert (row.role, row.member_orgs) == (StaffRole.LAWYER, ["atyrau"])
    # A picker's button for someone else, or after saving, does nothing.
    sent = await admin.press(f"reg:org:{press_id}:abai")
    assert rendered(ctx, "kk", outdated) in texts(sent)


async def test_reopened_appeal_goes_back_reopened(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(1040), person(1041)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")
    await member.press(f"rate:{appeal_id}:0")  # not solved: back to the same lawyer
    assert (await appeal(ctx, appeal_id)).status == AppealStatus.CLAIMED
    await admin.send("/staff")
    sent = await admin.press(f"st:revoke:{await staff_id(ctx, 1040)}:")
    row = await appeal(ctx, appeal_id)
    assert (row.status, row.claimed_by) == (AppealStatus.REOPENED, None)
    assert to_chat(sent, 1041)


def test_a_long_list_of_appeals_fits_in_one_message() -> None:
    many = [Released(100_000 + i, 1, "kk") for i in range(1_000)]
    listed = numbers(many)
    assert listed.startswith("№ 100000, № 100001") and listed.endswith("… +960")
    assert len(listed) < 1_000
    assert numbers(many[:2]) == "№ 100000, № 100001"


# --- the desk refuses a holder who lost coverage, whatever path took it ---------------------


async def lose_coverage(ctx: Context, telegram_id: int) -> None:
    """The holder's regions change under the desk (another process, an older admin screen):
    no release ran, so only the desk's own checks stand between them and the member."""
    async with ctx.session_factory() as session:
        await session.execute(
            update(Staff).where(Staff.telegram_id == telegram_id).values(member_orgs=["abai"])
        )
        await session.commit()
    ctx.staff_directory.invalidate()


async def test_held_appeal_refuses_a_holder_who_lost_coverage(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(1050), person(1051)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"desk:reply:{appeal_id}:")
    await lose_coverage(ctx, 1050)
    sent = await lawyer.send("Это уже не должно дойти.")
    assert not to_chat(sent, 1051)
    sent = await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")
    assert (await appeal(ctx, appeal_id)).status == AppealStatus.CLAIMED  # not closed


async def test_member_words_do_not_reach_a_holder_who_lost_coverage(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(1060), person(1061)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lose_coverage(ctx, 1060)
    await member.press(f"my:add:{appeal_id}")
    sent = await member.send("Вот приказ, там моя фамилия и школа.")
    assert not to_chat(sent, 1060)


async def test_reopen_skips_a_lawyer_who_lost_coverage(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(1070), person(1071)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lawyer.press(f"oc:sure:{appeal_id}:")
    await lawyer.press(f"oc:save:{appeal_id}:")
    await lose_coverage(ctx, 1070)
    sent = await member.press(f"rate:{appeal_id}:0")
    assert not to_chat(sent, 1070)
    row = await appeal(ctx, appeal_id)
    assert (row.status, row.claimed_by) == (AppealStatus.REOPENED, None)


# --- invites ---------------------------------------------------------------------------------


async def test_codes_are_stored_hashed_and_shown_once(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, newcomer = person(ADMIN_ID), person(1080)
    code = await invite(admin, "lawyer karaganda")
    async with ctx.session_factory() as session:
        row = await session.scalar(select(StaffInvite))
        assert row is not None and row.code_hash == hashlib.sha256(code.encode()).hexdigest()
        stored = await session.execute(text("SELECT * FROM staff_invite"))
        assert code not in repr(stored.all())
    sent = await admin.send("/invites")
    assert code not in texts(sent) and f"{row.id}" in texts(sent)
    await newcomer.send(f"/join {code}")
    async with ctx.session_factory() as session:
        joined = await session.scalar(select(Staff).where(Staff.telegram_id == 1080))
        assert joined is not None and joined.role == StaffRole.LAWYER


async def test_invites_are_listed_and_revocable(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, used_by, would_be = person(ADMIN_ID), person(1090), person(1091)
    used = await invite(admin, "press")
    await used_by.send(f"/join {used}")
    revoked = await invite(admin, "lawyer abai")
    await invite(admin, "head-lawyer")
    sent = await admin.send("/invites")
    listing = admin.last_text()
    revoke_buttons = [d for _, d in buttons(admin.last_message()) if d.startswith("inv:revoke:")]
    assert len(revoke_buttons) == 2 and listing.count("• ") == 2  # the used one is not there
    async with ctx.session_factory() as session:
        lawyer_invite = await session.scalar(
            select(StaffInvite).where(StaffInvite.role == StaffRole.LAWYER)
        )
    assert lawyer_invite is not None
    sent = await admin.press(f"inv:revoke:{lawyer_invite.id}")
    assert admin.last_text().count("• ") == 1
    sent = await would_be.send(f"/join {revoked}")
    assert "/help" not in texts(sent)
    async with ctx.session_factory() as session:
        assert await session.scalar(select(Staff).where(Staff.telegram_id == 1091)) is None
    [audit] = await audits(ctx, "revoke-invite")
    assert (audit.staff_telegram_id, audit.details["invite_id"]) == (ADMIN_ID, lawyer_invite.id)
    sent = await admin.press(f"inv:revoke:{lawyer_invite.id}")  # twice: said, nothing changes
    assert len(await audits(ctx, "revoke-invite")) == 1


@pytest.mark.parametrize("role", ["admin", "head-lawyer"])
async def test_an_admin_cannot_redeem_their_own_admin_or_head_lawyer_invite(
    person: Callable[..., Person], ctx: Context, role: str
) -> None:
    admin, second = person(ADMIN_ID), person(1100)
    code = await invite(admin, role)
    sent = await admin.send(f"/join {code}")
    assert texts(sent) == rendered(ctx, "kk", lambda: refused("own-invite"))
    async with ctx.session_factory() as session:
        row = await session.scalar(select(StaffInvite))
        assert row is not None and row.used_by is None  # still usable by someone else
    await second.send(f"/join {code}")
    async with ctx.session_factory() as session:
        joined = await session.scalar(select(Staff).where(Staff.telegram_id == 1100))
        assert joined is not None and joined.role == StaffRole(role)


async def test_an_admin_may_still_redeem_their_own_lawyer_invite(
    person: Callable[..., Person], ctx: Context
) -> None:
    """Only the admin and head-lawyer roles need a second admin."""
    admin = person(ADMIN_ID)
    code = await invite(admin, "lawyer karaganda")
    await admin.send(f"/join {code}")  # staff already: asked first
    assert any(d.startswith("join:yes:") for _, d in buttons(admin.last_message()))


async def test_join_by_staff_asks_first_and_uses_the_code_only_on_yes(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(1110), person(1111)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    code = await invite(admin, "press")
    await lawyer.send(f"/join {code}")
    first = lawyer.last_message()
    asked = first.text or ""
    with ctx.i18n.context(), ctx.i18n.use_locale("kk"):
        from bot.access import role_title

        assert role_title(StaffRole.LAWYER) in asked and role_title(StaffRole.PRESS) in asked
    async with ctx.session_factory() as session:
        row = await session.scalar(select(StaffInvite).where(StaffInvite.role == StaffRole.PRESS))
        assert row is not None and row.used_by is None  # not used up by asking
    no = next(d for _, d in buttons(first) if d.startswith("join:no:"))
    await lawyer.press(no)
    async with ctx.session_factory() as session:
        staff = await session.scalar(select(Staff).where(Staff.telegram_id == 1110))
        assert staff is not None and staff.role == StaffRole.LAWYER
    assert (await appeal(ctx, appeal_id)).status == AppealStatus.CLAIMED
    sent = await lawyer.press(no)  # used up: an old button does nothing
    assert rendered(ctx, "kk", outdated) in texts(sent)

    await lawyer.send(f"/join {code}")
    yes = next(d for _, d in buttons(lawyer.last_message()) if d.startswith("join:yes:"))
    old_yes = yes.rsplit(":", 1)[0] + ":" + "0" * 16
    sent = await lawyer.press(old_yes)  # a made-up token
    assert (await appeal(ctx, appeal_id)).status == AppealStatus.CLAIMED
    sent = await lawyer.press(yes)
    async with ctx.session_factory() as session:
        staff = await session.scalar(select(Staff).where(Staff.telegram_id == 1110))
        assert staff is not None and staff.role == StaffRole.PRESS
    row_after = await appeal(ctx, appeal_id)
    assert (row_after.status, row_after.claimed_by) == (AppealStatus.QUEUED, None)
    assert to_chat(sent, 1111) == [rendered(ctx, "ru", lambda: back_in_queue(appeal_id))]
    [joined] = [a for a in await audits(ctx, "join") if a.staff_telegram_id == 1110][-1:]
    assert (joined.details["previous_role"], joined.details["role"]) == ("lawyer", "press")


async def test_a_newcomer_joins_without_a_question(person: Callable[..., Person]) -> None:
    admin, newcomer = person(ADMIN_ID), person(1120)
    code = await invite(admin, "press")
    sent = await newcomer.send(f"/join {code}")
    assert "/help" in texts(sent)
    assert not [d for _, d in buttons(newcomer.last_message()) if d.startswith("join:")]
    # Their help: their own commands, and how to register as a member; not the members'
    # commands they cannot use yet, nor the members' keyboard.
    sent = await newcomer.send("/help")
    help_text = texts(sent)
    assert "/post" in help_text and "/start" in help_text
    assert "/ask" not in help_text and "/my:" not in help_text
    assert any(
        isinstance(r.reply_markup, ReplyKeyboardRemove) for r in sent if hasattr(r, "reply_markup")
    )
    # A word outside their commands gets the same help, not the members' onboarding;
    # /start still begins it for staff who want to be members too.
    sent = await newcomer.send("сәлем")
    assert "/post" in texts(sent) and "/start" in texts(sent)
    sent = await newcomer.send("/start")
    assert "/post" not in texts(sent)


# --- ADMIN_IDS ---------------------------------------------------------------------------


def with_admin_ids(ctx: Context, ids: list[int]) -> Context:
    return dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"admin_ids": ids}))


async def test_removing_an_id_from_admin_ids_ends_its_admin_role_at_the_next_start(
    person: Callable[..., Person], ctx: Context
) -> None:
    await settle_access(with_admin_ids(ctx, [ADMIN_ID, 1200]))
    # An admin made by an invite of the first admin: ADMIN_IDS never applies to them.
    code = await invite(person(ADMIN_ID), "admin")
    await person(1201).send(f"/join {code}")

    ended = await settle_access(with_admin_ids(ctx, [ADMIN_ID]))
    assert list(ended) == [1200]
    async with ctx.session_factory() as session:
        roles = {
            s.telegram_id: (s.role, s.active)
            for s in await session.scalars(
                select(Staff).where(Staff.telegram_id.in_([ADMIN_ID, 1200, 1201]))
            )
        }
        notices = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == 1200))
        )
    assert roles == {
        ADMIN_ID: (StaffRole.ADMIN, True),
        1200: (StaffRole.ADMIN, False),
        1201: (StaffRole.ADMIN, True),
    }
    assert len(notices) == 1  # told, once the bot runs
    [revoked] = await audits(ctx, "revoke")
    assert (revoked.staff_telegram_id, revoked.details["reason"]) == (0, "admin-ids")
    async with ctx.session_factory() as session:  # no longer staff for the handlers
        assert await ctx.staff_directory.get(session, 1200) is None
    # Back in ADMIN_IDS: an admin again at the next start; a start changing nothing is quiet.
    assert await settle_access(with_admin_ids(ctx, [ADMIN_ID, 1200])) == {}
    assert await settle_access(with_admin_ids(ctx, [ADMIN_ID, 1200])) == {}
    async with ctx.session_factory() as session:
        back = await session.scalar(select(Staff).where(Staff.telegram_id == 1200))
        assert back is not None and back.active and back.role == StaffRole.ADMIN
    granted = [a.details["staff_id"] for a in await audits(ctx, "grant-admin")]
    assert granted.count(await staff_id(ctx, 1200)) == 2  # at each start that made them admin
    assert granted.count(await staff_id(ctx, ADMIN_ID)) == 1  # the first start only


async def test_admin_ids_take_a_lawyer_off_their_appeals(
    person: Callable[..., Person], ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    admin, lawyer, member = person(ADMIN_ID), person(1210), person(1211)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await settle_access(with_admin_ids(ctx, [ADMIN_ID, 1210]))
    row = await appeal(ctx, appeal_id)
    assert (row.status, row.claimed_by) == (AppealStatus.QUEUED, None)
    async with ctx.session_factory() as session:
        told = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == 1211)
                .order_by(OutboxMessage.id)
            )
        )
    assert told[-1].appeal_id == appeal_id and told[-1].payload["text"] == rendered(
        ctx, "ru", lambda: back_in_queue(appeal_id)
    )


async def test_a_start_settles_appeals_held_without_coverage(
    person: Callable[..., Person], ctx: Context
) -> None:
    """Held before this rule existed, or changed by hand in the database: the next start
    sends them back to the queue like any other change."""
    admin, lawyer, member = person(ADMIN_ID), person(1220), person(1221)
    appeal_id = await taken_appeal(admin, lawyer, member, ctx)
    await lose_coverage(ctx, 1220)
    await settle_access(ctx)
    row = await appeal(ctx, appeal_id)
    assert (row.status, row.claimed_by, row.notified_at) == (AppealStatus.QUEUED, None, None)
    [back] = await audits(ctx, "back-to-queue")
    assert (back.appeal_id, back.staff_telegram_id, back.details["reason"]) == (
        appeal_id,
        0,
        "stale",
    )
    async with ctx.session_factory() as session:
        told = await session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == 1221)
            .order_by(OutboxMessage.id.desc())
        )
    assert told is not None and told.appeal_id == appeal_id
    await settle_access(ctx)  # the next start has nothing left to do
    assert len(await audits(ctx, "back-to-queue")) == 1


async def test_the_desk_clock_settles_a_claim_that_raced_a_revoke(
    person: Callable[..., Person], ctx: Context, bot: Bot, recording: RecordingSession
) -> None:
    """The claim's region check read the role a moment before the revoke committed: the
    appeal is held by someone without a role. The desk's next pass sends it back and
    tells the region in the same pass."""
    admin, lawyer, colleague, member = person(ADMIN_ID), person(1230), person(1231), person(1232)
    await onboard(member, lang="ru", org="karaganda")
    await send_appeal(member, "pay", "Не выплатили отпускные.")
    appeal_id = await latest_appeal(ctx)
    await make_lawyer(admin, lawyer)
    await make_lawyer(admin, colleague)
    lawyer_id = await staff_id(ctx, 1230)
    await desk_job(ctx, bot, now=MONDAY_10)
    await admin.send("/staff")
    await admin.press(f"st:revoke:{lawyer_id}:")
    async with ctx.session_factory() as session:  # the claim that committed just after
        await session.execute(
            update(Appeal)
            .where(Appeal.id == appeal_id)
            .values(status=AppealStatus.CLAIMED, claimed_by=lawyer_id)
        )
        await session.commit()
    mark = len(recording.requests)
    await desk_job(ctx, bot, now=MONDAY_10)
    row = await appeal(ctx, appeal_id)
    assert (row.status, row.claimed_by) == (AppealStatus.QUEUED, None)
    sent = recording.requests[mark:]
    assert to_chat(sent, 1232) == [rendered(ctx, "ru", lambda: back_in_queue(appeal_id))]
    assert any(f"№ {appeal_id}" in t for t in to_chat(sent, 1231))


# --- storage: the tally and the migration ------------------------------------------------


async def _tally(session: AsyncSession) -> dict[Any, dict[str, int]]:
    return rows_for_check(await session.scalars(select(ReportTally)))


@pytest.mark.parametrize("kind", KINDS)
async def test_releases_keep_the_report_tally_exact(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            await rebuild(session, report_data.TZ)
            member = MemberView.of(
                await save_onboarding(
                    session,
                    1,
                    language="ru",
                    member_org="almaty",
                    workplace_type=WorkplaceType.SCHOOL,
                    consent=True,
                )
            )
            admin_row = Staff(telegram_id=8, role=StaffRole.ADMIN, member_orgs=[])
            lawyer_row = Staff(telegram_id=9, role=StaffRole.LAWYER, member_orgs=["almaty"])
            session.add_all([admin_row, lawyer_row])
            await session.commit()
            admin, lawyer = StaffView.of(admin_row), StaffView.of(lawyer_row)
            ids = []
            for topic in ("pay", "leave", "dismissal"):
                draft = Draft(topic=topic, text="…", source=AppealSource.DIRECT)
                created = await create_appeal(session, member, draft, full_name=None, username=None)
                ids.append(created.id)
            await session.commit()
            for appeal_id in ids:
                assert (await claim(session, lawyer, appeal_id)).won
                await session.commit()
                session.expire_all()  # each update of the bot has a session of its own
                await lawyer_writes(session, lawyer, appeal_id, text="answer", attachments=[])
                await session.commit()
                session.expire_all()
            await close_appeal(session, lawyer, ids[0], Outcome(justified=True), topic="pay")
            await session.commit()
            await reopen(session, member, ids[0])  # back to the lawyer
            await session.commit()
            session.expire_all()
            changed = await set_regions(session, admin, lawyer.id, ["abai"], known_orgs={"abai"})
            await session.commit()
            assert sorted(r.appeal_id for r in changed.released) == sorted(ids)
            statuses = {
                a.id: a.status for a in await session.scalars(select(Appeal).order_by(Appeal.id))
            }
            assert statuses == {
                ids[0]: AppealStatus.REOPENED,
                ids[1]: AppealStatus.QUEUED,
                ids[2]: AppealStatus.QUEUED,
            }
            kept = await _tally(session)
            await rebuild(session, report_data.TZ)
            await session.commit()
            assert kept == await _tally(session)
            changed = await change_role(session, admin, lawyer.id, None)  # nothing held now
            assert changed.released == []


@pytest.mark.parametrize("kind", KINDS)
async def test_migration_hashes_codes_and_marks_admins_from_admin_ids(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path, empty=True) as engine:
        await upgrade(engine, "0009")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO staff (id, telegram_id, role, member_orgs, active, created_at) "
                    "VALUES (1, 11, 'admin', '[]', true, CURRENT_TIMESTAMP), "
                    "(2, 12, 'admin', '[]', true, CURRENT_TIMESTAMP), "
                    "(3, 13, 'admin', '[]', true, CURRENT_TIMESTAMP), "
                    "(4, 14, 'lawyer', '[]', true, CURRENT_TIMESTAMP)"
                )
            )
            # 12 joined with an admin invite; 13 was made admin by another admin.
            await conn.execute(
                text(
                    "INSERT INTO audit (staff_telegram_id, action, details, at) VALUES "
                    """(12, 'join', '{"role": "admin"}', CURRENT_TIMESTAMP), """
                    """(11, 'change-role', '{"staff_id": 3, "role": "admin"}', """
                    "CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO staff_invite (code, role, member_orgs, created_by, created_at, "
                    "expires_at) VALUES ('abc123', 'press', '[]', 11, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT telegram_id, from_admin_ids FROM staff"))
            flags = {int(telegram_id): bool(flag) for telegram_id, flag in rows}
            digest = await conn.scalar(text("SELECT code_hash FROM staff_invite"))
        assert flags == {11: True, 12: False, 13: False, 14: False}
        assert digest == hashlib.sha256(b"abc123").hexdigest()
        await downgrade(engine, "0009")
        async with engine.connect() as conn:
            code = await conn.scalar(text("SELECT code FROM staff_invite"))
        assert code == digest[:32]  # a code nobody knows: the invite cannot be used
        await upgrade(engine)


async def test_ensure_admins_with_no_ids_ends_every_admin_ids_role(ctx: Context) -> None:
    async with ctx.session_factory() as session:
        changes = await ensure_admins(session, [])
        await session.commit()
    assert changes.revoked == [ADMIN_ID]


@pytest.mark.postgres
async def test_instances_starting_together_settle_access_once(ctx: Context, tmp_path: Path) -> None:
    """Instances of the scaled mode start at once without an id ADMIN_IDS had: one of
    them ends the role (one audit row, one notice), the others find nothing to do."""
    async with database("postgres", tmp_path) as engine:
        await upgrade(engine)
        pg = dataclasses.replace(ctx, engine=engine, session_factory=create_session_factory(engine))
        for gone in range(1300, 1306):  # a race is not lost every time: several rounds
            await settle_access(with_admin_ids(pg, [ADMIN_ID, gone]))
            instances = [with_admin_ids(pg, [ADMIN_ID]) for _ in range(4)]
            ended = await asyncio.gather(*(settle_access(i) for i in instances))
            assert sorted(sorted(e) for e in ended) == [[], [], [], [gone]]
        async with pg.session_factory() as session:
            revokes = list(await session.scalars(select(Audit).where(Audit.action == "revoke")))
            notices = list(await session.scalars(select(OutboxMessage)))
        assert len(revokes) == len(notices) == 6


async def test_staff_who_are_not_members_change_their_language_without_registering(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, newcomer = person(ADMIN_ID), person(1121, language_code="en")
    code = await invite(admin, "lawyer karaganda")
    await newcomer.send(f"/join {code}")
    await newcomer.send("/help")
    assert "Сіздің командаларыңыз" in newcomer.last_text()  # Kazakh: its Telegram is English
    await newcomer.send("/lang")
    await newcomer.press("lang:ru")
    assert "русский" in newcomer.last_text().lower()
    await newcomer.send("/help")
    assert "/queue" in newcomer.last_text() and "Ваши команды" in newcomer.last_text()
    async with ctx.session_factory() as session:
        row = await session.scalar(select(Staff).where(Staff.telegram_id == 1121))
        member = await session.scalar(select(Member).where(Member.telegram_id == 1121))
    assert row is not None and row.language == "ru"
    assert member is None or member.member_org is None  # not registered as a member
