"""Timeframes: parsing, durations and calendar-aware period boundaries.

Timeframes use ccxt's spelling (``1m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M``).
Weeks open Monday 00:00 UTC; ``1M`` is a calendar month, not 30 days; ``3d``
buckets are aligned to the Unix epoch (as Binance does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from btcscan.errors import UsageError

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS

_UNIT_MS = {"m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS, "w": WEEK_MS}
_RE = re.compile(r"^(\d+)([mhdwM])$")
#: the human labels of Timeframe.label
_LABELS = {"1d": "daily", "1w": "weekly", "1M": "monthly", "1h": "hourly", "3d": "3-day"}
_UNIT_NAMES = {"m": "minute", "h": "hour", "d": "day", "w": "week", "M": "month"}

#: Timeframes ``--timeframe`` accepts for resampling candles.
RESAMPLE_TARGETS = ("1d", "3d", "1w", "1M")


@dataclass(frozen=True)
class Timeframe:
    """A parsed timeframe such as ``1w``. ``months`` is set for calendar months."""

    text: str
    count: int
    unit: str

    @property
    def is_calendar(self) -> bool:
        return self.unit == "M"

    @property
    def ms(self) -> int:
        """Nominal length in milliseconds (a month counts as 30 days, for ordering only)."""
        if self.unit == "M":
            return self.count * 30 * DAY_MS
        return self.count * _UNIT_MS[self.unit]

    @property
    def polars_every(self) -> str:
        """The polars duration string for ``dt.truncate`` / ``group_by_dynamic``."""
        return {"m": f"{self.count}m", "h": f"{self.count}h", "d": f"{self.count}d",
                "w": f"{self.count}w", "M": f"{self.count}mo"}[self.unit]

    def period_end_ms(self, open_ms: int) -> int:
        """Close time (exclusive) of the candle that opens at ``open_ms``."""
        if self.unit != "M":
            return open_ms + self.ms
        d = datetime.fromtimestamp(open_ms / 1000, tz=UTC)
        month = d.month - 1 + self.count
        end = d.replace(year=d.year + month // 12, month=month % 12 + 1)
        return int(end.timestamp() * 1000)

    def label(self) -> str:
        """Human label: ``weekly``, ``daily``, ``4-hour``..."""
        name = _LABELS.get(self.text)
        if name is not None:
            return name
        return f"{self.count}-{_UNIT_NAMES[self.unit]}"

    def __str__(self) -> str:
        return self.text


def parse_timeframe(text: str) -> Timeframe:
    """Parse ``1w``/``4h``/``1M``; raises :class:`UsageError` naming the accepted forms."""
    m = _RE.match(text.strip()) if isinstance(text, str) else None
    if not m or int(m.group(1)) <= 0:
        raise UsageError(
            f"unknown timeframe {text!r}: use a number and a unit, e.g. 1d, 3d, 1w, 1M "
            "(m=minute, h=hour, d=day, w=week, M=calendar month)"
        )
    return Timeframe(text=f"{int(m.group(1))}{m.group(2)}", count=int(m.group(1)), unit=m.group(2))


def infer_timeframe_ms(open_times_ms: list[int] | object) -> int:
    """The most common spacing between consecutive open times (the data's native step)."""
    import numpy as np

    t = np.asarray(open_times_ms, dtype=np.int64)
    if t.size < 2:
        return DAY_MS
    diffs = np.diff(t)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return DAY_MS
    values, counts = np.unique(diffs, return_counts=True)
    return int(values[np.argmax(counts)])


def timeframe_from_ms(step_ms: int) -> Timeframe:
    """The timeframe whose nominal length is ``step_ms`` (e.g. 86_400_000 -> 1d)."""
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_MS[unit]
        if step_ms % size == 0:
            return Timeframe(text=f"{step_ms // size}{unit}", count=step_ms // size, unit=unit)
    raise UsageError(f"candle spacing of {step_ms} ms is not a whole number of minutes")
