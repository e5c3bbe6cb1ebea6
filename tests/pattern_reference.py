"""Slow, obviously correct twins of the pattern kernels (pure Python, no numba).

Each reference recomputes what is known at bar ``t`` from the prefix ``[0..t]`` alone,
so agreeing with it also shows the kernels do not look ahead.
"""

from __future__ import annotations

import math


def isnan(v: float) -> bool:
    return math.isnan(v)


def raw_pivot(x, i, left, right, high):
    """Is bar i a pivot (earliest of equal extremes wins; NaN in the window -> no)?"""
    if i - left < 0 or i + right >= len(x):
        return False
    win = x[i - left:i + right + 1]
    if any(isnan(v) for v in win):
        return False
    v = x[i]
    before = x[i - left:i]
    after = x[i + 1:i + right + 1]
    if high:
        return all(v > w for w in before) and all(v >= w for w in after)
    return all(v < w for w in before) and all(v <= w for w in after)


def raw_pivots(x, left, right, high):
    return [1 if raw_pivot(x, i, left, right, high) else 0 for i in range(len(x))]


def zigzag_asof(high, low, atr, left, right, min_swing, t):
    """The alternating pivot list known at bar t: list of (bar, price, side)."""
    high, low = list(high[:t + 1]), list(low[:t + 1])
    piv = []
    for c in range(right, t + 1):  # confirmation bars in order
        i = c - right
        h = raw_pivot(high, i, left, right, True)
        lo = raw_pivot(low, i, left, right, False)
        sides = []
        if h and lo:
            sides = [1, -1] if (not piv or piv[-1][2] < 0) else [-1, 1]
        elif h:
            sides = [1]
        elif lo:
            sides = [-1]
        for s in sides:
            price = high[i] if s > 0 else low[i]
            if not piv:
                piv.append((i, price, s))
                continue
            _, lp, ls = piv[-1]
            if ls == s:
                if (price > lp) if s > 0 else (price < lp):
                    piv[-1] = (i, price, s)
                continue
            a = atr[i] if min_swing > 0 else 0.0
            if abs(price - lp) >= min_swing * a:
                piv.append((i, price, s))
    return piv


def ols_slope(xs, ys, xref):
    """Least-squares slope, x relative to xref, sums taken from the newest point back."""
    k = sx = sy = sxx = sxy = 0.0
    for x, y in reversed(list(zip(xs, ys, strict=True))):
        x = float(x - xref)
        k += 1
        sx += x
        sy += y
        sxx += x * x
        sxy += x * y
    den = k * sxx - sx * sx
    return 0.0 if den == 0 else (k * sxy - sx * sy) / den


def envelope(xs, ys, x0, xref, upper):
    s = ols_slope(xs, ys, xref)
    c = ys[0] - s * (xs[0] - x0)
    for x, y in zip(xs[1:], ys[1:], strict=True):
        v = y - s * (x - x0)
        if (upper and v > c) or (not upper and v < c):
            c = v
    return s, c


def wedge_at(piv, close, atr_t, t, m, P):
    """Test the last m pivots as a wedge known at bar t; a dict or None."""
    win = piv[-m:]
    x0, x1 = win[0][0], win[-1][0]
    if not P["min_dur"] <= x1 - x0 <= P["max_dur"]:
        return None
    hs = [(b, p) for b, p, s in win if s > 0]
    ls = [(b, p) for b, p, s in win if s < 0]
    if len(hs) < P["minor"] or len(ls) < P["minor"]:
        return None
    su, cu = envelope([b for b, _ in hs], [p for _, p in hs], x0, x1, True)
    sl, cl = envelope([b for b, _ in ls], [p for _, p in ls], x0, x1, False)
    if su < 0 and sl < 0 and su < sl:
        kind = -1
    elif su > 0 and sl > 0 and sl > su:
        kind = 1
    else:
        return None
    w0 = cu - cl
    w1 = w0 + (su - sl) * (x1 - x0)
    if not (w0 > 0 and w1 > 0 and w1 <= P["conv"] * w0):
        return None
    apex = x0 + w0 / (sl - su)
    if not (apex > x1 and apex > t):
        return None
    tol = P["touch"] * atr_t
    if not tol >= 0:
        return None
    if w0 < P["height"] * atr_t:
        return None
    if min(abs(su), abs(sl)) * (x1 - x0) < P["move"] * atr_t:
        return None
    touch_u = [b for b, p in hs if abs(p - (cu + su * (b - x0))) <= tol]
    touch_l = [b for b, p in ls if abs(p - (cl + sl * (b - x0))) <= tol]
    tu, tl = len(touch_u), len(touch_l)
    if not ((tu >= P["major"] and tl >= P["minor"]) or (tl >= P["major"] and tu >= P["minor"])):
        return None
    ct = P["ctol"] * atr_t
    for b in range(x0, t + 1):
        if close[b] > cu + su * (b - x0) + ct or close[b] < cl + sl * (b - x0) - ct:
            return None
    return {"kind": kind, "known": t, "x0": x0, "x1": x1, "tu": tu, "tl": tl,
            "first_u": touch_u[0], "first_l": touch_l[0], "npiv": m,
            "su": su, "cu": cu, "sl": sl, "cl": cl, "apex": apex, "state": 0, "state_bar": t}


def scan_wedges(high, low, close, atr, P):
    """Every wedge, recomputing the pivot list from the prefix at each bar."""
    out = []
    forming = None
    last_x0 = -1
    prev = None
    for t in range(len(close)):
        if forming is not None:
            dx = t - forming["x0"]
            up = forming["cu"] + forming["su"] * dx
            lo = forming["cl"] + forming["sl"] * dx
            ct = P["ctol"] * atr[forming["known"]]
            st = None
            if t >= forming["apex"]:
                st = 3
            elif close[t] > up + ct:
                st = 1
            elif close[t] < lo - ct:
                st = 2
            if st is not None:
                forming["state"], forming["state_bar"] = st, t
                last_x0 = forming["x0"]
                forming = None
        piv = zigzag_asof(high, low, atr, P["left"], P["right"], P["swing"], t)
        changed = piv != prev
        prev = piv
        if changed and forming is None:
            for m in range(min(P["max_piv"], len(piv)), P["major"] + P["minor"] - 1, -1):
                if piv[-m][0] <= last_x0:
                    continue
                w = wedge_at(piv, close, atr[t], t, m, P)
                if w is not None:
                    out.append(w)
                    forming = w
                    break
    return out


def divergences(rsi, high, low, left, right, min_bars, max_bars, hidden):
    out = []
    prev_h = prev_l = None
    for t in range(right, len(rsi)):
        i = t - right
        if raw_pivot(rsi, i, left, right, True):
            j = prev_h
            if j is not None and min_bars <= i - j <= max_bars:
                if high[i] > high[j] and rsi[i] < rsi[j]:
                    out.append((1, j, i, t))
                elif hidden and high[i] < high[j] and rsi[i] > rsi[j]:
                    out.append((3, j, i, t))
            prev_h = i
        if raw_pivot(rsi, i, left, right, False):
            j = prev_l
            if j is not None and min_bars <= i - j <= max_bars:
                if low[i] < low[j] and rsi[i] > rsi[j]:
                    out.append((2, j, i, t))
                elif hidden and low[i] > low[j] and rsi[i] < rsi[j]:
                    out.append((4, j, i, t))
            prev_l = i
    return out


def rsi(close, n=14):
    """Wilder RSI, plain Python (first value at index n)."""
    out = [math.nan] * len(close)
    if len(close) <= n:
        return out
    gains = losses = 0.0
    for i in range(1, n + 1):
        d = close[i] - close[i - 1]
        gains += max(d, 0.0)
        losses += max(-d, 0.0)
    g, lo = gains / n, losses / n
    out[n] = 0.0 if g + lo < 1e-8 else 100 * g / (g + lo)
    for i in range(n + 1, len(close)):
        d = close[i] - close[i - 1]
        g = (g * (n - 1) + max(d, 0.0)) / n
        lo = (lo * (n - 1) + max(-d, 0.0)) / n
        out[i] = 0.0 if g + lo < 1e-8 else 100 * g / (g + lo)
    return out
