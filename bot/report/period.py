"""Report periods in local dates (Almaty time) and the period before them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class PeriodError(ValueError):
    pass


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _month_end(day: date) -> date:
    return _month_start(day, -1) - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """First and last day, both included, in the union's local time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise PeriodError("the period ends before it starts")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        return cls(first, _month_end(first))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = date(year, 3 * (quarter - 1) + 1, 1)
        return cls(first, _month_end(_month_start(first, -2)))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def parse(cls, first: str, last: str) -> Period:
        return cls(parse_day(first), parse_day(last))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def _whole_months(self) -> int | None:
        """How many calendar months the period spans when it is whole months, else None."""
        if self.first.day != 1 or _month_end(self.last) != self.last:
            return None
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    def previous(self) -> Period:
        """The period of the same length just before: the previous month, quarter or year
        for whole calendar months, otherwise the same number of days."""
        months = self._whole_months()
        if months is not None:
            first = _month_start(self.first, months)
            return Period(first, self.first - timedelta(days=1))
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC."""
        return _utc(self.first, tz), _utc(self.last + timedelta(days=1), tz)

    def months(self) -> list[date]:
        """First days of the calendar months the period touches."""
        out = []
        month = _month_start(self.first)
        while month <= self.last:
            out.append(month)
            month = _month_start(month, -1)
        return out

    def month_bounds(self, tz: ZoneInfo) -> list[datetime]:
        """UTC instants where each month after the first starts (for bucketing)."""
        return [_utc(max(m, self.first), tz) for m in self.months()[1:]]

    def code(self) -> str:
        """Short enough for a button's callback data: c20250101-20250331."""
        return f"c{self.first:%Y%m%d}-{self.last:%Y%m%d}"

    @classmethod
    def from_code(cls, code: str) -> Period:
        match = CODE_RE.match(code)
        if match is None:
            raise PeriodError(f"{code!r} is not a period code")
        try:
            first = datetime.strptime(match[1], "%Y%m%d").date()
            last = datetime.strptime(match[2], "%Y%m%d").date()
        except ValueError:
            raise PeriodError(f"{code!r} is not a period code") from None
        if (last - first).days > MAX_DAYS:
            raise PeriodError("the period is longer than ten years")
        return cls(first, last)

    def as_json(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LOCAL_DAY_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
CODE_RE = re.compile(r"^c(\d{8})-(\d{8})$")
MAX_DAYS = 3660


def parse_day(text: str) -> date:
    if not DAY_RE.match(text.strip()):
        raise PeriodError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{text!r} is not a valid date") from None


def parse_local_day(text: str) -> date:
    """A date as people type it here: 31.12.2025, or 2025-12-31."""
    match = LOCAL_DAY_RE.match(text.strip())
    if match is None:
        return parse_day(text)
    try:
        return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        raise PeriodError(f"{text!r} is not a valid date") from None


def presets(today: date) -> list[tuple[str, Period]]:
    """The periods offered as buttons: this and last month, quarter and year."""
    quarter = (today.month - 1) // 3 + 1
    last_month = _month_start(today, 1)
    last_quarter = Period.quarter(today.year, quarter).previous()
    return [
        ("this-month", Period.month(today.year, today.month)),
        ("last-month", Period.month(last_month.year, last_month.month)),
        ("this-quarter", Period.quarter(today.year, quarter)),
        ("last-quarter", last_quarter),
        ("this-year", Period.year(today.year)),
        ("last-year", Period.year(today.year - 1)),
    ]
