"""Draws every part of the demo uses, and column values as the bulk inserts take them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]

NO_TIME = np.nan  # an unset timestamp while computing
EMPTY_JSON = "[]"  # attachments, as the JSON text the column stores


def pick(rng: np.random.Generator, shares: Sequence[float], n: int) -> Ints:
    """`n` indexes into `shares`, each drawn with its share."""
    cdf = np.cumsum(np.asarray(shares, dtype=np.float64))
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(cdf) - 1)


def zipf(n: int) -> Floats:
    """Popularity of `n` things, the first the most popular."""
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** 0.9
    return w / w.sum()  # type: ignore[no-any-return]


def stamps(seconds: Floats, sqlite: bool) -> list[Any]:
    """Epoch seconds (NaN for none) as the driver takes timestamps, whole microseconds:
    on SQLite the text SQLAlchemy's DateTime stores (UTC, "YYYY-MM-DD HH:MM:SS.ffffff"),
    on PostgreSQL aware UTC datetimes."""
    missing = np.isnan(seconds)
    micros = np.round(np.where(missing, 0.0, seconds) * 1e6).astype(np.int64)
    moments = micros.astype("datetime64[us]")
    values: list[Any]
    if sqlite:
        values = [s.replace("T", " ") for s in np.datetime_as_string(moments, unit="us").tolist()]
    else:
        values = [d.replace(tzinfo=UTC) for d in moments.tolist()]
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    return values


def nullable(values: npt.NDArray[Any], present: Bools) -> list[Any]:
    out = values.astype(object)
    out[~present] = None
    return out.tolist()  # type: ignore[no-any-return]


def rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Column lists to row dicts, as executemany takes them."""
    keys = list(columns)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]
