"""Working time for the SLA: Monday to Friday in Almaty time, public holidays excepted.

The days off are the `holidays` package's calendar of Kazakhstan (the Labour Code's public
holidays, moved off weekends by its rules) with the overrides in `bot/data/holidays.yaml`:
days off the package lacks (the government's yearly decree moving days off, Kurban ait's
announced date) and days it gives that are worked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from bot.yaml_files import read_yaml

log = logging.getLogger(__name__)

HOLIDAYS_FILE = Path(__file__).resolve().parent.parent / "data" / "holidays.yaml"
QUIET_START, QUIET_END = time(22, 0), time(8, 0)
COUNTRY = "KZ"


def is_quiet(moment: datetime, tz: ZoneInfo) -> bool:
    """22:00-08:00 in `tz`: no notifications to people, no posts unless urgent."""
    local = moment.astimezone(tz).time()
    return local >= QUIET_START or local < QUIET_END


class Overrides:
    """holidays.yaml: `checked` years, `days_off` the package lacks, `working_days` it gives.

    A plain list of dates is days off, and its years are checked.
    """

    def __init__(self, path: Path) -> None:
        raw = read_yaml(path)
        if raw is None or isinstance(raw, list):
            raw = {"days_off": raw or []}
            raw["checked"] = sorted({d.year for d in raw["days_off"] if isinstance(d, date)})
        if not isinstance(raw, dict) or set(raw) - {"checked", "days_off", "working_days"}:
            raise ValueError(f"{path}: expected the keys checked, days_off and working_days")
        self.off = _dates(path, raw.get("days_off"))
        self.working = _dates(path, raw.get("working_days"))
        checked = raw.get("checked") or []
        if not isinstance(checked, list) or not all(type(y) is int for y in checked):
            raise ValueError(f"{path}: checked must be a list of years")
        self.checked = frozenset(checked)


def _dates(path: Path, items: Any) -> frozenset[date]:
    days = set()
    for item in items or []:
        if not isinstance(item, date):
            raise ValueError(f"{path}: {item!r} is not a date (YYYY-MM-DD)")
        days.add(item)
    return frozenset(days)


@lru_cache(maxsize=8)
def _package_days(years: tuple[int, ...]) -> frozenset[date]:
    return frozenset(holidays.country_holidays(COUNTRY, years=years))


@lru_cache(maxsize=64)
def _package_confirms(year: int) -> bool:
    """Whether the package has every date of the year for certain: Kurban ait's lunar date is
    an estimate, named as one, until the package's maintainers confirm it."""
    shown = holidays.country_holidays(COUNTRY, years=year, islamic_show_estimated=True)
    plain = holidays.country_holidays(COUNTRY, years=year, islamic_show_estimated=False)
    return dict(shown) == dict(plain)


def load_holidays(
    path: Path = HOLIDAYS_FILE, years: Iterable[int] | None = None
) -> frozenset[date]:
    """The days off of `years` (by default three years back and two ahead: the report's and
    the SLA's reach) and every day off the file names."""
    if years is None:
        this_year = date.today().year
        years = range(this_year - 3, this_year + 3)
    overrides = Overrides(path)
    return (_package_days(tuple(sorted(years))) | overrides.off) - overrides.working


def uncovered_years(path: Path, today: date) -> list[int]:
    """This year and the next, those neither checked in the file nor confirmed in the package."""
    checked = Overrides(path).checked
    return [
        year
        for year in (today.year, today.year + 1)
        if year not in checked and not _package_confirms(year)
    ]


def warn_uncovered_years(path: Path, today: date) -> list[int]:
    """One log line at start when the working days of this year or the next are a guess."""
    years = uncovered_years(path, today)
    if years:
        log.warning(
            "days off in %s not checked: check the government's decree, then add the year to "
            "checked in %s (the holidays package only estimates some of them)",
            ", ".join(map(str, years)),
            path,
        )
    return years


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
