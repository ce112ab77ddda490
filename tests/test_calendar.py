"""Working days for the SLA and quiet hours, in Almaty time."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.services.calendar import WorkCalendar, load_holidays

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
    days = load_holidays()
    assert date(2026, 12, 16) in days and all(isinstance(d, date) for d in days)


def test_subtract_is_the_inverse_of_add() -> None:
    cal = WorkCalendar(ALMATY, frozenset({date(2026, 12, 16)}))
    for start in (at(19), at(21, 15), at(15, 9, 12), at(23, 23, minute=59)):
        for days in (0.5, 1, 2, 5):
            due = cal.add_working_days(start, days)
            assert cal.working_days_between(start, due) == days
            assert cal.working_days_between(cal.subtract_working_days(due, days), due) == days
    assert cal.subtract_working_days(at(23), 2) == at(19)  # Monday → Thursday
