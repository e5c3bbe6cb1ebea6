"""Independent (plain Python) weekly closes, SMAs and drawdowns from the shared CSV rows."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, timedelta


def weekly_closes_until(rows, asof: date) -> list[tuple[date, float]]:
    """(Monday, close) of every Monday-based week that has CLOSED by the end of ``asof``."""
    weeks: OrderedDict[date, float] = OrderedDict()
    for r in rows:
        d = r["t"].date()
        if d > asof:
            break
        weeks[d - timedelta(days=d.weekday())] = r["close"]
    # a week opening Monday m closes at m + 7 days 00:00 UTC; the scan time is asof + 1 day
    return [(m, c) for m, c in weeks.items() if m + timedelta(days=7) <= asof + timedelta(days=1)]


def sma_side(rows, asof: date, n: int) -> tuple[str, str]:
    """(side of the last closed weekly close vs its SMA n, side of the one before)."""
    closes = [c for _, c in weekly_closes_until(rows, asof)]

    def side(k: int) -> str:
        window = closes[len(closes) - k - n: len(closes) - k]
        return "above" if closes[-1 - k] >= sum(window) / n else "below"

    return side(0), side(1)


def drawdown_pct(rows, asof: date) -> float:
    upto = [r for r in rows if r["t"].date() <= asof]
    return (upto[-1]["close"] / max(r["high"] for r in upto) - 1) * 100
