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
        out[i] = sum(xs[i - n + 1 : i + 1]) / n
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


def score_ref(high, low, close, start, d, targets, inv, horizon, fail_pct=5.0, on_close=False):
    """Walk-forward scorer, one event, plain Python (same rules as kernels/outcomes.py)."""
    entry = close[start]
    tbar = [-1] * len(targets)
    ibar = -1
    rbar = -1
    worst = best = 0.0
    reversed_ = fail = False
    end = min(start + horizon, len(close) - 1)
    live = [t for t in targets if not math.isnan(t)]
    for j in range(start + 1, end + 1):
        fav = (high[j] / entry - 1) * 100 if d > 0 else (1 - low[j] / entry) * 100
        adv = (low[j] / entry - 1) * 100 if d > 0 else (1 - high[j] / entry) * 100
        worst = min(worst, adv)
        if on_close:
            hit = (d > 0 and close[j] < inv) or (d < 0 and close[j] > inv)
        else:
            hit = (d > 0 and low[j] <= inv) or (d < 0 and high[j] >= inv)
        if not math.isnan(inv) and hit:
            ibar = rbar = j
            if not reversed_:
                reversed_, fail = True, best < fail_pct
            break
        best = max(best, fav)
        for i, t in enumerate(targets):
            if (
                not math.isnan(t)
                and tbar[i] < 0
                and ((d > 0 and high[j] >= t) or (d < 0 and low[j] <= t))
            ):
                tbar[i] = j
        if not reversed_ and ((d > 0 and close[j] < entry) or (d < 0 and close[j] > entry)):
            reversed_, fail = True, best < fail_pct
        if live and all(tbar[i] >= 0 for i, t in enumerate(targets) if not math.isnan(t)):
            rbar = j
            break
    if not math.isnan(targets[0]) and tbar[0] >= 0 and (ibar < 0 or tbar[0] < ibar):
        status = 1
    elif ibar >= 0:
        status = 2
    elif start + horizon <= len(close) - 1:
        status = 3
        rbar = start + horizon if rbar < 0 else rbar
    else:
        status = 0
    return {
        "target_bar": tbar,
        "invalid_bar": ibar,
        "resolved_bar": rbar,
        "mae_pct": worst,
        "mfe_pct": best,
        "failed": fail,
        "status": status,
    }
