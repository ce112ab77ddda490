"""The report's files on the hand-built log: the Excel workbook, its anonymised register
and the PNG chart."""

from __future__ import annotations

import warnings
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.faq.content import Faq, load_faq
from bot.report.chart import render_chart
from bot.report.excel import (
    DATE,
    FAQ_ANSWER,
    FAQ_FAILING,
    GROUPED,
    HIDDEN,
    LED_TO_APPEAL,
    NOT_HELPED,
    SHEETS,
    register_header,
    sheet_title,
    workbook_bytes,
    write_workbook,
)
from bot.report.figures import Report, build_report
from bot.report.labels import INDICATORS, translate
from bot.report.period import Period
from bot.report.register import RegisterRow, register_rows
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from tests import report_data
from tests.databases import KINDS, database

MARCH = Period.month(2025, 3)
TZ = report_data.TZ
PNG = b"\x89PNG\r\n\x1a\n"
WIDTH = 30  # columns read from every sheet
FAQ = load_faq()


async def _report_and_register(
    kind: str, tmp_path: Path, period: Period, orgs: list[str] | None, faq: Faq | None = FAQ
) -> tuple[Report, list[RegisterRow], Path, int]:
    member_orgs = report_data.orgs_with_members()
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        await report_data.load(engine)
        async with create_session_factory(engine)() as session:
            report = await build_report(session, period, orgs=orgs, tz=TZ, member_orgs=member_orgs)
            rows = [row async for row in register_rows(session, period, orgs, TZ)]
            path = tmp_path / "report.xlsx"
            written = await write_workbook(
                report, register_rows(session, period, orgs, TZ), path, member_orgs, faq=faq
            )
    return report, rows, path, written


def _sheet(path: Path, key: str) -> list[tuple[Any, ...]]:
    wb = load_workbook(path, read_only=True)
    try:
        # Read-only mode drops a row's trailing empty cells: pad them back.
        rows = wb[sheet_title(key)].iter_rows(values_only=True)
        return [(*row, *([None] * (WIDTH - len(row)))) for row in rows]
    finally:
        wb.close()


def _msgid(key: str) -> str:
    return next(msgid for _, k, msgid in INDICATORS if k == key)


@pytest.mark.parametrize("kind", KINDS)
async def test_register_rows_are_the_appeals_received_without_identities(
    kind: str, tmp_path: Path
) -> None:
    _, rows, _, written = await _report_and_register(kind, tmp_path, MARCH, None)
    assert written == len(rows) == 5
    assert [row.number for row in rows] == [1, 2, 3, 4, 5]
    # Appeal 4, created at 01:00 on 1 March local time (still February in UTC), comes first.
    first = rows[0]
    assert (first.member_org, first.topic, first.channel) == ("astana", "leave", "oral")
    assert first.received == date(2025, 3, 1)
    assert (first.status, first.closed, first.rating) == ("answered", None, None)
    # Appeal 3: answered 30 hours after it came, closed on 20 March.
    third = rows[3]
    assert (third.topic, third.received, third.first_answer) == (
        "dismissal",
        date(2025, 3, 5),
        date(2025, 3, 6),
    )
    assert third.closed == date(2025, 3, 20)
    assert third.days_to_first_answer == pytest.approx(1.2, abs=0.051)
    assert (third.court, third.court_won, third.reinstated, third.justified) == (
        True,
        True,
        True,
        None,
    )
    assert (third.violations_found, third.violations_remedied) == (3, 2)
    assert rows[1].money_returned_kzt == 50_000 and rows[1].economic_effect_kzt == 60_000
    assert rows[-1].member_org == "shymkent" and rows[-1].first_answer is None
    fields = set(RegisterRow._fields)
    for personal in ("id", "member_id", "telegram_id", "text", "full_name", "username"):
        assert personal not in fields


@pytest.mark.parametrize("kind", KINDS)
async def test_workbook_sheets_and_figures(kind: str, tmp_path: Path) -> None:
    _, _, path, _ = await _report_and_register(kind, tmp_path, MARCH, None)
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == [sheet_title(key) for key in SHEETS]
    assert sheet_title("summary") == "Жиынтық-Сводка"
    wb.close()

    summary = _sheet(path, "summary")
    considered = translate(_msgid("appeals_considered"), "ru")
    row = next(r for r in summary if r[2] == considered)
    assert row[0] == "1"
    assert row[1] == translate(_msgid("appeals_considered"), "kk")
    assert (row[3], row[4], row[5]) == (4, 1, 300.0)
    money = next(r for r in summary if r[2] == translate(_msgid("money_returned_kzt"), "ru"))
    assert (money[3], money[4], money[5]) == (50_000, 10_000, 400.0)
    court = next(r for r in summary if r[2] == translate(_msgid("court_cases"), "ru"))
    assert (court[3], court[4], court[5]) == (1, 0, None)  # nothing to compare with
    per_1000 = translate(_msgid("appeals_per_1000_members"), "ru")
    assert next(r for r in summary if r[2] == per_1000)[3] is None

    regions = {r[0]: r for r in _sheet(path, "region")[1:] if r and r[0]}
    # almaty received 2 appeals in March, astana 2, shymkent 1: none is shown.
    assert regions["almaty"][3] == HIDDEN and regions["shymkent"][3] == HIDDEN
    assert regions["astana"][3] == HIDDEN
    assert regions["almaty"][6] is None  # no change that would give the counts away
    assert regions["almaty"][8] == 1000  # union members
    assert regions["abai"][3:6] == (0, 0, 0)  # no appeals: 0, nothing to hide
    assert list(regions) == [o.id for o in report_data.orgs_with_members().orgs]

    topics = {r[0]: r for r in _sheet(path, "topic")[1:]}
    assert topics["pay"][1:7] == ("Еңбекақы", "Оплата труда", 3, 3, 2, 50.0)
    assert topics["leave"][3:7] == (1, 0, 1, 0.0)
    assert topics["safety"][3:7] == (0, 0, 0, None)

    months = _sheet(path, "month")
    assert months[1][:3] == ("2025-03", 5, 4)
    header = months[0]
    court_cases = header.index(
        f"{translate(_msgid('court_cases'), 'kk')} / {translate(_msgid('court_cases'), 'ru')}"
    )
    assert months[1][court_cases] == 1


def _failing_rows(path: Path) -> list[tuple[Any, ...]]:
    """The summary's rows under "FAQ answers that help least", its two header rows first."""
    summary = _sheet(path, "summary")
    start = next(i for i, r in enumerate(summary) if r[1] == translate(FAQ_FAILING, "kk"))
    return [r for r in summary[start:] if any(v is not None for v in r)]


@pytest.mark.parametrize("kind", KINDS)
async def test_workbook_names_the_failing_answers_by_title(kind: str, tmp_path: Path) -> None:
    _, _, path, _ = await _report_and_register(kind, tmp_path, MARCH, None)
    header, *failing = _failing_rows(path)[1:]
    assert header[1:6] == (
        translate(FAQ_ANSWER, "kk"),
        translate(FAQ_ANSWER, "ru"),
        f"{translate(NOT_HELPED, 'kk')} / {translate(NOT_HELPED, 'ru')}",
        f"{translate(LED_TO_APPEAL, 'kk')} / {translate(LED_TO_APPEAL, 'ru')}",
        "id",
    )
    node = FAQ.nodes["leave-pay-timing"]
    assert failing == [
        (None, node.title_in("kk"), node.title_in("ru"), 2, 1, "leave-pay-timing")
        + (None,) * (WIDTH - 6)
    ]
    assert node.title_in("kk") != node.title_in("ru")


async def test_workbook_keeps_the_id_of_an_answer_no_longer_in_the_faq(tmp_path: Path) -> None:
    without = Faq(FAQ.topics, {k: v for k, v in FAQ.nodes.items() if k != "leave-pay-timing"})
    _, _, path, _ = await _report_and_register("sqlite", tmp_path, MARCH, None, faq=without)
    failing = _failing_rows(path)[2:]
    assert [r[1:6] for r in failing] == [("leave-pay-timing", None, 2, 1, "leave-pay-timing")]


@pytest.mark.parametrize("kind", KINDS)
async def test_register_sheet_is_anonymised(kind: str, tmp_path: Path) -> None:
    _, _, path, _ = await _report_and_register(kind, tmp_path, MARCH, None)
    register = _sheet(path, "register")
    header = register_header()
    assert register[0][: len(header)] == tuple(header)
    body = register[1:]
    assert len(body) == 5
    assert [r[0] for r in body] == [1, 2, 3, 4, 5]
    # Every organisation had fewer than 3 appeals in March.
    assert {r[1] for r in body} == {HIDDEN}
    assert body[0][7] == datetime(2025, 3, 1)  # a real date, the local day
    assert body[1][23] == 50_000
    assert body[3][12:21] == (0, None, 0, 1, 1, 0, 1, 1, 0)  # 1 and 0, empty: not assessed
    texts = {f"appeal {n}" for n in range(1, 10)}
    telegram_ids = {100 + n for n in range(1, 5)}
    wb = load_workbook(path, read_only=True)
    for ws in wb.worksheets:
        for sheet_row in ws.iter_rows(values_only=True):
            for value in sheet_row:
                assert value not in texts
                assert value not in telegram_ids
                assert value not in {str(t) for t in telegram_ids}
    # Money and dates carry their formats.
    cells = next(iter(wb[sheet_title("register")].iter_rows(min_row=3, max_row=3)))
    assert cells[23].number_format == GROUPED
    assert cells[7].number_format == DATE
    wb.close()
    header_text = " ".join(header).lower()
    for personal in ("telegram", "name", "username", "text"):
        assert personal not in header_text


@pytest.mark.parametrize("kind", KINDS)
async def test_register_shows_organisations_with_three_appeals_or_more(
    kind: str, tmp_path: Path
) -> None:
    quarter = Period.quarter(2025, 1)
    report, rows, path, written = await _report_and_register(
        kind, tmp_path, quarter, ["almaty", "shymkent"]
    )
    assert report.current.by_org["almaty"]["received"] == 5  # 1, 2, 6, 7, 9
    assert report.current.by_org["shymkent"]["received"] == 1
    body = _sheet(path, "register")[1:]
    assert written == len(body) == 6
    assert [r[1] for r in body] == [
        HIDDEN if row.member_org == "shymkent" else "almaty" for row in rows
    ]
    assert {r[1] for r in body} == {"almaty", HIDDEN}
    assert [r[7] for r in body] == sorted(r[7] for r in body)
    regions = {r[0]: r for r in _sheet(path, "region")[1:] if r and r[0]}
    assert set(regions) - {HIDDEN} == {"almaty", "shymkent"}
    assert regions["almaty"][3] == 5 and regions["shymkent"][3] == HIDDEN


async def test_workbook_bytes_for_the_telegram_handler(tmp_path: Path) -> None:
    report, rows, _, _ = await _report_and_register("sqlite", tmp_path, MARCH, None)

    async def replay() -> Any:
        for row in rows:
            yield row

    data = await workbook_bytes(report, replay(), report_data.orgs_with_members(), faq=FAQ)
    assert data[:2] == b"PK"
    wb = load_workbook(BytesIO(data), read_only=True)
    assert len(list(wb[sheet_title("register")].iter_rows())) == 6
    wb.close()


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_chart_is_a_png_of_the_expected_size(lang: str, tmp_path: Path) -> None:
    report, _, _, _ = await _report_and_register("sqlite", tmp_path, MARCH, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing Kazakh glyph would warn
        png = render_chart(report, lang, report_data.orgs_with_members())
    assert png.startswith(PNG)
    image = Image.open(BytesIO(png))
    assert image.size == (1200, 1500)
    image.verify()


async def test_chart_of_a_region_and_an_empty_period(tmp_path: Path) -> None:
    member_orgs = report_data.orgs_with_members()
    report, _, _, _ = await _report_and_register(
        "sqlite", tmp_path, Period.month(2024, 6), ["almaty", "astana"]
    )
    assert report.current.indicators["appeals_received"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_chart(report, "kk", member_orgs)
    assert Image.open(BytesIO(png)).size == (1200, 1500)
