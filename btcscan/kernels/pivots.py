"""Swing pivots, point in time: raw pivots, then a causal zig-zag (minimum swing + alternation).

Conventions (see DOMAIN.md, "Pivots"):

* A **pivot high** at bar ``i``: ``high[i]`` is the maximum of bars ``i-left .. i+right``.
  Ties: the **earliest** bar wins, i.e. ``high[i]`` is strictly greater than the ``left``
  bars before it and greater than or equal to the ``right`` bars after it. Pivot lows mirror
  this. A window holding a NaN yields no pivot.
* A pivot at bar ``i`` is only **known at bar i + right** (its confirmation bar). Nothing
  here looks at a bar after the confirmation bar of the pivot being processed.
* The zig-zag processes raw pivots in confirmation order. A pivot on the same side as the
  last accepted one replaces it only when it is more extreme (higher high / lower low); the
  old entry is kept in the log with ``superseded_at`` = the bar at which it was replaced.
  A pivot on the opposite side is accepted when the swing from the last accepted pivot is
  at least ``min_swing`` times ATR at the new pivot's bar. When a bar is both a pivot high
  and a pivot low (an outside bar), the side opposite to the last accepted pivot goes first.

So the alternating pivot list **as of bar t** is: log entries with ``confirm <= t`` and
(``superseded_at == -1`` or ``superseded_at > t``). :func:`pivots_asof` computes it.
"""

from __future__ import annotations

import numpy as np

from btcscan.kernels._jit import jit


@jit
def _raw_highs(x, left, right, out):
    """Write the bars of pivot highs into out (increasing); return how many."""
    n = x.shape[0]
    k = 0
    i = left
    while i < n - right:
        v = x[i]
        ok = True
        for d in range(1, right + 1):
            if not (x[i + d] <= v):
                ok = False
                i += d
                break
        if not ok:
            continue
        for d in range(1, left + 1):
            if not (x[i - d] < v):
                ok = False
                break
        if ok and not np.isnan(v):
            out[k] = i
            k += 1
        i += 1
    return k


@jit
def _raw_lows(x, left, right, out):
    """Write the bars of pivot lows into out (increasing); return how many."""
    n = x.shape[0]
    k = 0
    i = left
    while i < n - right:
        v = x[i]
        ok = True
        for d in range(1, right + 1):
            if not (x[i + d] >= v):
                ok = False
                i += d
                break
        if not ok:
            continue
        for d in range(1, left + 1):
            if not (x[i - d] > v):
                ok = False
                break
        if ok and not np.isnan(v):
            out[k] = i
            k += 1
        i += 1
    return k


@jit
def _raw_pivot_list(x, left, right, is_high, out):
    """Bars of raw pivots (highs if is_high else lows) written into out; returns the count.

    Right neighbours are checked first; when bar ``i + d`` beats bar ``i``, every bar
    between them is beaten by it too (it lies within their right window), so the scan
    jumps to ``i + d``. A NaN in the window fails a compare, so it yields no pivot.
    """
    if is_high:
        return _raw_highs(x, left, right, out)
    return _raw_lows(x, left, right, out)


@jit
def _accept(side, i, price, t, atr_i, min_swing, log_bar, log_confirm, log_price, log_side,
            log_sup, stack, ns, nlog):
    """Offer one confirmed raw pivot to the zig-zag. Returns (ns, nlog)."""
    if ns > 0:
        last = stack[ns - 1]
        if log_side[last] == side:
            more = price > log_price[last] if side > 0 else price < log_price[last]
            if not more:
                return ns, nlog
            log_sup[last] = t
            ns -= 1
        else:
            if not (abs(price - log_price[last]) >= min_swing * atr_i):  # NaN ATR -> rejected
                return ns, nlog
    log_bar[nlog] = i
    log_confirm[nlog] = t
    log_price[nlog] = price
    log_side[nlog] = side
    log_sup[nlog] = -1
    stack[ns] = nlog
    return ns + 1, nlog + 1


@jit
def _zigzag_into(high, low, atr, hi_idx, nh, lo_idx, nl, right, min_swing,
                 log_bar, log_confirm, log_price, log_side, log_sup, stack):
    """Run the causal zig-zag over the raw pivots (bar lists, increasing), in confirmation
    order; returns the number of log entries."""
    ns = 0
    nlog = 0
    p = 0
    q = 0
    while p < nh or q < nl:
        ih = hi_idx[p] if p < nh else -1
        il = lo_idx[q] if q < nl else -1
        if il < 0 or (ih >= 0 and ih < il):
            h, lo, i = True, False, ih
            p += 1
        elif ih < 0 or il < ih:
            h, lo, i = False, True, il
            q += 1
        else:  # an outside bar: both
            h, lo, i = True, True, ih
            p += 1
            q += 1
        t = i + right
        a = atr[i]
        if min_swing <= 0.0:
            a = 0.0
        if h and lo:
            high_first = ns == 0 or log_side[stack[ns - 1]] < 0
            if high_first:
                ns, nlog = _accept(1, i, high[i], t, a, min_swing, log_bar, log_confirm,
                                   log_price, log_side, log_sup, stack, ns, nlog)
                ns, nlog = _accept(-1, i, low[i], t, a, min_swing, log_bar, log_confirm,
                                   log_price, log_side, log_sup, stack, ns, nlog)
            else:
                ns, nlog = _accept(-1, i, low[i], t, a, min_swing, log_bar, log_confirm,
                                   log_price, log_side, log_sup, stack, ns, nlog)
                ns, nlog = _accept(1, i, high[i], t, a, min_swing, log_bar, log_confirm,
                                   log_price, log_side, log_sup, stack, ns, nlog)
        elif h:
            ns, nlog = _accept(1, i, high[i], t, a, min_swing, log_bar, log_confirm,
                               log_price, log_side, log_sup, stack, ns, nlog)
        else:
            ns, nlog = _accept(-1, i, low[i], t, a, min_swing, log_bar, log_confirm,
                               log_price, log_side, log_sup, stack, ns, nlog)
    return nlog


def _f64(x, name: str) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    return a


def _check_lr(left: int, right: int) -> tuple[int, int]:
    left, right = int(left), int(right)
    if left < 1 or right < 1:
        raise ValueError(f"pivot left/right must be >= 1, got {left}/{right}")
    return left, right


def raw_pivots(x, left: int, right: int, *, high: bool = True) -> np.ndarray:
    """Raw pivot flags (int8, 1 at the pivot **bar**; known only ``right`` bars later).

    ``high=True`` finds pivot highs of ``x`` (earliest of equal maxima wins), ``False`` lows.
    """
    a = _f64(x, "x")
    left, right = _check_lr(left, right)
    idx = np.empty(side_capacity(a.shape[0], left, right), dtype=np.int64)
    k = _raw_pivot_list(a, left, right, bool(high), idx)
    out = np.zeros(a.shape[0], dtype=np.int8)
    out[idx[:k]] = 1
    return out


def side_capacity(n: int, left: int, right: int) -> int:
    """Upper bound on raw pivots of one side in ``n`` bars (they are more than
    ``min(left, right)`` bars apart)."""
    return n // (min(left, right) + 1) + 1


def capacity(n: int, left: int, right: int) -> int:
    """Upper bound on zig-zag log entries (both sides) in ``n`` bars: two same-side raw
    pivots are more than ``min(left, right)`` bars apart."""
    return 2 * (n // (min(left, right) + 1) + 1)


def zigzag(high, low, atr, left: int, right: int, min_swing_atr: float) -> dict[str, np.ndarray]:
    """The pivot log of the causal zig-zag (see module docstring).

    Returns arrays of equal length, one entry per pivot ever accepted, in acceptance order:
    ``bar`` (pivot bar index), ``confirm`` (bar at which it became known = bar + right),
    ``price`` (high or low at the pivot bar), ``side`` (+1 high, -1 low) and
    ``superseded_at`` (bar at which a more extreme same-side pivot replaced it, or -1).
    ``atr`` is in price units (NaN during warm-up: opposite-side pivots are then rejected
    unless ``min_swing_atr <= 0``).
    """
    h, lo, a = _f64(high, "high"), _f64(low, "low"), _f64(atr, "atr")
    if not (h.shape == lo.shape == a.shape):
        raise ValueError("high, low and atr must have the same length")
    left, right = _check_lr(left, right)
    n = h.shape[0]
    sc = side_capacity(n, left, right)
    hi_idx = np.empty(sc, dtype=np.int64)
    lo_idx = np.empty(sc, dtype=np.int64)
    nh = _raw_pivot_list(h, left, right, True, hi_idx)
    nl = _raw_pivot_list(lo, left, right, False, lo_idx)
    cap = capacity(n, left, right)
    bar = np.empty(cap, dtype=np.int64)
    confirm = np.empty(cap, dtype=np.int64)
    price = np.empty(cap, dtype=np.float64)
    side = np.empty(cap, dtype=np.int8)
    sup = np.empty(cap, dtype=np.int64)
    stack = np.empty(cap, dtype=np.int64)
    k = _zigzag_into(h, lo, a, hi_idx, nh, lo_idx, nl, right, float(min_swing_atr), bar,
                     confirm, price, side, sup, stack)
    return {"bar": bar[:k], "confirm": confirm[:k], "price": price[:k], "side": side[:k],
            "superseded_at": sup[:k]}


def pivots_asof(log: dict[str, np.ndarray], t: int) -> np.ndarray:
    """Indices into ``log`` of the alternating pivot list as known at bar ``t``."""
    c, s = log["confirm"], log["superseded_at"]
    return np.nonzero((c <= t) & ((s == -1) | (s > t)))[0]
