"""Start links: an invite's link and QR code (`/start join_<code>` is `/join <code>`), the
regions' poster links (`/start org_<id>` chooses the member organisation, `/links` lists
them), and the bot's descriptions set at a start."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import segno
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendMessage, SendPhoto, SetMyCommands, TelegramMethod
from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import gettext as _
from PIL import Image
from sqlalchemy import select

from bot.commands import (
    DESCRIPTION,
    DESCRIPTION_LIMIT,
    SHORT_DESCRIPTION,
    SHORT_DESCRIPTION_LIMIT,
    STAFF_COMMANDS,
    setup_command_menus,
)
from bot.context import Context
from bot.handlers.admin.join import refused
from bot.i18n import create_i18n, fmt_datetime
from bot.links import JOIN, NO_PREVIEW, ORG, QR_BORDER, QR_ERROR, QR_SCALE, fits, start_link
from bot.storage.models import Audit, Member, Staff, StaffInvite, StaffRole
from bot.topics import MemberOrgs, default_member_orgs
from tests.conftest import ADMIN_ID, TOKEN
from tests.driver import Person, buttons, texts
from tests.fake_bot_api import FakeBotAPI
from tests.recording import BOT_USER
from tests.test_access import rendered
from tests.test_desk_flow import invite
from tests.test_member_flow import onboard

PNG = b"\x89PNG\r\n\x1a\n"
LINK = f"https://t.me/{BOT_USER.username}?start="
UNKNOWN_COMMAND = {
    "kk": "Белгісіз команда",
    "ru": "Неизвестная команда",
}


def said(sent: list[TelegramMethod[Any]]) -> str:
    """The texts of the messages sent (not of other requests, such as getMe)."""
    return texts([r for r in sent if isinstance(r, SendMessage)])


def photos(sent: list[TelegramMethod[Any]]) -> list[SendPhoto]:
    return [r for r in sent if isinstance(r, SendPhoto)]


def png_of(photo: SendPhoto) -> bytes:
    assert isinstance(photo.photo, BufferedInputFile)
    return photo.photo.data


def qr_modules(png: bytes) -> list[list[int]]:
    """The dark (1) and light (0) modules of a QR code PNG made at QR_SCALE and QR_BORDER."""
    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.width // QR_SCALE - 2 * QR_BORDER
    assert image.width == image.height == (size + 2 * QR_BORDER) * QR_SCALE
    middle = QR_SCALE // 2
    pixels = image.tobytes()  # one byte a pixel, row by row: 0 (black) to 255 (white)

    def dark(x: int, y: int) -> int:
        column, row = (QR_BORDER + x) * QR_SCALE + middle, (QR_BORDER + y) * QR_SCALE + middle
        return int(pixels[row * image.width + column] < 128)

    return [[dark(x, y) for x in range(size)] for y in range(size)]


def encodes(png: bytes, link: str) -> bool:
    """Whether the PNG is the QR code of exactly this link."""
    expected = segno.make(link, error=QR_ERROR, micro=False).matrix
    return qr_modules(png) == [list(row) for row in expected]


def code_of(text: str) -> str:
    return text.split("/join ", 1)[1].split("<", 1)[0].split(maxsplit=1)[0]


async def staff_row(ctx: Context, telegram_id: int) -> Staff | None:
    async with ctx.session_factory() as session:
        return await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))


async def joins(ctx: Context) -> list[Audit]:
    async with ctx.session_factory() as session:
        return list(
            await session.scalars(select(Audit).where(Audit.action == "join").order_by(Audit.id))
        )


async def member_org(ctx: Context, telegram_id: int) -> str | None:
    async with ctx.session_factory() as session:
        return await session.scalar(
            select(Member.member_org).where(Member.telegram_id == telegram_id)
        )


# --- the invite's link and QR code -----------------------------------------------------------


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_invite_gives_its_start_link_and_a_qr_photo(
    person: Callable[..., Person], ctx: Context, lang: str
) -> None:
    admin = person(ADMIN_ID, language_code=lang)
    sent = await admin.send("/invite lawyer karaganda")
    code = code_of(said(sent))
    link = LINK + JOIN + code
    assert fits(JOIN + code)
    [message] = [r for r in sent if isinstance(r, SendMessage)]
    assert link in message.text
    assert message.link_preview_options == NO_PREVIEW
    [photo] = photos(sent)
    png = png_of(photo)
    assert png.startswith(PNG) and encodes(png, link)
    async with ctx.session_factory() as session:
        invite_row = await session.scalar(select(StaffInvite))
    assert invite_row is not None
    caption = str(photo.caption)
    with ctx.i18n.context(), ctx.i18n.use_locale(lang):
        until = fmt_datetime(invite_row.expires_at, lang, ZoneInfo(ctx.settings.timezone))
    assert until in caption
    assert ("личное" in caption) == (lang == "ru") and ("жеке" in caption) == (lang == "kk")
    assert code not in caption  # the code itself is in the link, shown once in the text


async def test_invite_codes_and_organisation_ids_fit_a_start_payload() -> None:
    for org in default_member_orgs().orgs:
        assert fits(ORG + org.id)
    assert not fits("join_" + "x" * 60) and not fits("join_a.b") and not fits("")
    with pytest.raises(ValueError):
        start_link("qorgau_bot", "org_" + "x" * 61)
    with pytest.raises(ValueError, match="Latin"):
        MemberOrgs.load(_yaml("- {id: 'north kz', kk: a, ru: b}\n"))


def _yaml(text: str) -> Any:
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "orgs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- /start join_<code> is /join <code> ----------------------------------------------------


async def test_the_start_link_joins_exactly_as_join_does(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, by_command, by_link = person(ADMIN_ID), person(1300), person(1301)
    first = await invite(admin, "lawyer karaganda kostanay")
    second = await invite(admin, "lawyer karaganda kostanay")
    said_command = said(await by_command.send(f"/join {first}"))
    sent = await by_link.send(f"/start {JOIN}{second}")
    said_link = said(sent)
    assert said_link == said_command
    assert any(
        isinstance(r, SetMyCommands) and getattr(r.scope, "chat_id", None) == 1301 for r in sent
    )  # the role's command menu, as at /join
    command_staff, link_staff = await staff_row(ctx, 1300), await staff_row(ctx, 1301)
    assert command_staff is not None and link_staff is not None
    assert (link_staff.role, link_staff.member_orgs, link_staff.language) == (
        command_staff.role,
        command_staff.member_orgs,
        command_staff.language,
    )
    assert link_staff.role == StaffRole.LAWYER
    by_command_audit, by_link_audit = await joins(ctx)
    assert by_link_audit.staff_telegram_id == 1301
    assert {k: v for k, v in by_link_audit.details.items() if k != "invite_id"} == {
        k: v for k, v in by_command_audit.details.items() if k != "invite_id"
    }
    async with ctx.session_factory() as session:
        used = {row.used_by for row in await session.scalars(select(StaffInvite)) if row.used_by}
    assert used == {1300, 1301}
    assert "/help" in said_link  # the welcome of /join


async def test_staff_opening_an_invite_link_are_asked_first_as_with_join(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin, press = person(ADMIN_ID), person(1310)
    await press.send(f"/join {await invite(admin, 'press')}")
    code = await invite(admin, "lawyer abai")
    await press.send(f"/start {JOIN}{code}")
    assert any(d.startswith("join:yes:") for _, d in buttons(press.last_message()))
    staff = await staff_row(ctx, 1310)
    assert staff is not None and staff.role == StaffRole.PRESS  # not before they say yes
    yes = next(d for _, d in buttons(press.last_message()) if d.startswith("join:yes:"))
    await press.press(yes)
    staff = await staff_row(ctx, 1310)
    assert staff is not None and (staff.role, staff.member_orgs) == (StaffRole.LAWYER, ["abai"])


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_forged_and_used_invite_links_are_refused_in_the_reader_s_language(
    person: Callable[..., Person], ctx: Context, lang: str
) -> None:
    admin, joined, other = person(ADMIN_ID), person(1320), person(1321, language_code=lang)
    code = await invite(admin, "press")
    await joined.send(f"/start {JOIN}{code}")
    bad = rendered(ctx, lang, lambda: refused("bad-code"))
    for payload in (
        f"{JOIN}{code}",  # used
        f"{JOIN}AAAAAAAAAAAA",  # forged
        JOIN,  # cut short
        JOIN + "ы" * 5000,  # no such link, and far too long
        f"{JOIN}{code[:-1]}",  # one character lost
    ):
        sent = await other.send(f"/start {payload}")
        assert said(sent) == bad, payload
    assert await staff_row(ctx, 1321) is None
    assert len(await joins(ctx)) == 1


async def test_an_admin_s_own_admin_invite_link_is_refused(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin = person(ADMIN_ID, language_code="ru")
    code = await invite(admin, "admin")
    sent = await admin.send(f"/start {JOIN}{code}")
    assert said(sent) == rendered(ctx, "ru", lambda: refused("own-invite"))


# --- /start org_<id> ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_a_region_s_link_chooses_the_region_and_the_member_keeps_it(
    person: Callable[..., Person], ctx: Context, lang: str
) -> None:
    member = person(1400 + (lang == "ru"), language_code=lang)
    await member.send(f"/start {ORG}kostanay")
    await member.press(f"lang:{lang}")
    shown = member.last_message()
    region = ctx.orgs.by_id["kostanay"].title(lang)
    assert region in (shown.text or "")
    assert [d for _, d in buttons(shown)] == ["org:kostanay", "org:*"]
    assert region in buttons(shown)[0][0]
    await member.press("org:kostanay")
    await member.press("wp:school")
    await member.press("consent:1")
    assert await member_org(ctx, member.user.id) == "kostanay"


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_a_member_changes_the_region_a_link_chose(
    person: Callable[..., Person], ctx: Context, lang: str
) -> None:
    member = person(1410 + (lang == "ru"), language_code=lang)
    await member.send(f"/start {ORG}kostanay")
    await member.press(f"lang:{lang}")
    await member.tap("🗺")
    listed = member.last_message()
    assert len(buttons(listed)) == len(ctx.orgs.orgs)
    assert listed.text == rendered(
        ctx, lang, lambda: _("Which member organisation (region) of the union do you belong to?")
    )
    await member.press("org:abai")
    await member.press("wp:school")
    await member.press("consent:1")
    assert await member_org(ctx, member.user.id) == "abai"


@pytest.mark.parametrize("payload", [f"{ORG}atlantis", f"{ORG}", "org_kostanay_x", "xyz"])
async def test_an_unknown_start_payload_starts_the_usual_onboarding(
    person: Callable[..., Person], ctx: Context, payload: str
) -> None:
    member = person(1420)
    await member.send(f"/start {payload}")
    await member.press("lang:ru")
    shown = member.last_message()
    assert shown.text == "В какой членской организации (регионе) профсоюза Вы состоите?"
    assert len(buttons(shown)) == len(ctx.orgs.orgs)


async def test_a_registered_member_opening_a_region_link_gets_the_menu(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(1430)
    await onboard(member, lang="ru", org="abai")
    sent = await member.send(f"/start {ORG}kostanay")
    assert "Чем могу помочь" in said(sent)
    assert await member_org(ctx, 1430) == "abai"


async def test_the_stale_another_region_button_is_outdated(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(1440)
    await onboard(member, lang="ru", org="abai")
    sent = await member.press("org:*")
    answers = [r for r in sent if r.__api_method__ == "answerCallbackQuery"]
    assert len(answers) == 1 and "устарел" in str(getattr(answers[0], "text", ""))


# --- /links ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "head-lawyer"])
async def test_links_lists_every_region_s_start_link(
    person: Callable[..., Person], ctx: Context, role: str
) -> None:
    admin = person(ADMIN_ID)
    reader = admin
    if role == "head-lawyer":
        reader = person(1500, language_code="ru")
        await reader.send(f"/join {await invite(admin, 'head-lawyer')}")
    sent = await reader.send("/links")
    text = said(sent)
    links = re.findall(re.escape(LINK) + r"org_([\w-]+)", text)
    assert links == [org.id for org in ctx.orgs.orgs]  # every region, in the list's order
    lang = "ru" if role == "head-lawyer" else "kk"
    for org in ctx.orgs.orgs:
        assert org.title(lang) in text
    assert all(r.link_preview_options == NO_PREVIEW for r in sent if isinstance(r, SendMessage))


async def test_links_for_one_region_sends_its_qr_code(
    person: Callable[..., Person], ctx: Context
) -> None:
    admin = person(ADMIN_ID, language_code="ru")
    sent = await admin.send("/links north-kz")
    [photo] = photos(sent)
    link = LINK + ORG + "north-kz"
    png = png_of(photo)
    assert png.startswith(PNG) and encodes(png, link)
    assert link in str(photo.caption) and "Северо-Казахстанская область" in str(photo.caption)


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_links_for_an_unknown_region_says_so(
    person: Callable[..., Person], ctx: Context, lang: str
) -> None:
    admin = person(ADMIN_ID, language_code=lang)
    sent = await admin.send("/links atlantis")
    assert not photos(sent)
    expected = rendered(ctx, lang, lambda: _("Unknown member organisation."))
    assert said(sent).startswith(expected) and "north-kz" in said(sent)


@pytest.mark.parametrize("role", ["member", "lawyer", "press"])
async def test_links_are_refused_to_other_roles(
    person: Callable[..., Person], ctx: Context, role: str
) -> None:
    admin, someone = person(ADMIN_ID), person(1510, language_code="ru")
    await onboard(someone, lang="ru", org="abai")
    if role != "member":
        await someone.send(
            f"/join {await invite(admin, role + (' abai' if role == 'lawyer' else ''))}"
        )
    for command in ("/links", "/links abai"):
        sent = await someone.send(command)
        assert UNKNOWN_COMMAND["ru"] in said(sent), (role, command)
        assert LINK not in said(sent) and not photos(sent)


def test_links_are_in_the_menus_of_admins_and_head_lawyers_only() -> None:
    having = {role for role, commands in STAFF_COMMANDS.items() if "links" in dict(commands)}
    assert having == {StaffRole.ADMIN, StaffRole.HEAD_LAWYER}


async def test_staff_help_lists_links(person: Callable[..., Person], ctx: Context) -> None:
    sent = await person(ADMIN_ID).send("/help")
    assert "/links" in said(sent)


# --- the bot's descriptions -------------------------------------------------------------------


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def api_bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        yield bot
    finally:
        await bot.session.close()


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_descriptions_are_translated_and_within_telegram_s_limits(lang: str) -> None:
    i18n = create_i18n()
    description = i18n.gettext(DESCRIPTION, locale=lang)
    short = i18n.gettext(SHORT_DESCRIPTION, locale=lang)
    assert description != DESCRIPTION and short != SHORT_DESCRIPTION
    assert 0 < len(description) <= DESCRIPTION_LIMIT
    assert 0 < len(short) <= SHORT_DESCRIPTION_LIMIT


async def test_descriptions_are_set_at_a_start_in_each_language(
    api: FakeBotAPI, api_bot: Bot
) -> None:
    i18n = create_i18n()
    await setup_command_menus(api_bot, i18n)
    for method, kept, msgid in (
        ("setMyDescription", api.store.descriptions, DESCRIPTION),
        ("setMyShortDescription", api.store.short_descriptions, SHORT_DESCRIPTION),
    ):
        calls = api.calls_for(method)
        assert sorted(str(c.params.get("language_code", "")) for c in calls) == ["", "kk", "ru"]
        assert all(c.ok for c in calls)
        assert kept == {
            "": i18n.gettext(msgid, locale="kk"),
            "kk": i18n.gettext(msgid, locale="kk"),
            "ru": i18n.gettext(msgid, locale="ru"),
        }
    mark = api.mark()
    await setup_command_menus(api_bot, i18n)  # the next start: nothing changed, nothing set
    assert not [
        c for c in api.calls[mark:] if c.method.startswith("setMy") and "escription" in c.method
    ]


async def test_a_telegram_error_on_a_description_does_not_stop_the_start(
    api: FakeBotAPI, api_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    api.inject(
        "setMyDescription", status=400, description="Bad Request: BOT_ABOUT_INVALID", times=-1
    )
    api.inject("getMyShortDescription", status=429, retry_after=5, times=1)
    with caplog.at_level(logging.WARNING, logger="bot.commands"):
        await setup_command_menus(api_bot, create_i18n())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4  # three descriptions, one short description
    assert sorted(api.store.short_descriptions) == ["kk", "ru"]  # the default's lookup failed
    assert api.calls_for("setMyCommands")
