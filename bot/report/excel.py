"""The report as an Excel workbook, in Kazakh and Russian side by side.

Five sheets: the summary (the legal inspection's indicators against the previous period),
by member organisation, by topic, by month, and the anonymised register of the appeals
received. openpyxl's write-only mode streams every sheet to a temporary file, so memory
stays flat however long the register is.

Privacy: on the sheet by organisation a count of 1 or 2 appeals is written "<3" (with the
figures it could be worked back from left empty), and in the register an organisation
that received fewer than 3 appeals in the period is written "<3" instead of its id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO, cast

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.faq.content import Faq
from bot.i18n import N_
from bot.report.figures import OUTCOME_KEYS, Report, change_pct
from bot.report.labels import COLUMNS, INDICATORS, MAILBOX, translate
from bot.report.period import Period
from bot.report.register import RegisterRow
from bot.topics import TOPICS, MemberOrgs

SMALL = 3  # counts below this (but above 0) are not shown: "<3"
HIDDEN = "<3"
GROUPED = "#,##0"  # money and other large whole numbers
# Excel's built-in short date (number format 14): shown in the reader's own date style.
DATE = "mm-dd-yy"
DATETIME = "yyyy-mm-dd hh:mm"
DECIMAL = "0.0"
EXCEL_ROWS = 1_048_576  # rows in a worksheet, the header included
CHUNK = 2000  # register rows written per trip to the worker thread

SHEETS = {
    "summary": N_("Summary"),
    "region": N_("Regions"),
    "topic": N_("Topics"),
    "month": N_("Months"),
    "register": N_("Register"),
}
TITLE = N_("Members' appeals: report for the legal inspection")
PERIOD = N_("Period")
SCOPE = N_("Scope")
WHOLE_UNION = N_("The whole union")
GENERATED = N_("Generated, UTC")
THIS_PERIOD = N_("This period")
SCORE = N_("Score {score}")
DAYS = N_("{days} days")
FAQ_FAILING = N_("FAQ answers that help least")
FAQ_ANSWER = N_("FAQ answer")
NOT_HELPED = N_("Did not help")
LED_TO_APPEAL = N_("Led to an appeal")
PREVIOUS_RECEIVED = N_("Received in the previous period")
UNION_MEMBERS = N_("Union members")
PER_1000 = N_("Per 1,000 members")
BOT_MEMBERS = N_("Members using the bot")
PER_1000_BOT = N_("Per 1,000 members using the bot")
HIDDEN_NOTE = N_("<3: one or two appeals, not shown to protect the members' privacy.")

# The register's columns after the row number, in the order of RegisterRow's fields.
REGISTER_COLUMNS = (
    COLUMNS["region"],
    N_("Workplace type"),
    COLUMNS["topic"],
    N_("Channel"),
    N_("Source"),
    N_("Language"),
    N_("Date received"),
    N_("Date of the first answer"),
    N_("Date closed"),
    N_("Status"),
    N_("Days to the first answer"),
    N_("Consultation"),
    N_("Justified"),
    N_("Conciliation commission"),
    N_("Court"),
    N_("Court claim won"),
    N_("Mediation"),
    N_("Reinstated"),
    N_("Inspection"),
    N_("Outside the union's competence"),
    N_("Violations found"),
    N_("Violations remedied"),
    N_("Money returned to members, ₸"),
    N_("Economic effect, ₸"),
    N_("Rating"),
)
assert len(REGISTER_COLUMNS) + 1 == len(RegisterRow._fields)
_ORG, _DATES, _DAYS = 1, (7, 8, 9), 11
_FLAGS = range(12, 21)  # booleans, written 1 and 0 so that Excel can add them up
_AMOUNTS = (23, 24)

BOLD = Font(bold=True)


def _kk_ru(msgid: str) -> tuple[str, str]:
    return translate(msgid, "kk"), translate(msgid, "ru")


def bilingual(msgid: str) -> str:
    kk, ru = _kk_ru(msgid)
    return kk if kk == ru else f"{kk} / {ru}"


def sheet_title(key: str) -> str:
    """'Жиынтық-Сводка': Excel allows 31 characters."""
    kk, ru = _kk_ru(SHEETS[key])
    return (kk if kk == ru else f"{kk}-{ru}")[:31]


def _cell(ws: WriteOnlyWorksheet, value: Any, fmt: str | None = None, bold: bool = False) -> Cell:
    cell = WriteOnlyCell(ws, value)
    if fmt is not None:
        cell.number_format = fmt
    if bold:
        cell.font = BOLD
    return cell


def _header(ws: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Cell]:
    return [_cell(ws, value, bold=True) for value in values]


def _widths(ws: WriteOnlyWorksheet, widths: Sequence[float]) -> None:
    # Column widths must be set before the first row; the stubs miss the attribute.
    dimensions = cast(Any, ws).column_dimensions
    for index, width in enumerate(widths, start=1):
        dimensions[get_column_letter(index)].width = width


def _scope(report: Report, member_orgs: MemberOrgs, lang: str) -> str:
    if report.orgs is None:
        return translate(WHOLE_UNION, lang)
    return ", ".join(member_orgs.title(org, lang) for org in report.orgs)


def _hidden(count: int | None) -> int | str | None:
    """A count of appeals as the sheet by organisation shows it."""
    return HIDDEN if count is not None and 0 < count < SMALL else count


def register_header() -> list[str]:
    """The register's column names as the sheet shows them."""
    return ["№", *(bilingual(msgid) for msgid in REGISTER_COLUMNS)]


# --- Summary ----------------------------------------------------------------------------


NAMES = {key: msgid for _, key, msgid in INDICATORS}


def _faq_title(faq: Faq | None, node_id: str, lang: str) -> str | None:
    node = faq.get(node_id) if faq is not None else None
    return node.title_in(lang) if node is not None else None


def _summary(wb: Workbook, report: Report, member_orgs: MemberOrgs, faq: Faq | None) -> None:
    ws = wb.create_sheet(sheet_title("summary"))
    _widths(ws, (6, 48, 48, 16, 16, 12))
    cur, prev = report.current, report.previous

    def period_row(msgid: str, period: Period) -> list[Any]:
        kk, ru = _kk_ru(msgid)
        return ["", kk, ru, _cell(ws, period.first, DATE), _cell(ws, period.last, DATE)]

    title_kk, title_ru = _kk_ru(TITLE)
    ws.append(["", _cell(ws, title_kk, bold=True), _cell(ws, title_ru, bold=True)])
    ws.append(period_row(PERIOD, report.period))
    ws.append(period_row(COLUMNS["previous"], report.previous_period))
    ws.append(["", *_kk_ru(SCOPE), _scope(report, member_orgs, "kk")])
    ws.append(["", "", "", _scope(report, member_orgs, "ru")])
    # UTC: Excel has no time zones.
    generated = report.generated_at.replace(tzinfo=None, microsecond=0)
    ws.append(["", *_kk_ru(GENERATED), _cell(ws, generated, DATETIME)])
    ws.append([])
    indicator_kk, indicator_ru = _kk_ru(COLUMNS["indicator"])
    this, previous, change = (
        bilingual(THIS_PERIOD),
        bilingual(COLUMNS["previous"]),
        bilingual(COLUMNS["change"]),
    )
    ws.append(_header(ws, ["№", indicator_kk, indicator_ru, this, previous, change]))
    for number, key, msgid in INDICATORS:
        fmt = GROUPED if key.endswith("_kzt") else None
        ws.append(
            [
                number,
                *_kk_ru(msgid),
                _cell(ws, cur.indicators.get(key), fmt),
                _cell(ws, prev.indicators.get(key), fmt),
                report.change(key),
            ]
        )

    def section(msgid: str, rows: Iterable[tuple[str, str, Any]]) -> None:
        ws.append([])
        ws.append(_header(ws, ["", *_kk_ru(msgid), this]))
        for kk, ru, value in rows:
            ws.append(["", kk, ru, value])

    section(
        NAMES["ratings"],
        (
            (
                translate(SCORE, "kk").format(score=star),
                translate(SCORE, "ru").format(score=star),
                cur.ratings.get(star, 0),
            )
            for star in range(1, 6)
        ),
    )
    section(
        NAMES["backlog_open"],
        (
            (
                translate(DAYS, "kk").format(days=bucket),
                translate(DAYS, "ru").format(days=bucket),
                count,
            )
            for bucket, count in cur.backlog_by_age.items()
        ),
    )
    section(
        NAMES["mailbox_messages"],
        ((*_kk_ru(MAILBOX[kind]), cur.mailbox.get(kind, 0)) for kind in MAILBOX),
    )
    ws.append([])
    ws.append(_header(ws, ["", *_kk_ru(FAQ_FAILING)]))
    ws.append(
        _header(
            ws,
            ["", *_kk_ru(FAQ_ANSWER), bilingual(NOT_HELPED), bilingual(LED_TO_APPEAL), "id"],
        )
    )
    # Each answer by its title in both languages; its id last, for whoever edits the
    # content (an answer no longer in the FAQ has only its id).
    for entry in cur.faq_failing:
        node = entry["node"]
        kk, ru = _faq_title(faq, node, "kk"), _faq_title(faq, node, "ru")
        ws.append(["", kk or node, ru, entry["not_helped"], entry["led_to_appeal"], node])


# --- By organisation, topic and month ---------------------------------------------------


def _by_region(wb: Workbook, report: Report, member_orgs: MemberOrgs) -> None:
    ws = wb.create_sheet(sheet_title("region"))
    ws.freeze_panes = "D2"
    _widths(ws, (16, 36, 36, 12, 12, 14, 12, 16, 12, 12, 12, 14))
    region_kk, region_ru = _kk_ru(COLUMNS["region"])
    ws.append(
        _header(
            ws,
            [
                "id",
                region_kk,
                region_ru,
                bilingual(COLUMNS["received"]),
                bilingual(COLUMNS["considered"]),
                bilingual(PREVIOUS_RECEIVED),
                bilingual(COLUMNS["change"]),
                bilingual(NAMES["money_returned_kzt"]),
                bilingual(UNION_MEMBERS),
                bilingual(PER_1000),
                bilingual(BOT_MEMBERS),
                bilingual(PER_1000_BOT),
            ],
        )
    )
    known = [o.id for o in member_orgs.orgs]
    in_scope = [org for org in known if report.orgs is None or org in report.orgs]
    # Organisations no longer on the list whose appeals are still in the period.
    in_scope += sorted(set(report.current.by_org) - set(known))
    for org in in_scope:
        cur = report.current.by_org.get(org, {})
        received = int(cur.get("received", 0))
        previous = int(report.previous.by_org.get(org, {}).get("received", 0))
        small = 0 < received < SMALL or 0 < previous < SMALL
        union_members = member_orgs.by_id[org].members if org in member_orgs.by_id else 0
        ws.append(
            [
                org,
                member_orgs.title(org, "kk"),
                member_orgs.title(org, "ru"),
                _hidden(received),
                _hidden(int(cur.get("considered", 0))),
                _hidden(previous),
                None if small else change_pct(received, previous),
                _cell(ws, int(cur.get("money_returned_kzt", 0)), GROUPED),
                _cell(ws, union_members or None, GROUPED),
                None if 0 < received < SMALL else cur.get("per_1000_members"),
                _cell(ws, int(cur.get("bot_members", 0)), GROUPED),
                None if 0 < received < SMALL else cur.get("per_1000_bot_members"),
            ]
        )
    ws.append([])
    ws.append(["", *_kk_ru(HIDDEN_NOTE)])


def _by_topic(wb: Workbook, report: Report) -> None:
    ws = wb.create_sheet(sheet_title("topic"))
    ws.freeze_panes = "D2"
    _widths(ws, (20, 32, 32, 12, 12, 14, 12))
    topic_kk, topic_ru = _kk_ru(COLUMNS["topic"])
    ws.append(
        _header(
            ws,
            [
                "id",
                topic_kk,
                topic_ru,
                bilingual(COLUMNS["received"]),
                bilingual(COLUMNS["considered"]),
                bilingual(PREVIOUS_RECEIVED),
                bilingual(COLUMNS["change"]),
            ],
        )
    )
    retired = sorted(set(report.current.by_topic) - set(TOPICS))
    for topic in [*TOPICS, *retired]:
        kk, ru = TOPICS.get(topic, (topic, topic))
        cur = report.current.by_topic.get(topic, {})
        received = cur.get("received", 0)
        previous = report.previous.by_topic.get(topic, {}).get("received", 0)
        ws.append(
            [
                topic,
                kk,
                ru,
                received,
                cur.get("considered", 0),
                previous,
                change_pct(received, previous),
            ]
        )


def _by_month(wb: Workbook, report: Report) -> None:
    ws = wb.create_sheet(sheet_title("month"))
    ws.freeze_panes = "B2"
    keys = ["received", "considered", *OUTCOME_KEYS]
    _widths(ws, (10, *(14 for _ in keys)))
    ws.append(
        _header(
            ws,
            [
                bilingual(COLUMNS["month"]),
                bilingual(COLUMNS["received"]),
                bilingual(COLUMNS["considered"]),
                *(bilingual(NAMES[key]) for key in OUTCOME_KEYS),
            ],
        )
    )
    for month, counts in report.current.by_month.items():
        ws.append(
            [
                month,
                *(
                    _cell(ws, counts.get(key, 0), GROUPED if key.endswith("_kzt") else None)
                    for key in keys
                ),
            ]
        )


# --- Register ---------------------------------------------------------------------------


class _Register:
    """The register's sheets: a second one (and more) past Excel's million rows."""

    def __init__(self, wb: Workbook, report: Report) -> None:
        self.wb = wb
        self.shown_orgs = {
            org
            for org, counts in report.current.by_org.items()
            if counts.get("received", 0) >= SMALL
        }
        self.header = register_header()
        self.written = 0
        self.sheets = 0
        self.room = 0
        self.ws: WriteOnlyWorksheet = self._new_sheet()

    def _new_sheet(self) -> WriteOnlyWorksheet:
        self.sheets += 1
        title = sheet_title("register")
        ws: WriteOnlyWorksheet = self.wb.create_sheet(
            title if self.sheets == 1 else f"{title} {self.sheets}"
        )
        ws.freeze_panes = "A2"
        _widths(ws, (9, 16, 12, 18, 10, 9, 6, 11, 11, 11, 10, 9, *([8] * 11), 12, 12, 7))
        ws.append(_header(ws, self.header))
        self.room = EXCEL_ROWS - 1
        return ws

    def write(self, rows: Sequence[RegisterRow]) -> None:
        ws, shown, hidden = self.ws, self.shown_orgs, HIDDEN
        make_cell: Callable[..., Cell] = _cell
        for row in rows:
            if self.room == 0:
                ws = self.ws = self._new_sheet()
            values: list[Any] = list(row)
            if values[_ORG] not in shown:
                values[_ORG] = hidden
            for i in _DATES:
                if values[i] is not None:
                    values[i] = make_cell(ws, values[i], DATE)
            for i in _FLAGS:
                if values[i] is not None:
                    values[i] = int(values[i])
            for i in _AMOUNTS:
                if values[i]:
                    values[i] = make_cell(ws, values[i], GROUPED)
            ws.append(values)
            self.room -= 1
        self.written += len(rows)


def _discard(wb: Workbook) -> None:
    """Remove the temporary files of a workbook that will not be saved."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        if writer is None:
            continue
        with contextlib.suppress(Exception):
            rows = getattr(ws, "_rows", None)
            if rows is not None:
                rows.close()
            writer.close()
            writer.cleanup()


async def _in_thread(func: Callable[..., Any], *args: Any) -> None:
    """func in a worker thread; if the caller is cancelled, wait for the thread to finish
    before letting the cancellation through (the files it writes are then removed)."""
    work = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise


async def write_workbook(
    report: Report,
    rows: AsyncIterator[RegisterRow],
    out: Path | BinaryIO,
    member_orgs: MemberOrgs,
    *,
    faq: Faq | None,
) -> int:
    """Write the report and its register; returns the number of register rows written.
    `faq`: the content whose titles name the answers that help least (None: their ids).

    The rows are written in a worker thread a chunk at a time, so the event loop goes on
    serving while a long register is written."""
    wb = Workbook(write_only=True)
    try:
        _summary(wb, report, member_orgs, faq)
        _by_region(wb, report, member_orgs)
        _by_topic(wb, report)
        _by_month(wb, report)
        register = _Register(wb, report)
        chunk: list[RegisterRow] = []
        async for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                await _in_thread(register.write, chunk)
                chunk = []
        if chunk:
            await _in_thread(register.write, chunk)
        await _in_thread(wb.save, out)
    except BaseException:
        _discard(wb)
        raise
    finally:
        close = getattr(rows, "aclose", None)
        if close is not None:
            await close()  # the database cursor, when writing stopped half-way
    return register.written


async def workbook_bytes(
    report: Report, rows: AsyncIterator[RegisterRow], member_orgs: MemberOrgs, *, faq: Faq | None
) -> bytes:
    """The workbook in memory, to send as a document."""
    buffer = BytesIO()
    await write_workbook(report, rows, buffer, member_orgs, faq=faq)
    return buffer.getvalue()
