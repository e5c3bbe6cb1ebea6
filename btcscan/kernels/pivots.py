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

import threading
from typing import NamedTuple

import numpy as np

from btcscan.kernels._jit import f64, jit, readonly

#: bars per block of the raw pivot kernels: the block's scratch (a few rows of maxima or
#: minima and the flags, ~20 KB at 5/5) stays in L1 while the passes run over it
_BLOCK = 512


@jit(inline="always")
def _floor_log2(w):
    k = 0
    while (2 << k) <= w:
        k += 1
    return k


@jit
def _raw_pivot_list(x, left, right, side, out, fscr, iscr):
    """Bars of raw pivots (highs if ``side`` > 0, else lows) written into ``out``; returns
    the count.

    A pivot high at ``i``: ``x[i]`` > each of the ``left`` bars before it and >= each of
    the ``right`` bars after it; a NaN in that window (or at ``i``) means no pivot. Only
    bars ``left .. len(x) - right - 1`` can be pivots. ``out`` should hold
    ``side_capacity(len(x), left, right)`` entries; ``fscr`` and ``iscr`` come from
    :func:`pivot_scratch`.

    Blocks of ``_BLOCK`` bars, branch-free, every inner loop over a slice indexed by its
    loop variable only (so it vectorises). Lows are the highs of ``-x`` (strict and
    non-strict compares, ties, infinities and NaN all map over), so each block's window is
    copied into scratch times ``+1.0`` or ``-1.0`` first (both exact) and one code path
    serves both sides (half the machine code to compile):

    1. maxima over windows of 2, 4, ... bars by doubling ("sparse table": ``lev[t][j]`` =
       max of bars ``j .. j + 2**t - 1`` of the block's window); the max of ``w`` bars is
       that of two overlapping ``2**floor(log2 w)`` windows. The max is a select that
       keeps a NaN of either operand (``p if p > q or p is NaN else q``), so a window's max
       is NaN exactly when the window holds one;
    2. a pivot high is then ``x[i] > max(left bars before)`` and ``x[i] >= max(right bars
       after)``: the same as comparing with each neighbour when the window holds no NaN,
       and false (no pivot) when it holds one, as a NaN max or ``x[i]`` fails both compares.
       One code path for every block, NaN or not, and for ``left = right = 1`` (the max of
       one bar is that bar);
    3. the flagged bars are appended to ``out``, branch-free: one store per pair of bars,
       at most one of which is a pivot (two same-side pivots are more than
       ``min(left, right)`` >= 1 bars apart), so the OR of the pair's flags (``j + 1`` or 0) is
       its pivot's code. The store goes to ``out[k]`` whether or not there is a pivot: it
       can land one entry past the final count, which ``side_capacity`` leaves room for;
       with a smaller ``out`` (``safe`` False) stores at ``k >= len(out)`` are skipped.

    ``fscr`` / ``iscr`` are scratch from :func:`pivot_scratch` (the kernel allocates nothing:
    an allocation inside a kernel makes numba import its array module, ~35 ms of every
    start, when the kernel is loaded from the cache).
    """
    n = x.shape[0]
    sign = 1.0 if side > 0 else -1.0
    hi = n - right
    k = 0
    if hi <= left:
        return k
    kl = _floor_log2(left)
    kr = _floor_log2(right)
    nlev = max(kl, kr)
    mn = min(left, right)
    # at most (n - max(left, right)) // (mn + 1) pivots; step 3 may store one past them
    safe = out.shape[0] > (n - max(left, right)) // (mn + 1)
    wid = _BLOCK + left + right  # fscr: the negated window, then the max rows 1..nlev
    if fscr.shape[0] < (nlev + 1) * wid or iscr.shape[0] < _BLOCK + 8:
        raise ValueError("pivot scratch too small: use pivot_scratch(left, right)")
    f = iscr
    s = left
    while s < hi:
        m = min(_BLOCK, hi - s)
        tot = m + left + right
        xs = x[s - left:s - left + tot]
        src = fscr[:tot]
        for j in range(tot):
            src[j] = sign * xs[j]
        length = tot
        for t in range(1, nlev + 1):  # row t from row t - 1 (row 0: the window itself)
            h = 1 << (t - 1)
            length -= h
            a = fscr[(t - 1) * wid:(t - 1) * wid + length]
            b = fscr[(t - 1) * wid + h:(t - 1) * wid + h + length]
            c = fscr[t * wid:t * wid + length]
            for j in range(length):
                p = a[j]
                q = b[j]
                c[j] = p if (p > q) | (p != p) else q
        xc = src[left:left + m]
        lv = fscr[kl * wid:(kl + 1) * wid]
        rv = fscr[kr * wid:(kr + 1) * wid]
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
            e = p if (p > q) | (p != p) else q
            p = ra[j]
            q = rb[j]
            g = p if (p > q) | (p != p) else q
            f[j] = (j + 1) if (v > e) & (v >= g) else 0
        f[m] = 0  # an odd block's last pair
        cap = out.shape[0]
        s1 = s - 1
        for gi in range((m + 1) // 2):
            code = f[2 * gi] | f[2 * gi + 1]
            if safe:
                out[k] = s1 + code
            elif k < cap:
                out[k] = s1 + code
            k += code != 0
        s += m
    return k


def pivot_scratch(left: int, right: int) -> tuple[np.ndarray, np.ndarray]:
    """Scratch for :func:`_raw_pivot_list` at these left/right bars (a few KB, reusable
    across calls and series, one pair per thread)."""
    nlev = max(int(left).bit_length(), int(right).bit_length()) - 1  # floor(log2)
    return (np.empty((nlev + 1) * (_BLOCK + left + right)),
            np.zeros(_BLOCK + 8, dtype=np.int64))


_per_thread = threading.local()


def _thread_scratch(left: int, right: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pivot_scratch` of the calling thread, kept for its next series (a kernel never
    calls back into Python, so a thread's scratch is in use by one call at a time)."""
    kept = _per_thread.__dict__
    scratch = kept.get((left, right))
    if scratch is None:
        scratch = kept[(left, right)] = pivot_scratch(left, right)
    return scratch


def pivot_lists(xh: np.ndarray, xl: np.ndarray, left: int, right: int
                ) -> tuple[np.ndarray, int, np.ndarray, int]:
    """The raw pivot highs of ``xh`` and lows of ``xl`` (kernel inputs, same length):
    ``(highs, count, lows, count)``, bars in the first ``count`` entries of each buffer
    (rows of one allocation, with one scratch pair for both sides)."""
    idx = np.empty((2, side_capacity(xh.shape[0], left, right)), dtype=np.int64)
    fscr, iscr = _thread_scratch(left, right)
    hi, lo = idx[0], idx[1]
    nh = _raw_pivot_list(xh, left, right, 1, hi, fscr, iscr)
    nl = _raw_pivot_list(xl, left, right, -1, lo, fscr, iscr)
    return hi, nh, lo, nl


class PivotLog(NamedTuple):
    """The zig-zag's log as the kernels read and write it: one entry per pivot ever
    accepted, in acceptance order (see :func:`zigzag` for the fields)."""

    bar: np.ndarray
    confirm: np.ndarray
    price: np.ndarray
    side: np.ndarray
    superseded_at: np.ndarray
    atr: np.ndarray


def pivot_log(log: dict[str, np.ndarray], atr: np.ndarray | None = None) -> PivotLog:
    """:class:`PivotLog` of :func:`zigzag`'s dict, read-only (the one signature the wedge
    scan is compiled for); ``atr`` given: the entries' ATR taken from it at their
    confirmation bars instead of ``log["atr"]``."""
    confirm = np.ascontiguousarray(log["confirm"], dtype=np.int64)
    a = log["atr"] if atr is None else np.asarray(atr)[confirm]
    return PivotLog(readonly(np.ascontiguousarray(log["bar"], dtype=np.int64)),
                    readonly(confirm), f64(log["price"]),
                    readonly(np.ascontiguousarray(log["side"], dtype=np.int8)),
                    readonly(np.ascontiguousarray(log["superseded_at"], dtype=np.int64)),
                    f64(a))


@jit(inline="always")
def _accept(side, i, price, t, atr_i, atr_t, min_swing, log, stack, ns, nlog):
    """Offer one confirmed raw pivot to the zig-zag (``side`` +1 high / -1 low; ``atr_i`` /
    ``atr_t``: ATR at its bar and at its confirmation bar), writing into ``log`` (a
    :class:`PivotLog` of output arrays). Returns (ns, nlog).

    Here and in :func:`_zigzag_into` indices are cast to uint64: numba adds a
    negative-index fix-up to every signed index it cannot prove >= 0, and in this branchy
    per-pivot code those were a large share of the instructions (the zig-zag ran about a
    fifth faster without them)."""
    if ns > 0:
        last = np.uint64(stack[np.uint64(ns - 1)])
        if log.side[last] == side:
            more = price > log.price[last] if side > 0 else price < log.price[last]
            if not more:
                return ns, nlog
            log.superseded_at[last] = t
            ns -= 1
        else:
            if not (abs(price - log.price[last]) >= min_swing * atr_i):  # NaN ATR -> rejected
                return ns, nlog
    u = np.uint64(nlog)
    log.bar[u] = i
    log.confirm[u] = t
    log.price[u] = price
    log.side[u] = side
    log.superseded_at[u] = -1
    log.atr[u] = atr_t
    stack[np.uint64(ns)] = nlog
    return ns + 1, nlog + 1


@jit
def _zigzag_into(high, low, atr, hi_idx, nh, lo_idx, nl, right, min_swing, log, stack):
    """The causal zig-zag over raw pivots ``hi_idx[:nh]`` and ``lo_idx[:nl]`` (bar lists,
    increasing), in confirmation order, into ``log`` (a :class:`PivotLog` of output arrays
    with ``capacity`` entries); returns the number of entries. Each entry's ATR at its
    confirmation bar goes to ``log.atr``."""
    hi_side = np.int64(1)  # runtime values, not literals: numba would compile a copy each
    lo_side = -hi_side
    p = 0
    q = 0
    ns = np.int64(0)  # runtime zeros: literal ones make numba compile _accept twice
    nlog = np.int64(0)
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
        a = atr[np.uint64(i)]
        at = atr[np.uint64(t)]
        ui = np.uint64(i)
        if min_swing <= 0.0:
            a = 0.0
        # an outside bar offers the side opposite to the last accepted pivot first
        first = hi_side
        if h and lo and ns > 0 and log.side[stack[ns - 1]] > 0:
            first = lo_side
        for k in range(2):
            sd = first if k == 0 else -first
            if (sd > 0 and h) or (sd < 0 and lo):
                px = high[ui] if sd > 0 else low[ui]
                ns, nlog = _accept(sd, i, px, t, a, at, min_swing, log, stack, ns, nlog)
    return nlog


def _f64(x, name: str) -> np.ndarray:
    a = f64(x)
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
    k = _raw_pivot_list(a, left, right, 1 if high else -1, idx, *pivot_scratch(left, right))
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
    hi_idx, nh, lo_idx, nl = pivot_lists(h, lo, left, right)
    cap = capacity(h.shape[0], left, right)
    # the log's columns (and the kernel's stack) as rows of one array per dtype
    ints = np.empty((4, cap), dtype=np.int64)
    floats = np.empty((2, cap), dtype=np.float64)
    side = np.empty(cap, dtype=np.int8)
    log = PivotLog(ints[0], ints[1], floats[0], side, ints[2], floats[1])
    k = _zigzag_into(h, lo, a, hi_idx, nh, lo_idx, nl, right, float(min_swing_atr), log,
                     ints[3])
    # read-only, as the wedge scan takes them (pivot_log passes them on without a view)
    for column in log:
        column.setflags(write=False)
    return {name: column[:k] for name, column in zip(PivotLog._fields, log, strict=True)}


def pivots_asof(log: dict[str, np.ndarray], t: int) -> np.ndarray:
    """Indices into ``log`` of the alternating pivot list as known at bar ``t``."""
    c, s = log["confirm"], log["superseded_at"]
    return np.nonzero((c <= t) & ((s == -1) | (s > t)))[0]
