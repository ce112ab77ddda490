"""Working time for the SLA: Monday to Friday in Almaty time, public holidays excepted."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

HOLIDAYS_FILE = Path(__file__).resolve().parent.parent / "data" / "holidays.yaml"
QUIET_START, QUIET_END = time(22, 0), time(8, 0)


def is_quiet(moment: datetime, tz: ZoneInfo) -> bool:
    """22:00-08:00 in `tz`: no notifications to people, no posts unless urgent."""
    local = moment.astimezone(tz).time()
    return local >= QUIET_START or local < QUIET_END


def load_holidays(path: Path = HOLIDAYS_FILE) -> frozenset[date]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    days = set()
    for item in raw:
        if not isinstance(item, date):
            raise ValueError(f"{path}: {item!r} is not a date (YYYY-MM-DD)")
        days.add(item)
    return frozenset(days)


class WorkCalendar:
    def __init__(self, tz: ZoneInfo, holidays: frozenset[date] = frozenset()) -> None:
        self.tz = tz
        self.holidays = holidays

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """`start` moved forward by `days` working days (fractions in working-day hours).

        Time on non-working days does not count: an appeal sent on Saturday starts its
        clock on Monday at 00:00 local time.
        """
        local = start.astimezone(self.tz)
        while not self.is_working_day(local.date()):
            local = datetime.combine(local.date() + timedelta(days=1), time(0), self.tz)
        remaining = timedelta(days=days)
        while True:
            end_of_day = datetime.combine(local.date() + timedelta(days=1), time(0), self.tz)
            left_today = end_of_day - local
            if remaining <= left_today:
                return local + remaining
            remaining -= left_today
            local = end_of_day
            while not self.is_working_day(local.date()):
                local += timedelta(days=1)

    def subtract_working_days(self, end: datetime, days: float) -> datetime:
        """The latest start with `days` working days from it to `end`.

        An appeal created at or before this moment has waited at least `days` working days
        at `end`, so the SLA scan is one indexed comparison per threshold.
        """
        remaining = timedelta(days=max(days, 0.0))
        day = end.astimezone(self.tz).date()
        interval_end = end.astimezone(self.tz)
        while True:
            day_start = datetime.combine(day, time(0), self.tz)
            if self.is_working_day(day):
                available = interval_end - day_start
                if remaining <= available:
                    return interval_end - remaining
                remaining -= available
            interval_end = day_start
            day -= timedelta(days=1)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working time from start to end, in days (0 if end is before start)."""
        if end <= start:
            return 0.0
        local, stop = start.astimezone(self.tz), end.astimezone(self.tz)
        total = timedelta(0)
        while local < stop:
            next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0), self.tz)
            chunk_end = min(next_midnight, stop)
            if self.is_working_day(local.date()):
                total += chunk_end - local
            local = chunk_end
        return total / timedelta(days=1)

    def is_quiet(self, moment: datetime) -> bool:
        """22:00-08:00 local time: no notifications to people."""
        return is_quiet(moment, self.tz)

    def next_loud(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` outside quiet hours."""
        if not self.is_quiet(moment):
            return moment
        local = moment.astimezone(self.tz)
        day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
        return datetime.combine(day, QUIET_END, self.tz)
