"""Slow, obviously correct reference implementations the kernels are compared against."""

from __future__ import annotations

import math


def _start(xs):
    for i, x in enumerate(xs):
        if not math.isnan(x):
            return i
    return len(xs)


def sma_ref(xs: list[float], n: int) -> list[float]:
    out = [math.nan] * len(xs)
    s = _start(xs)
    for i in range(s + n - 1, len(xs)):
        out[i] = sum(xs[i - n + 1: i + 1]) / n
    return out


def rsi_ref(xs: list[float], n: int) -> list[float]:
    """Wilder: seed = mean of the first n gains/losses, then avg = (avg*(n-1)+x)/n."""
    out = [math.nan] * len(xs)
    s = _start(xs)
    if len(xs) - s <= n:
        return out
    d = [xs[i] - xs[i - 1] for i in range(s + 1, len(xs))]
    g = sum(max(x, 0.0) for x in d[:n]) / n
    lo = sum(max(-x, 0.0) for x in d[:n]) / n

    def val(g, lo):
        return 0.0 if abs(g + lo) < 1e-8 else 100.0 * g / (g + lo)

    out[s + n] = val(g, lo)
    for k in range(n, len(d)):
        g = (g * (n - 1) + max(d[k], 0.0)) / n
        lo = (lo * (n - 1) + max(-d[k], 0.0)) / n
        out[s + 1 + k] = val(g, lo)
    return out


def atr_ref(h: list[float], lo: list[float], c: list[float], n: int) -> list[float]:
    out = [math.nan] * len(c)
    if len(c) <= n:
        return out
    tr = [max(h[i], c[i - 1]) - min(lo[i], c[i - 1]) for i in range(1, len(c))]
    a = sum(tr[:n]) / n
    out[n] = a
    for k in range(n, len(tr)):
        a = (a * (n - 1) + tr[k]) / n
        out[k + 1] = a
    return out
