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

#: bars per block of the raw pivot kernels: the block's scratch (a few rows of maxima or
#: minima and the flags, ~20 KB at 5/5) stays in L1 while the passes run over it
_BLOCK = 512


@jit
def _floor_log2(w):
    k = 0
    while (2 << k) <= w:
        k += 1
    return k


@jit
def _exact_flags(x, s, m, left, right, f):
    """``f[j] = j + 1`` if bar ``s + j`` is a pivot high, else 0, by direct compares, one
    pass per neighbour (a NaN fails every compare it is in, so it needs no special case)."""
    xc = x[s:s + m]
    xd = x[s + 1:s + 1 + m]
    for j in range(m):
        f[j] = xd[j] <= xc[j]
    for d in range(2, right + 1):
        xd = x[s + d:s + d + m]
        for j in range(m):
            f[j] &= xd[j] <= xc[j]
    for d in range(1, left + 1):
        xd = x[s - d:s - d + m]
        for j in range(m):
            f[j] &= xd[j] < xc[j]
    for j in range(m):
        f[j] *= j + 1


@jit
def _compact(f, m, group, s, out, k, safe):
    """Append the bars flagged in ``f[:m]`` (``f[j] = j + 1`` or 0) to ``out`` from ``k`` on;
    return the new count.

    Branch-free: one store per group of ``group`` bars, at most one of which is a pivot
    (two same-side pivots are more than ``min(left, right)`` bars apart), so the group's
    OR is its pivot's code. The store goes to ``out[k]`` whether or not there is a pivot:
    it can land one entry past the final count, which ``side_capacity`` leaves room for;
    with a smaller ``out`` (``safe`` False) stores at ``k >= len(out)`` are skipped.
    ``f`` must be zero from ``m`` up to the next multiple of ``group``.
    """
    cap = out.shape[0]
    ng = (m + group - 1) // group
    s1 = s - 1
    if group == 8:
        for g in range(ng):
            j = 8 * g
            v = f[j] | f[j + 1] | f[j + 2] | f[j + 3] | f[j + 4] | f[j + 5] | f[j + 6] | f[j + 7]
            if safe:
                out[k] = s1 + v
            elif k < cap:
                out[k] = s1 + v
            k += v != 0
    elif group == 4:
        for g in range(ng):
            j = 4 * g
            v = f[j] | f[j + 1] | f[j + 2] | f[j + 3]
            if safe:
                out[k] = s1 + v
            elif k < cap:
                out[k] = s1 + v
            k += v != 0
    else:
        for g in range(ng):
            j = 2 * g
            v = f[j] | f[j + 1]
            if safe:
                out[k] = s1 + v
            elif k < cap:
                out[k] = s1 + v
            k += v != 0
    return k


@jit
def _raw_side(x, left, right, high, out, fscr, iscr):
    """The raw pivot finder behind :func:`_raw_pivot_list` (``high`` selects the side).

    Blocks of ``_BLOCK`` bars, branch-free, every inner loop over a slice indexed by its
    loop variable only (so it vectorises). Lows are the highs of ``-x`` (strict and
    non-strict compares, ties, infinities and NaN all map over), so each block's window is
    negated into scratch first and one code path serves both sides (half the machine code
    to compile):

    1. maxima over windows of 2, 4, ... bars by doubling ("sparse table": ``lev[t][j]`` =
       max of bars ``j .. j + 2**t - 1`` of the block's window); the max of ``w`` bars is
       that of two overlapping ``2**floor(log2 w)`` windows;
    2. a pivot high is then ``x[i] > max(left bars before)`` and ``x[i] >= max(right bars
       after)`` -- the same as comparing with each neighbour, as long as no NaN is in the
       window (a select-based max drops NaNs). The first doubling pass also looks for NaN;
       a block holding one is done with direct compares instead (:func:`_exact_flags`);
    3. :func:`_compact` appends the flagged bars to ``out``.

    ``fscr`` / ``iscr`` are scratch from :func:`pivot_scratch` (the kernel allocates nothing:
    an allocation inside a kernel makes numba import its array module, ~35 ms of every
    start, when the kernel is loaded from the cache).
    """
    n = x.shape[0]
    hi = n - right
    k = 0
    if hi <= left:
        return k
    kl = _floor_log2(left)
    kr = _floor_log2(right)
    nlev = max(kl, kr)
    mn = min(left, right)
    group = 8 if mn >= 7 else (4 if mn >= 3 else 2)
    # at most (n - max(left, right)) // (mn + 1) pivots; _compact may store one past them
    safe = out.shape[0] > (n - max(left, right)) // (mn + 1)
    wid = _BLOCK + left + right  # fscr: the negated window, then the max rows 1..nlev
    if fscr.shape[0] < (nlev + 1) * wid or iscr.shape[0] < _BLOCK + 8:
        raise ValueError("pivot scratch too small: use pivot_scratch(left, right)")
    f = iscr
    s = left
    while s < hi:
        m = min(_BLOCK, hi - s)
        tot = m + left + right
        src = x[s - left:s - left + tot]
        if not high:
            w = fscr[:tot]
            for j in range(tot):
                w[j] = -src[j]
            src = w
        bad = nlev == 0  # left = right = 1: two compares, nothing to gain
        if nlev > 0:
            length = tot - 1
            a = src[:length]
            b = src[1:1 + length]
            c = fscr[wid:wid + length]
            nan = src[length] != src[length]
            for j in range(length):
                p = a[j]
                q = b[j]
                c[j] = p if p > q else q
                nan |= p != p
            bad = nan
            for t in range(2, nlev + 1):
                h = 1 << (t - 1)
                length -= h
                a = fscr[(t - 1) * wid:(t - 1) * wid + length]
                b = fscr[(t - 1) * wid + h:(t - 1) * wid + h + length]
                c = fscr[t * wid:t * wid + length]
                for j in range(length):
                    p = a[j]
                    q = b[j]
                    c[j] = p if p > q else q
        if bad:
            _exact_flags(src, left, m, left, right, f)
        else:
            xc = src[left:left + m]
            lv = src if kl == 0 else fscr[kl * wid:(kl + 1) * wid]
            rv = src if kr == 0 else fscr[kr * wid:(kr + 1) * wid]
            la = lv[:m]
            o = left - (1 << kl)
            lb = lv[o:o + m]
            ra = rv[left + 1:left + 1 + m]
            o = left + 1 + right - (1 << kr)
            rb = rv[o:o + m]
            for j in range(m):
                v = xc[j]
                p = la[j]
                q = lb[j]
                e = p if p > q else q
                p = ra[j]
                q = rb[j]
                g = p if p > q else q
                f[j] = (j + 1) if (v > e) & (v >= g) else 0
        for j in range(m, m + 8):
            f[j] = 0
        k = _compact(f, m, group, s, out, k, safe)
        s += m
    return k


@jit
def _raw_pivot_list(x, left, right, is_high, out, fscr, iscr):
    """Bars of raw pivots (highs if is_high else lows) written into out; returns the count.

    A pivot high at ``i``: ``x[i]`` > each of the ``left`` bars before it and >= each of
    the ``right`` bars after it; a NaN in that window (or at ``i``) means no pivot. Only
    bars ``left .. len(x) - right - 1`` can be pivots. ``out`` should hold
    ``side_capacity(len(x), left, right)`` entries (see :func:`_raw_side`); ``fscr`` and
    ``iscr`` come from :func:`pivot_scratch`.
    """
    return _raw_side(x, left, right, is_high, out, fscr, iscr)


def pivot_scratch(left: int, right: int) -> tuple[np.ndarray, np.ndarray]:
    """Scratch for :func:`_raw_pivot_list` at these left/right bars (a few KB, reusable
    across calls and series, one pair per thread)."""
    nlev = max(int(left).bit_length(), int(right).bit_length()) - 1  # floor(log2)
    return (np.empty((nlev + 1) * (_BLOCK + left + right)),
            np.zeros(_BLOCK + 8, dtype=np.int64))


@jit
def _accept(side, i, price, t, atr_i, atr_t, min_swing, log_bar, log_confirm, log_price,
            log_side, log_sup, log_atr, stack, ns, nlog):
    """Offer one confirmed raw pivot to the zig-zag (``atr_i`` / ``atr_t``: ATR at its bar
    and at its confirmation bar). Returns (ns, nlog).

    Here and in :func:`_zigzag_steps` indices are cast to uint64: numba adds a
    negative-index fix-up to every signed index it cannot prove >= 0, and in this branchy
    per-pivot code those were a large share of the instructions (the zig-zag ran about a
    fifth faster without them)."""
    if ns > 0:
        last = np.uint64(stack[np.uint64(ns - 1)])
        if log_side[last] == side:
            more = price > log_price[last] if side > 0 else price < log_price[last]
            if not more:
                return ns, nlog
            log_sup[last] = t
            ns -= 1
        else:
            if not (abs(price - log_price[last]) >= min_swing * atr_i):  # NaN ATR -> rejected
                return ns, nlog
    u = np.uint64(nlog)
    log_bar[u] = i
    log_confirm[u] = t
    log_price[u] = price
    log_side[u] = side
    log_sup[u] = -1
    log_atr[u] = atr_t
    stack[np.uint64(ns)] = nlog
    return ns + 1, nlog + 1


@jit
def _zigzag_steps(high, low, atr, aoff, hi_idx, p, nh, lo_idx, q, nl, right, min_swing,
                  log_bar, log_confirm, log_price, log_side, log_sup, log_atr, stack, ns, nlog):
    """The zig-zag over raw pivots ``hi_idx[p:nh]`` and ``lo_idx[q:nl]`` (bar lists,
    increasing), in confirmation order, from the state ``(ns, nlog)`` left by the pivots
    before them; returns the new ``(p, q, ns, nlog)``. The ATR of bar ``b`` is
    ``atr[b - aoff]`` (a caller may hold only a window of it); each entry's ATR at its
    confirmation bar goes to ``log_atr``. Every raw pivot at an earlier bar
    than the last one offered must already be in the lists (both sides), so a caller that
    finds pivots block by block can run it after each block."""
    while p < nh or q < nl:
        ih = hi_idx[np.uint64(p)] if p < nh else -1
        il = lo_idx[np.uint64(q)] if q < nl else -1
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
        a = atr[np.uint64(i - aoff)]
        at = atr[np.uint64(t - aoff)]
        ui = np.uint64(i)
        if min_swing <= 0.0:
            a = 0.0
        if h and lo:
            high_first = ns == 0 or log_side[stack[ns - 1]] < 0
            if high_first:
                ns, nlog = _accept(1, i, high[ui], t, a, at, min_swing, log_bar,
                                   log_confirm, log_price, log_side, log_sup, log_atr, stack,
                                   ns, nlog)
                ns, nlog = _accept(-1, i, low[ui], t, a, at, min_swing, log_bar,
                                   log_confirm, log_price, log_side, log_sup, log_atr, stack,
                                   ns, nlog)
            else:
                ns, nlog = _accept(-1, i, low[ui], t, a, at, min_swing, log_bar,
                                   log_confirm, log_price, log_side, log_sup, log_atr, stack,
                                   ns, nlog)
                ns, nlog = _accept(1, i, high[ui], t, a, at, min_swing, log_bar,
                                   log_confirm, log_price, log_side, log_sup, log_atr, stack,
                                   ns, nlog)
        elif h:
            ns, nlog = _accept(1, i, high[ui], t, a, at, min_swing, log_bar,
                               log_confirm, log_price, log_side, log_sup, log_atr, stack, ns,
                               nlog)
        else:
            ns, nlog = _accept(-1, i, low[ui], t, a, at, min_swing, log_bar,
                               log_confirm, log_price, log_side, log_sup, log_atr, stack, ns,
                               nlog)
    return p, q, ns, nlog


@jit
def _zigzag_into(high, low, atr, hi_idx, nh, lo_idx, nl, right, min_swing,
                 log_bar, log_confirm, log_price, log_side, log_sup, log_atr, stack):
    """Run the causal zig-zag over the raw pivots (bar lists, increasing), in confirmation
    order; returns the number of log entries."""
    return _zigzag_steps(high, low, atr, 0, hi_idx, 0, nh, lo_idx, 0, nl, right, min_swing,
                         log_bar, log_confirm, log_price, log_side, log_sup, log_atr, stack, 0,
                         0)[3]


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
    k = _raw_pivot_list(a, left, right, bool(high), idx, *pivot_scratch(left, right))
    out = np.zeros(a.shape[0], dtype=np.int8)
    out[idx[:k]] = 1
    return out


def side_capacity(n: int, left: int, right: int) -> int:
    """Size of a buffer for the raw pivots of one side in ``n`` bars.

    Same-side pivots are more than ``m = min(left, right)`` bars apart and lie in bars
    ``left .. n - right - 1``, so there are at most ``(n - max(left, right)) // (m + 1)
    <= n // (m + 1)`` of them. The ``+ 1`` is the slot the branch-free kernel may store
    into just past the last pivot (:func:`_compact`): with it the kernel never needs its
    guarded (slower) store."""
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
    ``superseded_at`` (bar at which a more extreme same-side pivot replaced it, or -1) and
    ``atr`` (the ATR at the confirmation bar: what the wedge scan measures tolerances in
    when the entry arrives). The ``atr`` argument is in price units (NaN during warm-up:
    opposite-side pivots are then rejected unless ``min_swing_atr <= 0``).
    """
    h, lo, a = _f64(high, "high"), _f64(low, "low"), _f64(atr, "atr")
    if not (h.shape == lo.shape == a.shape):
        raise ValueError("high, low and atr must have the same length")
    left, right = _check_lr(left, right)
    n = h.shape[0]
    sc = side_capacity(n, left, right)
    hi_idx = np.empty(sc, dtype=np.int64)
    lo_idx = np.empty(sc, dtype=np.int64)
    scr = pivot_scratch(left, right)
    nh = _raw_pivot_list(h, left, right, True, hi_idx, *scr)
    nl = _raw_pivot_list(lo, left, right, False, lo_idx, *scr)
    cap = capacity(n, left, right)
    bar = np.empty(cap, dtype=np.int64)
    confirm = np.empty(cap, dtype=np.int64)
    price = np.empty(cap, dtype=np.float64)
    side = np.empty(cap, dtype=np.int8)
    sup = np.empty(cap, dtype=np.int64)
    log_atr = np.empty(cap, dtype=np.float64)
    stack = np.empty(cap, dtype=np.int64)
    k = _zigzag_into(h, lo, a, hi_idx, nh, lo_idx, nl, right, float(min_swing_atr), bar,
                     confirm, price, side, sup, log_atr, stack)
    return {"bar": bar[:k], "confirm": confirm[:k], "price": price[:k], "side": side[:k],
            "superseded_at": sup[:k], "atr": log_atr[:k]}


def pivots_asof(log: dict[str, np.ndarray], t: int) -> np.ndarray:
    """Indices into ``log`` of the alternating pivot list as known at bar ``t``."""
    c, s = log["confirm"], log["superseded_at"]
    return np.nonzero((c <= t) & ((s == -1) | (s > t)))[0]
