"""Working days for the SLA and quiet hours, in Almaty time."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.services.calendar import (
    HOLIDAYS_FILE,
    WorkCalendar,
    load_holidays,
    uncovered_years,
    warn_uncovered_years,
)

ALMATY = ZoneInfo("Asia/Almaty")


def at(day: int, hour: int = 10, month: int = 11, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ALMATY)


def test_two_working_days_skip_the_weekend() -> None:
    cal = WorkCalendar(ALMATY)
    assert cal.add_working_days(at(19), 2) == at(23)  # Thursday 10:00 → Monday 10:00
    assert cal.add_working_days(at(21), 2) == at(25, 0)  # Saturday → counts from Monday 00:00
    assert cal.add_working_days(at(23), 1) == at(24)


def test_holidays_do_not_count() -> None:
    cal = WorkCalendar(ALMATY, frozenset({date(2026, 12, 16)}))
    assert cal.add_working_days(at(15, 10, 12), 2) == at(18, 10, 12)  # Tue → Fri, Wed skipped
    assert cal.working_days_between(at(15, 10, 12), at(18, 10, 12)) == 2.0


def test_working_days_between_counts_fractions() -> None:
    cal = WorkCalendar(ALMATY)
    assert cal.working_days_between(at(20, 12), at(23, 12)) == 1.0  # Fri noon → Mon noon
    assert cal.working_days_between(at(23, 12), at(23, 0)) == 0.0


def test_quiet_hours() -> None:
    cal = WorkCalendar(ALMATY)
    assert cal.is_quiet(at(23, 22)) and cal.is_quiet(at(24, 7, minute=59))
    assert not cal.is_quiet(at(24, 8)) and not cal.is_quiet(at(24, 21, minute=59))
    assert cal.next_loud(at(23, 23)) == at(24, 8)
    assert cal.next_loud(at(24, 3)) == at(24, 8)
    assert cal.next_loud(at(24, 12)) == at(24, 12)


def test_shipped_holiday_file_loads() -> None:
    days = load_holidays(years=[2026])
    assert date(2026, 12, 16) in days and all(isinstance(d, date) for d in days)


def test_2027_days_off_moved_from_the_weekend() -> None:
    days = load_holidays(years=[2027])
    # New Year's 2 January, Nauryz's 21 March and Unity Day's 1 May fall on a weekend.
    for moved in (date(2027, 1, 4), date(2027, 3, 24), date(2027, 5, 3), date(2027, 5, 10)):
        assert moved in days, moved
    cal = WorkCalendar(ALMATY, days)
    assert not cal.is_working_day(date(2027, 1, 4)) and cal.is_working_day(date(2027, 1, 5))
    # One working day from Thursday 31 December: 1 January, the weekend and the 4th skipped.
    new_year = datetime(2026, 12, 31, 10, tzinfo=ALMATY)
    assert cal.add_working_days(new_year, 1) == datetime(2027, 1, 5, 10, tzinfo=ALMATY)


def overrides(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_file_adds_days_off_and_takes_back_worked_ones(tmp_path: Path) -> None:
    path = overrides(
        tmp_path,
        "checked: [2027]\ndays_off:\n  - 2027-05-17  # Kurban ait\nworking_days:\n  - 2027-07-06\n",
    )
    days = load_holidays(path, years=[2027])
    assert date(2027, 5, 17) in days and date(2027, 5, 17) not in load_holidays(years=[2027])
    assert date(2027, 7, 6) not in days and date(2027, 7, 6) in load_holidays(years=[2027])
    assert date(2027, 12, 16) in days  # the rest of the package's calendar stays


def test_a_plain_list_of_dates_is_days_off(tmp_path: Path) -> None:
    path = overrides(tmp_path, "- 2031-06-02\n- 2031-06-03\n")
    assert {date(2031, 6, 2), date(2031, 6, 3)} <= load_holidays(path, years=[2031])
    assert uncovered_years(path, date(2031, 1, 10)) == [2032]


@pytest.mark.parametrize(
    "text", ["- not a date\n", "days_off: [2027-13-01]\n", "checked: [soon]\n", "days: []\n"]
)
def test_a_malformed_file_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError):
        load_holidays(overrides(tmp_path, text), years=[2027])


def test_the_shipped_file_covers_this_year_and_the_next() -> None:
    assert uncovered_years(HOLIDAYS_FILE, date(2026, 12, 7)) == []


def test_an_uncovered_year_is_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = overrides(tmp_path, "checked: [2026, 2027]\ndays_off: []\n")
    with caplog.at_level(logging.INFO, logger="bot.services.calendar"):
        assert warn_uncovered_years(path, date(2027, 3, 1)) == [2028]
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    line = caplog.records[0].getMessage()
    assert "2028" in line and str(path) in line and "\n" not in line
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.services.calendar"):
        assert warn_uncovered_years(path, date(2026, 3, 1)) == []
    assert caplog.records == []


def test_years_the_package_confirms_need_no_check(tmp_path: Path) -> None:
    path = overrides(tmp_path, "checked: []\n")
    # Kurban ait's past dates are confirmed in the package; far years' are estimates.
    assert uncovered_years(path, date(2024, 6, 1)) == []
    assert uncovered_years(path, date(2090, 6, 1)) == [2090, 2091]


def test_subtract_is_the_inverse_of_add() -> None:
    cal = WorkCalendar(ALMATY, frozenset({date(2026, 12, 16)}))
    for start in (at(19), at(21, 15), at(15, 9, 12), at(23, 23, minute=59)):
        for days in (0.5, 1, 2, 5):
            due = cal.add_working_days(start, days)
            assert cal.working_days_between(start, due) == days
            assert cal.working_days_between(cal.subtract_working_days(due, days), due) == days
    assert cal.subtract_working_days(at(23), 2) == at(19)  # Monday → Thursday
