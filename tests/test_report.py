"""The legal inspection's report: every indicator on a hand-built log, both databases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.report.figures import Report, build_report, change_pct, percentile
from bot.report.period import Period, PeriodError, parse_day
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from tests import report_data
from tests.databases import KINDS, database

MARCH = Period.month(2025, 3)


async def _report(kind: str, tmp_path: Path, period: Period, orgs: list[str] | None) -> Report:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        await report_data.load(engine)
        await report_data.load_grown_answers(engine)
        async with create_session_factory(engine)() as session:
            return await build_report(
                session,
                period,
                orgs=orgs,
                tz=report_data.TZ,
                member_orgs=report_data.orgs_with_members(),
            )


@pytest.mark.parametrize("kind", KINDS)
async def test_every_indicator_of_a_month_matches_the_hand_count(kind: str, tmp_path: Path) -> None:
    report = await _report(kind, tmp_path, MARCH, None)
    ind = report.current.indicators
    assert ind == {
        "appeals_received": 5,  # 1-5; appeal 4 was created at 01:00 on 1 March, local time
        "appeals_electronic": 3,
        "appeals_written": 1,
        "appeals_oral": 1,
        "appeals_considered": 4,  # closed in March: 1, 2, 3 and 6 (received in February)
        "consultations": 3,
        "found_justified": 1,
        "conciliation_commission": 1,
        "court_cases": 1,
        "court_claims_won": 1,
        "mediation_agreements": 0,
        "reinstated": 1,
        "inspections": 1,
        "outside_competence": 0,
        "violations_found": 3,
        "violations_remedied": 2,
        "money_returned_kzt": 50_000,
        "economic_effect_kzt": 60_000,
        "answered": 4,
        # first answers of March's appeals: 90, 180, 600, 1800 minutes
        "median_first_answer_hours": 6.5,
        "p90_first_answer_hours": 24.0,
        "sla_breaches": 1,
        # open when March ended: 4 (30 days), 5 (1 day), 8 (31 days, closed in April)
        "backlog_open": 3,
        "backlog_median_age_days": 30.0,
        "backlog_oldest_days": 31,
        "ratings": 4,
        "satisfaction_avg": 3.25,  # 5, 3, 4, 1
        "self_service_answers": 3,
        "faq_views": 4,
        "faq_not_helped": 2,
        "faq_led_to_appeal": 1,
        "faq_answers_from_appeals": 1,  # from appeal 1; appeal 3's was made in April
        "mailbox_messages": 3,  # the 23:30 complaint on 31 March is still March
        "appeals_per_1000_members": None,  # most organisations have not given their size
    }
    cur = report.current
    assert cur.by_topic == {
        "pay": {"received": 3, "considered": 3},
        "leave": {"received": 1, "considered": 0},
        "dismissal": {"received": 1, "considered": 1},
    }
    assert cur.by_org["almaty"]["received"] == 2
    assert cur.by_org["almaty"]["per_1000_members"] == 2.0
    assert cur.by_org["almaty"]["bot_members"] == 1  # member 4 joined in April
    assert cur.by_org["almaty"]["per_1000_bot_members"] == 2000.0
    assert cur.by_org["astana"]["considered"] == 1
    assert cur.by_org["shymkent"] == {
        "received": 1,
        "bot_members": 1,
        "union_members": 500,
        "per_1000_members": 2.0,
        "per_1000_bot_members": 1000.0,
    }
    assert list(cur.by_month) == ["2025-03"]
    assert cur.by_month["2025-03"]["received"] == 5
    assert cur.by_month["2025-03"]["considered"] == 4
    assert cur.by_month["2025-03"]["court_cases"] == 1
    assert cur.ratings == {1: 1, 2: 0, 3: 1, 4: 1, 5: 1}
    assert cur.backlog_by_age == {"0-2": 1, "3-7": 0, "8-30": 1, "31+": 1}
    assert cur.faq_failing == [{"node": "leave-pay-timing", "not_helped": 2, "led_to_appeal": 1}]
    assert cur.mailbox == {"suggestion": 1, "complaint": 2, "thanks": 0}


@pytest.mark.parametrize("kind", KINDS)
async def test_previous_period_and_change(kind: str, tmp_path: Path) -> None:
    report = await _report(kind, tmp_path, MARCH, None)
    assert report.previous_period == Period(date(2025, 2, 1), date(2025, 2, 28))
    prev = report.previous.indicators
    assert prev["appeals_received"] == 3  # 6, 7, 8
    assert prev["appeals_considered"] == 1  # 7
    assert prev["money_returned_kzt"] == 10_000
    assert prev["self_service_answers"] == 1
    assert prev["mailbox_messages"] == 1
    assert prev["median_first_answer_hours"] == 2.0  # only appeal 6 was answered
    assert prev["backlog_open"] == 2  # 6 and 8 were open when February ended
    assert report.change("appeals_received") == 66.7
    assert report.change("appeals_considered") == 300.0
    assert report.change("money_returned_kzt") == 400.0
    assert report.change("court_cases") is None  # nothing to compare with
    data = report.as_json()
    assert data["previous"]["indicators"]["appeals_received"] == 3
    assert data["change_pct"]["appeals_received"] == 66.7


@pytest.mark.parametrize("kind", KINDS)
async def test_quarter_by_month_and_one_region(kind: str, tmp_path: Path) -> None:
    report = await _report(kind, tmp_path, Period.quarter(2025, 1), ["almaty", "astana"])
    cur = report.current
    assert {k: v["received"] for k, v in cur.by_month.items()} == {
        "2025-01": 1,
        "2025-02": 3,
        "2025-03": 4,  # shymkent's appeal 5 is out of scope
    }
    assert {k: v.get("considered", 0) for k, v in cur.by_month.items()} == {
        "2025-01": 1,
        "2025-02": 1,
        "2025-03": 4,
    }
    assert cur.indicators["appeals_received"] == 8
    # 8 appeals per 3,000 members of the two organisations
    assert cur.indicators["appeals_per_1000_members"] == 2.67
    assert report.previous_period == Period(date(2024, 10, 1), date(2024, 12, 31))
    assert report.previous.indicators["appeals_received"] == 0
    assert set(cur.by_org) == {"almaty", "astana"}


def test_previous_periods() -> None:
    assert Period.month(2025, 1).previous() == Period.month(2024, 12)
    assert Period.month(2025, 3).previous() == Period.month(2025, 2)
    assert Period.quarter(2025, 1).previous() == Period.quarter(2024, 4)
    assert Period.quarter(2025, 3).previous() == Period.quarter(2025, 2)
    assert Period.year(2024).previous() == Period.year(2023)
    # Two whole months: the two months before.
    assert Period(date(2025, 3, 1), date(2025, 4, 30)).previous() == Period(
        date(2025, 1, 1), date(2025, 2, 28)
    )
    # Custom: the same number of days just before.
    assert Period(date(2025, 3, 10), date(2025, 3, 19)).previous() == Period(
        date(2025, 2, 28), date(2025, 3, 9)
    )
    assert Period.month(2024, 2).days == 29
    assert Period.quarter(2025, 4).last == date(2025, 12, 31)
    with pytest.raises(PeriodError):
        Period(date(2025, 3, 2), date(2025, 3, 1))
    for bad in ("2025-02-30", "03.03.2025", "2025-3-1", ""):
        with pytest.raises(PeriodError):
            parse_day(bad)


def test_change_pct() -> None:
    assert change_pct(717, 547) == 31.1
    assert change_pct(52, 42) == 23.8
    assert change_pct(0, 10) == -100.0
    assert change_pct(5, 0) is None
    assert change_pct(None, 3) is None


@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=60))
def test_percentile_of_a_histogram_is_numpys(values: list[int]) -> None:
    histogram = sorted({v: values.count(v) for v in values}.items())
    for q in (0.0, 0.5, 0.9, 1.0):
        expected = float(np.percentile(values, q * 100))
        assert percentile(histogram, q) == pytest.approx(expected)
    assert percentile([], 0.5) is None


@pytest.mark.parametrize("kind", KINDS)
async def test_open_at_the_end_of_a_part_month_period(kind: str, tmp_path: Path) -> None:
    report = await _report(kind, tmp_path, Period(date(2025, 3, 10), date(2025, 3, 19)), None)
    assert report.previous_period == Period(date(2025, 2, 28), date(2025, 3, 9))
    # when 9 March ended: 2 (closed on the 10th), 3, 4 and 8; from the tally and the log
    assert report.previous.indicators["backlog_open"] == 4
    # when 19 March ended: 3 (closed on the 20th), 4, 8; straight from the log, with ages
    assert report.current.indicators["backlog_open"] == 3
    assert report.current.indicators["backlog_oldest_days"] == 19  # appeal 8: 28 Feb 23:00
