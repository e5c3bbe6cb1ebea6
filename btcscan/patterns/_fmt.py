"""Number and time formatting shared by event summaries (pure, no rich)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

_DAY_MS = 86_400_000


def price(x: float) -> str:
    """12,345 / 1,234.5 / 0.4321: decimals scale with magnitude."""
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:,.1f}"
    if a >= 1:
        return f"{x:,.2f}"
    return f"{x:.4g}"


@lru_cache(maxsize=1 << 16)  # the same candle dates recur across markets and events
def when(ms: int) -> str:
    """Candle open time as text: the date alone for day-aligned candles."""
    d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return d.strftime("%Y-%m-%d") if ms % _DAY_MS == 0 else d.strftime("%Y-%m-%d %H:%M")


def pct(x: float, ref: float) -> str:
    return f"{(x / ref - 1.0) * 100:+.1f}%"
