"""Round numbers, SMA support state and the level ladder."""

from __future__ import annotations

import math

import numpy as np

from btcscan.models import Level, SmaState


def round_step(price: float) -> float:
    """Round-number step: the largest power of ten not above ``price / 3``.

    BTC at 30,000-299,999 -> 10,000; ETH at 3,000 -> 1,000; DOGE at 0.2 -> 0.01.
    """
    if price <= 0 or not math.isfinite(price):
        raise ValueError("price must be positive")
    return 10.0 ** math.floor(math.log10(price / 3.0))


def round_levels(price: float, per_side: int = 2) -> list[tuple[float, bool]]:
    """Round numbers around ``price``: ``per_side`` multiples of the step on each side,
    plus the nearest multiple of ten steps (a "major" round number, e.g. 100,000) on each
    side. Returns (level, is_major) pairs."""
    step = round_step(price)
    below = math.floor(price / step) * step
    if below == price:
        below -= step
    above = math.ceil(price / step) * step
    if above == price:
        above += step
    out = {below - i * step for i in range(per_side)} | {above + i * step for i in range(per_side)}
    major = step * 10
    out |= {math.floor(price / major) * major, math.ceil(price / major) * major}
    return sorted((round(v, 10), abs(v / major - round(v / major)) < 1e-9) for v in out if v > 0)


def sma_state(
    close: np.ndarray, sma: np.ndarray, period: int, latest: float, tf_label: str
) -> SmaState:
    """State of the last close against its SMA, counted on closed candles only."""
    method = f"simple mean of the last {period} {tf_label} closes"
    last = close.size - 1
    if last < 0 or np.isnan(sma[last]):
        return SmaState(period, None, "warming_up", 0, None, None, method)
    above = bool(close[last] >= sma[last])
    valid = ~np.isnan(sma)
    # index of the last candle that was on the other side (or had no SMA yet)
    breaks = np.flatnonzero(~valid | ((close >= sma) != above))
    i = int(breaks[-1]) if breaks.size else -1
    n = last - i
    crossed = n == 1 and i >= 0 and bool(valid[i])
    if crossed:
        state = "crossed_above" if above else "crossed_below"
    else:
        state = "above" if above else "below"
    value = float(sma[last])
    return SmaState(
        period=period,
        value=value,
        state=state,
        closes=n,
        distance_pct=(float(close[last]) / value - 1.0) * 100.0,
        latest_side="above" if latest >= value else "below",
        method=method,
    )


def ladder(
    price: float, candidates: list[tuple[float, str, str, str]], per_side: int
) -> tuple[Level, ...]:
    """Levels nearest the price, ``per_side`` above and below, nearest first.

    ``candidates`` are (level, kind, label, source). Levels equal to the price count as below.
    """
    levels = [
        Level(
            price=float(p),
            kind=k,
            label=lab,
            source=src,
            distance_pct=(float(p) / price - 1.0) * 100.0,
            side="above" if p > price else "below",
        )
        for p, k, lab, src in candidates
        if p is not None and math.isfinite(p) and p > 0
    ]
    above = sorted((lv for lv in levels if lv.side == "above"), key=lambda lv: lv.price)[:per_side]
    below = sorted((lv for lv in levels if lv.side == "below"), key=lambda lv: -lv.price)[:per_side]
    return tuple(sorted(above + below, key=lambda lv: abs(lv.distance_pct)))
