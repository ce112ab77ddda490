"""/stats through the production Dispatcher: period and scope by buttons, summary, chart,
Excel; a lawyer only gets their own regions; forged buttons are refused."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl
import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendDocument, SendPhoto
from aiogram.types import BufferedInputFile
from sqlalchemy import select

from bot.context import Context
from bot.storage.models import Audit
from tests import report_data
from tests.conftest import ADMIN_ID
from tests.driver import Person, buttons, texts
from tests.test_desk_flow import make_lawyer
from tests.test_member_flow import onboard

pytestmark = pytest.mark.asyncio
MARCH = "c20250301-20250331"


def _file(request: SendPhoto | SendDocument) -> bytes:
    media = request.photo if isinstance(request, SendPhoto) else request.document
    assert isinstance(media, BufferedInputFile)
    return media.data


async def test_admin_gets_summary_chart_and_excel_in_russian(
    person: Callable[..., Person], ctx: Context
) -> None:
    await report_data.load(ctx.engine)
    admin = person(ADMIN_ID)
    await onboard(admin, lang="ru", org="almaty")
    await admin.send("/stats")
    labels = [label for label, _ in buttons(admin.last_message())]
    assert "Прошлый месяц" in labels, labels
    await admin.press(f"stats:period:{MARCH}:")
    scopes = buttons(admin.last_message())
    assert len(scopes) == 21  # the whole union and 20 organisations
    sent = await admin.press(f"stats:go:{MARCH}:all")

    summary = next(
        r.text or ""
        for r in sent
        if isinstance(r, EditMessageText) and "<b>5</b> (3)" in (r.text or "")
    )
    assert "+66,7 %" in summary  # Russian decimal comma
    assert "50 000" in summary.replace("\xa0", " ")  # money returned, grouped
    png = _file(next(r for r in sent if isinstance(r, SendPhoto)))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    document = next(r for r in sent if isinstance(r, SendDocument))
    workbook = openpyxl.load_workbook(io.BytesIO(_file(document)), read_only=True)
    assert len(workbook.sheetnames) == 5
    # The answers that help least, by their titles, in the summary and in the workbook.
    failing = ctx.faq.nodes["leave-pay-timing"]
    assert f"• {failing.title_in('ru')}: 2 / 1" in summary
    cells = {v for row in workbook.worksheets[0].iter_rows(values_only=True) for v in row}
    assert {failing.title_in("kk"), failing.title_in("ru")} <= cells
    async with ctx.session_factory() as session:
        audited = (await session.scalars(select(Audit).where(Audit.action == "report"))).all()
    assert [a.details["period"] for a in audited] == [{"from": "2025-03-01", "to": "2025-03-31"}]


async def test_lawyer_sees_only_their_region_and_forged_scopes_are_refused(
    person: Callable[..., Person], ctx: Context
) -> None:
    await report_data.load(ctx.engine)
    admin, lawyer = person(ADMIN_ID), person(700)
    await make_lawyer(admin, lawyer, orgs="astana")
    await lawyer.send("/stats")
    await lawyer.press(f"stats:period:{MARCH}:")
    assert [data for _, data in buttons(lawyer.last_message())] == [f"stats:go:{MARCH}:astana"]

    for forged in (f"stats:go:{MARCH}:all", f"stats:go:{MARCH}:almaty", "stats:go:c2025:all"):
        sent = await lawyer.press(forged)
        assert not any(isinstance(r, SendPhoto | SendDocument) for r in sent)
        alert = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
        assert alert.show_alert

    sent = await lawyer.press(f"stats:go:{MARCH}:astana")
    summary = texts(sent)
    assert "<b>2</b> (1)" in summary  # appeals 3 and 4; 8 in February
    assert any(isinstance(r, SendDocument) for r in sent)


async def test_other_dates_typed_in_kazakh(person: Callable[..., Person], ctx: Context) -> None:
    admin = person(ADMIN_ID)
    await onboard(admin, lang="kk", org="almaty")
    await admin.send("/stats")
    await admin.tap("📅")
    sent = await admin.send("32.13.2025 бірдеңе")
    assert "01.09.2025" in texts(sent)  # asked again, with an example
    await admin.send("01.03.2025 – 31.03.2025")
    assert f"stats:go:{MARCH}:all" in [d for _, d in buttons(admin.last_message())]


async def test_members_and_press_cannot_read_reports(
    person: Callable[..., Person], ctx: Context
) -> None:
    member = person(801)
    await onboard(member, lang="ru", org="almaty")
    sent = await member.send("/stats")
    assert not any(isinstance(r, SendPhoto | SendDocument) for r in sent)
    assert "stats:" not in str([buttons(member.last_message())])
    sent = await member.press(f"stats:go:{MARCH}:all")
    assert not any(isinstance(r, SendPhoto | SendDocument | EditMessageText) for r in sent)
