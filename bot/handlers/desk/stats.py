"""/stats: the legal inspection's report in Telegram: a summary, a chart and an Excel file."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.callbacks import StatsCb
from bot.faq.content import Faq
from bot.filters import WORDS, HasRole
from bot.handlers.shared.common import outdated as _outdated
from bot.handlers.shared.common import reader_language as _lang
from bot.handlers.shared.states import StatsDates
from bot.i18n import N_, fmt_date, fmt_number
from bot.report.access import ALL, READERS, ScopeRefused, resolve_scope, scope_choices
from bot.report.figures import Report, build_report
from bot.report.labels import INDICATORS
from bot.report.period import Period, PeriodError, parse_local_day, presets
from bot.services.members import MemberView
from bot.services.staff import StaffView, audit
from bot.topics import MemberOrgs

router = Router(name=__name__)
router.message.filter(HasRole(*READERS))
router.callback_query.filter(HasRole(*READERS))
log = logging.getLogger(__name__)

# Telegram takes files up to 50 MB from bots, and openpyxl writes 2,000-3,000 register rows
# a second (in a worker thread, but holding the GIL): larger registers come from the
# command line.
TELEGRAM_REGISTER_LIMIT = 20_000

PRESET_LABELS = {
    "this-month": N_("This month"),
    "last-month": N_("Last month"),
    "this-quarter": N_("This quarter"),
    "last-quarter": N_("Last quarter"),
    "this-year": N_("This year"),
    "last-year": N_("Last year"),
}
# The summary's lines: the inspection's main indicators, then what only the bot knows.
SUMMARY_KEYS = (
    "appeals_received",
    "appeals_considered",
    "consultations",
    "found_justified",
    "conciliation_commission",
    "court_cases",
    "court_claims_won",
    "reinstated",
    "inspections",
    "violations_found",
    "money_returned_kzt",
    "economic_effect_kzt",
)
BOT_KEYS = (
    "self_service_answers",
    "median_first_answer_hours",
    "p90_first_answer_hours",
    "sla_breaches",
    "backlog_open",
    "satisfaction_avg",
    "mailbox_messages",
)
DATE_RE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2}")
LABELS = {key: msgid for _number, key, msgid in INDICATORS}


@router.message(Command("stats"))
async def cmd_stats(message: Message, state: FSMContext, tz: ZoneInfo) -> None:
    await state.clear()
    today = datetime.now(tz).date()
    builder = kb.InlineKeyboard()
    for code, period in presets(today):
        builder.button(
            text=_(PRESET_LABELS[code]),
            callback_data=StatsCb(action="period", period=period.code()),
        )
    builder.button(text=_("📅 Other dates…"), callback_data=StatsCb(action="dates"))
    builder.adjust(2)
    await message.answer(
        _("<b>Legal inspection report</b>\nChoose the period:"),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(StatsCb.filter(F.action == "dates"))
async def on_other_dates(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(StatsDates.dates)
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Type the first and the last day of the period, for example: 01.09.2025 31.12.2025")
        )
    await query.answer()


@router.message(StateFilter(StatsDates.dates), WORDS)
async def on_dates_typed(
    message: Message,
    state: FSMContext,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    days = DATE_RE.findall(message.text or "")
    try:
        if len(days) != 2:
            raise PeriodError("two dates expected")
        period = Period(parse_local_day(days[0]), parse_local_day(days[1]))
        period = Period.from_code(period.code())  # the same limits as a button
    except PeriodError:
        await message.answer(
            _(
                "I could not read two dates. Please type the first and the last day, "
                "for example: 01.09.2025 31.12.2025"
            )
        )
        return
    await state.clear()
    text, markup = _scope_screen(period, staff, orgs, _lang(member, i18n))
    await message.answer(text, reply_markup=markup)


def _period_text(period: Period, lang: str) -> str:
    return f"{fmt_date(period.first, lang)} – {fmt_date(period.last, lang)}"


def _scope_screen(period: Period, staff: StaffView, orgs: MemberOrgs, lang: str) -> Any:
    builder = kb.InlineKeyboard()
    for scope in scope_choices(staff, orgs):
        if scope == ALL:
            label = (
                _("🇰🇿 Whole union")
                if resolve_scope(staff, ALL, orgs) is None
                else _("All my regions")
            )
        else:
            label = orgs.title(scope, lang)
        builder.button(
            text=label, callback_data=StatsCb(action="go", period=period.code(), scope=scope)
        )
    builder.adjust(1, 2)
    text = _("<b>Legal inspection report</b>\nPeriod: {period}\nChoose the scope:").format(
        period=_period_text(period, lang)
    )
    return text, builder.as_markup()


@router.callback_query(StatsCb.filter(F.action == "period"))
async def on_period(
    query: CallbackQuery,
    callback_data: StatsCb,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
) -> None:
    try:
        period = Period.from_code(callback_data.period)
    except PeriodError:
        await query.answer(_outdated(), show_alert=True)
        return
    text, markup = _scope_screen(period, staff, orgs, _lang(member, i18n))
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


@router.callback_query(StatsCb.filter(F.action == "go"))
async def on_go(
    query: CallbackQuery,
    callback_data: StatsCb,
    session: AsyncSession,
    staff: StaffView,
    orgs: MemberOrgs,
    member: MemberView | None,
    i18n: I18n,
    tz: ZoneInfo,
    faq: Faq,
) -> None:
    try:
        period = Period.from_code(callback_data.period)
        scope = resolve_scope(staff, callback_data.scope, orgs)
    except (PeriodError, ScopeRefused):
        await query.answer(_outdated(), show_alert=True)
        return
    if not isinstance(query.message, Message):
        await query.answer()
        return
    message = query.message
    lang = _lang(member, i18n)
    await query.answer(_("Preparing the report…"))
    await message.edit_text(_("⏳ Preparing the report…"), reply_markup=None)
    report = await build_report(session, period, orgs=scope, tz=tz, member_orgs=orgs)
    await audit(
        session,
        staff.telegram_id,
        "report",
        period=period.as_json(),
        orgs=list(scope) if scope is not None else None,
        # The anonymised appeal register goes with it (one row per appeal received).
        register_rows=_register_size(report),
    )
    await session.commit()
    await message.edit_text(summary_text(report, lang, orgs, faq))
    await _send_chart(message, report, lang, orgs)
    await _send_workbook(message, session, report, tz, orgs, faq)


async def _send_chart(message: Message, report: Report, lang: str, orgs: MemberOrgs) -> None:
    from bot.report.chart import render_chart

    png = await asyncio.to_thread(render_chart, report, lang, orgs)
    await message.answer_photo(BufferedInputFile(png, filename="report.png"))


def _register_size(report: Report) -> int:
    """Rows of the appeal register the Excel file carries (0: too many for Telegram)."""
    received = int(report.current.indicators["appeals_received"])
    return received if received <= TELEGRAM_REGISTER_LIMIT else 0


async def _send_workbook(
    message: Message,
    session: AsyncSession,
    report: Report,
    tz: ZoneInfo,
    orgs: MemberOrgs,
    faq: Faq,
) -> None:
    from bot.report.excel import workbook_bytes
    from bot.report.register import register_rows

    received = int(report.current.indicators["appeals_received"])
    rows: AsyncIterator[Any]
    if received <= TELEGRAM_REGISTER_LIMIT:
        rows = register_rows(session, report.period, report.orgs, tz)
        note = None
    else:
        rows = _nothing()
        note = _(
            "The appeal register has {count} rows, too many for Telegram: the file holds "
            "the tables only. The full register: python -m bot stats --format xlsx."
        ).format(count=received)
    data = await workbook_bytes(report, rows, orgs, faq=faq)
    name = f"qorgau-report-{report.period.first}-{report.period.last}.xlsx"
    await message.answer_document(BufferedInputFile(data, filename=name), caption=note)


async def _nothing() -> AsyncIterator[Any]:
    return
    yield  # an empty async generator


def _change(value: float | None, lang: str) -> str:
    if value is None:
        return ""
    return ", " + format_decimal(value, format="+#,##0.0;-#,##0.0", locale=lang) + " %"


def _value(value: Any, lang: str) -> str:
    return "—" if value is None else fmt_number(value, lang)


def summary_text(report: Report, lang: str, orgs: MemberOrgs, faq: Faq | None = None) -> str:
    """A short summary: 'Appeals considered: 717 (547), +31.1 %'."""
    cur, prev = report.current.indicators, report.previous.indicators
    if report.orgs is None:
        scope = _("whole union")
    else:
        scope = ", ".join(orgs.title(org, lang) for org in report.orgs)

    def line(key: str) -> str:
        value, previous = _value(cur[key], lang), _value(prev[key], lang)
        change = _change(report.change(key), lang)
        return f"{_(LABELS[key])}: <b>{value}</b> ({previous}){change}"

    head = _(
        "<b>Legal inspection report</b>\n{period}, {scope}\n"
        "In brackets: {previous} (the previous period)."
    ).format(
        period=_period_text(report.period, lang),
        scope=scope,
        previous=_period_text(report.previous_period, lang),
    )

    def channels() -> str:
        """The report's line 2: how the appeals received came."""
        keys = ("appeals_written", "appeals_oral", "appeals_electronic")
        return _("of them written / oral / electronic: <b>{values}</b> ({previous})").format(
            values=" / ".join(_value(cur[k], lang) for k in keys),
            previous=" / ".join(_value(prev[k], lang) for k in keys),
        )

    lines = [line(k) for k in SUMMARY_KEYS]
    lines.insert(SUMMARY_KEYS.index("appeals_received") + 1, channels())
    parts = [head, "", *lines, "", _("<b>What the bot measures</b>")]
    parts += [line(k) for k in BOT_KEYS]
    failing = [f for f in report.current.faq_failing if faq is None or f["node"] in faq.nodes]
    if failing:
        parts += ["", _("<b>FAQ answers that help least</b> (did not help / appeals after)")]
        for entry in failing[:3]:
            node = faq.nodes[entry["node"]] if faq is not None else None
            title = escape(node.title_in(lang)) if node is not None else entry["node"]
            parts.append(f"• {title}: {entry['not_helped']} / {entry['led_to_appeal']}")
    parts += ["", _("The chart and the Excel file follow.")]
    return "\n".join(parts)
