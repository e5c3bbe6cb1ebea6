"""Synthetic candle series: wedges of known geometry, random walks, straight trends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SynthWedge:
    arrays: dict[str, np.ndarray]
    kind: str  # "falling" | "rising"
    breakout: str  # "up" | "down"
    x0: int
    x1: int
    upper: tuple[float, float]  # (value at x0, slope per bar)
    lower: tuple[float, float]
    pivot_bars: tuple[int, ...]
    break_bar: int  # first bar whose close is beyond the true line


def _candles(mid: np.ndarray, eps: float, start_ms: int = 1_600_000_000_000,
             step_ms: int = 86_400_000) -> dict[str, np.ndarray]:
    o = np.concatenate(([mid[0]], mid[:-1]))
    c = mid.copy()
    h = np.maximum(o, c) + eps
    lo = np.minimum(o, c) - eps
    return {"open": o, "high": h, "low": lo, "close": c, "volume": np.ones_like(c),
            "open_time": start_ms + step_ms * np.arange(c.size, dtype=np.int64)}


def make_wedge(rng: np.random.Generator, kind: str = "falling", breakout: str = "up",
               npiv: int = 6, spacing: int = 12, lead: int = 40, noise: float = 0.2,
               eps: float = 0.3) -> SynthWedge:
    """A wedge between two known lines, pivots every ``spacing`` bars (first one a high),
    then a break in direction ``breakout``. ``noise`` (price units, ~ a fraction of ATR)
    jitters the path between pivots; pivot highs/lows sit exactly on the lines."""
    width0 = 20.0 * rng.uniform(0.8, 1.2)
    span = (npiv - 1) * spacing
    shrink = rng.uniform(0.35, 0.6)  # end width / start width
    s_common = rng.uniform(0.15, 0.35) * (-1 if kind == "falling" else 1)
    diff = width0 * (1 - shrink) / span  # upper slope - lower slope (negative = converging)
    if kind == "falling":
        su, sl = s_common - diff / 2, s_common + diff / 2
    else:
        su, sl = s_common - diff / 2, s_common + diff / 2
    x0 = lead
    u0 = 100.0
    l0 = u0 - width0

    def U(x):  # noqa: N802 - the true upper line
        return u0 + su * (x - x0)

    def L(x):  # noqa: N802 - the true lower line
        return l0 + sl * (x - x0)

    piv = [x0 + k * spacing for k in range(npiv)]
    x1 = piv[-1]
    tail = 3 * spacing
    n = x1 + tail
    mid = np.empty(n)
    # lead-in: a straight run into the first high (from below)
    mid[:x0 + 1] = np.linspace(l0 - 5, U(x0) - eps, x0 + 1)
    for k in range(npiv - 1):
        a, b = piv[k], piv[k + 1]
        ya = U(a) - eps if k % 2 == 0 else L(a) + eps
        yb = U(b) - eps if (k + 1) % 2 == 0 else L(b) + eps
        mid[a:b + 1] = np.linspace(ya, yb, b - a + 1)
        inner = np.arange(a + 2, b - 1)
        mid[inner] += rng.normal(0, noise, inner.size)
        # noise never moves a pivot nor pushes a close outside the lines
        lo_b, hi_b = min(ya, yb) + 0.05, max(ya, yb) - 0.05
        mid[inner] = np.clip(mid[inner], lo_b, hi_b)
        mid[inner] = np.clip(mid[inner], L(inner) + eps, U(inner) - eps)
    last_high = (npiv - 1) % 2 == 0
    ystart = mid[x1]
    # after the last pivot: head for the other line, then through the breakout side
    step = (U(x1) - L(x1)) / spacing * 1.0
    for x in range(x1 + 1, n):
        if breakout == "up":
            if last_high and x < x1 + spacing:
                mid[x] = max(L(x) + eps, ystart - step * (x - x1))
            else:
                base = mid[x - 1] if x > x1 + 1 else ystart
                mid[x] = base + step
        else:
            if (not last_high) and x < x1 + spacing:
                mid[x] = min(U(x) - eps, ystart + step * (x - x1))
            else:
                base = mid[x - 1] if x > x1 + 1 else ystart
                mid[x] = base - step
    arrays = _candles(mid, eps)
    c = arrays["close"]
    xs = np.arange(n)
    beyond = c > U(xs) if breakout == "up" else c < L(xs)
    beyond[:x1 + 1] = False
    break_bar = int(np.argmax(beyond))
    return SynthWedge(arrays, kind, breakout, x0, x1, (u0, su), (l0, sl), tuple(piv), break_bar)


def random_walk(rng: np.random.Generator, n: int, vol: float = 0.02) -> dict[str, np.ndarray]:
    """Geometric random walk, intrabar range ~ the daily move."""
    r = rng.normal(0, vol, n)
    c = 100 * np.exp(np.cumsum(r))
    o = np.concatenate(([100.0], c[:-1]))
    wick = np.abs(rng.normal(0, vol / 2, (2, n))) * c
    return {"open": o, "high": np.maximum(o, c) + wick[0], "low": np.minimum(o, c) - wick[1],
            "close": c, "volume": np.ones(n),
            "open_time": 1_600_000_000_000 + 86_400_000 * np.arange(n, dtype=np.int64)}


def trend(rng: np.random.Generator, n: int, drift: float = 0.004, vol: float = 0.01
          ) -> dict[str, np.ndarray]:
    """A straight (log-linear) trend with small noise."""
    c = 100 * np.exp(drift * np.arange(n) + rng.normal(0, vol, n))
    o = np.concatenate(([c[0]], c[:-1]))
    wick = np.abs(rng.normal(0, vol / 2, (2, n))) * c
    return {"open": o, "high": np.maximum(o, c) + wick[0], "low": np.minimum(o, c) - wick[1],
            "close": c, "volume": np.ones(n),
            "open_time": 1_600_000_000_000 + 86_400_000 * np.arange(n, dtype=np.int64)}
