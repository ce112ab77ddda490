"""The two years of the demo, day by day: how busy each local day is, and moments in it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock

import numpy as np
import numpy.typing as npt

from bot.demo.parameters import (
    DAY,
    GROWTH,
    HOUR,
    HOUR_WEIGHTS,
    LATE_AUGUST,
    MONTH_WEIGHTS,
    SPAN_DAYS,
    TZ,
    WEEKDAY_WEIGHTS,
)
from bot.demo.values import Floats, Ints


@dataclass
class Days:
    """The local days of the two-year window, with how busy each is."""

    now: float  # epoch seconds
    start: float
    starts: Floats  # local midnight of each day, epoch seconds
    dates: npt.NDArray[np.datetime64]
    month: Ints  # 1..12
    f_lo: Floats  # diurnal mass before the window opens on that day
    f_hi: Floats  # diurnal mass before the window closes on that day
    weights: Floats  # relative activity of each day (share of the day inside the window)
    f_grid: Floats
    sec_grid: Floats

    @classmethod
    def build(cls, now: datetime) -> Days:
        end = now.timestamp()
        start = end - SPAN_DAYS * DAY
        first = datetime.fromtimestamp(start, TZ).date()
        last = datetime.fromtimestamp(end, TZ).date()
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        starts = np.array([datetime.combine(d, clock(0), TZ).timestamp() for d in days])
        hours = np.array(HOUR_WEIGHTS, dtype=np.float64)
        f_grid = np.concatenate(([0.0], np.cumsum(hours) / hours.sum()))
        sec_grid = np.arange(25, dtype=np.float64) * HOUR
        lo = np.clip(start - starts, 0.0, DAY)
        hi = np.clip(end - starts, 0.0, DAY)
        f_lo = np.interp(lo, sec_grid, f_grid)
        f_hi = np.interp(hi, sec_grid, f_grid)
        month = np.array([d.month for d in days], dtype=np.int64)
        season = np.array(
            [
                (LATE_AUGUST[1] if d.month == 8 and d.day >= LATE_AUGUST[0] else 1.0)
                * MONTH_WEIGHTS[d.month - 1]
                * WEEKDAY_WEIGHTS[d.weekday()]
                for d in days
            ]
        )
        growth = np.linspace(GROWTH[0], GROWTH[1], len(days))
        return cls(
            now=end,
            start=start,
            starts=starts,
            dates=np.array(days, dtype="datetime64[D]"),
            month=month,
            f_lo=f_lo,
            f_hi=f_hi,
            weights=season * growth * (f_hi - f_lo),
            f_grid=f_grid,
            sec_grid=sec_grid,
        )

    def counts(self, rng: np.random.Generator, total: int, weights: Floats | None = None) -> Ints:
        w = self.weights if weights is None else weights
        return rng.multinomial(total, w / w.sum()).astype(np.int64)

    def times(
        self, rng: np.random.Generator, counts: Ints, d0: int, d1: int
    ) -> tuple[Floats, Ints]:
        """Sorted moments (epoch seconds) for counts[d] events on each day d0..d1-1."""
        day = np.repeat(np.arange(d0, d1, dtype=np.int64), counts[d0:d1])
        mass = self.f_lo[day] + rng.random(len(day)) * (self.f_hi[day] - self.f_lo[day])
        moment = self.starts[day] + np.interp(mass, self.f_grid, self.sec_grid)
        moment = np.clip(moment, self.start, self.now - 1.0)
        order = np.argsort(moment, kind="stable")
        return moment[order], day[order]


def day_batches(counts: Ints, size: int) -> Iterator[tuple[int, int, int]]:
    """Runs of whole days holding about `size` events: (first day, end day, events)."""
    start, acc = 0, 0
    for i, count in enumerate(counts.tolist()):
        acc += count
        if acc >= size:
            yield start, i + 1, acc
            start, acc = i + 1, 0
    if acc:
        yield start, len(counts), acc
